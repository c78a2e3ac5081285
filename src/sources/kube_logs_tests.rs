//! Log lines: timestamps, resume without repeats or gaps (after an EOF and after a hung or
//! quiet stream), which container to follow.

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

/// Bytes as a stream of chunks, each after its pause.
fn trickle(chunks: Vec<(u64, &'static str)>) -> impl AsyncBufRead + Unpin {
    use futures_util::{StreamExt, TryStreamExt};
    let chunks = futures_util::stream::iter(chunks).then(|(ms, text)| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, std::io::Error>(text.as_bytes())
    });
    Box::pin(chunks.chain(futures_util::stream::pending())).into_async_read()
}

#[tokio::test]
async fn idle_means_no_byte_at_all_not_no_whole_line() {
    let idle = Duration::from_millis(400);
    // A line trickling in 250 ms apart (500 ms in all, more than the limit) is slow, not idle.
    let mut r = trickle(vec![
        (0, "2025-11-21T10:0"),
        (250, "0:01Z sl"),
        (250, "ow\nnext"),
    ]);
    let mut buf = Vec::new();
    let n = read_line(&mut r, &mut buf, idle)
        .await
        .ok()
        .expect("a whole line");
    assert_eq!((n, &buf[..]), (26, &b"2025-11-21T10:00:01Z slow\n"[..]));
    // Then half a line and silence: idle, after the limit and not much later.
    buf.clear();
    let t = tokio::time::Instant::now();
    assert!(matches!(
        read_line(&mut r, &mut buf, idle).await,
        Err(Read::Idle)
    ));
    assert!(
        (idle..idle + Duration::from_secs(1)).contains(&t.elapsed()),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(buf, b"next");
    // The end of a stream is still the end.
    let mut done = futures_util::io::Cursor::new(b"x\n".to_vec());
    buf.clear();
    assert_eq!(read_line(&mut done, &mut buf, idle).await.ok(), Some(2));
    assert_eq!(read_line(&mut done, &mut buf, idle).await.ok(), Some(0));
}

#[test]
fn the_idle_limit_comes_from_the_environment_text() {
    let d = crate::sources::kube_logs::FollowOptions::default();
    assert_eq!(d.idle, Duration::from_secs(60));
    let with = |t: Option<&str>| d.with_idle_text(t).idle;
    assert_eq!(with(Some("90s")), Duration::from_secs(90));
    assert_eq!(with(Some("1500ms")), Duration::from_millis(1500));
    // Too short to be sane: the floor. Not a duration: the default.
    assert_eq!(with(Some("0s")), Duration::from_millis(100));
    assert_eq!(with(Some("soon")), Duration::from_secs(60));
    assert_eq!(with(None), Duration::from_secs(60));
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

/// One-pod API servers whose log streams end, hang, or answer nothing; the follower resumes
/// each from the last second without repeats.
mod streams {
    use crate::config::checklist::LogSpec;
    use crate::core::msg::{LogStreamState, Msg};
    use crate::sources::kube_client::{Kube, clients};
    use crate::sources::kube_logs::FollowOptions;
    use axum::body::{Body, Bytes};
    use axum::extract::RawQuery;
    use axum::routing::get;
    use futures_util::stream;
    use std::convert::Infallible;
    use std::future::Future;
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

    type Queries = Arc<Mutex<Vec<String>>>;

    /// Serves the pod and answers its log requests with `log(n)` (n: 1 for the first
    /// request); the logs task runs with `opts` until `want` lines came or 10 s passed.
    /// Returns the lines' texts, the stream states and the log requests' query strings.
    async fn follow<F, R>(
        opts: FollowOptions,
        want: usize,
        log: F,
    ) -> (Vec<String>, Vec<LogStreamState>, Vec<String>)
    where
        F: Fn(usize) -> R + Clone + Send + Sync + 'static,
        R: Future<Output = Body> + Send + 'static,
    {
        let queries: Queries = Arc::default();
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
                get(move |RawQuery(q): RawQuery| {
                    let n = {
                        let mut qs = seen.lock().unwrap();
                        qs.push(q.unwrap_or_default());
                        qs.len()
                    };
                    log(n)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let (client, logs) = clients(&config).unwrap();
        let kube = Kube {
            kubeconfig: None,
            logs,
            client,
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
        let task = tokio::spawn(crate::sources::kube_logs::run_with(kube, spec, opts, tx));
        let (mut texts, mut states) = (Vec::new(), Vec::new());
        let collect = async {
            while texts.len() < want {
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
        let qs = queries.lock().unwrap().clone();
        (texts, states, qs)
    }

    #[tokio::test]
    async fn resumes_from_the_last_second_without_repeats() {
        let (texts, states, qs) = follow(FollowOptions::default(), 5, |n| async move {
            // The first stream ends (connection cut); the second stays open.
            if n == 1 {
                Body::from(FIRST)
            } else {
                open_body(AGAIN)
            }
        })
        .await;
        assert_eq!(texts, ["a", "b", "c", "d", "e"]);
        assert_eq!(
            states,
            [
                LogStreamState::Attached,
                LogStreamState::Retrying("log stream closed".into()),
                LogStreamState::Attached
            ]
        );
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

    /// A server that does not answer, a stream with nothing to send, and a stream that stops
    /// sending mid-second with its connection still open, one after the other: each is
    /// dropped after the idle limit and resumed, with no line lost or repeated and nothing
    /// shown as an error.
    #[tokio::test]
    async fn hung_and_quiet_streams_are_resumed_without_errors() {
        const HELD: &str =
            "2025-11-21T10:00:01.100Z a\n2025-11-21T10:00:01.700Z b\n2025-11-21T10:00:01.7";
        const RESUMED: &str = "2025-11-21T10:00:01.100Z a\n2025-11-21T10:00:01.700Z b\n\
            2025-11-21T10:00:01.700Z c\n2025-11-21T10:00:03.000Z d\n";
        let opts = FollowOptions {
            idle: Duration::from_millis(300),
        };
        let started = std::time::Instant::now();
        let (texts, states, qs) = follow(opts, 4, |n| async move {
            match n {
                // No response head at all (bounded: the test is over long before).
                1 => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Body::empty()
                }
                // A head, then nothing: a quiet pod (or a hung one, from the outside).
                2 => open_body(""),
                // Two lines and part of a third, then silence on an open connection.
                3 => open_body(HELD),
                _ => open_body(RESUMED),
            }
        })
        .await;
        assert_eq!(texts, ["a", "b", "c", "d"]);
        // Each stream that opened says so; none of it is an error.
        assert_eq!(states, vec![LogStreamState::Attached; 3]);
        assert_eq!(qs.len(), 4, "{qs:?}");
        // Four attaches, three idle limits and no back-off between them.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // Before any line, the first window keeps its start: 300 s then, more now.
        assert!(qs[0].contains("sinceSeconds=300"), "{qs:?}");
        for q in &qs[1..3] {
            let secs: i64 = q
                .split('&')
                .find_map(|kv| kv.strip_prefix("sinceSeconds="))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{qs:?}"));
            assert!((301..=305).contains(&secs), "{qs:?}");
        }
        // After the held lines, from their second.
        assert!(
            qs[3].contains("sinceTime=2025-11-21T10%3A00%3A01Z") && !qs[3].contains("sinceSeconds"),
            "{qs:?}"
        );
    }
}
