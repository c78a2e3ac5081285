//! One pod's log follower: attach, parse timestamps, resume after drops without repeats or gaps.
//!
//! A stream can end (EOF), break (an error), or hang: stay open and send nothing. A hung
//! connection and a quiet pod look alike at the HTTP level (and kube's client has no read
//! timeout of its own), so a stream that brings no byte for the idle limit is dropped and
//! reopened from the last timestamp either way. For a quiet pod that is one cheap request per
//! idle period whose few repeated lines the cursor skips; for a hung connection it is the
//! recovery, and the lines the server held arrive with the resumed stream.

use super::kube_client::describe;
use crate::core::msg::{LogLine, LogStreamState, Msg};
use chrono::{DateTime, Utc};
use futures_util::io::{AsyncBufRead, AsyncBufReadExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, timeout};

/// Consecutive failed attempts before a follower waits for the pod to change.
const MAX_FAILURES: u32 = 6;
/// How long a stream end waits for the pod watcher to say whether the container stopped.
const SETTLE: Duration = Duration::from_secs(1);

/// What followers hand to the batcher.
#[derive(Debug)]
pub(crate) enum Out {
    Line(LogLine),
    /// Boxed: lines are the bulk of the traffic and should not pay for the rare message.
    Msg(Box<Msg>),
}

/// What a follower needs to know of its pod's container, from the pod watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodLogInfo {
    pub container: String,
    pub running: bool,
    /// Running, or terminated now or before (a crash-looping container's last run matters).
    pub has_logs: bool,
    pub restarts: i32,
}

impl PodLogInfo {
    /// `wanted`, else kubectl's default-container annotation, else the first container;
    /// `None` when the pod has no such container.
    pub(crate) fn of(p: &Pod, wanted: Option<&str>) -> Option<PodLogInfo> {
        let spec = p.spec.as_ref()?;
        let has = |n: &str| spec.containers.iter().any(|c| c.name == n);
        let annotated = p
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
            .filter(|n| has(n));
        let container = match wanted {
            Some(w) => has(w).then(|| w.to_string())?,
            None => annotated
                .cloned()
                .or_else(|| spec.containers.first().map(|c| c.name.clone()))?,
        };
        let status = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == container));
        let state = status.and_then(|s| s.state.as_ref());
        let running = state.is_some_and(|s| s.running.is_some());
        let terminated = state.is_some_and(|s| s.terminated.is_some())
            || status
                .and_then(|s| s.last_state.as_ref())
                .is_some_and(|l| l.terminated.is_some());
        Some(PodLogInfo {
            container,
            running,
            has_logs: running || terminated,
            restarts: status.map_or(0, |s| s.restart_count),
        })
    }
}

/// Where a pod's log was read up to, so a resumed stream skips what was delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    last: Option<DateTime<Utc>>,
    /// Lines delivered with exactly `last` (several lines can share a timestamp).
    at_last: usize,
    /// Lines at `last` the current stream must still skip.
    skip: usize,
}

impl Cursor {
    /// Starts a new stream: the `sinceTime` to ask for, whole seconds (the API rounds it
    /// to seconds, and rounding up would lose lines), and re-arms the duplicate skip.
    pub(crate) fn resume(&mut self) -> Option<Timestamp> {
        self.skip = self.at_last;
        Timestamp::from_second(self.last?.timestamp()).ok()
    }

    /// Whether a line with this timestamp is new.
    pub(crate) fn admit(&mut self, ts: DateTime<Utc>) -> bool {
        match self.last {
            Some(last) if ts < last => false,
            Some(last) if ts == last && self.skip > 0 => {
                self.skip -= 1;
                false
            }
            Some(last) if ts == last => {
                self.at_last += 1;
                true
            }
            _ => {
                self.last = Some(ts);
                self.at_last = 1;
                self.skip = 0;
                true
            }
        }
    }
}

/// Splits `2025-11-21T10:00:00.123456789Z text` into its timestamp and text.
pub(crate) fn parse_line(raw: &str) -> Option<(DateTime<Utc>, &str)> {
    let raw = raw.trim_end_matches(['\n', '\r']);
    let (ts, text) = raw.split_once(' ').unwrap_or((raw, ""));
    let ts = DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc);
    Some((ts, text))
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(250u64 << failures.min(5).saturating_sub(1)).min(Duration::from_secs(5))
}

impl Ended {
    /// Whether the server answered the request (a stream was opened).
    fn opened(&self) -> bool {
        match self {
            // An empty stream that ends at once proves little (a stopped container does
            // that again and again): lines, or a stream held open, do.
            Ended::Eof { delivered } | Ended::Failed { delivered, .. } => *delivered > 0,
            Ended::Closed => true,
            Ended::Idle { opened } => *opened,
        }
    }
}

enum Ended {
    /// The server closed the stream (container stopped, or the connection was cut).
    Eof {
        delivered: usize,
    },
    /// No byte for the idle limit: a quiet pod or a hung connection. `opened`: the server
    /// answered the request (false: not even the response head came in time).
    Idle {
        opened: bool,
    },
    Failed {
        delivered: usize,
        error: String,
    },
    /// The batcher is gone.
    Closed,
}

/// Follows one pod until aborted (the pod is deleted) or the batcher goes away.
/// `since` (seconds) applies until the first line; later attaches resume from the cursor.
/// `idle`: a stream with no byte for this long is dropped and resumed (see the module doc).
pub(crate) async fn follow_pod(
    api: Api<Pod>,
    pod: String,
    since: Option<i64>,
    idle: Duration,
    mut info: watch::Receiver<PodLogInfo>,
    back: std::sync::Arc<watch::Sender<u64>>,
    out: mpsc::Sender<Out>,
) {
    let mut relisted = back.subscribe();
    let mut cursor = Cursor::default();
    let mut failures = 0u32;
    let mut attached = false;
    let mut first_attach: Option<Instant> = None;
    loop {
        let at_open = info.borrow_and_update().clone();
        // Only a relist after this stream opens means the server came back.
        relisted.borrow_and_update();
        let since_time = cursor.resume();
        let later = first_attach.map_or(0, whole_secs_since);
        first_attach.get_or_insert_with(Instant::now);
        let params = LogParams {
            container: Some(at_open.container.clone()),
            follow: true,
            timestamps: true,
            // Until a line arrived, the first window still applies: the same start, so a
            // line the last stream held back is not lost to a window that moved on.
            since_seconds: since
                .filter(|_| since_time.is_none())
                .map(|s| s.saturating_add(later)),
            since_time,
            ..Default::default()
        };
        let ended = read_stream(&api, &pod, &params, idle, &mut cursor, &out, &mut attached).await;
        if failures > 0 && ended.opened() {
            // Through after failures: the server is back, tell the followers still waiting
            // (not this one: its own signal must not cut its next back-off short).
            back.send_modify(|n| *n += 1);
            relisted.borrow_and_update();
        }
        let (delivered, error) = match ended {
            Ended::Closed => return,
            Ended::Idle { opened } => {
                // Not a failure: reopen at once. A quiet pod stays shown as attached, and
                // the reopened stream says `Attached` again, which the model takes as no
                // change (nothing is redrawn for it).
                if opened {
                    failures = 0;
                    attached = false;
                }
                continue;
            }
            Ended::Eof { delivered } => (delivered, None),
            Ended::Failed { delivered, error } => (delivered, Some(error)),
        };
        if delivered > 0 {
            failures = 0;
        }
        if error.is_none() {
            // The pod watcher may not have seen the container stop yet.
            let _ = timeout(SETTLE, info.changed()).await;
            let now = info.borrow().clone();
            if !now.running || now.restarts != at_open.restarts {
                // A stopped container: read again when it restarts (crash loops do).
                if info
                    .wait_for(|i| i.restarts != at_open.restarts || (i.running && !at_open.running))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        }
        failures += 1;
        let error = error.unwrap_or_else(|| "log stream closed".to_string());
        if failures > MAX_FAILURES {
            let state = LogStreamState::Retrying(format!(
                "{error} (gave up after {MAX_FAILURES} attempts; retrying when the pod changes)"
            ));
            if send_state(&out, &pod, state).await.is_err() {
                return;
            }
            attached = false;
            // Nothing will work until something changes; a periodic retry covers a silent fix.
            tokio::select! {
                _ = timeout(Duration::from_secs(30), info.changed()) => {}
                Ok(()) = relisted.changed() => {}
            }
            failures = 0;
            continue;
        }
        if send_state(&out, &pod, LogStreamState::Retrying(error))
            .await
            .is_err()
        {
            return;
        }
        attached = false;
        // The pods were listed again since this stream broke: the API server is back.
        tokio::select! {
            _ = sleep(backoff(failures)) => {}
            Ok(()) = relisted.changed() => failures = 0,
        }
    }
}

/// Seconds since `t`, rounded up (a window start may move earlier, never later).
fn whole_secs_since(t: Instant) -> i64 {
    let d = t.elapsed();
    i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
}

async fn send_state(out: &mpsc::Sender<Out>, pod: &str, state: LogStreamState) -> Result<(), ()> {
    let msg = Msg::LogStream {
        pod: pod.to_string(),
        state,
    };
    out.send(Out::Msg(Box::new(msg))).await.map_err(|_| ())
}

async fn read_stream(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    idle: Duration,
    cursor: &mut Cursor,
    out: &mpsc::Sender<Out>,
    attached: &mut bool,
) -> Ended {
    // A server may hold back the response head until the log's first byte, so a pod with
    // nothing to send yet may not answer at all: that is idle too, not a failure.
    let reader = match timeout(idle, api.log_stream(pod, params)).await {
        Err(_) => return Ended::Idle { opened: false },
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Ended::Failed {
                delivered: 0,
                error: describe(&e),
            };
        }
    };
    if !*attached {
        *attached = true;
        if send_state(out, pod, LogStreamState::Attached)
            .await
            .is_err()
        {
            return Ended::Closed;
        }
    }
    let mut reader = Box::pin(reader);
    let mut delivered = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_line(&mut reader, &mut buf, idle).await {
            Ok(0) => return Ended::Eof { delivered },
            Ok(_) => {}
            // Dropping the reader closes the connection; a line half read is sent again,
            // whole, by the resumed stream.
            Err(Read::Idle) => return Ended::Idle { opened: true },
            Err(Read::Io(e)) => {
                return Ended::Failed {
                    delivered,
                    error: format!("log stream broke: {e}"),
                };
            }
        }
        // A line cut by a dropped connection has no newline: the resumed stream sends it whole.
        if buf.last() != Some(&b'\n') {
            return Ended::Eof { delivered };
        }
        let raw = String::from_utf8_lossy(&buf);
        let (ts, text) = match parse_line(&raw) {
            Some((ts, text)) if cursor.admit(ts) => (ts, text),
            Some(_) => continue,
            // Without a timestamp it cannot be placed (nor deduplicated): keep it rather than
            // lose it, and leave the cursor alone.
            None => (
                cursor.last.unwrap_or_else(Utc::now),
                raw.trim_end_matches(['\n', '\r']),
            ),
        };
        let line = LogLine {
            pod: pod.to_string(),
            ts,
            text: text.to_string(),
        };
        if out.send(Out::Line(line)).await.is_err() {
            return Ended::Closed;
        }
        delivered += 1;
    }
}

enum Read {
    /// No byte for the idle limit.
    Idle,
    Io(std::io::Error),
}

/// Reads up to and including the next newline into `buf`, as `read_until` does (0 at the end
/// of the stream), but gives up when no byte arrives for `idle`: bytes that trickle in keep
/// the stream alive however slowly a line comes together.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    idle: Duration,
) -> Result<usize, Read> {
    let start = buf.len();
    loop {
        let chunk = match timeout(idle, r.fill_buf()).await {
            Err(_) => return Err(Read::Idle),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(Err(e)) => return Err(Read::Io(e)),
            Ok(Ok(chunk)) => chunk,
        };
        if chunk.is_empty() {
            return Ok(buf.len() - start);
        }
        let (n, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(&chunk[..n]);
        r.consume_unpin(n);
        if done {
            return Ok(buf.len() - start);
        }
    }
}

#[cfg(test)]
#[path = "kube_logs_tests.rs"]
mod tests;
