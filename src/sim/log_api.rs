//! `GET …/pods/NAME/log` with since*, tailLines, timestamps, limitBytes, previous and follow.
//!
//! Fault: a follow stream of a pod whose Deployment or StatefulSet (or the pod itself) is
//! annotated `shipdeck.demo/log-hang-after: "N"` sends at most N lines, then hangs: the
//! connection stays open and nothing more is sent (no EOF), until the client goes away or
//! the server stops. The pod goes on logging, so a new request (e.g. with `sinceTime`) gets
//! the lines the hung stream held. The annotation is read when a stream starts, so
//! `kubectl annotate deployment web shipdeck.demo/log-hang-after=20` applies to the next
//! streams without a rollout. Burst mode is off for such streams (a burst's lines are not
//! kept, so they could not be asked for again).
//!
//! Burst mode (`--log-burst LINES`) serves LINES pre-generated lines first, as fast as the
//! client reads, or paced at `--log-burst-rate R` lines a second per stream.

use super::logs::{App, LogLine};
use super::pod_status::first_container;
use super::server::{ApiError, Params, Shared, Target, bytes_response};
use super::world::{Burst, Owner, SimPod, World, annotation};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
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
        let ts = self
            .timestamps
            .then(|| l.ts.to_rfc3339_opts(SecondsFormat::Nanos, true));
        self.push(&mut out, ts.as_deref().map(str::as_bytes), &l.text)
            .then_some(out)
    }

    /// Appends one line (`TIMESTAMP text\n`, or just the text) to `out`, cut at limitBytes;
    /// false once limitBytes is spent and nothing more may be sent.
    fn push(&mut self, out: &mut Vec<u8>, ts: Option<&[u8]>, text: &str) -> bool {
        let start = out.len();
        if let Some(ts) = ts.filter(|_| self.timestamps) {
            out.extend_from_slice(ts);
            out.push(b' ');
        }
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
        if let Some(left) = self.budget.as_mut() {
            if *left == 0 {
                out.truncate(start);
                return false;
            }
            out.truncate(start + (*left).min(out.len() - start));
            *left -= out.len() - start;
        }
        true
    }
}

/// Burst lines per chunk sent to the client: a burst is never built whole in memory.
const BURST_CHUNK: usize = 512;

/// Burst lines per chunk when paced at `rate` lines a second: a twentieth of a second's
/// lines, at least 1, at most [`BURST_CHUNK`].
fn burst_chunk_lines(rate: f64) -> usize {
    // The float-to-int cast saturates; NaN (never passed: the rate is checked) gives 0.
    ((rate / 20.0).ceil() as usize).clamp(1, BURST_CHUNK)
}

/// Renders burst lines `from..from + n` (cycling through the pool) into one chunk, each
/// with its own nanosecond timestamp after `after`; returns the chunk, the last timestamp,
/// and whether limitBytes still allows more.
fn burst_chunk(
    fmt: &mut Format,
    pool: &[Arc<str>],
    from: usize,
    n: usize,
    after: Option<DateTime<Utc>>,
) -> (Vec<u8>, DateTime<Utc>, bool) {
    use std::io::Write;
    // Whole microseconds, so `+ i` nanoseconds (i < BURST_CHUNK < 1000) stays inside the
    // microsecond, and so inside the second, for a whole chunk.
    let micros = |t: DateTime<Utc>| t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    let mut base = micros(Utc::now());
    if let Some(after) = after.filter(|a| *a >= base) {
        base = micros(after + chrono::Duration::microseconds(1));
    }
    let secs = base.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = base.nanosecond();
    let mut out = Vec::with_capacity(n * 64);
    let mut ts = Vec::with_capacity(32);
    let mut open = true;
    let mut last = base;
    for i in 0..n {
        let ns = nanos + u32::try_from(i).unwrap_or(0);
        ts.clear();
        let _ = write!(ts, "{secs}.{ns:09}Z");
        if pool.is_empty() || !fmt.push(&mut out, Some(&ts), &pool[(from + i) % pool.len()]) {
            open = false;
            break;
        }
        last = base.with_nanosecond(ns).unwrap_or(base);
    }
    (out, last, open)
}

/// The annotation that makes a pod's follow streams hang (see the module doc).
const HANG_AFTER: &str = "shipdeck.demo/log-hang-after";

/// How many lines a follow stream of this pod sends before it hangs: the pod's annotation,
/// else its Deployment's (through its ReplicaSet) or StatefulSet's; None: it never hangs.
fn hang_after(w: &World, ns: &str, sp: &SimPod) -> Option<usize> {
    let key = |name: &str| (ns.to_string(), name.to_string());
    let owner = match &sp.owner {
        Owner::ReplicaSet(rs) => w.replicasets.get(&key(rs)).and_then(|rs| {
            let refs = rs.metadata.owner_references.as_ref()?;
            let d = refs.iter().find(|r| r.kind == "Deployment")?;
            w.deployments.get(&key(&d.name)).map(|d| &d.metadata)
        }),
        Owner::StatefulSet(s) => w.statefulsets.get(&key(s)).map(|s| &s.metadata),
    };
    [Some(&sp.pod.metadata), owner]
        .into_iter()
        .flatten()
        .find_map(|m| annotation(m, HANG_AFTER)?.trim().parse().ok())
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
    let (lines, live, burst, hang) =
        {
            let mut w = s.world();
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
            let hang = live.as_ref().and_then(|_| hang_after(&w, &ns, sp));
            if let Some(n) = hang {
                // The rest stays in the pod's log for the next request.
                lines.truncate(n);
            }
            let app = App::of(&first_container(&sp.pod).1);
            let burst = if live.is_some() && hang.is_none() {
                w.burst(app)
            } else {
                None
            };
            let hang = hang.map(|n| n - lines.len());
            (lines, live, burst, hang)
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
    let shutdown = s.shutdown.clone();
    tokio::spawn(follow_pod(head, burst, live, fmt, hang, tx, shutdown));
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

/// A hung connection: open, sending nothing, until the client goes away or the server stops.
async fn hung(tx: mpsc::Sender<Bytes>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = shutdown.changed() => {}
        _ = tx.closed() => {}
    }
}

/// Streams the burst (if any), then new lines until the pod is deleted (its log's sender
/// drops), the client goes away, limitBytes is spent, or the server stops. With `hang`
/// (live lines still to send), hangs once they are sent (see the module doc).
async fn follow_pod(
    head: Vec<u8>,
    burst: Option<Burst>,
    mut live: broadcast::Receiver<LogLine>,
    mut fmt: Format,
    mut hang: Option<usize>,
    tx: mpsc::Sender<Bytes>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if !head.is_empty() && tx.send(Bytes::from(head)).await.is_err() {
        return;
    }
    if hang == Some(0) {
        return hung(tx, shutdown).await;
    }
    let mut burst_end = None;
    if let Some(b) = burst {
        // Unpaced: as fast as the client reads, the channel's capacity the only pacing.
        // Paced (`rate` lines a second): by an absolute schedule, so the chunk ending at line
        // k leaves no earlier than start + k / rate and a late wake-up does not add up; in
        // chunks of a twentieth of a second's lines, so the stream stays smooth.
        let paced = b.rate > 0.0;
        let chunk_lines = if paced {
            burst_chunk_lines(b.rate)
        } else {
            BURST_CHUNK
        };
        let start = tokio::time::Instant::now();
        let (mut sent, mut last) = (0, None);
        while sent < b.lines {
            let n = chunk_lines.min(b.lines - sent);
            if paced {
                // A rate so low that the time is past any clock's range: never due.
                let due = std::time::Duration::try_from_secs_f64((sent + n) as f64 / b.rate)
                    .ok()
                    .and_then(|d| start.checked_add(d));
                let wait = async {
                    match due {
                        Some(due) => tokio::time::sleep_until(due).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tx.closed() => return,
                    _ = wait => {}
                }
            }
            let (chunk, at, open) = burst_chunk(&mut fmt, &b.pool, sent, n, last);
            last = Some(at);
            burst_end = last;
            sent += n;
            let delivered = tokio::select! {
                _ = shutdown.changed() => return,
                r = tx.send(Bytes::from(chunk)) => r.is_ok(),
            };
            if !delivered || !open {
                return;
            }
        }
        // Live lines that came in meanwhile are older than the burst: go on from now.
        live = live.resubscribe();
    }
    // A kubelet's timestamps only go forward: a live line stamped before the burst's last
    // line (made in the same tick) is not sent after it.
    let mut after = burst_end;
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
        if after.is_some_and(|a| line.ts <= a) {
            continue;
        }
        after = None;
        let Some(bytes) = fmt.render(&line) else {
            break;
        };
        if tx.send(Bytes::from(bytes)).await.is_err() {
            break;
        }
        if let Some(left) = hang.as_mut() {
            *left -= 1;
            if *left == 0 {
                return hung(tx, shutdown).await;
            }
        }
    }
}
