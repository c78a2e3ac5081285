//! `GET …/pods/NAME/log` with since*, tailLines, timestamps, limitBytes, previous and follow.

use super::logs::LogLine;
use super::server::{ApiError, Params, Shared, Target, bytes_response};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

struct Format {
    timestamps: bool,
    /// Bytes left under limitBytes.
    budget: Option<usize>,
}

impl Format {
    /// The line as the kubelet sends it; None once limitBytes is spent.
    fn render(&mut self, l: &LogLine) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(l.text.len() + 40);
        if self.timestamps {
            out.extend_from_slice(l.ts.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(l.text.as_bytes());
        out.push(b'\n');
        if let Some(left) = self.budget.as_mut() {
            if *left == 0 {
                return None;
            }
            out.truncate(*left);
            *left -= out.len();
        }
        Some(out)
    }
}

fn flag(q: &Params, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn number(q: &Params, k: &str) -> Result<Option<i64>, ApiError> {
    q.get(k)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid {k}: {v:?}")))
        })
        .transpose()
}

pub fn logs(s: Arc<Shared>, t: &Target, q: &Params) -> Result<Response, ApiError> {
    let (ns, name) = t.key();
    let follow = flag(q, "follow");
    let since = match (number(q, "sinceSeconds")?, q.get("sinceTime")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "at most one of sinceTime or sinceSeconds may be specified",
            ));
        }
        // Beyond chrono's range means "from the beginning".
        (Some(secs), None) => chrono::Duration::try_seconds(secs.max(0))
            .and_then(|d| Utc::now().checked_sub_signed(d)),
        (None, Some(t)) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| ApiError::bad_request(format!("invalid sinceTime {t:?}: {e}")))?
                .with_timezone(&Utc),
        ),
        (None, None) => None,
    };
    let tail = number(q, "tailLines")?;
    let mut fmt = Format {
        timestamps: flag(q, "timestamps"),
        budget: number(q, "limitBytes")?.map(|b| usize::try_from(b.max(0)).unwrap_or(0)),
    };
    let (lines, live) =
        {
            let w = s.world();
            let sp = w
                .pods
                .get(&(ns.clone(), name.clone()))
                .ok_or_else(|| ApiError::not_found(t.def, &name))?;
            let containers: Vec<String> = sp
                .pod
                .spec
                .iter()
                .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
                .collect();
            let container = match q.get("container") {
                Some(c) if containers.contains(c) => c.clone(),
                Some(c) => {
                    return Err(ApiError::bad_request(format!(
                        "container {c} is not valid for pod {name}"
                    )));
                }
                None if containers.len() > 1 => {
                    return Err(ApiError::bad_request(format!(
                        "a container name must be specified for pod {name}, choose one of: [{}]",
                        containers.join(" ")
                    )));
                }
                None => containers.first().cloned().unwrap_or_default(),
            };
            if sp.started_at.is_none() {
                let why = sp
                    .pod
                    .status
                    .as_ref()
                    .and_then(|st| {
                        st.container_statuses
                            .as_ref()?
                            .first()?
                            .state
                            .as_ref()?
                            .waiting
                            .as_ref()?
                            .reason
                            .clone()
                    })
                    .unwrap_or_else(|| "PodInitializing".into());
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{name}\" is waiting to start: {why}"
                )));
            }
            let mut lines: Vec<LogLine> = sp.log.lines.iter().cloned().collect();
            if flag(q, "previous") {
                // The previous run ends at its last FATAL line.
                let end = lines.iter().rposition(|l| l.text.starts_with("FATAL")).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                ))
            })?;
                lines.truncate(end + 1);
            }
            if let Some(since) = since {
                lines.retain(|l| l.ts >= since);
            }
            if let Some(n) = tail {
                let keep = usize::try_from(n.max(0)).unwrap_or(0);
                lines.drain(..lines.len().saturating_sub(keep));
            }
            let live = (follow && !flag(q, "previous")).then(|| sp.log.tx.subscribe());
            (lines, live)
        };
    let head: Vec<u8> = lines
        .iter()
        .filter_map(|l| fmt.render(l))
        .flatten()
        .collect();
    let Some(live) = live else {
        return Ok(bytes_response(StatusCode::OK, "text/plain", head));
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(follow_pod(head, live, fmt, tx, s.shutdown.clone()));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(r)
}

/// Streams new lines until the pod is deleted (its log's sender drops), the client goes
/// away, limitBytes is spent, or the server stops.
async fn follow_pod(
    head: Vec<u8>,
    mut live: broadcast::Receiver<LogLine>,
    mut fmt: Format,
    tx: mpsc::Sender<Bytes>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if !head.is_empty() && tx.send(Bytes::from(head)).await.is_err() {
        return;
    }
    loop {
        let line = tokio::select! {
            _ = shutdown.changed() => break,
            _ = tx.closed() => break,
            r = live.recv() => match r {
                Ok(l) => l,
                // A slow reader misses lines rather than stalling the pod.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        let Some(bytes) = fmt.render(&line) else {
            break;
        };
        if tx.send(Bytes::from(bytes)).await.is_err() {
            break;
        }
    }
}
