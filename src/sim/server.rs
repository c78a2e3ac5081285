//! The HTTP front: parses Kubernetes API paths, dispatches, and answers errors as `Status`;
//! serves the API on its port, and restarts it in place (connections cut, port closed for a
//! while, watch history forgotten) while the world behind it goes on.

use super::ledger::{Ledger, Record};
use super::resources::{self, Kind, ResDef};
use super::world::World;
use super::{api, log_api, watch, write};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot, watch as signal};

pub type Params = HashMap<String, String>;

/// What every request and the controller loop share.
pub struct Shared {
    world: Mutex<World>,
    /// Wakes the controllers right after the API changed something.
    pub kick: Notify,
    /// Turns true (or closes) when the server stops: streams end, the loop exits.
    pub shutdown: signal::Receiver<bool>,
    pub addr: SocketAddr,
    /// What the log checker needs (`SimOptions::ledger`), when asked for.
    pub ledger: Option<Arc<Ledger>>,
}

impl Shared {
    pub fn new(
        world: World,
        shutdown: signal::Receiver<bool>,
        addr: SocketAddr,
        ledger: Option<Arc<Ledger>>,
    ) -> Shared {
        Shared {
            world: Mutex::new(world),
            kick: Notify::new(),
            shutdown,
            addr,
            ledger,
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
            let opened = Utc::now();
            let follow = q.get("follow").is_some_and(|v| v == "true" || v == "1");
            log_api::logs(s.clone(), &t, &q).map(|r| match &s.ledger {
                Some(l) if follow => track(l.clone(), t.key().1, opened, r),
                _ => r,
            })
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

/// Records a follow stream's start and end in the ledger; its end is `complete` when the
/// server ended the body, not when the connection was cut or the client went away.
fn track(ledger: Arc<Ledger>, pod: String, at: DateTime<Utc>, r: Response) -> Response {
    if r.status() != StatusCode::OK {
        return r;
    }
    let id = ledger.stream_id();
    ledger.push(Record::Opened {
        pod: pod.clone(),
        id,
        at,
    });
    let (parts, body) = r.into_parts();
    let guard = StreamEnd {
        ledger,
        pod,
        id,
        complete: false,
    };
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), guard),
        |(mut body, mut guard)| async move {
            use futures_util::StreamExt;
            match body.next().await {
                Some(chunk) => Some((chunk, (body, guard))),
                None => {
                    guard.finish();
                    None
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

struct StreamEnd {
    ledger: Arc<Ledger>,
    pod: String,
    id: u64,
    complete: bool,
}

impl StreamEnd {
    /// The server ended the body: everything it had went out.
    fn finish(&mut self) {
        self.complete = true;
    }
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        self.ledger.push(Record::Closed {
            pod: std::mem::take(&mut self.pod),
            id: self.id,
            at: Utc::now(),
            complete: self.complete,
        });
    }
}

/// Asks for an API server restart (`Sim::restart_api`).
pub struct Restart {
    pub down: Duration,
    pub reply: oneshot::Sender<std::io::Result<Restarted>>,
}

/// What a restart did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restarted {
    /// Open connections (watches, log follows, idle keep-alives) cut when it went down.
    pub connections_cut: usize,
    /// When the connections were cut and the port closed…
    pub down_at: DateTime<Utc>,
    /// …and when it listened again.
    pub up_at: DateTime<Utc>,
}

/// The accepted connections of one life of the API server, cut together when it goes down.
struct CutListener {
    inner: TcpListener,
    cut: signal::Receiver<bool>,
    open: Arc<AtomicUsize>,
}

impl axum::serve::Listener for CutListener {
    type Io = CutIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CutIo, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    let mut cut = self.cut.clone();
                    self.open.fetch_add(1, Ordering::SeqCst);
                    let io = CutIo {
                        io,
                        cut: Box::pin(async move {
                            if cut.wait_for(|c| *c).await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        }),
                        is_cut: false,
                        open: self.open.clone(),
                    };
                    return (io, addr);
                }
                // Out of file descriptors and the like: the real server backs off too.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every read and write once its server goes down, so hyper drops it
/// at once, mid-stream or idle, as the process of a killed API server would.
struct CutIo {
    io: TcpStream,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    is_cut: bool,
    open: Arc<AtomicUsize>,
}

impl CutIo {
    fn check(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        if !self.is_cut && self.cut.as_mut().poll(cx).is_ready() {
            self.is_cut = true;
        }
        if self.is_cut {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "the API server went down",
            ));
        }
        Ok(())
    }
}

impl Drop for CutIo {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for CutIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if let Err(e) = me.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut me.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let me = self.get_mut();
        if let Err(e) = me.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut me.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let me = self.get_mut();
        if let Err(e) = me.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut me.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if let Err(e) = me.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut me.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The next restart asked for; never, once nobody can ask any more.
async fn next_restart(rx: &mut mpsc::Receiver<Restart>) -> Restart {
    match rx.recv().await {
        Some(r) => r,
        None => std::future::pending().await,
    }
}

/// How long a restart waits for the port to come free again before it gives up.
const REBIND_FOR: Duration = Duration::from_secs(10);

/// Serves the API on `listener` until the server stops; on each restart asked for, cuts every
/// connection, closes the port for the downtime (connections are refused), forgets the watch
/// history (older resourceVersions get 410 Gone), and listens again on the same port. The
/// world and its controllers are not touched: they go on during the downtime.
pub async fn serve_api(
    mut listener: TcpListener,
    app: axum::Router,
    shared: Arc<Shared>,
    mut restarts: mpsc::Receiver<Restart>,
) {
    let port = shared.addr.port();
    loop {
        let (cut_tx, cut_rx) = signal::channel(false);
        let (end_tx, end_rx) = oneshot::channel::<()>();
        let open = Arc::new(AtomicUsize::new(0));
        let stop = shared.shutdown.clone();
        let cut_listener = CutListener {
            inner: listener,
            cut: cut_rx,
            open: open.clone(),
        };
        let serve = axum::serve(cut_listener, app.clone()).with_graceful_shutdown(async move {
            tokio::select! {
                _ = super::stopped(stop) => {}
                _ = end_rx => {}
            }
        });
        // Boxed, so that it can be dropped (with the listener) before the downtime.
        let mut serve = Box::pin(std::future::IntoFuture::into_future(serve));
        let restart = tokio::select! {
            // Stopped: streams end on the signal, and the server drains by itself.
            _ = &mut serve => return,
            r = next_restart(&mut restarts) => r,
        };
        let down_at = Utc::now();
        let connections_cut = open.load(Ordering::SeqCst);
        let _ = cut_tx.send(true);
        let _ = end_tx.send(());
        // The listener goes with the serve future: from here connections are refused.
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut serve).await;
        drop(serve);
        if let Some(l) = &shared.ledger {
            l.push(Record::Down { at: down_at });
        }
        let stopped = tokio::select! {
            _ = tokio::time::sleep(restart.down) => false,
            _ = super::stopped(shared.shutdown.clone()) => true,
        };
        if stopped {
            let _ = restart.reply.send(Err(std::io::Error::other(
                "the demo cluster stopped during the restart",
            )));
            return;
        }
        // A restarted server has no watch cache: a watch from an older version gets 410 Gone.
        shared.world().store.forget_history();
        listener = match rebind(port).await {
            Ok(l) => l,
            Err(e) => {
                let _ = restart.reply.send(Err(e));
                return;
            }
        };
        let up_at = Utc::now();
        if let Some(l) = &shared.ledger {
            l.push(Record::Up { at: up_at });
        }
        let _ = restart.reply.send(Ok(Restarted {
            connections_cut,
            down_at,
            up_at,
        }));
    }
}

/// Binds the port again; something else may hold it for a moment (bounded retries).
async fn rebind(port: u16) -> std::io::Result<TcpListener> {
    let end = tokio::time::Instant::now() + REBIND_FOR;
    loop {
        match super::listen(port) {
            Ok(l) => return Ok(l),
            Err(e) if tokio::time::Instant::now() >= end => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on 127.0.0.1:{port} again: {e}"),
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
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
