//! The HTTP front: parses Kubernetes API paths, dispatches, and answers errors as `Status`.

use super::resources::{self, Kind, ResDef};
use super::world::World;
use super::{api, log_api, watch, write};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, watch as signal};

pub type Params = HashMap<String, String>;

/// What every request and the controller loop share.
pub struct Shared {
    world: Mutex<World>,
    /// Wakes the controllers right after the API changed something.
    pub kick: Notify,
    /// Turns true (or closes) when the server stops: streams end, the loop exits.
    pub shutdown: signal::Receiver<bool>,
    pub addr: SocketAddr,
}

impl Shared {
    pub fn new(world: World, shutdown: signal::Receiver<bool>, addr: SocketAddr) -> Shared {
        Shared {
            world: Mutex::new(world),
            kick: Notify::new(),
            shutdown,
            addr,
        }
    }

    /// The world, even if a panic poisoned the lock: a demo server limps on.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An API error, rendered as a `Status`.
#[derive(Debug)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn not_found(def: &ResDef, name: &str) -> ApiError {
        let what = if def.group.is_empty() {
            def.plural.to_string()
        } else {
            format!("{}.{}", def.plural, def.group)
        };
        ApiError::new(404, "NotFound", format!("{what} \"{name}\" not found"))
    }

    pub fn invalid(def: &ResDef, name: &str, why: impl std::fmt::Display) -> ApiError {
        let kind = if def.group.is_empty() {
            def.kind_name.to_string()
        } else {
            format!("{}.{}", def.kind_name, def.group)
        };
        ApiError::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {why}"),
        )
    }

    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(code, &self.status())
    }
}

pub fn json_response(code: StatusCode, v: &Value) -> Response {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

pub fn bytes_response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = (code, Body::from(body)).into_response();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A parsed resource path: `/api/v1/namespaces/NS/pods/NAME/log` and the like.
pub struct Target {
    pub def: &'static ResDef,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Target {
    pub fn kind(&self) -> Kind {
        self.def.kind
    }

    /// (namespace or "", name) of a named target.
    pub fn key(&self) -> (String, String) {
        (
            self.ns.clone().unwrap_or_default(),
            self.name.clone().unwrap_or_default(),
        )
    }
}

fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, "v1", rest @ ..] => (*g, rest),
        _ => return None,
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    if rest.is_empty() || rest.len() > 3 {
        return None;
    }
    let def = resources::lookup(group, rest[0])?;
    // A namespaced object needs its namespace; a cluster-scoped one has none.
    if ns.is_some() != def.namespaced && (ns.is_some() || rest.len() > 1) {
        return None;
    }
    Some(Target {
        def,
        ns,
        name: rest.get(1).map(|s| s.to_string()),
        sub: rest.get(2).map(|s| s.to_string()),
    })
}

/// Server-side printing, which kubectl asks for on `get`.
fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

pub async fn dispatch(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<Params>,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    let ok = |v: Value| json_response(StatusCode::OK, &v);
    match path {
        "/version" => return ok(resources::version()),
        "/api" => return ok(resources::api_versions(&s.addr.to_string())),
        "/apis" => return ok(resources::api_groups()),
        "/api/v1" => return ok(resources::resource_list("")),
        "/apis/apps" => return ok(resources::api_group_apps()),
        "/apis/apps/v1" => return ok(resources::resource_list("apps")),
        "/healthz" | "/readyz" | "/livez" => {
            return bytes_response(StatusCode::OK, "text/plain", b"ok".to_vec());
        }
        _ => {}
    }
    let Some(t) = parse_target(path) else {
        let msg = "the server could not find the requested resource";
        return ApiError::new(404, "NotFound", msg).into_response();
    };
    let table = wants_table(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let watching = q.get("watch").is_some_and(|v| v == "true" || v == "1");
    let result = match (method, t.name.is_some(), t.sub.as_deref()) {
        (Method::GET, false, _) if watching => watch::watch(s.clone(), &t, &q, table),
        (Method::GET, false, _) => api::list(&s, &t, &q, table),
        (Method::GET, true, None) => api::get(&s, &t, &q, table),
        (Method::GET, true, Some("log")) if t.kind() == Kind::Pod => {
            log_api::logs(s.clone(), &t, &q)
        }
        (Method::GET, true, Some("scale")) => write::scale_get(&s, &t),
        (Method::PATCH, true, sub) => write::patch(&s, &t, sub, &content_type, &body, &q),
        (Method::PUT, true, sub) => write::put(&s, &t, sub, &body, &q),
        (Method::DELETE, true, None) => write::delete(&s, &t),
        (m, _, _) => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{m} is not supported on {path} by the demo cluster"),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = parse_target("/api/v1/namespaces/shop/pods/web-1/log").unwrap();
        assert_eq!(
            (t.kind(), t.key()),
            (Kind::Pod, ("shop".into(), "web-1".into()))
        );
        assert_eq!(t.sub.as_deref(), Some("log"));
        let t = parse_target("/api/v1/pods").unwrap();
        assert!(t.ns.is_none() && t.name.is_none());
        let t = parse_target("/api/v1/namespaces/shop").unwrap();
        assert_eq!(
            (t.kind(), t.name.as_deref()),
            (Kind::Namespace, Some("shop"))
        );
        let t = parse_target("/apis/apps/v1/namespaces/shop/deployments/web/scale").unwrap();
        assert_eq!(t.kind(), Kind::Deployment);
        assert!(parse_target("/apis/apps/v1/deployments/web").is_none());
        assert!(parse_target("/apis/batch/v1/jobs").is_none());
    }
}
