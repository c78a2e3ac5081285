//! What kube-rs relies on, through a real client: log parameters, patches, scale, paging, errors.

use super::{Sim, SimOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn start(opts: SimOptions) -> (Sim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sim = super::start(SimOptions {
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
    kube::Client::try_from(config).unwrap()
}

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_honour_tail_lines_since_time_and_timestamps() {
    let (sim, _dir) = start(SimOptions::default()).await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim).await);
    let pod = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let tail = pods
        .logs(
            &pod,
            &LogParams {
                tail_lines: Some(5),
                timestamps: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stamps: Vec<&str> = tail.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(stamps.len(), 5, "{tail}");
    let times: Vec<Timestamp> = stamps.iter().map(|s| s.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{tail}");
    assert!(
        stamps
            .iter()
            .all(|s| s.len() == "2025-01-01T00:00:00.123456789Z".len()),
        "RFC3339Nano: {tail}"
    );
    // sinceTime travels in whole seconds (kube rounds it): from the third line's second on.
    let second = Timestamp::from_second(times[2].as_second()).unwrap();
    let since = LogParams {
        since_time: Some(second),
        timestamps: true,
        ..Default::default()
    };
    let from_third = pods.logs(&pod, &since).await.unwrap();
    assert!(from_third.lines().count() >= 3, "{from_third}");
    let first: Timestamp = from_third.split(' ').next().unwrap().parse().unwrap();
    assert!(first >= second && first <= times[2], "{from_third}");
    let all = pods.logs(&pod, &LogParams::default()).await.unwrap();
    assert!(all.lines().count() > from_third.lines().count());
    assert!(
        all.lines().count() > 500,
        "seeded pods have minutes of history"
    );
    let recent = pods
        .logs(
            &pod,
            &LogParams {
                since_seconds: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(recent.lines().count() < 20, "{recent}");
    let forever = LogParams {
        since_seconds: Some(i64::MAX),
        ..Default::default()
    };
    let everything = pods.logs(&pod, &forever).await.unwrap();
    assert!(everything.lines().count() >= all.lines().count());
    let err = pods
        .logs(
            &pod,
            &LogParams {
                container: Some("nope".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 400));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_scale_pages_and_errors() {
    let (sim, _dir) = start(SimOptions {
        pods: 10,
        ..Default::default()
    })
    .await;
    let c = client(&sim).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::all(c.clone());
    let err = deploys.get("nope").await.unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"),
        "{err:?}"
    );
    let bad = Patch::Json::<()>(
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/nope/x", "value": 1}]))
            .unwrap(),
    );
    let err = deploys
        .patch("web", &PatchParams::default(), &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422),
        "{err:?}"
    );
    let mangled = Patch::Merge(json!({"metadata": "x"}));
    let err = deploys
        .patch("web", &PatchParams::default(), &mangled)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422),
        "{err:?}"
    );
    let paused = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .unwrap();
    assert_eq!(paused.spec.unwrap().paused, Some(true));
    assert_eq!(paused.metadata.generation, Some(2));
    let scaled = deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(5));
    until("web to have 5 ready pods while paused", 15, async || {
        deploys
            .get_scale("web")
            .await
            .unwrap()
            .status
            .is_some_and(|s| s.replicas == 5)
            && deploys
                .get("web")
                .await
                .unwrap()
                .status
                .and_then(|s| s.ready_replicas)
                == Some(5)
    })
    .await;
    // 10 load pods over 4 deployments, besides web and db.
    let load = pods
        .list(&ListParams::default().labels("app!=web,app!=db"))
        .await
        .unwrap();
    assert_eq!(load.items.len(), 10);
    let page = pods
        .list(&ListParams::default().labels("app").limit(4))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4);
    let token = page.metadata.continue_.clone().expect("a continue token");
    let rest = pods
        .list(
            &ListParams::default()
                .labels("app")
                .limit(100)
                .continue_token(&token),
        )
        .await
        .unwrap();
    let mut all = names(&page.items);
    all.extend(names(&rest.items));
    assert_eq!(all.len(), 16, "10 load + 5 web + db-0");
    sim.stop().await;
}
