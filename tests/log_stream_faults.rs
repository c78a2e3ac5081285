//! Log streams that hang (the connection stays open, no byte comes) and pods that are quiet,
//! against the demo cluster on 127.0.0.1 through the real kube client: the follower drops a
//! stream after its idle limit and resumes from the last timestamp, and every line of every
//! pod arrives once, checked line by line against what the server holds.

mod common;

use chrono::{DateTime, Utc};
use futures_util::io::AsyncBufReadExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams};
use serde_json::json;
use shipdeck::config::checklist::LogSpec;
use shipdeck::core::msg::{LogStreamState, Msg};
use shipdeck::sim::{Sim, SimOptions};
use shipdeck::sources::kube_client::Kube;
use shipdeck::sources::kube_logs::{FollowOptions, run_with};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};

/// The demo cluster's fault: follow streams of an annotated workload's pods send this many
/// lines, then hang with the connection open.
const HANG_AFTER: &str = "shipdeck.demo/log-hang-after";
const IDLE: Duration = Duration::from_secs(1);
/// Every wait is bounded; each test takes a few seconds.
const LIMIT: Duration = Duration::from_secs(20);

type Line = (DateTime<Utc>, String);

async fn start(log_rate: f64, dir: &tempfile::TempDir) -> (Sim, Kube) {
    common::demo::cluster(SimOptions {
        dir: dir.path().to_path_buf(),
        log_rate,
        ..Default::default()
    })
    .await
}

/// Sets (or with None removes) the hang annotation on a deployment, as `kubectl annotate` does.
async fn hang_after(kube: &Kube, deployment: &str, lines: Option<usize>) {
    let api: Api<Deployment> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let value = lines.map(|n| n.to_string());
    let patch = Patch::Merge(json!({"metadata": {"annotations": {HANG_AFTER: value}}}));
    api.patch(deployment, &PatchParams::default(), &patch)
        .await
        .expect("the annotation is set");
}

fn parse(raw: &str) -> Line {
    let (ts, text) = raw.split_once(' ').unwrap_or((raw, ""));
    let ts = DateTime::parse_from_rfc3339(ts)
        .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
        .with_timezone(&Utc);
    (ts, text.to_string())
}

/// Every line the server holds for `pod`, through a plain (not follow) request.
async fn server_lines(kube: &Kube, pod: &str) -> Vec<Line> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let params = LogParams {
        timestamps: true,
        ..Default::default()
    };
    let text = timeout(LIMIT, api.logs(pod, &params))
        .await
        .expect("a plain log request answers")
        .expect("the pod's log");
    text.lines().map(parse).collect()
}

async fn pod_names(kube: &Kube, selector: &str) -> Vec<String> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let pods = api.list(&ListParams::default().labels(selector)).await;
    let pods = pods.expect("pods list");
    pods.items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect()
}

/// The logs task on a selector, and what it sent, per pod.
struct Follow {
    rx: mpsc::Receiver<Msg>,
    task: JoinHandle<()>,
    lines: BTreeMap<String, Vec<Line>>,
    states: BTreeMap<String, Vec<LogStreamState>>,
}

impl Follow {
    fn start(kube: &Kube, selector: &str, since: Option<Duration>) -> Follow {
        let spec = LogSpec {
            selector: selector.into(),
            container: None,
            since,
            max_lines: None,
        };
        let (tx, rx) = mpsc::channel(1024);
        let opts = FollowOptions { idle: IDLE };
        let task = tokio::spawn(run_with(kube.clone(), spec, opts, tx));
        Follow {
            rx,
            task,
            lines: BTreeMap::new(),
            states: BTreeMap::new(),
        }
    }

    /// Times each pod's stream was opened (the first attach, then one per resume).
    fn attaches(&self, pod: &str) -> usize {
        let states = self.states.get(pod).map_or(&[][..], Vec::as_slice);
        states
            .iter()
            .filter(|s| **s == LogStreamState::Attached)
            .count()
    }

    /// Takes messages until `done` holds; panics with what was seen at `LIMIT`.
    async fn until(&mut self, what: &str, done: impl Fn(&Follow) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !done(self) {
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(Msg::Logs(lines))) => {
                    for l in lines {
                        self.lines.entry(l.pod).or_default().push((l.ts, l.text));
                    }
                }
                Ok(Some(Msg::LogStream { pod, state })) => {
                    self.states.entry(pod).or_default().push(state);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("the logs task ended before {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; states: {:?}; lines per pod: {:?}",
                    self.states,
                    self.lines
                        .iter()
                        .map(|(p, l)| (p, l.len()))
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    /// No stream state but attached: nothing was shown as an error.
    fn assert_never_an_error(&self) {
        for (pod, states) in &self.states {
            assert!(
                states.iter().all(|s| *s == LogStreamState::Attached),
                "{pod}: {states:?}"
            );
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The fault itself: an annotated workload's follow stream sends its N lines, then nothing,
/// with the connection open, while the pod goes on logging; without the annotation the next
/// stream does not hang.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_cluster_hangs_follow_streams_of_an_annotated_workload() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(10.0, &dir).await;
    hang_after(&kube, "web", Some(5)).await;
    let pod = pod_names(&kube, "app=web").await.remove(0);
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let params = LogParams {
        follow: true,
        timestamps: true,
        tail_lines: Some(2),
        ..Default::default()
    };
    let mut lines = api.log_stream(&pod, &params).await.unwrap().lines();
    let mut got = Vec::new();
    // Two lines of tail, three live ones (10 a second), then silence for as long as we wait.
    let hung = loop {
        let next = futures_util::StreamExt::next(&mut lines);
        match timeout(Duration::from_secs(2), next).await {
            Ok(Some(l)) => got.push(parse(&l.unwrap())),
            Ok(None) => break false,
            Err(_) => break true,
        }
        assert!(got.len() <= 5, "more than 5 lines: {got:?}");
    };
    assert!(hung, "the stream ended instead of hanging: {got:?}");
    assert_eq!(got.len(), 5, "{got:?}");
    // The pod logged on meanwhile, and the server holds those lines for the next request.
    let held = server_lines(&kube, &pod).await;
    let at = held
        .iter()
        .position(|l| *l == got[4])
        .expect("the last line sent");
    assert!(held.len() - at > 5, "{} lines after it", held.len() - at);
    assert_eq!(held[at - 4..=at], got[..]);

    hang_after(&kube, "web", None).await;
    let mut lines = api.log_stream(&pod, &params).await.unwrap().lines();
    for i in 0..12 {
        let next = timeout(
            Duration::from_secs(2),
            futures_util::StreamExt::next(&mut lines),
        );
        assert!(
            matches!(next.await, Ok(Some(Ok(_)))),
            "line {i} of a stream without the fault"
        );
    }
    sim.stop().await;
}

/// Streams that hang after 20 lines: each is dropped after the idle limit and resumed from
/// its last second; every pod's lines, those the hung streams held included, arrive once and
/// in order, and no pod is shown as failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_stream_is_resumed_after_the_idle_limit_with_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    // 5 lines a second: a resumed stream's repeats of the last second (skipped) leave most of
    // its 20 lines for new ones, so the follower keeps up.
    let (sim, kube) = start(5.0, &dir).await;
    const N: usize = 20;
    hang_after(&kube, "web", Some(N)).await;
    let pods = pod_names(&kube, "app=web").await;
    assert_eq!(pods.len(), 3);
    let started = Instant::now();
    let mut f = Follow::start(&kube, "app=web", Some(Duration::from_secs(2)));
    // More lines than two streams can bring: at least two hangs were got over.
    f.until("every pod past two hung streams", |f| {
        pods.iter()
            .all(|p| f.attaches(p) >= 3 && f.lines.get(p).is_some_and(|l| l.len() > 2 * N))
    })
    .await;
    let took = started.elapsed();
    f.assert_never_an_error();
    for pod in &pods {
        let got = &f.lines[pod];
        let held = server_lines(&kube, pod).await;
        let from = held
            .iter()
            .position(|l| *l == got[0])
            .expect("the first line");
        // Line by line: nothing lost (the held lines are in the server's log between those
        // delivered), nothing twice, nothing out of order.
        let want = &held[from..(from + got.len()).min(held.len())];
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g, w, "{pod}: line {i} of {}", got.len());
        }
        assert_eq!(
            got.len(),
            want.len(),
            "{pod}: more lines than the server has"
        );
        // The first window: everything of the last 2 s when it began, not more.
        assert!(got[0].0 > held[0].0, "{pod}: read from the first line");
    }
    // About one resume a second for each pod while hung, not a tight loop.
    let most = pods.iter().map(|p| f.attaches(p)).max().unwrap_or(0);
    assert!(
        most as f64 <= took.as_secs_f64() / IDLE.as_secs_f64() + 2.0,
        "{most} attaches in {took:?}"
    );
    eprintln!("3 pods past two hangs each in {took:?}");
    drop(f);
    sim.stop().await;
}

/// Pods that log nothing: their streams are reopened once per idle limit, without a line
/// repeated and without an error shown, whether lines were read before (web, its start-up
/// lines) or none ever was (db, nothing in the window).
#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_pod_is_reconnected_without_errors_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(0.0, &dir).await;
    let web = pod_names(&kube, "app=web").await;
    let db = pod_names(&kube, "app=db").await;
    assert_eq!((web.len(), db.len()), (3, 1));
    let started = Instant::now();
    // The seeded pods started 17 minutes ago: an hour back reads their start-up lines, the
    // default 5 minutes nothing.
    let mut w = Follow::start(&kube, "app=web", Some(Duration::from_secs(3600)));
    let mut d = Follow::start(&kube, "app=db", None);
    let reconnected = |pods: &[String]| {
        let pods = pods.to_vec();
        move |f: &Follow| pods.iter().all(|p| f.attaches(p) >= 3)
    };
    w.until("web pods reconnected twice", reconnected(&web))
        .await;
    d.until("the db pod reconnected twice", reconnected(&db))
        .await;
    let took = started.elapsed();
    for f in [&w, &d] {
        f.assert_never_an_error();
    }
    for pod in &web {
        let held = server_lines(&kube, pod).await;
        assert_eq!(held.len(), 3, "{pod}: start-up lines only: {held:?}");
        assert_eq!(w.lines.get(pod), Some(&held), "{pod}");
    }
    assert!(d.lines.is_empty(), "{:?}", d.lines);
    // One reconnect per idle limit, not a tight loop.
    for (f, pod) in web
        .iter()
        .map(|p| (&w, p))
        .chain(db.iter().map(|p| (&d, p)))
    {
        let n = f.attaches(pod);
        assert!(
            n as f64 <= took.as_secs_f64() / IDLE.as_secs_f64() + 2.0,
            "{pod}: {n} attaches in {took:?}"
        );
    }
    drop((w, d));
    sim.stop().await;
}
