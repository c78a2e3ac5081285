//! Watches: chunked newline-delimited events, resumable, with bookmarks, timeouts, 410 Gone.

use super::api::filter;
use super::resources::Kind;
use super::select::Filter;
use super::server::{ApiError, Params, Shared, Target};
use super::store::{Change, EventType, Resume};
use super::table;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

const BOOKMARK_EVERY: Duration = Duration::from_secs(5);
/// Without timeoutSeconds the real server picks 30–60 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    object: &'a Value,
}

fn line(ty: &str, object: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&Line { ty, object }).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// How one change looks to a watch with this filter (objects entering or leaving the
/// selection become ADDED or DELETED, as with the real server).
fn classify<'a>(c: &'a Change, kind: Kind, f: &Filter) -> Option<(&'static str, &'a Value)> {
    if c.kind != kind {
        return None;
    }
    let now = f.matches(&c.new);
    let before = c.old.as_ref().is_some_and(|o| f.matches(o));
    let ty = match (c.ty, before, now) {
        (EventType::Added, _, true) => EventType::Added,
        (EventType::Modified, true, true) => EventType::Modified,
        (EventType::Modified, false, true) => EventType::Added,
        (EventType::Modified, true, false) => EventType::Deleted,
        (EventType::Deleted, b, n) if b || n => EventType::Deleted,
        _ => return None,
    };
    Some((ty.as_str(), &c.new))
}

pub fn gone(rv: &str, oldest: u64) -> Value {
    ApiError::new(
        410,
        "Expired",
        format!("too old resource version: {rv} ({oldest})"),
    )
    .status()
}

struct Plan {
    kind: Kind,
    filter: Filter,
    table: Option<String>,
    initial: Vec<Arc<Value>>,
    initial_end: bool,
    backlog: Vec<Arc<Change>>,
    live: Option<broadcast::Receiver<Arc<Change>>>,
    expired: Option<Value>,
    rv: u64,
    bookmarks: bool,
    timeout: Duration,
}

pub fn watch(s: Arc<Shared>, t: &Target, q: &Params, as_table: bool) -> Result<Response, ApiError> {
    let filter = filter(t, q)?;
    let from = q.get("resourceVersion").map_or("", String::as_str);
    let send_initial = q.get("sendInitialEvents").is_some_and(|v| v == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let mut plan = Plan {
        kind: t.kind(),
        table: as_table.then(|| q.get("includeObject").cloned().unwrap_or("Metadata".into())),
        initial: Vec::new(),
        initial_end: send_initial,
        backlog: Vec::new(),
        live: None,
        expired: None,
        rv: 0,
        bookmarks: q.get("allowWatchBookmarks").is_some_and(|v| v == "true"),
        timeout,
        filter,
    };
    {
        let w = s.world();
        plan.rv = w.store.rv();
        if from.is_empty() || from == "0" || send_initial {
            // "Any" or "most recent": the current state first, as synthetic ADDED events.
            plan.initial = w
                .store
                .list(plan.kind, t.ns.as_deref())
                .filter(|(_, o)| plan.filter.matches(o))
                .map(|(_, o)| o.clone())
                .collect();
            plan.live = Some(w.store.subscribe());
        } else {
            let n: u64 = from
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {from:?}")))?;
            match w.store.resume(n) {
                Resume::From(backlog, rx) => {
                    plan.backlog = backlog;
                    plan.live = Some(rx);
                }
                // Said in the stream, not as an HTTP error: that is what makes kube-runtime relist.
                Resume::Gone => plan.expired = Some(gone(from, w.store.window_start())),
            }
        }
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let shutdown = s.shutdown.clone();
    tokio::spawn(pump(plan, tx, shutdown));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let ct = if as_table {
        "application/json;as=Table;v=v1;g=meta.k8s.io"
    } else {
        "application/json"
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(ct));
    Ok(r)
}

fn bookmark(kind: Kind, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj =
        json!({"kind": kind.def().kind_name, "apiVersion": kind.api_version(), "metadata": meta});
    line("BOOKMARK", &obj)
}

fn render(plan: &Plan, ty: &str, obj: &Value) -> Bytes {
    match &plan.table {
        Some(include) => {
            let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            line(ty, &table::render(plan.kind, &[obj], meta, include))
        }
        None => line(ty, obj),
    }
}

async fn pump(
    mut plan: Plan,
    tx: mpsc::Sender<Bytes>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if let Some(status) = plan.expired.take() {
        let _ = tx.send(line("ERROR", &status)).await;
        return;
    }
    let mut out: Vec<Bytes> = plan
        .initial
        .iter()
        .map(|o| render(&plan, "ADDED", o))
        .collect();
    if plan.initial_end && plan.bookmarks {
        out.push(bookmark(plan.kind, plan.rv, true));
    }
    for c in &plan.backlog {
        plan.rv = plan.rv.max(c.rv);
        if let Some((ty, obj)) = classify(c, plan.kind, &plan.filter) {
            out.push(render(&plan, ty, obj));
        }
    }
    for b in out {
        if tx.send(b).await.is_err() {
            return;
        }
    }
    let Some(mut live) = plan.live.take() else {
        return;
    };
    let deadline = tokio::time::sleep(plan.timeout);
    tokio::pin!(deadline);
    let mut marks =
        tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
    loop {
        let msg = tokio::select! {
            _ = &mut deadline => break,
            _ = shutdown.changed() => break,
            _ = tx.closed() => break,
            _ = marks.tick(), if plan.bookmarks => bookmark(plan.kind, plan.rv, false),
            r = live.recv() => match r {
                Ok(c) if c.rv <= plan.rv => continue,
                Ok(c) => {
                    plan.rv = c.rv;
                    match classify(&c, plan.kind, &plan.filter) {
                        Some((ty, obj)) => render(&plan, ty, obj),
                        None => continue,
                    }
                }
                // Fell behind the broadcast: the client must relist, as after a compaction.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    line("ERROR", &gone(&plan.rv.to_string(), plan.rv))
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        let lagged = msg.starts_with(b"{\"type\":\"ERROR\"");
        if tx.send(msg).await.is_err() || lagged {
            break;
        }
    }
}
