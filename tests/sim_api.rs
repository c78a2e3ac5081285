//! The demo cluster through kube-rs: watch a rollout, 410 and relists, restart in place (the
//! whole cluster, or its API server alone), follow.

use futures_util::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use shipdeck::sim::ledger::{self, Record};
use shipdeck::sim::{self, Sim, SimOptions};
use std::collections::BTreeSet;
use std::time::Duration;

async fn start(opts: SimOptions) -> (Sim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::start(SimOptions {
        dir: dir.path().to_path_buf(),
        ..opts
    })
    .await
    .unwrap();
    (sim, dir)
}

async fn client(sim: &Sim) -> kube::Client {
    let kc = Kubeconfig::read_from(&sim.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "shop");
    kube::Client::try_from(config).unwrap()
}

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

fn live(pods: &[Pod]) -> Vec<Pod> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect()
}

/// Polls until `f` holds (bounded), panicking with `what` otherwise.
async fn until<F: AsyncFnMut() -> bool>(what: &str, secs: u64, mut f: F) {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn set_image(image: &str) -> Patch<serde_json::Value> {
    Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}),
    )
}

fn complete(d: &Deployment) -> bool {
    let (spec, st) = (
        d.spec.clone().unwrap_or_default(),
        d.status.clone().unwrap_or_default(),
    );
    let want = spec.replicas.unwrap_or(1);
    st.observed_generation >= d.metadata.generation
        && st.updated_replicas == Some(want)
        && st.replicas == Some(want)
        && st.available_replicas == Some(want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_watch_see_a_whole_rolling_update() {
    let (sim, _dir) = start(SimOptions::default()).await;
    let c = client(&sim).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let list = deploys
        .list(&ListParams::default().fields("metadata.name=web"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    let rv = list.metadata.resource_version.clone().unwrap();
    let before = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(before.items.len(), 3);
    let mut dstream = deploys
        .watch(&WatchParams::default().fields("metadata.name=web"), &rv)
        .await
        .unwrap()
        .boxed();
    let mut pstream = pods
        .watch(
            &WatchParams::default().labels("app=web"),
            &before.metadata.resource_version.unwrap(),
        )
        .await
        .unwrap()
        .boxed();

    deploys
        .patch("web", &PatchParams::default(), &set_image("web:2.0"))
        .await
        .unwrap();
    let mut updated_seen = BTreeSet::new();
    let mut reasons = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = dstream.try_next().await.unwrap() {
            let WatchEvent::Modified(d) = ev else {
                continue;
            };
            let st = d.status.clone().unwrap_or_default();
            updated_seen.insert(st.updated_replicas.unwrap_or(0));
            for c in st
                .conditions
                .iter()
                .flatten()
                .filter(|c| c.type_ == "Progressing")
            {
                reasons.insert(c.reason.clone().unwrap_or_default());
            }
            // maxUnavailable 0: never fewer than 3 available during the update.
            assert!(st.available_replicas.unwrap_or(0) >= 3, "{st:?}");
            if complete(&d) && st.updated_replicas == Some(3) && d.metadata.generation == Some(2) {
                break;
            }
        }
    })
    .await
    .expect("the rollout completes within 30 s");
    assert!(
        updated_seen.is_superset(&[1, 2, 3].into()),
        "{updated_seen:?}"
    );
    for r in [
        "NewReplicaSetCreated",
        "ReplicaSetUpdated",
        "NewReplicaSetAvailable",
    ] {
        assert!(reasons.contains(r), "{reasons:?}");
    }
    // The pod watch saw every new pod added and every old one deleted.
    let old = names(&before.items);
    let (mut added, mut deleted) = (BTreeSet::new(), BTreeSet::new());
    tokio::time::timeout(Duration::from_secs(10), async {
        while deleted.len() < 3 {
            match pstream.try_next().await.unwrap() {
                Some(WatchEvent::Added(p)) => {
                    added.insert(p.metadata.name.unwrap_or_default());
                }
                Some(WatchEvent::Deleted(p)) => {
                    deleted.insert(p.metadata.name.unwrap_or_default());
                }
                Some(_) => {}
                None => break,
            }
        }
    })
    .await
    .expect("old pods go within 10 s");
    assert_eq!(deleted, old);
    assert_eq!(added.len(), 3, "{added:?}");
    let now = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(names(&live(&now.items)), added);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_resource_version_gets_410_and_the_watcher_relists() {
    let (sim, _dir) = start(SimOptions::default()).await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let mut raw = pods
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), raw.try_next()).await {
        Ok(Ok(Some(WatchEvent::Error(e)))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected a 410 event, got {other:?}"),
    }
    // No bookmarks and a 1 s server timeout: while only other objects change, the watcher's
    // version falls out of the 1000-change window, so its next watch gets 410 and relists.
    let cfg = watcher::Config::default()
        .labels("app=web")
        .timeout(1)
        .disable_bookmarks();
    let mut w = watcher(pods.clone(), cfg).boxed();
    let (mut inits, mut gone, mut seen) = (0, 0, BTreeSet::new());
    let expected = names(
        &pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items,
    );
    let sts: Api<StatefulSet> = Api::default_namespaced(c.clone());
    let mut churn = Some(tokio::spawn(async move {
        for i in 0..1100 {
            let p = Patch::Merge(json!({"metadata": {"annotations": {"churn": i.to_string()}}}));
            sts.patch("db", &PatchParams::default(), &p).await.unwrap();
        }
    }));
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = w.next().await {
            match ev {
                Ok(watcher::Event::Init) => seen.clear(),
                Ok(watcher::Event::InitApply(p)) => {
                    seen.insert(p.metadata.name.unwrap_or_default());
                }
                Ok(watcher::Event::InitDone) => {
                    inits += 1;
                    if gone > 0 {
                        break;
                    }
                }
                Err(watcher::Error::WatchError(e)) if e.code == 410 => gone += 1,
                _ => {}
            }
            if let Some(t) = churn.take_if(|t| t.is_finished()) {
                t.await.unwrap();
            }
        }
    })
    .await
    .expect("the watcher relists within 30 s");
    assert_eq!((gone, inits), (1, 2));
    assert_eq!(seen, expected, "no pod lost across the relist");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_port_and_the_watcher_recovers() {
    let (first, dir) = start(SimOptions::default()).await;
    let port = first.addr.port();
    let c = client(&first).await;
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let watch = tokio::spawn(async move {
        let mut s = watcher(pods, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut state = BTreeSet::new();
        let mut init = BTreeSet::new();
        while let Some(ev) = s.next().await {
            match ev {
                Ok(watcher::Event::Init) => init.clear(),
                Ok(watcher::Event::InitApply(p)) => {
                    init.insert(p.metadata.name.unwrap_or_default());
                }
                Ok(watcher::Event::InitDone) => state = std::mem::take(&mut init),
                Ok(watcher::Event::Apply(p)) => {
                    state.insert(p.metadata.name.unwrap_or_default());
                }
                Ok(watcher::Event::Delete(p)) => {
                    state.remove(&p.metadata.name.unwrap_or_default());
                }
                Err(_) => continue,
            }
            if tx.send(state.clone()).await.is_err() {
                break;
            }
        }
    });
    let seen_before = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = rx.recv().await.expect("watcher runs");
            if s.len() == 4 {
                return s;
            }
        }
    })
    .await
    .expect("the watcher lists the first cluster");
    first.stop().await;
    let second = sim::start(SimOptions {
        port: Some(port),
        dir: dir.path().to_path_buf(),
        ..Default::default()
    })
    .await
    .unwrap();
    let c2 = client(&second).await;
    let now = names(
        &Api::<Pod>::default_namespaced(c2)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items,
    );
    assert_ne!(now, seen_before, "a restarted cluster has new pods");
    tokio::time::timeout(Duration::from_secs(20), async {
        while rx.recv().await.expect("watcher runs") != now {}
    })
    .await
    .expect("the watcher catches up with the restarted cluster");
    watch.abort();
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_a_pod_created_mid_rollout_until_it_is_deleted() {
    let (sim, _dir) = start(SimOptions {
        log_rate: 10.0,
        ..Default::default()
    })
    .await;
    let c = client(&sim).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let old = names(&pods.list(&ListParams::default()).await.unwrap().items);
    deploys
        .patch("web", &PatchParams::default(), &set_image("web:2.0"))
        .await
        .unwrap();
    let mut fresh = String::new();
    until("a new pod to start its container", 15, async || {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap();
        let started = list.items.iter().find(|p| {
            !old.contains(p.metadata.name.as_deref().unwrap_or(""))
                && p.status
                    .iter()
                    .flat_map(|s| s.container_statuses.iter().flatten())
                    .any(|c| c.started == Some(true))
        });
        fresh = started
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_default();
        !fresh.is_empty()
    })
    .await;
    let lp = LogParams {
        follow: true,
        ..Default::default()
    };
    let mut lines = pods.log_stream(&fresh, &lp).await.unwrap().lines();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < 8 {
            got.push(
                lines
                    .try_next()
                    .await
                    .unwrap()
                    .expect("the stream stays open"),
            );
        }
    })
    .await
    .expect("followed lines arrive");
    assert!(
        got.contains(&"INFO web 2.0 listening on :8080".to_string()),
        "{got:?}"
    );
    pods.delete(&fresh, &Default::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while lines.try_next().await.unwrap().is_some() {}
    })
    .await
    .expect("the stream ends when the pod is gone");
    sim.stop().await;
}

/// The pods API and the first web pod's name.
async fn first_web_pod(sim: &Sim) -> (Api<Pod>, String) {
    let pods: Api<Pod> = Api::default_namespaced(client(sim).await);
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    let pod = list.items[0].metadata.name.clone().unwrap();
    (pods, pod)
}

/// Follows `pod`'s log from now (`tailLines=0`) with timestamps until `n` lines came, as
/// (timestamp, text), with the stream still open; panics after `secs` seconds naming `what`.
async fn follow_lines(
    pods: &Api<Pod>,
    pod: &str,
    n: usize,
    secs: u64,
    what: &str,
) -> (
    Vec<(String, String)>,
    futures_util::stream::BoxStream<'static, std::io::Result<String>>,
) {
    let lp = LogParams {
        follow: true,
        timestamps: true,
        tail_lines: Some(0),
        ..Default::default()
    };
    let mut lines = pods.log_stream(pod, &lp).await.unwrap().lines().boxed();
    let mut got: Vec<(String, String)> = Vec::new();
    tokio::time::timeout(Duration::from_secs(secs), async {
        while got.len() < n {
            let line = lines
                .try_next()
                .await
                .unwrap()
                .expect("the stream stays open");
            let (ts, text) = line.split_once(' ').expect("a timestamp first");
            got.push((ts.to_string(), text.to_string()));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    (got, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_mode_serves_its_lines_first_then_goes_on_live() {
    const BURST: usize = 1300;
    let (sim, _dir) = start(SimOptions {
        log_rate: 20.0,
        log_burst: BURST,
        ..Default::default()
    })
    .await;
    let (pods, pod) = first_web_pod(&sim).await;
    // Without follow there is no burst: the kept history only.
    let plain = pods.logs(&pod, &LogParams::default()).await.unwrap();
    assert!(plain.lines().count() < BURST, "no burst without follow");
    let (got, lines) =
        follow_lines(&pods, &pod, BURST + 3, 20, "the burst and then live lines").await;
    let web_traffic = |t: &str| t.starts_with("INFO ") || t.starts_with("WARN slow request");
    assert!(
        got[..BURST].iter().all(|(_, t)| web_traffic(t)),
        "{:?}",
        &got[..5]
    );
    let stamps: Vec<chrono::DateTime<chrono::Utc>> = got
        .iter()
        .map(|(ts, _)| ts.parse().expect("RFC 3339 timestamps"))
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "every line has its own, later timestamp"
    );
    // Live lines follow the burst.
    assert!(got[BURST..].iter().all(|(_, t)| web_traffic(t)));
    drop(lines);
    // A second follower gets its own burst, cut by limitBytes like any log.
    let lp = LogParams {
        follow: true,
        tail_lines: Some(0),
        limit_bytes: Some(100),
        ..Default::default()
    };
    let text = tokio::time::timeout(Duration::from_secs(10), async {
        let mut s = pods.log_stream(&pod, &lp).await.unwrap().lines();
        let mut all = String::new();
        while let Some(l) = s.try_next().await.unwrap() {
            all.push_str(&l);
            all.push('\n');
        }
        all
    })
    .await
    .expect("limitBytes ends the stream");
    assert!(text.len() <= 101 && text.len() >= 90, "{}", text.len());
    sim.stop().await;
}

/// The API server alone restarts: open streams are cut, the port refuses connections, then the
/// same objects and logs are there, and a watch from before the restart gets 410 Gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_restart_keeps_the_world_cuts_streams_and_forgets_the_watch_history() {
    let (sim, _dir) = start(SimOptions {
        log_rate: 10.0,
        ledger: Some(ledger::To::Memory),
        ..Default::default()
    })
    .await;
    let c = client(&sim).await;
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let before = pods.list(&ListParams::default()).await.unwrap();
    let rv = before.metadata.resource_version.clone().unwrap();
    let web = before
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .find(|n| n.starts_with("web-"))
        .unwrap();
    // A watch and a log follow, open across the restart.
    let mut watch = pods
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    let lp = LogParams {
        follow: true,
        timestamps: true,
        since_seconds: Some(1),
        ..Default::default()
    };
    let mut lines = pods.log_stream(&web, &lp).await.unwrap().lines();
    let first = tokio::time::timeout(Duration::from_secs(5), lines.try_next())
        .await
        .expect("a followed line")
        .unwrap()
        .unwrap();
    let down = Duration::from_millis(800);
    let (restarted, refused) = tokio::join!(sim.restart_api(down), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::net::TcpStream::connect(sim.addr).await
    });
    let r = restarted.expect("the API server comes back");
    assert_eq!(
        refused.map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused,
        "nothing listens while it is down"
    );
    assert!(r.connections_cut >= 2, "{r:?}");
    assert!((r.up_at - r.down_at).to_std().unwrap() >= down, "{r:?}");
    // Both streams were cut (an error or an early end; never a clean 200 that goes on).
    let cut = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = watch.try_next().await {}
        while let Ok(Some(_)) = lines.try_next().await {}
    })
    .await;
    assert!(cut.is_ok(), "open streams end when the server goes down");

    // The world went on: the same pods, later versions.
    let after = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&after.items), names(&before.items));
    let rv_after: u64 = after.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv_after >= rv.parse::<u64>().unwrap());
    // A watch from before the restart: 410 Gone, so a client relists.
    let mut old = pods
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), old.try_next()).await {
        Ok(Ok(Some(WatchEvent::Error(e)))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected a 410 event, got {other:?}"),
    }
    // The log is kept: from the first line's second, it is there, and so are the lines
    // written while the server was down.
    let (ts, _) = first.split_once(' ').unwrap();
    let ts: chrono::DateTime<chrono::Utc> = ts.parse().unwrap();
    let since = k8s_openapi::jiff::Timestamp::from_second(ts.timestamp()).unwrap();
    let lp = LogParams {
        timestamps: true,
        since_time: Some(since),
        ..Default::default()
    };
    let text = pods.logs(&web, &lp).await.unwrap();
    assert!(text.lines().any(|l| l == first), "{first} kept");
    let stamps: Vec<chrono::DateTime<chrono::Utc>> = text
        .lines()
        .filter_map(|l| l.split_once(' ')?.0.parse().ok())
        .collect();
    assert!(
        stamps.iter().any(|t| *t > r.down_at && *t < r.up_at),
        "lines written while the server was down are served after it"
    );
    // The ledger saw the restart and the follow stream cut by it.
    let rec = sim.ledger();
    assert!(rec.contains(&Record::Down { at: r.down_at }));
    assert!(rec.contains(&Record::Up { at: r.up_at }));
    let cut_stream = rec.iter().any(|x| {
        matches!(x, Record::Closed { pod, complete: false, at, .. } if *pod == web && *at >= r.down_at)
    });
    assert!(cut_stream, "the follow stream is recorded as cut");
    sim.stop().await;
}

/// `--log-burst-rate`: a paced burst takes about lines / rate (checked loosely, from below
/// only: a loaded machine may be slower) and still delivers every line, each with its own
/// later timestamp, stamped as it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_burst_takes_its_time_and_delivers_every_line() {
    const BURST: usize = 1500;
    const RATE: f64 = 1000.0;
    let (sim, _dir) = start(SimOptions {
        log_rate: 0.0,
        log_burst: BURST,
        log_burst_rate: RATE,
        ..Default::default()
    })
    .await;
    let (pods, pod) = first_web_pod(&sim).await;
    let t0 = std::time::Instant::now();
    let (got, mut lines) =
        follow_lines(&pods, &pod, BURST, 30, "every line of the paced burst").await;
    let took = t0.elapsed().as_secs_f64();
    let expected = BURST as f64 / RATE;
    assert!(
        took >= 0.8 * expected,
        "a burst of {BURST} lines at {RATE}/s took {took:.2} s, under 80 % of {expected} s"
    );
    let web_traffic = |t: &str| t.starts_with("INFO ") || t.starts_with("WARN slow request");
    assert!(got.iter().all(|(_, t)| web_traffic(t)), "{:?}", &got[..5]);
    let stamps: Vec<chrono::DateTime<chrono::Utc>> = got
        .iter()
        .map(|(ts, _)| ts.parse().expect("RFC 3339 timestamps"))
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "every line has its own, later timestamp"
    );
    // Stamped as sent: the first chunk (a twentieth of a second's lines) to the last spans
    // most of the burst's time.
    let span = (stamps[BURST - 1] - stamps[0]).as_seconds_f64();
    let chunk = RATE / 20.0;
    assert!(
        span >= 0.8 * (BURST as f64 - chunk) / RATE,
        "timestamps span {span:.2} s"
    );
    // Nothing more: no live lines (log rate 0), and no second burst.
    let more = tokio::time::timeout(Duration::from_millis(300), lines.try_next()).await;
    assert!(more.is_err(), "no line after the burst: {more:?}");
    drop(lines);
    sim.stop().await;
}
