//! The log followers' own client (`Kube::logs`, built by shipdeck rather than kube) against an
//! HTTPS API server on 127.0.0.1, reached through a kubeconfig as a user's cluster is: the
//! CA file, the bearer token and impersonation all reach the log requests, a 12 KiB response
//! head is read, and a burst of history far larger than the client's read buffer arrives
//! whole and in order.

mod common;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration as Span, TimeZone, Utc};
use common::tls::{self, Ca};
use futures_util::stream;
use rcgen::CertificateParams;
use shipdeck::config::checklist::LogSpec;
use shipdeck::core::msg::{LogStreamState, Msg};
use shipdeck::sources::kube_client::{ClusterTarget, LOG_READ_BUF, connect};
use shipdeck::sources::kube_logs;
use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const TOKEN: &str = "s3cret-token";
/// Lines in the log's history, sent in one chunk when the follower attaches.
const HISTORY: usize = 3_000;

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"shop",
    "resourceVersion":"1","labels":{"app":"web"}},"spec":{"containers":[{"name":"web"}]},
    "status":{"phase":"Running","containerStatuses":[{"name":"web","ready":true,"restartCount":0,
    "image":"web:1.0","imageID":"","state":{"running":{}}}]}}"#;

fn text(i: usize) -> String {
    format!("request {i:05} served in 12 ms by web-1, a line of ordinary length")
}

fn history() -> String {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    (0..HISTORY)
        .map(|i| {
            let ts = t0 + Span::milliseconds(i as i64);
            format!(
                "{} {}\n",
                ts.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                text(i)
            )
        })
        .collect()
}

/// A body that sends `text` and then stays open, as a follow stream does.
fn open_body(text: String) -> Body {
    let first = stream::iter([Ok::<_, Infallible>(Bytes::from(text))]);
    Body::from_stream(futures_util::StreamExt::chain(first, stream::pending()))
}

/// The headers each log request came with: `Impersonate-User`, or "-".
type Seen = Arc<Mutex<Vec<String>>>;

/// The pod (listed to anyone: the log requests are what is tested) and its log, which wants
/// the bearer token.
fn api(seen: Seen) -> Router {
    Router::new()
        .route(
            "/api/v1/namespaces/shop/pods",
            get(|axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                if q.unwrap_or_default().contains("watch=true") {
                    open_body(String::new())
                } else {
                    Body::from(format!(
                        r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"1"}},"items":[{POD}]}}"#
                    ))
                }
            }),
        )
        .route(
            "/api/v1/namespaces/shop/pods/web-1/log",
            get(move |headers: HeaderMap| async move {
                let who = headers
                    .get("impersonate-user")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                seen.lock().unwrap().push(who);
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {TOKEN}")) {
                    let status = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
                    return (StatusCode::UNAUTHORIZED, status).into_response();
                }
                // A response head of 12 KiB, as an auth proxy's cookies can make it.
                let mut response = Response::new(open_body(history()));
                response
                    .headers_mut()
                    .insert("set-cookie", "c".repeat(12 * 1024).parse().unwrap());
                response
            }),
        )
}

/// How the kubeconfig's user gets its credential.
enum Cred<'a> {
    Token(&'a str),
    /// An exec plugin, a script that counts its runs in `runs` and prints the token.
    Exec {
        runs: &'a Path,
    },
}

/// Serves the API over TLS for `localhost` and writes a kubeconfig for it with the CA file,
/// `cred` and `as: alice`. Runs the logs task on it; returns what came until `done` said so
/// or 20 s passed, and the impersonated user of each log request.
async fn follow(
    cred: Cred<'_>,
    done: impl Fn(&[String], &[LogStreamState]) -> bool,
) -> (Vec<String>, Vec<LogStreamState>, Vec<String>) {
    let ca = Ca::new();
    let user = match cred {
        Cred::Token(token) => format!("    token: {token}\n"),
        Cred::Exec { runs } => {
            let plugin = ca.dir.path().join("credential-plugin");
            std::fs::write(
                &plugin,
                format!(
                    "#!/bin/sh\necho run >> '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n",
                    runs.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
            format!(
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
                plugin.display()
            )
        }
    };
    let (chain, key) = ca.sign(CertificateParams::new(vec!["localhost".to_string()]).unwrap());
    let seen = Seen::default();
    let port = tls::serve(api(seen.clone()), chain, key).await;
    let kubeconfig = ca.dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: tls\n  cluster:\n    server: https://localhost:{port}\n    certificate-authority: {ca}\ncontexts:\n- name: tls\n  context: {{cluster: tls, namespace: shop, user: deployer}}\ncurrent-context: tls\nusers:\n- name: deployer\n  user:\n{user}    as: alice\n",
            ca = ca.pem_file()
        ),
    )
    .unwrap();
    let kube = connect(&ClusterTarget {
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    })
    .await
    .expect("connect");
    let spec = LogSpec {
        selector: "app=web".into(),
        container: None,
        since: None,
        max_lines: None,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(kube_logs::run(kube, spec, tx));
    let (mut texts, mut states) = (Vec::new(), Vec::new());
    let collect = async {
        while !done(&texts, &states) {
            match rx.recv().await {
                Some(Msg::Logs(lines)) => texts.extend(lines.into_iter().map(|l| l.text)),
                Some(Msg::LogStream { state, .. }) => states.push(state),
                Some(_) => {}
                None => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(20), collect).await;
    task.abort();
    let seen = seen.lock().unwrap().clone();
    (texts, states, seen)
}

#[tokio::test]
async fn a_burst_far_larger_than_the_read_buffer_arrives_whole_over_tls_with_the_users_credentials()
{
    assert!(
        history().len() > 8 * LOG_READ_BUF,
        "the burst must dwarf the buffer"
    );
    let (texts, states, seen) = follow(Cred::Token(TOKEN), |t, _| t.len() >= HISTORY).await;
    let want: Vec<String> = (0..HISTORY).map(text).collect();
    assert_eq!(texts.len(), HISTORY, "states: {states:?}");
    assert!(texts == want, "lines lost, cut or out of order");
    assert_eq!(states, [LogStreamState::Attached]);
    assert_eq!(
        seen,
        ["alice"],
        "one log request, impersonating the kubeconfig's user"
    );
}

#[tokio::test]
async fn a_token_the_server_refuses_is_shown_on_the_pods_stream() {
    let refused = |s: &[LogStreamState]| {
        s.iter()
            .any(|s| matches!(s, LogStreamState::Retrying(e) if e.contains("401")))
    };
    let (texts, states, seen) = follow(Cred::Token("not-the-token"), |_, s| refused(s)).await;
    assert!(refused(&states), "{states:?}");
    assert!(texts.is_empty(), "{texts:?}");
    assert!(seen.first().is_some_and(|w| w == "alice"), "{seen:?}");
}

/// The two clients (watches, and the log followers') share one auth layer: an exec plugin,
/// which can take a second a run (`aws eks get-token`), runs twice at connect (once for a
/// client certificate, once for the token; kube's own client alone ran it three times), and
/// its token serves both.
#[tokio::test]
async fn an_exec_credential_plugin_runs_twice_for_both_clients() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let (texts, states, seen) = follow(Cred::Exec { runs: &runs }, |t, _| t.len() >= HISTORY).await;
    assert_eq!(texts.len(), HISTORY, "states: {states:?}");
    assert_eq!(seen, ["alice"]);
    let count = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(count, 2, "plugin runs");
}
