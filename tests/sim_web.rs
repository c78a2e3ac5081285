//! The demo web app over real HTTP on 127.0.0.1: latency and errors by image tag, 503, access logs.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{LogParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use shipdeck::sim::{self, Scenario, Sim, SimOptions};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// One answer: status, lower-cased headers, body, and how long it took.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
    took: Duration,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A minimal HTTP/1.1 GET (Connection: close), bounded to 5 s.
async fn get(sim: &Sim, path: &str) -> Answer {
    let host = sim.web_url.strip_prefix("http://").expect("an http URL");
    let started = Instant::now();
    let raw = timeout(Duration::from_secs(5), async {
        let mut s = TcpStream::connect(host).await.expect("web app accepts");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("request sent");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("response read");
        String::from_utf8(buf).expect("utf-8 response")
    })
    .await
    .unwrap_or_else(|_| panic!("GET {path} did not answer in 5 s"));
    let took = started.elapsed();
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = body.to_string();
    Answer {
        status,
        headers,
        body,
        took,
    }
}

/// `n` GETs of /health, at most 50 in flight.
async fn health_many(sim: &Sim, n: usize) -> Vec<Answer> {
    let mut all = Vec::new();
    while all.len() < n {
        let batch = (n - all.len()).min(50);
        let answers = futures_util::future::join_all((0..batch).map(|_| get(sim, "/health")));
        all.extend(answers.await);
    }
    all
}

async fn start(scenario: Scenario, log_rate: f64, dir: &tempfile::TempDir) -> Sim {
    let sim = sim::start(SimOptions {
        dir: dir.path().to_path_buf(),
        scenario,
        log_rate,
        progress_deadline_seconds: 10,
        ..Default::default()
    })
    .await
    .expect("demo cluster starts");
    assert!(
        sim.web_url.starts_with("http://127.0.0.1:"),
        "{}",
        sim.web_url
    );
    sim
}

async fn client(sim: &Sim) -> kube::Client {
    let kc = Kubeconfig::read_from(&sim.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

async fn patch_web(c: &kube::Client, patch: serde_json::Value) {
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    deploys
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch applies");
}

async fn set_image(c: &kube::Client, image: &str) {
    let spec = json!({"template": {"spec": {"containers": [{"name": "web", "image": image}]}}});
    patch_web(c, json!({ "spec": spec })).await;
}

/// Waits (bounded) until the rollout is complete by kubectl's rules.
async fn rolled_out(c: &kube::Client) {
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let d = deploys.get("web").await.expect("deployment");
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.clone().unwrap_or_default();
        let done = st.observed_generation >= d.metadata.generation
            && st.updated_replicas == Some(want)
            && st.replicas == Some(want)
            && st.available_replicas == Some(want);
        if done {
            return;
        }
        assert!(Instant::now() < end, "rollout did not complete: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn image_of(c: &kube::Client, pod: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    let p = pods.get(pod).await.expect("the serving pod exists");
    let spec = p.spec.unwrap_or_default();
    spec.containers[0].image.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn good_version_answers_ok_before_and_after_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(Scenario::Good, 2.0, &dir).await;
    let c = client(&sim).await;
    for a in health_many(&sim, 10).await {
        assert_eq!((a.status, a.body.as_str()), (200, "ok"), "{a:?}");
        assert_eq!(
            a.header("strict-transport-security"),
            Some("max-age=31536000")
        );
        let pod = a.header("x-served-by").expect("x-served-by");
        assert!(pod.starts_with("web-"), "{a:?}");
        assert!(
            a.took >= Duration::from_millis(20),
            "1.0 takes 20–60 ms: {a:?}"
        );
    }
    let shop = get(&sim, "/").await;
    assert_eq!((shop.status, shop.body.as_str()), (200, "shop"), "{shop:?}");
    assert_eq!(get(&sim, "/nope").await.status, 404);

    set_image(&c, "web:2.0").await;
    rolled_out(&c).await;
    for a in health_many(&sim, 20).await {
        assert_eq!((a.status, a.body.as_str()), (200, "ok"), "{a:?}");
        let pod = a.header("x-served-by").expect("x-served-by");
        assert_eq!(image_of(&c, pod).await, "web:2.0", "{a:?}");
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_version_rolls_out_then_fails_a_fifth_of_requests_until_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(Scenario::Bad, 2.0, &dir).await;
    let c = client(&sim).await;
    set_image(&c, "web:2.0").await;
    // 2.0 no longer crash-loops: its pods become Ready and the rollout completes.
    rolled_out(&c).await;
    let answers = health_many(&sim, 200).await;
    let errors: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
    for a in &errors {
        assert_eq!(a.status, 500, "{a:?}");
        assert_eq!(a.body, "error: payment backend unavailable", "{a:?}");
        assert!(a.header("x-served-by").is_some(), "{a:?}");
    }
    assert!(answers.iter().all(|a| a.status != 200 || a.body == "ok"));
    assert!(
        answers.iter().all(|a| a.took >= Duration::from_millis(150)),
        "a bad 2.0 takes 150–600 ms"
    );
    let fraction = errors.len() as f64 / answers.len() as f64;
    assert!(
        (0.10..=0.30).contains(&fraction),
        "{} errors out of {}",
        errors.len(),
        answers.len()
    );

    // Back on 1.0 (what `undo` does), every request succeeds again.
    set_image(&c, "web:1.0").await;
    rolled_out(&c).await;
    for a in health_many(&sim, 30).await {
        assert_eq!((a.status, a.body.as_str()), (200, "ok"), "{a:?}");
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_ready_pod_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(Scenario::Good, 2.0, &dir).await;
    let c = client(&sim).await;
    patch_web(&c, json!({"spec": {"replicas": 0}})).await;
    // Scaled-down pods turn Terminating at once; poll a little in case the controller lags.
    let end = Instant::now() + Duration::from_secs(10);
    let a = loop {
        let a = get(&sim, "/health").await;
        if a.status != 200 || Instant::now() >= end {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (a.status, a.body.as_str()),
        (503, "no healthy upstream"),
        "{a:?}"
    );
    assert_eq!(a.header("x-served-by"), None, "{a:?}");
    assert_eq!(
        a.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(get(&sim, "/").await.status, 503);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_is_in_the_serving_pods_log() {
    let dir = tempfile::tempdir().unwrap();
    // No simulated traffic: every request line in a log comes from this test.
    let sim = start(Scenario::Good, 0.0, &dir).await;
    let c = client(&sim).await;
    let answers = health_many(&sim, 12).await;
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    for a in &answers {
        let pod = a.header("x-served-by").expect("x-served-by").to_string();
        *served.entry(pod).or_default() += 1;
    }
    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    for (pod, n) in &served {
        let log = pods.logs(pod, &LogParams::default()).await.unwrap();
        let access: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("GET /health 200 "))
            .collect();
        assert_eq!(access.len(), *n, "{pod}:\n{log}");
        assert!(
            access
                .iter()
                .all(|l| l.starts_with("INFO GET /health 200 ") && l.ends_with("ms")),
            "{log}"
        );
    }
    sim.stop().await;
}
