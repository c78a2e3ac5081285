//! Issue 8, "demo cluster restarted during a rollout": the demo cluster's API server is
//! restarted three times while `web` rolls out (its world, like etcd and the kubelets, goes
//! on). Followed through shipdeck's own sources (pods/rollout watcher, log followers, rollout
//! wait) over real HTTP, each restart must show as stale then live again, the rollout wait
//! must end with success, and the log lines must match what the cluster's pods wrote (the
//! demo cluster's ledger): none twice, none missing except those the server no longer held.

use chrono::{DateTime, Utc};
use shipdeck::config::checklist::{
    Action, ActionKind, Cluster, LogSpec, Target, Wait, WaitKind, WorkloadKind,
};
use shipdeck::core::msg::{KubeMsg, LogLine, Msg, Stream, WaitResult};
use shipdeck::sim::ledger::{self, Record};
use shipdeck::sim::{self, SimOptions};
use shipdeck::sources::kube_client::{ClusterTarget, connect};
use shipdeck::sources::{kube_actions, kube_wait, kube_watch};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Restarts during the rollout, and how long the server stays down each time.
const RESTARTS: usize = 3;
const DOWN: Duration = Duration::from_secs(1);
/// Replicas during the rollout: with maxSurge 1 and maxUnavailable 0 they are replaced one at
/// a time, which makes the rollout (about 1.5 s a pod) outlast three restarts with room to
/// spare on a loaded machine.
const REPLICAS: u32 = 10;
/// Every wait of this test is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

fn web() -> Target {
    Target {
        kind: WorkloadKind::Deployment,
        name: "web".into(),
    }
}

fn rollout_wait(secs: u64) -> Wait {
    Wait {
        kind: WaitKind::Rollout(web()),
        timeout: Some(Duration::from_secs(secs)),
        pos: Default::default(),
    }
}

/// Stale or live news about one stream, as the app would get it, with when it came.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Health {
    Stale,
    Live,
}

/// What shipdeck's sources sent, each message stamped when it arrived.
#[derive(Default)]
struct Seen {
    health: Vec<(DateTime<Utc>, Stream, Health)>,
    pods: BTreeMap<String, shipdeck::core::kube::PodView>,
    lines: Vec<LogLine>,
    last: Vec<String>,
}

impl Seen {
    fn apply(&mut self, at: DateTime<Utc>, msg: Msg) {
        match &msg {
            Msg::Kube(KubeMsg::Stale { stream, .. }) => {
                self.health.push((at, *stream, Health::Stale))
            }
            Msg::Kube(KubeMsg::Live { stream }) => self.health.push((at, *stream, Health::Live)),
            Msg::Kube(KubeMsg::PodsRelisted(pods)) => {
                self.pods = pods.iter().map(|p| (p.name.clone(), p.clone())).collect();
            }
            Msg::Kube(KubeMsg::Pod(p)) => {
                self.pods.insert(p.name.clone(), p.clone());
            }
            Msg::Kube(KubeMsg::PodGone(n)) => {
                self.pods.remove(n);
            }
            Msg::Logs(lines) => self.lines.extend(lines.iter().cloned()),
            _ => {}
        }
        self.last
            .push(format!("{msg:?}").chars().take(160).collect());
        if self.last.len() > 8 {
            self.last.remove(0);
        }
    }

    fn web_pods(&self) -> Vec<&shipdeck::core::kube::PodView> {
        self.pods
            .values()
            .filter(|p| p.labels.iter().any(|(k, v)| k == "app" && v == "web"))
            .collect()
    }

    /// The first Stale of `stream` after `after`, and the first Live after that.
    fn outage(
        &self,
        stream: Stream,
        after: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let mut news = self
            .health
            .iter()
            .filter(|(at, s, _)| *s == stream && *at >= after);
        let stale = news.find(|(_, _, h)| *h == Health::Stale)?.0;
        let live = news.find(|(_, _, h)| *h == Health::Live)?.0;
        Some((stale, live))
    }

    /// Takes what arrived until `done` holds; panics after `LIMIT` with the last messages.
    async fn until(
        &mut self,
        rx: &mut mpsc::Receiver<(DateTime<Utc>, Msg)>,
        what: &str,
        done: impl Fn(&Seen) -> bool,
    ) {
        let deadline = Instant::now() + LIMIT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((at, m))) => self.apply(at, m),
                Ok(None) => panic!("the sources ended before {what}"),
                Err(_) => panic!("timed out waiting for {what}; last: {:#?}", self.last),
            }
        }
    }

    /// Takes whatever has arrived, without waiting.
    fn drain(&mut self, rx: &mut mpsc::Receiver<(DateTime<Utc>, Msg)>) {
        while let Ok((at, m)) = rx.try_recv() {
            self.apply(at, m);
        }
    }
}

/// Log lines compared with what the pods wrote.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    received: usize,
    /// Received more often than written.
    duplicated: usize,
    /// Received but never written by a pod of the cluster.
    unknown: usize,
    /// Written in the window and not received, though the server held them when asked.
    lost: Vec<(String, DateTime<Utc>, String)>,
    /// Written in the window and not received because the server no longer held them when it
    /// came back: the pod was removed while the server was down.
    not_held: usize,
    /// Written in the window and not received although the server held them while it was up:
    /// the pod was removed after the server came back but before the cockpit had a stream
    /// to it again (its follower was still waiting to retry).
    late: usize,
    /// The longest time from the server coming back to the removal of a pod whose lines were
    /// late.
    late_by: chrono::Duration,
    /// Lines the ledger itself missed (it must be complete for the tally to mean anything).
    ledger_lagged: u64,
}

/// Compares the received lines with the ledger. A line is known by (pod, timestamp, text).
/// Expected: every line written from `from` to `to` by a pod the logs pane follows
/// (`followed`). A missing line counts as not held when
/// the server could no longer give it: its pod was removed while no follow stream of it was
/// open to the end (every stream of it was cut, or there was none), and the line comes after
/// the last line received from that pod. Any other missing line is lost.
fn tally(
    records: &[Record],
    lines: &[LogLine],
    followed: impl Fn(&str) -> bool,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Tally {
    type Key = (String, DateTime<Utc>, String);
    let mut written: HashMap<Key, usize> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let (mut gone, mut complete) = (HashMap::new(), BTreeSet::new());
    let (mut downs, mut ups) = (Vec::new(), Vec::new());
    let mut t = Tally::default();
    for r in records {
        match r {
            Record::Line { pod, ts, text } => {
                let k = (pod.clone(), *ts, text.to_string());
                *written.entry(k.clone()).or_default() += 1;
                order.push(k);
            }
            Record::Gone { pod, at } => {
                gone.insert(pod.clone(), *at);
            }
            Record::Down { at } => downs.push(*at),
            Record::Up { at } => ups.push(*at),
            Record::Closed {
                pod,
                complete: true,
                ..
            } => {
                complete.insert(pod.clone());
            }
            Record::Lagged { missed, .. } => t.ledger_lagged += missed,
            _ => {}
        }
    }
    let mut got: HashMap<Key, usize> = HashMap::new();
    let mut last: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for l in lines {
        *got.entry((l.pod.clone(), l.ts, l.text.clone()))
            .or_default() += 1;
        let newest = last.entry(&l.pod).or_insert(l.ts);
        *newest = (*newest).max(l.ts);
    }
    t.received = lines.len();
    for (k, n) in &got {
        match written.get(k) {
            Some(w) => t.duplicated += n.saturating_sub(*w),
            None => t.unknown += n,
        }
    }
    let mut seen: HashMap<&Key, usize> = HashMap::new();
    for k in &order {
        let (pod, ts, text) = k;
        if *ts < from || *ts > to || !followed(pod) {
            continue;
        }
        // The n-th copy of a line is missing when fewer than n arrived.
        let nth = seen.entry(k).or_default();
        *nth += 1;
        if got.get(k).copied().unwrap_or(0) >= *nth {
            continue;
        }
        let after_last = last.get(pod.as_str()).is_none_or(|l| ts > l);
        let removed = gone
            .get(pod)
            .filter(|_| !complete.contains(pod) && after_last);
        match removed {
            Some(g) => {
                // Removed while down: between a Down and the Up after it (or no Up yet).
                let while_down = downs
                    .iter()
                    .enumerate()
                    .any(|(i, d)| g >= d && ups.get(i).is_none_or(|u| g <= u));
                let back = ups.iter().filter(|u| *u <= g).max();
                match back {
                    _ if while_down => t.not_held += 1,
                    Some(u) => {
                        t.late += 1;
                        t.late_by = t.late_by.max(*g - *u);
                    }
                    // No restart before it: nothing excuses it.
                    None => t.lost.push((pod.clone(), *ts, text.clone())),
                }
            }
            None => t.lost.push((pod.clone(), *ts, text.clone())),
        }
    }
    t.lost.sort();
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn three_api_restarts_during_a_rollout() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::start(SimOptions {
        dir: dir.path().to_path_buf(),
        log_rate: 10.0,
        ledger: Some(ledger::To::Memory),
        ..Default::default()
    })
    .await
    .expect("demo cluster starts");
    let kube = connect(&ClusterTarget {
        kubeconfig: Some(sim.kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("kubeconfig of the demo cluster loads");
    let no_abort = || watch::channel(false).1;
    let scale = Action {
        kind: ActionKind::Scale { replicas: REPLICAS },
        target: web(),
    };
    kube_actions::apply(&kube, &scale)
        .await
        .expect("scale applies");
    let scaled = kube_wait::wait(&kube, &rollout_wait(30), no_abort()).await;
    assert!(matches!(scaled, WaitResult::Satisfied { .. }), "{scaled:?}");

    // The cockpit's sources: the rollout and pods panes' watcher and the log followers.
    let from = Utc::now();
    let cluster = Cluster {
        context: None,
        namespace: None,
        watch: vec![web()],
        logs: Some(LogSpec {
            selector: "app=web".into(),
            container: None,
            since: Some(Duration::from_secs(600)),
            max_lines: None,
        }),
    };
    let (tx, mut raw) = mpsc::channel::<Msg>(4096);
    let tasks = kube_watch::spawn_all(&kube, &cluster, tx);
    // Stamped as they arrive, while the test itself is busy restarting the server.
    let (stamped_tx, mut rx) = mpsc::channel(65536);
    let stamper = tokio::spawn(async move {
        while let Some(m) = raw.recv().await {
            if stamped_tx.send((Utc::now(), m)).await.is_err() {
                break;
            }
        }
    });
    let mut seen = Seen::default();
    let want = usize::try_from(REPLICAS).unwrap();
    seen.until(&mut rx, "every web pod, and lines from each", |s| {
        let pods = s.web_pods();
        pods.len() == want && pods.iter().all(|p| s.lines.iter().any(|l| l.pod == p.name))
    })
    .await;
    let old: BTreeSet<String> = seen.web_pods().iter().map(|p| p.name.clone()).collect();

    let set = Action {
        kind: ActionKind::SetImage {
            container: None,
            image: "web:2.0".into(),
        },
        target: web(),
    };
    kube_actions::apply(&kube, &set)
        .await
        .expect("set_image applies");
    let waiting = tokio::spawn({
        let kube = kube.clone();
        async move { kube_wait::wait(&kube, &rollout_wait(60), watch::channel(false).1).await }
    });
    let mut recoveries = Vec::new();
    for i in 1..=RESTARTS {
        // Let the rollout move between restarts.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            !waiting.is_finished(),
            "the rollout ended before restart {i}: it must be longer for this test to mean anything"
        );
        let r = sim
            .restart_api(DOWN)
            .await
            .expect("the API server comes back");
        // The watches of workloads, ReplicaSets, pods, events and the log task's pods, and the
        // follow streams of the pods attached at the time.
        assert!(r.connections_cut >= 5, "restart {i}: {r:?}");
        let what = format!("restart {i}: workloads, pods and logs stale, then live");
        seen.until(&mut rx, &what, |s| {
            [Stream::Workloads, Stream::Pods, Stream::Logs]
                .iter()
                .all(|st| s.outage(*st, r.down_at).is_some())
        })
        .await;
        let (stale, live) = seen.outage(Stream::Pods, r.down_at).unwrap();
        assert!(stale < r.up_at, "restart {i}: stale while down");
        assert!(
            live >= r.up_at,
            "restart {i}: live only once the server is back"
        );
        recoveries.push((stale, live, r));
    }
    let waited = tokio::time::timeout(LIMIT, waiting)
        .await
        .expect("the rollout wait ends")
        .unwrap();
    let WaitResult::Satisfied { detail, .. } = &waited else {
        panic!("rollout wait: {waited:?}")
    };
    assert_eq!(detail, "deployment \"web\" successfully rolled out");
    seen.until(&mut rx, "the pods pane with the new pods only", |s| {
        let pods = s.web_pods();
        pods.len() == want
            && pods
                .iter()
                .all(|p| p.revision == Some(2) && !old.contains(&p.name))
    })
    .await;
    // Each stream broke once a restart: no stale news outside them.
    for st in [Stream::Workloads, Stream::Pods, Stream::Logs] {
        let stales = seen
            .health
            .iter()
            .filter(|(_, s, h)| *s == st && *h == Health::Stale)
            .count();
        assert_eq!(stales, RESTARTS, "{st:?}: one Stale a restart");
    }

    // Every line written up to now must arrive; lines stamped later may still be on the way.
    let to = Utc::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    let t = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen.drain(&mut rx);
        // The logs pane follows app=web: the web Deployment's pods.
        let t = tally(
            &sim.ledger(),
            &seen.lines,
            |p| p.starts_with("web-"),
            (from, to),
        );
        if t.lost.is_empty() || Instant::now() >= deadline {
            break t;
        }
    };
    assert_eq!(t.ledger_lagged, 0, "the ledger is complete");
    assert_eq!(t.duplicated, 0, "no line twice: {t:?}");
    assert_eq!(t.unknown, 0, "no line a pod did not write: {t:?}");
    assert!(
        t.lost.is_empty(),
        "{} lines lost (held by the server when asked), first: {:#?}",
        t.lost.len(),
        &t.lost[..t.lost.len().min(5)]
    );
    assert!(t.received > 500, "{t:?}");
    // Lines of a pod removed after the server came back, before its follower retried: the
    // follower's back-off is at most 5 s, so later than that is a follower that gave up.
    assert!(
        t.late_by <= chrono::Duration::seconds(5),
        "lines missed up to {} ms after the server came back: {t:?}",
        t.late_by.num_milliseconds()
    );
    for (i, (stale, live, r)) in recoveries.iter().enumerate() {
        eprintln!(
            "restart {}: {} connections cut, down {} ms; pods stale {} ms after the cut, live {} ms after it listened again (stale for {} ms)",
            i + 1,
            r.connections_cut,
            (r.up_at - r.down_at).num_milliseconds(),
            (*stale - r.down_at).num_milliseconds(),
            (*live - r.up_at).num_milliseconds(),
            (*live - *stale).num_milliseconds()
        );
    }
    eprintln!(
        "log lines from {from} to {to}: {} received, {} duplicated, {} lost, {} not held by the server (pod removed while it was down), {} missed by a late reattach (pod removed up to {} ms after the server came back); rollout: {detail}; {:?} in all",
        t.received,
        t.duplicated,
        t.lost.len(),
        t.not_held,
        t.late,
        t.late_by.num_milliseconds(),
        started.elapsed()
    );
    for task in tasks {
        task.abort();
    }
    stamper.abort();
    sim.stop().await;
}

/// The tally itself: a duplicate, a gap and a tail lost with a removed pod are told apart.
#[test]
fn tally_tells_duplicates_gaps_and_lines_the_server_no_longer_held() {
    let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
    let line = |pod: &str, s: i64| Record::Line {
        pod: pod.into(),
        ts: at(s),
        text: format!("line {s}").into(),
    };
    let got = |pod: &str, s: i64| LogLine {
        pod: pod.into(),
        ts: at(s),
        text: format!("line {s}"),
    };
    let records = vec![
        line("a", 1),
        line("a", 2),
        line("a", 3),
        line("b", 1),
        line("b", 2),
        line("b", 3),
        line("c", 1),
        line("c", 2),
        line("d", 1),
        line("d", 2),
        line("e", 1),
        line("e", 2),
        Record::Closed {
            pod: "b".into(),
            id: 1,
            at: at(2),
            complete: false,
        },
        Record::Down { at: at(3) },
        Record::Gone {
            pod: "b".into(),
            at: at(4),
        },
        Record::Up { at: at(5) },
        Record::Gone {
            pod: "d".into(),
            at: at(7),
        },
        Record::Closed {
            pod: "c".into(),
            id: 2,
            at: at(3),
            complete: true,
        },
        Record::Gone {
            pod: "c".into(),
            at: at(3),
        },
    ];
    // a: 2 missing (a gap), 3 twice. b: 3 missing after its stream was cut, the pod removed
    // while the server was down (not held). c: 2 missing though its stream ran to the pod's
    // end (lost). d: 2 missing, the pod removed 2 s after the server came back (late).
    // e: 2 missing, never removed (lost).
    let lines = vec![
        got("a", 1),
        got("a", 3),
        got("a", 3),
        got("b", 1),
        got("b", 2),
        got("c", 1),
        got("d", 1),
        got("e", 1),
        got("x", 9),
    ];
    let all = |_: &str| true;
    let t = tally(&records, &lines, all, (at(0), at(10)));
    assert_eq!((t.received, t.duplicated, t.unknown), (9, 1, 1));
    assert_eq!((t.not_held, t.late), (1, 1));
    assert_eq!(t.late_by, chrono::Duration::seconds(2));
    let lost: Vec<(&str, i64)> = t
        .lost
        .iter()
        .map(|(p, ts, _)| (p.as_str(), ts.timestamp() - 1_800_000_000))
        .collect();
    assert_eq!(lost, vec![("a", 2), ("c", 2), ("e", 2)]);
    // Outside the window nothing is expected.
    assert!(
        tally(&records, &lines, all, (at(5), at(10)))
            .lost
            .is_empty()
    );
    // Nor from pods that are not followed.
    let t = tally(&records, &lines, |p| p == "b", (at(0), at(10)));
    assert!(t.lost.is_empty() && t.not_held == 1, "{t:?}");
}
