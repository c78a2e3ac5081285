//! Kube sources, actions and waits over real HTTP against the demo cluster on 127.0.0.1.

mod common;

use shipdeck::config::checklist::{
    Action, ActionKind, Cluster, LogSpec, Target, Wait, WaitKind, WorkloadKind,
};
use shipdeck::core::kube::{Rollout, rollout_status};
use shipdeck::core::msg::{KubeMsg, LogLine, LogStreamState, Msg, Stream, WaitResult};
use shipdeck::sim::{Scenario, Sim, SimOptions};
use shipdeck::sources::kube_client::Kube;
use shipdeck::sources::{kube_actions, kube_logs, kube_wait, kube_watch};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};

/// Every test is bounded: the whole file must stay well under a minute.
const LIMIT: Duration = Duration::from_secs(40);

fn target(kind: WorkloadKind, name: &str) -> Target {
    let name = name.into();
    Target { kind, name }
}

fn web() -> Target {
    target(WorkloadKind::Deployment, "web")
}

fn action(kind: ActionKind) -> Action {
    let target = web();
    Action { kind, target }
}

fn wait_for(kind: WaitKind, timeout: Duration) -> Wait {
    let (timeout, pos) = (Some(timeout), Default::default());
    Wait { kind, timeout, pos }
}

fn rollout_wait(secs: u64) -> Wait {
    wait_for(WaitKind::Rollout(web()), Duration::from_secs(secs))
}

fn no_abort() -> watch::Receiver<bool> {
    watch::channel(false).1
}

async fn start(scenario: Scenario, port: Option<u16>, dir: &tempfile::TempDir) -> (Sim, Kube) {
    let (sim, kube) = common::demo::cluster(SimOptions {
        dir: dir.path().to_path_buf(),
        scenario,
        port,
        progress_deadline_seconds: 4,
        log_rate: 10.0,
        ..Default::default()
    })
    .await;
    assert_eq!(kube.namespace, "shop");
    (sim, kube)
}

/// What the test has seen of the cluster, applied like the core applies it.
#[derive(Default)]
struct Seen {
    msgs: Vec<Msg>,
    workloads: BTreeMap<String, shipdeck::core::kube::WorkloadView>,
    pods: BTreeMap<String, shipdeck::core::kube::PodView>,
    lines: Vec<LogLine>,
}

impl Seen {
    fn apply(&mut self, msg: Msg) {
        match &msg {
            Msg::Kube(KubeMsg::Workload(w)) => {
                self.workloads.insert(w.name.clone(), w.clone());
            }
            Msg::Kube(KubeMsg::PodsRelisted(pods)) => {
                self.pods = pods.iter().map(|p| (p.name.clone(), p.clone())).collect();
            }
            Msg::Kube(KubeMsg::Pod(p)) => {
                self.pods.insert(p.name.clone(), p.clone());
            }
            Msg::Kube(KubeMsg::PodGone(n)) => {
                self.pods.remove(n);
            }
            Msg::Logs(lines) => {
                assert!(lines.len() <= kube_logs::BATCH_LINES);
                self.lines.extend(lines.iter().cloned());
            }
            _ => {}
        }
        self.msgs.push(msg);
    }

    fn web_pods(&self) -> Vec<&shipdeck::core::kube::PodView> {
        self.pods
            .values()
            .filter(|p| p.labels.iter().any(|(k, v)| k == "app" && v == "web"))
            .collect()
    }

    /// Drains `rx` until `done` holds (panics with what was seen at `LIMIT`).
    async fn until(
        &mut self,
        rx: &mut mpsc::Receiver<Msg>,
        what: &str,
        done: impl Fn(&Seen) -> bool,
    ) {
        let deadline = Instant::now() + LIMIT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => self.apply(m),
                Ok(None) => panic!("source ended before {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; last: {:#?}",
                    self.msgs.iter().rev().take(5).collect::<Vec<_>>()
                ),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn set_image_rolls_out_and_new_pods_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(Scenario::Good, None, &dir).await;
    let (tx, mut rx) = mpsc::channel(1024);
    let logs = LogSpec {
        selector: "app=web".into(),
        container: None,
        since: None,
        max_lines: None,
    };
    let cluster = Cluster {
        context: None,
        namespace: None,
        watch: vec![web()],
        logs: Some(logs),
    };
    let tasks = kube_watch::spawn_all(&kube, &cluster, tx);
    assert_eq!(tasks.len(), 2, "watch and logs");
    let mut seen = Seen::default();
    // Pods may come before the ReplicaSets that give them their revision.
    seen.until(&mut rx, "web and its 3 pods at revision 1", |s| {
        let pods = s.web_pods();
        s.workloads.contains_key("web")
            && pods.len() == 3
            && pods.iter().all(|p| p.revision == Some(1))
    })
    .await;
    assert!(
        matches!(seen.msgs[0], Msg::Kube(KubeMsg::Connected { ref namespace, .. }) if namespace == "shop")
    );
    assert_eq!(
        seen.workloads["web"].images,
        vec![("web".into(), "web:1.0".into())]
    );
    let before: BTreeSet<String> = seen.web_pods().iter().map(|p| p.name.clone()).collect();

    let started = Instant::now();
    let set = action(ActionKind::SetImage {
        container: None,
        image: "web:2.0".into(),
    });
    let rec = kube_actions::apply(&kube, &set)
        .await
        .expect("set_image applies");
    assert_eq!(
        (rec.before.as_str(), rec.after.as_str()),
        ("web:1.0", "web:2.0")
    );
    assert_eq!(
        (rec.revision_before, rec.revision_after),
        (Some(1), Some(2))
    );
    assert_eq!(rec.target, "deployment/web");
    let waited = kube_wait::wait(&kube, &rollout_wait(30), no_abort()).await;
    let WaitResult::Satisfied { detail, .. } = waited else {
        panic!("rollout wait: {waited:?}")
    };
    assert_eq!(detail, "deployment \"web\" successfully rolled out");
    eprintln!("rollout took {:?}", started.elapsed());

    seen.until(&mut rx, "the whole rolling update", |s| {
        let pods = s.web_pods();
        let web = &s.workloads["web"];
        matches!(rollout_status(web), Rollout::Done(_))
            && web.revision == Some(2)
            && pods.len() == 3
            && pods
                .iter()
                .all(|p| p.revision == Some(2) && !before.contains(&p.name))
    })
    .await;
    // Old pods went away one by one while new ones came (a rolling update, not a relist).
    let gone = |m: &Msg| matches!(m, Msg::Kube(KubeMsg::PodGone(n)) if before.contains(n));
    assert_eq!(seen.msgs.iter().filter(|m| gone(m)).count(), before.len());
    let progressing = |m: &Msg| {
        matches!(m, Msg::Kube(KubeMsg::Workload(w))
        if matches!(rollout_status(w), Rollout::Progressing(_)))
    };
    assert!(seen.msgs.iter().any(progressing));

    // Logs of a pod born during the rollout, attached as it appeared.
    let new_pod = seen.web_pods()[0].name.clone();
    seen.until(&mut rx, "log lines of a new pod", |s| {
        s.lines.iter().any(|l| l.pod == new_pod)
    })
    .await;
    assert!(seen.msgs.iter().any(
        |m| matches!(m, Msg::LogStream { pod, state: LogStreamState::Attached } if *pod == new_pod)
    ));
    let detached = |m: &Msg| {
        matches!(m, Msg::LogStream { pod, state: LogStreamState::Detached }
        if before.contains(pod))
    };
    seen.until(&mut rx, "old pods detached", |s| {
        s.msgs.iter().filter(|m| detached(m)).count() == before.len()
    })
    .await;
    // No line twice (resumes drop what was delivered).
    let mut keys = BTreeSet::new();
    for l in &seen.lines {
        assert!(
            keys.insert((l.pod.clone(), l.ts, l.text.clone())),
            "repeated: {l:?}"
        );
    }
    drop(rx);
    for task in tasks {
        let stopped = timeout(Duration::from_secs(5), task).await;
        stopped
            .expect("sources stop when the channel closes")
            .unwrap();
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rollout_fails_and_undo_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(Scenario::Bad, None, &dir).await;
    let set = action(ActionKind::SetImage {
        container: Some("web".into()),
        image: "web:2.0-crash".into(),
    });
    kube_actions::apply(&kube, &set)
        .await
        .expect("set_image applies");
    let waited = kube_wait::wait(&kube, &rollout_wait(30), no_abort()).await;
    let WaitResult::Failed { detail, .. } = &waited else {
        panic!("bad rollout: {waited:?}")
    };
    assert!(
        detail.contains("exceeded its progress deadline"),
        "{detail}"
    );

    let rec = kube_actions::apply(&kube, &action(ActionKind::Undo { to_revision: None }))
        .await
        .expect("undo applies");
    assert_eq!(
        (rec.before.as_str(), rec.after.as_str()),
        ("web:2.0-crash", "web:1.0")
    );
    assert_eq!(rec.revision_before, Some(2));
    assert_eq!(rec.revision_after, Some(3));
    let waited = kube_wait::wait(&kube, &rollout_wait(30), no_abort()).await;
    assert!(matches!(waited, WaitResult::Satisfied { .. }), "{waited:?}");
    let missing = kube_actions::apply(
        &kube,
        &action(ActionKind::Undo {
            to_revision: Some(9),
        }),
    )
    .await;
    assert_eq!(
        missing.unwrap_err(),
        "revision 9 not found for deployment/web (revisions: 2, 3)"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_stream_goes_stale_and_live_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(Scenario::Good, None, &dir).await;
    let port = sim.addr.port();
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(kube_watch::run(kube.clone(), vec![web()], tx));
    let mut seen = Seen::default();
    seen.until(&mut rx, "the first pod list", |s| s.web_pods().len() == 3)
        .await;
    // A fresh demo has one revision: nothing to undo to.
    let undo = kube_actions::apply(&kube, &action(ActionKind::Undo { to_revision: None })).await;
    assert_eq!(
        undo.unwrap_err(),
        "no previous revision of deployment/web to undo to"
    );
    sim.stop().await;
    let stale =
        |m: &Msg| matches!(m, Msg::Kube(KubeMsg::Stale { stream, .. }) if *stream == Stream::Pods);
    seen.until(&mut rx, "Stale for pods", |s| s.msgs.iter().any(stale))
        .await;
    let (sim, _kube) = start(Scenario::Good, Some(port), &dir).await;
    let live =
        |m: &Msg| matches!(m, Msg::Kube(KubeMsg::Live { stream }) if *stream == Stream::Pods);
    seen.until(&mut rx, "Live for pods", |s| s.msgs.iter().any(live))
        .await;
    let stales = seen.msgs.iter().filter(|m| stale(m)).count();
    assert_eq!(stales, 1, "one Stale per outage");
    seen.until(&mut rx, "pods again", |s| s.web_pods().len() == 3)
        .await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_pause_resume_restart_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kube) = start(Scenario::Good, None, &dir).await;
    let apply = |kind| {
        let kube = kube.clone();
        async move { kube_actions::apply(&kube, &action(kind)).await }
    };
    let r = apply(ActionKind::Scale { replicas: 4 }).await.unwrap();
    assert_eq!((r.before.as_str(), r.after.as_str()), ("3", "4"));
    let r = apply(ActionKind::Pause).await.unwrap();
    assert_eq!(
        (r.before.as_str(), r.after.as_str()),
        ("not paused", "paused")
    );
    let r = apply(ActionKind::Resume).await.unwrap();
    assert_eq!(
        (r.before.as_str(), r.after.as_str()),
        ("paused", "not paused")
    );
    let r = apply(ActionKind::Restart).await.unwrap();
    assert_eq!((r.revision_before, r.revision_after), (Some(1), Some(2)));
    assert!(r.after.starts_with("web:1.0 (restarted at "), "{}", r.after);

    let done = kube_wait::wait(&kube, &rollout_wait(30), no_abort()).await;
    assert!(matches!(done, WaitResult::Satisfied { .. }), "{done:?}");
    // Mid-rollout every pod (surge included) may be ready at once; after it, the four.
    let pods = wait_for(
        WaitKind::PodsReady("app=web".into()),
        Duration::from_secs(30),
    );
    let ready = kube_wait::wait(&kube, &pods, no_abort()).await;
    assert!(
        matches!(&ready, WaitResult::Satisfied { detail, .. } if detail.starts_with("4 of 4 pods ready")),
        "{ready:?}"
    );

    let err = apply(ActionKind::SetImage {
        container: Some("nope".into()),
        image: "x".into(),
    })
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "container nope not found in deployment/web (containers: web)"
    );
    let ghost = Action {
        kind: ActionKind::Restart,
        target: target(WorkloadKind::Deployment, "ghost"),
    };
    let err = kube_actions::apply(&kube, &ghost).await.unwrap_err();
    assert_eq!(err, "deployment/ghost not found in namespace shop");
    let sts_undo = Action {
        kind: ActionKind::Undo { to_revision: None },
        target: target(WorkloadKind::StatefulSet, "db"),
    };
    let err = kube_actions::apply(&kube, &sts_undo).await.unwrap_err();
    assert!(err.contains("deployments only"), "{err}");

    let healthy_for = Duration::from_secs(1);
    let probe_kind = WaitKind::Probe {
        name: "web".into(),
        healthy_for,
    };
    let probe = wait_for(probe_kind, Duration::from_secs(5));
    assert!(matches!(kube_wait::wait(&kube, &probe, no_abort()).await,
        WaitResult::Failed { detail, .. } if detail.contains("probes engine")));

    // An abort ends a wait promptly; a short timeout ends it with the last progress.
    let (abort_tx, abort_rx) = watch::channel(false);
    apply(ActionKind::SetImage {
        container: None,
        image: "web:3.0".into(),
    })
    .await
    .unwrap();
    let t = Instant::now();
    let waiting = tokio::spawn({
        let kube = kube.clone();
        async move { kube_wait::wait(&kube, &rollout_wait(60), abort_rx).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    abort_tx.send(true).unwrap();
    let aborted = timeout(Duration::from_secs(2), waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&aborted, WaitResult::Failed { detail, .. } if detail == "aborted"),
        "{aborted:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    let short = wait_for(WaitKind::Rollout(web()), Duration::from_millis(700));
    let timed = kube_wait::wait(&kube, &short, no_abort()).await;
    assert!(
        matches!(&timed, WaitResult::TimedOut { detail, .. } if detail.starts_with("Waiting for deployment \"web\"")),
        "{timed:?}"
    );
    sim.stop().await;
}
