//! Log lines: timestamps, resume without repeats or gaps, which container to follow.

use super::*;
use serde_json::json;

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn parses_kubelet_timestamps() {
    let (t, text) = parse_line("2025-11-21T10:00:01.123456789Z GET /health 200\n").unwrap();
    assert_eq!(t, ts("2025-11-21T10:00:01.123456789Z"));
    assert_eq!(text, "GET /health 200");
    let (_, empty) = parse_line("2025-11-21T10:00:01Z\n").unwrap();
    assert_eq!(empty, "");
    assert_eq!(parse_line("no timestamp here"), None);
}

#[test]
fn resume_skips_what_was_delivered_counting_equal_timestamps() {
    let mut c = Cursor::default();
    assert_eq!(c.resume(), None);
    let a = ts("2025-11-21T10:00:01.100Z");
    let b = ts("2025-11-21T10:00:01.700Z");
    let d = ts("2025-11-21T10:00:02.000Z");
    // First stream: a, b, b (two lines share b), then the connection drops.
    assert!(c.admit(a) && c.admit(b) && c.admit(b));
    // sinceTime is whole seconds, never rounded up past a line we still need.
    assert_eq!(
        c.resume().map(|t| t.to_string()),
        Some("2025-11-21T10:00:01Z".into())
    );
    // The server sends the second again from its start, plus a third `b` and a new line.
    let replay = [a, b, b, b, d];
    let admitted: Vec<bool> = replay.iter().map(|t| c.admit(*t)).collect();
    assert_eq!(admitted, [false, false, false, true, true]);
    // Another drop right after: the three `b`s are gone for good, `d` once.
    c.resume();
    assert!(!c.admit(b) && !c.admit(d));
    assert!(c.admit(ts("2025-11-21T10:00:02.5Z")));
}

#[test]
fn backoff_grows_and_caps() {
    assert_eq!(backoff(1), Duration::from_millis(250));
    assert_eq!(backoff(2), Duration::from_millis(500));
    assert_eq!(backoff(4), Duration::from_secs(2));
    assert_eq!(backoff(9), Duration::from_secs(4));
}

fn pod(status: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1",
                     "annotations": {"kubectl.kubernetes.io/default-container": "web"}},
        "spec": {"containers": [{"name": "proxy"}, {"name": "web"}]},
        "status": status
    }))
    .unwrap()
}

#[test]
fn picks_the_container_and_reads_its_state() {
    let running = pod(json!({"containerStatuses": [
        {"name": "web", "ready": true, "restartCount": 2, "image": "", "imageID": "",
         "state": {"running": {}}},
        {"name": "proxy", "ready": true, "restartCount": 0, "image": "", "imageID": "",
         "state": {"waiting": {"reason": "ContainerCreating"}}}
    ]}));
    let info = PodLogInfo::of(&running, None).unwrap();
    assert_eq!(info.container, "web");
    assert!(info.running && info.has_logs);
    assert_eq!(info.restarts, 2);
    let proxy = PodLogInfo::of(&running, Some("proxy")).unwrap();
    assert!(!proxy.running && !proxy.has_logs);
    assert_eq!(PodLogInfo::of(&running, Some("db")), None);

    let crashloop = pod(json!({"containerStatuses": [
        {"name": "web", "ready": false, "restartCount": 4, "image": "", "imageID": "",
         "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1}}}
    ]}));
    let info = PodLogInfo::of(&crashloop, Some("web")).unwrap();
    assert!(!info.running && info.has_logs);
    let pending = pod(json!({"phase": "Pending"}));
    assert!(!PodLogInfo::of(&pending, None).unwrap().has_logs);
}

/// A one-pod API server whose log stream drops once, mid-second, after two lines that
/// share a timestamp; the resumed stream starts over from that second.
mod dropped_stream {
    use crate::config::checklist::LogSpec;
    use crate::core::msg::{LogStreamState, Msg};
    use crate::sources::kube_client::Kube;
    use axum::body::{Body, Bytes};
    use axum::extract::RawQuery;
    use axum::routing::get;
    use futures_util::stream;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"shop",
        "resourceVersion":"1","labels":{"app":"web"}},"spec":{"containers":[{"name":"web"}]},
        "status":{"phase":"Running","containerStatuses":[{"name":"web","ready":true,"restartCount":0,
        "image":"web:1.0","imageID":"","state":{"running":{}}}]}}"#;
    const FIRST: &str =
        "2025-11-21T10:00:01.100Z a\n2025-11-21T10:00:01.700Z b\n2025-11-21T10:00:01.700Z c\n";
    const AGAIN: &str = "2025-11-21T10:00:01.100Z a\n2025-11-21T10:00:01.700Z b\n2025-11-21T10:00:01.700Z c\n\
        2025-11-21T10:00:01.700Z d\n2025-11-21T10:00:02.500Z e\n";

    /// A body that sends `text` and then stays open, like a follow stream with nothing new.
    fn open_body(text: &'static str) -> Body {
        let first = stream::iter([Ok::<_, Infallible>(Bytes::from_static(text.as_bytes()))]);
        Body::from_stream(futures_util::StreamExt::chain(first, stream::pending()))
    }

    #[tokio::test]
    async fn resumes_from_the_last_second_without_repeats() {
        let queries = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = queries.clone();
        let app = axum::Router::new()
            .route(
                "/api/v1/namespaces/shop/pods",
                get(|RawQuery(q): RawQuery| async move {
                    if q.unwrap_or_default().contains("watch=true") {
                        open_body("")
                    } else {
                        let list = format!(
                            r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"1"}},"items":[{POD}]}}"#
                        );
                        Body::from(list)
                    }
                }),
            )
            .route(
                "/api/v1/namespaces/shop/pods/web-1/log",
                get(move |RawQuery(q): RawQuery| async move {
                    let mut qs = seen.lock().unwrap();
                    qs.push(q.unwrap_or_default());
                    // The first stream ends (connection cut); the second stays open.
                    if qs.len() == 1 { Body::from(FIRST) } else { open_body(AGAIN) }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let kube = Kube {
            kubeconfig: None,
            client: kube::Client::try_from(config).unwrap(),
            namespace: "shop".into(),
            context: "test".into(),
            server: addr.to_string(),
        };
        let spec = LogSpec {
            selector: "app=web".into(),
            container: None,
            since: None,
            max_lines: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let task = tokio::spawn(crate::sources::kube_logs::run(kube, spec, tx));
        let (mut texts, mut states) = (Vec::new(), Vec::new());
        let collect = async {
            while texts.len() < 5 {
                match rx.recv().await {
                    Some(Msg::Logs(lines)) => texts.extend(lines.into_iter().map(|l| l.text)),
                    Some(Msg::LogStream { state, .. }) => states.push(state),
                    Some(_) => {}
                    None => break,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), collect)
            .await
            .expect("lines arrive");
        task.abort();
        assert_eq!(texts, ["a", "b", "c", "d", "e"]);
        assert_eq!(
            states,
            [
                LogStreamState::Attached,
                LogStreamState::Retrying("log stream closed".into()),
                LogStreamState::Attached
            ]
        );
        let qs = queries.lock().unwrap();
        assert!(
            qs[0].contains("sinceSeconds=300") && qs[0].contains("follow=true"),
            "{qs:?}"
        );
        assert!(
            qs[1].contains("sinceTime=2025-11-21T10%3A00%3A01Z"),
            "{qs:?}"
        );
        assert!(
            qs[1].contains("timestamps=true") && qs[1].contains("container=web"),
            "{qs:?}"
        );
    }
}
