//! Follows the logs of every pod matching a selector (new pods as they appear) as batched `Msg::Logs`.
//!
//! A follow stream that brings no byte for [`FollowOptions::idle`] (60 s unless
//! `SHIPDECK_LOG_IDLE` says otherwise, e.g. `SHIPDECK_LOG_IDLE=30s`) is dropped and resumed
//! from its last timestamp: that ends a hung connection, and costs a quiet pod one request.

use super::kube_client::Kube;
use super::kube_logs_follow::{Out, PodLogInfo, follow_pod};
use super::kube_watch::{Seen, Tasks, follow};
use crate::config::checklist::LogSpec;
use crate::core::msg::{KubeMsg, LogLine, LogStreamState, Msg, Stream};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::Config;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};

/// A batch goes out at this many lines…
pub const BATCH_LINES: usize = 50;
/// …or this long after its first line, whichever comes first. The cockpit draws news that
/// is not a key or a step at most every 500 ms (`app::LAZY_FRAME`), so a line waits at most
/// 250 ms more than it would at once; at 100 ms the app woke 10 times a second for a few
/// lines, and a following cockpit used 8 % more CPU (BENCHMARKS.md, steady state).
pub const BATCH_WAIT: Duration = Duration::from_millis(250);
/// Messages the app may have unread before the batcher holds its next batch back…
const MAX_UNREAD: usize = 32;
/// …checking after this long whether the app caught up, and twice as long each time after
/// (an app that stops reading for a while, during an interactive step, costs ten wake-ups a
/// second)…
const UNREAD_POLL: Duration = Duration::from_millis(2);
/// …up to this.
const UNREAD_POLL_MAX: Duration = Duration::from_millis(100);
/// How far back a pod that was already running when we started is read.
const DEFAULT_SINCE: Duration = Duration::from_secs(5 * 60);
/// How long a follow stream may bring no byte before it is dropped and resumed.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// The environment variable that sets [`FollowOptions::idle`] (`30s`, `2m`, `1500ms`).
pub const IDLE_ENV: &str = "SHIPDECK_LOG_IDLE";
/// The shortest idle limit taken: less would reconnect a quiet pod in a tight loop.
const MIN_IDLE: Duration = Duration::from_millis(100);

/// How the pod log followers behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    /// A follow stream that brings no byte for this long (not even a response head) is
    /// dropped and reopened from the last timestamp, with the lines already delivered
    /// skipped. A quiet pod and a hung connection look alike, so this is not shown as an
    /// error: the pod stays attached (`Attached` is sent again once the stream is reopened).
    pub idle: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions { idle: DEFAULT_IDLE }
    }
}

impl FollowOptions {
    /// The defaults, with [`IDLE_ENV`] applied when it holds a duration (at least 100 ms);
    /// anything else leaves the default.
    pub fn from_env() -> Self {
        let idle = std::env::var(IDLE_ENV).ok();
        FollowOptions::default().with_idle_text(idle.as_deref())
    }

    pub(crate) fn with_idle_text(mut self, text: Option<&str>) -> Self {
        if let Some(d) = text.and_then(crate::config::units::parse_duration) {
            self.idle = d.max(MIN_IDLE);
        }
        self
    }
}

/// The logs task with the options of [`FollowOptions::from_env`].
pub async fn run(kube: Kube, spec: LogSpec, tx: mpsc::Sender<Msg>) {
    run_with(kube, spec, FollowOptions::from_env(), tx).await;
}

/// The logs task: a pod watcher on the selector, one follower per pod, one batcher.
pub async fn run_with(kube: Kube, spec: LogSpec, opts: FollowOptions, tx: mpsc::Sender<Msg>) {
    let started = Utc::now();
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let logs_api: Api<Pod> = Api::namespaced(kube.logs.clone(), &kube.namespace);
    let (out_tx, out_rx) = mpsc::channel::<Out>(512);
    let (pods_tx, mut pods_rx) = mpsc::channel::<Seen<Pod>>(64);
    let _watcher = Tasks(vec![tokio::spawn(follow(
        api,
        Config::default().labels(&spec.selector),
        pods_tx,
        Pod::clone,
        |s| s,
    ))]);
    let _batcher = Tasks(vec![tokio::spawn(batch(out_rx, tx.clone()))]);
    let mut pods = Pods {
        api: logs_api,
        spec,
        opts,
        started,
        out: out_tx,
        followers: HashMap::new(),
        relist: None,
        down_since: None,
        relisted: std::sync::Arc::new(watch::channel(0).0),
    };
    loop {
        let seen = tokio::select! {
            s = pods_rx.recv() => s,
            _ = tx.closed() => return,
        };
        let Some(seen) = seen else { return };
        if pods.on_seen(seen).await.is_err() {
            return;
        }
    }
}

struct Follower {
    info: watch::Sender<PodLogInfo>,
    task: JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Pods {
    /// On the log client (`Kube::logs`), for the followers.
    api: Api<Pod>,
    spec: LogSpec,
    opts: FollowOptions,
    started: DateTime<Utc>,
    out: mpsc::Sender<Out>,
    followers: HashMap<String, Follower>,
    relist: Option<HashSet<String>>,
    down_since: Option<DateTime<Utc>>,
    /// Bumped when the API server answers again after a break: at each completed relist of
    /// the pods, and by a follower whose stream opens after failures. A follower waiting out
    /// its back-off (up to 5 s, or 30 s after giving up) then retries at once instead of
    /// missing the lines of a pod that goes away meanwhile.
    relisted: std::sync::Arc<watch::Sender<u64>>,
}

/// The batcher is gone: the app stopped listening.
struct Closed;

impl Pods {
    async fn on_seen(&mut self, seen: Seen<Pod>) -> Result<(), Closed> {
        if !matches!(seen, Seen::Init | Seen::Error(_)) && self.down_since.take().is_some() {
            self.send(Msg::Kube(KubeMsg::Live {
                stream: Stream::Logs,
            }))
            .await?;
        }
        match seen {
            Seen::Init => self.relist = Some(HashSet::new()),
            Seen::InitApply(p) => {
                if let (Some(seen), Some(name)) = (self.relist.as_mut(), p.metadata.name.clone()) {
                    seen.insert(name);
                }
                self.upsert(&p);
            }
            Seen::InitDone => {
                let listed = self.relist.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .followers
                    .keys()
                    .filter(|n| !listed.contains(*n))
                    .cloned()
                    .collect();
                for name in gone {
                    self.detach(name).await?;
                }
                self.relisted.send_modify(|n| *n += 1);
            }
            Seen::Apply(p) => self.upsert(&p),
            Seen::Delete(p) => {
                if let Some(name) = p.metadata.name {
                    self.detach(name).await?;
                }
            }
            Seen::Error(error) => {
                if self.down_since.is_none() {
                    let since = Utc::now();
                    self.down_since = Some(since);
                    self.send(Msg::Kube(KubeMsg::Stale {
                        stream: Stream::Logs,
                        since,
                        error,
                    }))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn send(&self, msg: Msg) -> Result<(), Closed> {
        self.out
            .send(Out::Msg(Box::new(msg)))
            .await
            .map_err(|_| Closed)
    }

    /// Starts following a pod once its container has something to read; otherwise tells
    /// its follower what changed (a restart is how a crash-looping container comes back).
    fn upsert(&mut self, p: &Pod) {
        let Some(name) = p.metadata.name.clone() else {
            return;
        };
        let Some(info) = PodLogInfo::of(p, self.spec.container.as_deref()) else {
            return;
        };
        if let Some(f) = self.followers.get(&name) {
            f.info.send_if_modified(|old| {
                let changed = *old != info;
                *old = info.clone();
                changed
            });
            return;
        }
        if !info.has_logs {
            return;
        }
        let created = p.metadata.creation_timestamp.as_ref();
        let created = created.and_then(|t| super::kube_convert::to_chrono(&t.0));
        // A pod born after we started is read from its first line; older ones from `since`.
        let since = match created {
            Some(c) if c >= self.started => None,
            _ => Some(self.spec.since.unwrap_or(DEFAULT_SINCE).as_secs().max(1) as i64),
        };
        let (info_tx, info_rx) = watch::channel(info);
        let task = tokio::spawn(follow_pod(
            self.api.clone(),
            name.clone(),
            since,
            self.opts.idle,
            info_rx,
            self.relisted.clone(),
            self.out.clone(),
        ));
        self.followers.insert(
            name,
            Follower {
                info: info_tx,
                task,
            },
        );
    }

    async fn detach(&mut self, name: String) -> Result<(), Closed> {
        if self.followers.remove(&name).is_some() {
            self.send(Msg::LogStream {
                pod: name,
                state: LogStreamState::Detached,
            })
            .await?;
        }
        Ok(())
    }
}

/// Sends a batch once the app has fewer than [`MAX_UNREAD`] messages waiting. The channel to
/// the app is shared and long (a step's output, watch events); without this bound a burst of
/// history at attach queued every line of it there at once, tens of thousands, while the app
/// drew frames. Waiting here holds the rest back in the followers and in TCP.
async fn send_lines(tx: &mpsc::Sender<Msg>, lines: Vec<LogLine>) -> Result<(), ()> {
    let mut wait = UNREAD_POLL;
    while tx.max_capacity() - tx.capacity() >= MAX_UNREAD {
        if tx.is_closed() {
            return Err(());
        }
        sleep(wait).await;
        wait = (wait * 2).min(UNREAD_POLL_MAX);
    }
    tx.send(Msg::Logs(lines)).await.map_err(|_| ())
}

/// Merges every follower's lines into batches of at most `BATCH_LINES` or `BATCH_WAIT`;
/// other messages go out in order, after the lines before them.
async fn batch(mut rx: mpsc::Receiver<Out>, tx: mpsc::Sender<Msg>) {
    let mut lines: Vec<LogLine> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let next = match deadline {
            Some(d) => tokio::select! {
                o = rx.recv() => Some(o),
                _ = sleep_until(d) => None,
            },
            None => Some(rx.recv().await),
        };
        let mut extra = None;
        match next {
            // The oldest line has waited long enough.
            None => {}
            Some(None) => {
                if !lines.is_empty() {
                    let _ = send_lines(&tx, lines).await;
                }
                return;
            }
            Some(Some(Out::Line(l))) => {
                if lines.is_empty() {
                    deadline = Some(Instant::now() + BATCH_WAIT);
                }
                lines.push(l);
                if lines.len() < BATCH_LINES {
                    continue;
                }
            }
            Some(Some(Out::Msg(m))) => extra = Some(*m),
        }
        if !lines.is_empty() && send_lines(&tx, std::mem::take(&mut lines)).await.is_err() {
            return;
        }
        deadline = None;
        if let Some(m) = extra
            && tx.send(m).await.is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood of lines while the app reads nothing: at most `MAX_UNREAD` batches wait in the
    /// app's channel (its capacity is far larger), the rest is held back, and once the app
    /// reads, every line comes, in order.
    #[tokio::test]
    async fn an_app_that_falls_behind_holds_the_batcher_back_and_loses_nothing() {
        const LINES: usize = 100 * BATCH_LINES;
        let (out_tx, out_rx) = mpsc::channel::<Out>(512);
        let (tx, mut rx) = mpsc::channel::<Msg>(1024);
        let _batcher = Tasks(vec![tokio::spawn(batch(out_rx, tx))]);
        let producer = tokio::spawn(async move {
            let t0 = Utc::now();
            for i in 0..LINES {
                let line = LogLine {
                    pod: "web-1".into(),
                    ts: t0 + chrono::Duration::milliseconds(i as i64),
                    text: i.to_string(),
                };
                if out_tx.send(Out::Line(line)).await.is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while rx.len() < MAX_UNREAD && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
        }
        sleep(Duration::from_millis(200)).await;
        assert_eq!(rx.len(), MAX_UNREAD, "batches waiting for the app");
        let mut texts = Vec::new();
        while texts.len() < LINES {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(Msg::Logs(lines))) => texts.extend(lines.into_iter().map(|l| l.text)),
                other => panic!("after {} lines: {other:?}", texts.len()),
            }
        }
        let want: Vec<String> = (0..LINES).map(|i| i.to_string()).collect();
        assert!(texts == want, "lines lost or out of order");
        producer.await.unwrap();
    }
}
