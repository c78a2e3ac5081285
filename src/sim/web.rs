//! The demo web app: a load balancer over the Ready `web` pods whose image tag sets latency and errors.

use super::Scenario;
use super::pod_status::first_container;
use super::server::Shared;
use super::world::{Key, Stage, World, image_tag};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `app` label of the pods behind the load balancer.
const APP: &str = "web";
/// What a flaky version answers when its payment backend is down.
pub const ERROR_BODY: &str = "error: payment backend unavailable";
/// What the load balancer answers when no pod is Ready.
pub const NO_UPSTREAM_BODY: &str = "no healthy upstream";
const HSTS: &str = "max-age=31536000";

/// How a version of the web app answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// 1.0 and anything unknown: 20–60 ms, no errors.
    Steady,
    /// A good 2.0: 15–40 ms, no errors.
    Fast,
    /// A bad 2.0: 150–600 ms and 20 % errors.
    Flaky,
}

impl Behaviour {
    fn of(scenario: Scenario, image: &str) -> Behaviour {
        match (image_tag(image), scenario) {
            ("2.0", Scenario::Good) => Behaviour::Fast,
            ("2.0", Scenario::Bad) => Behaviour::Flaky,
            _ => Behaviour::Steady,
        }
    }

    /// (lowest, highest) latency in milliseconds.
    fn latency_ms(self) -> (u64, u64) {
        match self {
            Behaviour::Steady => (20, 60),
            Behaviour::Fast => (15, 40),
            Behaviour::Flaky => (150, 600),
        }
    }

    /// Percent of requests answered 500.
    fn error_percent(self) -> u32 {
        match self {
            Behaviour::Flaky => 20,
            _ => 0,
        }
    }
}

/// One request's fate, decided under the world lock and played out after it is released.
#[derive(Debug)]
struct Plan {
    pod: Key,
    latency: Duration,
    fails: bool,
}

fn is_app(sp: &super::world::SimPod) -> bool {
    sp.pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app"))
        .is_some_and(|v| v == APP)
}

impl World {
    /// Picks a Ready (not Terminating) `app=web` pod at random and what it will answer.
    fn route(&mut self) -> Option<Plan> {
        let ns = &self.cfg.namespace;
        let ready: Vec<&Key> = self
            .pods
            .iter()
            .filter(|(k, sp)| k.0 == *ns && sp.stage == Stage::Ready && is_app(sp))
            .map(|(k, _)| k)
            .collect();
        if ready.is_empty() {
            return None;
        }
        let pod = ready[self.rng.random_range(0..ready.len())].clone();
        let image = self
            .pods
            .get(&pod)
            .map(|sp| first_container(&sp.pod).1)
            .unwrap_or_default();
        let how = Behaviour::of(self.cfg.scenario, &image);
        let (lo, hi) = how.latency_ms();
        let latency = Duration::from_millis(self.rng.random_range(lo..=hi));
        let fails = self.rng.random_range(0..100) < how.error_percent();
        Some(Plan {
            pod,
            latency,
            fails,
        })
    }

    /// Appends an access-log line to a pod's log, if the pod is still there.
    fn access_log(&mut self, pod: &Key, line: String) {
        if let Some(sp) = self.pods.get_mut(pod) {
            sp.log.push(chrono::Utc::now(), line);
        }
    }
}

/// The web app's routes: `GET /health` and `GET /` (HEAD too), 404 for anything else.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(serve))
        .route("/", get(serve))
        .fallback(not_found)
        .with_state(shared)
}

fn reply(code: StatusCode, body: &'static str, pod: Option<&str>) -> Response {
    let mut r = (code, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    if let Some(v) = pod.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert("x-served-by", v);
    }
    r
}

async fn not_found() -> Response {
    reply(StatusCode::NOT_FOUND, "not found", None)
}

async fn serve(State(s): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let started = Instant::now();
    let plan = s.world().route();
    let Some(plan) = plan else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, NO_UPSTREAM_BODY, None);
    };
    tokio::time::sleep(plan.latency).await;
    let path = uri.path();
    let (code, body) = match (plan.fails, path) {
        (true, _) => (StatusCode::INTERNAL_SERVER_ERROR, ERROR_BODY),
        (false, "/health") => (StatusCode::OK, "ok"),
        (false, _) => (StatusCode::OK, "shop"),
    };
    let ms = started.elapsed().as_millis();
    let line = if plan.fails {
        format!(
            "ERROR {method} {path} {} {ms}ms: {ERROR_BODY}",
            code.as_u16()
        )
    } else {
        format!("INFO {method} {path} {} {ms}ms", code.as_u16())
    };
    s.world().access_log(&plan.pod, line);
    reply(code, body, Some(&plan.pod.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_decides_the_behaviour() {
        assert_eq!(Behaviour::of(Scenario::Good, "web:1.0"), Behaviour::Steady);
        assert_eq!(Behaviour::of(Scenario::Bad, "web:1.0"), Behaviour::Steady);
        assert_eq!(Behaviour::of(Scenario::Good, "web:2.0"), Behaviour::Fast);
        assert_eq!(
            Behaviour::of(Scenario::Bad, "registry:5000/web:2.0"),
            Behaviour::Flaky
        );
        assert_eq!(Behaviour::of(Scenario::Bad, "web:2.1"), Behaviour::Steady);
        assert_eq!(Behaviour::Flaky.error_percent(), 20);
        assert_eq!(Behaviour::Fast.error_percent(), 0);
        assert_eq!(Behaviour::Flaky.latency_ms(), (150, 600));
    }
}
