//! The probe engine against real HTTP and HTTPS servers on 127.0.0.1 (axum, and
//! tokio-rustls with rcgen-made certificates).

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{any, get};
use rcgen::{CertificateParams, KeyPair};
use shipdeck::config::checklist::{Expect, Probe, StatusExpect};
use shipdeck::config::diag::Pos;
use shipdeck::core::msg::Msg;
use shipdeck::core::probes::{FailureKind, Sample};
use shipdeck::sources::probes::{ProbeClient, probe_once, spawn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

mod common;
use common::tls::{self, Ca};

const DAY: Duration = Duration::from_secs(86_400);

fn probe(url: &str) -> Probe {
    Probe {
        name: "web".into(),
        url: url.into(),
        method: "GET".into(),
        request_headers: vec![],
        every: Duration::from_millis(200),
        timeout: Duration::from_secs(3),
        expect: Expect {
            status: StatusExpect::Class(2),
            body_contains: None,
            headers: vec![],
            cert_days_min: 14,
        },
        ca_file: None,
        insecure: false,
        slo: None,
        pos: Pos::default(),
        name_pos: Pos::default(),
    }
}

async fn run(p: &Probe) -> Sample {
    let client = ProbeClient::new(p).expect("client");
    probe_once(&client, p).await
}

fn kind(s: &Sample) -> Option<&FailureKind> {
    s.failure.as_ref().map(|(k, _)| k)
}

fn message(s: &Sample) -> &str {
    s.failure.as_ref().map(|(_, m)| m.as_str()).unwrap_or("")
}

/// Handlers in flight now, and the most ever seen at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
    total: AtomicUsize,
}

fn app(flight: Arc<InFlight>) -> Router {
    Router::new()
        .route("/ok", get(|| async { ([("X-Custom", "yes")], "all ok\n") }))
        .route(
            "/status/{code}",
            get(
                |axum::extract::Path(code): axum::extract::Path<u16>| async move {
                    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
                    (status, "  down for\n maintenance  ")
                },
            ),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            any(|method: Method, headers: HeaderMap| async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_string()
                };
                let body = format!("{method} {} {}", h("x-probe"), h("authorization"));
                (StatusCode::INTERNAL_SERVER_ERROR, body)
            }),
        )
        .route(
            "/counted",
            get(move || {
                let flight = flight.clone();
                async move {
                    let n = flight.now.fetch_add(1, Ordering::SeqCst) + 1;
                    flight.max.fetch_max(n, Ordering::SeqCst);
                    flight.total.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    flight.now.fetch_sub(1, Ordering::SeqCst);
                    "counted"
                }
            }),
        )
}

async fn http_server() -> (SocketAddr, Arc<InFlight>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let flight = Arc::new(InFlight::default());
    let router = app(flight.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, flight)
}

/// How a test server's certificate is made.
enum Leaf {
    /// Signed by the CA, for `name`, valid from 30 days ago until `until_days` from now
    /// (negative: in the past).
    Signed {
        name: &'static str,
        until_days: i64,
    },
    SelfSigned,
}

fn leaf_params(name: &str, until_days: i64) -> CertificateParams {
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - 30 * DAY;
    params.not_after = if until_days >= 0 {
        now + DAY * until_days as u32
    } else {
        now - DAY * (-until_days) as u32
    };
    params
}

async fn tls_server(ca: &Ca, leaf: Leaf) -> u16 {
    let (chain, key) = match leaf {
        Leaf::Signed { name, until_days } => ca.sign(leaf_params(name, until_days)),
        Leaf::SelfSigned => {
            let key = KeyPair::generate().expect("key");
            let cert = leaf_params("localhost", 365)
                .self_signed(&key)
                .expect("self-sign");
            (vec![cert.der().clone()], key)
        }
    };
    tls::serve(app(Arc::new(InFlight::default())), chain, key).await
}

#[tokio::test]
async fn ok_200_with_latency() {
    let (addr, _) = http_server().await;
    let s = run(&probe(&format!("http://{addr}/ok"))).await;
    assert!(s.ok(), "{s:?}");
    assert_eq!(s.probe, "web");
    assert_eq!(s.status, Some(200));
    assert!(s.latency_ms < 3000, "{s:?}");
    assert_eq!(s.cert_days, None);
}

#[tokio::test]
async fn status_code_list_and_class() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/status/204"));
    p.expect.status = StatusExpect::Codes(vec![200, 204]);
    assert!(run(&p).await.ok());

    p.url = format!("http://{addr}/status/404");
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::BadStatus(404)));
    assert_eq!(s.status, Some(404));
    assert_eq!(
        message(&s),
        "status 404, expected one of 200, 204: down for maintenance"
    );

    p.url = format!("http://{addr}/status/503");
    p.expect.status = StatusExpect::Code(200);
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::BadStatus(503)));
    assert!(message(&s).starts_with("status 503, expected 200"), "{s:?}");

    // Redirects are not followed: a 302 is what the probe saw.
    p.url = format!("http://{addr}/status/302");
    p.expect.status = StatusExpect::Class(2);
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::BadStatus(302)));
    assert!(message(&s).contains("expected 2xx"), "{s:?}");

    p.expect.status = StatusExpect::Class(3);
    assert!(run(&p).await.ok());
}

#[tokio::test]
async fn body_contains_mismatch() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/ok"));
    p.expect.body_contains = Some("all ok".into());
    assert!(run(&p).await.ok());
    p.expect.body_contains = Some("healthy".into());
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::BodyMismatch));
    assert_eq!(s.status, Some(200));
    assert_eq!(
        message(&s),
        "body does not contain \"healthy\"; got: all ok"
    );
}

#[tokio::test]
async fn required_headers_case_insensitive() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/ok"));
    p.expect.headers = vec!["x-CUSTOM".into(), "Content-Type".into()];
    assert!(run(&p).await.ok());
    p.expect.headers = vec!["X-Custom".into(), "Strict-Transport-Security".into()];
    let s = run(&p).await;
    assert_eq!(
        kind(&s),
        Some(&FailureKind::MissingHeader(
            "Strict-Transport-Security".into()
        ))
    );
    assert_eq!(
        message(&s),
        "response lacks header Strict-Transport-Security"
    );
}

#[tokio::test]
async fn method_and_request_headers_sent_but_never_quoted() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/echo"));
    p.method = "PUT".into();
    p.request_headers = vec![
        ("X-Probe".into(), "hello".into()),
        ("Authorization".into(), "Bearer s3cr3t-t0ken".into()),
    ];
    p.expect.status = StatusExpect::Code(500);
    p.expect.body_contains = Some("PUT hello".into());
    assert!(run(&p).await.ok());

    // The server echoes the credential into its body; the message must not.
    p.expect.status = StatusExpect::Code(200);
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::BadStatus(500)));
    assert!(message(&s).contains("PUT"), "{s:?}");
    assert!(!message(&s).contains("s3cr3t-t0ken"), "{s:?}");
}

#[tokio::test]
async fn connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let s = run(&probe(&format!("http://{addr}/"))).await;
    assert_eq!(kind(&s), Some(&FailureKind::ConnectionRefused), "{s:?}");
    assert_eq!(message(&s), format!("connection refused by {addr}"));
    assert_eq!(s.status, None);
}

#[tokio::test]
async fn timeout_returns_long_before_the_server_answers() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/slow"));
    p.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let s = run(&p).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{s:?}");
    assert_eq!(kind(&s), Some(&FailureKind::Timeout));
    assert_eq!(message(&s), "no response within 300ms");
    assert!(s.latency_ms >= 250, "{s:?}");
}

#[tokio::test]
async fn dns_failure_is_named() {
    let s = run(&probe("http://nonexistent.invalid/")).await;
    match kind(&s) {
        Some(FailureKind::Dns) => {
            assert!(
                message(&s).starts_with("DNS failure: nonexistent.invalid does not resolve"),
                "{s:?}"
            );
        }
        // A sandbox resolver may answer oddly; the message must still say something.
        Some(FailureKind::Other) => assert!(!message(&s).is_empty(), "{s:?}"),
        other => panic!("expected a DNS failure, got {other:?}: {s:?}"),
    }
}

#[tokio::test]
async fn tls_untrusted_without_ca_file() {
    let ca = Ca::new();
    let port = tls_server(
        &ca,
        Leaf::Signed {
            name: "localhost",
            until_days: 365,
        },
    )
    .await;
    let s = run(&probe(&format!("https://localhost:{port}/ok"))).await;
    assert_eq!(kind(&s), Some(&FailureKind::TlsUntrusted), "{s:?}");
    assert!(message(&s).contains("not trusted"), "{s:?}");
    // Known from the handshake even though it was refused.
    assert!(matches!(s.cert_days, Some(363..=365)), "{s:?}");
}

#[tokio::test]
async fn ca_file_makes_the_certificate_trusted() {
    let ca = Ca::new();
    let port = tls_server(
        &ca,
        Leaf::Signed {
            name: "localhost",
            until_days: 365,
        },
    )
    .await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.ca_file = Some(ca.pem_file());
    let s = run(&p).await;
    assert!(s.ok(), "{s:?}");
    assert_eq!(s.status, Some(200));
    assert!(matches!(s.cert_days, Some(363..=365)), "{s:?}");
}

#[tokio::test]
async fn self_signed_is_untrusted_even_with_another_ca() {
    let ca = Ca::new();
    let port = tls_server(&ca, Leaf::SelfSigned).await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.ca_file = Some(ca.pem_file());
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::TlsUntrusted), "{s:?}");
}

#[tokio::test]
async fn tls_expired() {
    let ca = Ca::new();
    let port = tls_server(
        &ca,
        Leaf::Signed {
            name: "localhost",
            until_days: -3,
        },
    )
    .await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.ca_file = Some(ca.pem_file());
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::TlsExpired), "{s:?}");
    assert_eq!(message(&s), "certificate of localhost expired 3 days ago");
    assert_eq!(s.cert_days, Some(-3));
}

#[tokio::test]
async fn tls_hostname_mismatch() {
    let ca = Ca::new();
    let port = tls_server(
        &ca,
        Leaf::Signed {
            name: "other.example",
            until_days: 365,
        },
    )
    .await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.ca_file = Some(ca.pem_file());
    let s = run(&p).await;
    assert_eq!(kind(&s), Some(&FailureKind::TlsHostname), "{s:?}");
    assert!(message(&s).contains("not valid for localhost"), "{s:?}");
    assert!(message(&s).contains("other.example"), "{s:?}");
}

#[tokio::test]
async fn other_tls_failure_is_tls() {
    // https to a server that speaks plain HTTP: the handshake fails, not the certificate.
    let (addr, _) = http_server().await;
    let s = run(&probe(&format!("https://{addr}/ok"))).await;
    assert_eq!(kind(&s), Some(&FailureKind::Tls), "{s:?}");
    assert!(
        message(&s).starts_with("TLS handshake with 127.0.0.1 failed"),
        "{s:?}"
    );
    assert_eq!(s.cert_days, None);
}

#[tokio::test]
async fn insecure_accepts_anything_but_reports_days() {
    let ca = Ca::new();
    let port = tls_server(&ca, Leaf::SelfSigned).await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.insecure = true;
    let s = run(&p).await;
    assert!(s.ok(), "{s:?}");
    assert!(matches!(s.cert_days, Some(363..=365)), "{s:?}");
}

#[tokio::test]
async fn certificate_expiring_soon() {
    let ca = Ca::new();
    let port = tls_server(
        &ca,
        Leaf::Signed {
            name: "localhost",
            until_days: 5,
        },
    )
    .await;
    let mut p = probe(&format!("https://localhost:{port}/ok"));
    p.ca_file = Some(ca.pem_file());
    let s = run(&p).await;
    assert_eq!(s.status, Some(200));
    // Whole days, rounded down: 5 days minus the test's few milliseconds may be 4.
    let days = s.cert_days.expect("cert days");
    assert!((4..=5).contains(&days), "{s:?}");
    assert_eq!(kind(&s), Some(&FailureKind::CertExpiring(days)));
    assert_eq!(
        message(&s),
        format!("certificate expires in {days} days (minimum 14)")
    );
    p.expect.cert_days_min = 3;
    assert!(run(&p).await.ok());
}

#[tokio::test]
async fn unreadable_ca_file_is_reported_by_the_task() {
    let mut p = probe("https://localhost:1/");
    p.ca_file = Some("/nonexistent/ca.pem".into());
    assert!(ProbeClient::new(&p).is_err());
    let (tx, mut rx) = mpsc::channel(8);
    let handles = spawn(vec![p], tx);
    let msg = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    for h in &handles {
        h.abort();
    }
    let Ok(Some(Msg::Probe(s))) = msg else {
        panic!("no sample: {msg:?}");
    };
    assert_eq!(kind(&s), Some(&FailureKind::Other));
    assert!(
        message(&s).starts_with("ca_file /nonexistent/ca.pem"),
        "{s:?}"
    );
}

#[tokio::test]
async fn spawn_samples_on_its_interval() {
    let (addr, _) = http_server().await;
    let mut p = probe(&format!("http://{addr}/ok"));
    p.every = Duration::from_millis(150);
    let (tx, mut rx) = mpsc::channel(16);
    let handles = spawn(vec![p], tx);
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while samples.len() < 4 && Instant::now() < deadline {
        if let Ok(Some(Msg::Probe(s))) =
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await
        {
            samples.push(s);
        }
    }
    for h in &handles {
        h.abort();
    }
    assert_eq!(samples.len(), 4, "{samples:?}");
    assert!(samples.iter().all(Sample::ok), "{samples:?}");
    for pair in samples.windows(2) {
        let gap = (pair[1].at - pair[0].at).num_milliseconds();
        assert!(gap >= 100, "samples {gap} ms apart: {samples:?}");
    }
}

#[tokio::test]
async fn spawn_never_piles_up_requests() {
    let (addr, flight) = http_server().await;
    let mut p = probe(&format!("http://{addr}/counted"));
    // The server takes 300 ms; ticks every 20 ms would pile up without the guard.
    p.every = Duration::from_millis(20);
    let (tx, mut rx) = mpsc::channel(64);
    let handles = spawn(vec![p], tx);
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(Msg::Probe(s))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await {
        samples.push(s);
    }
    for h in &handles {
        h.abort();
    }
    assert_eq!(flight.max.load(Ordering::SeqCst), 1);
    let total = flight.total.load(Ordering::SeqCst);
    assert!((2..=6).contains(&total), "{total} requests");
    assert!(samples.len() >= 2, "{samples:?}");
    assert!(
        samples.iter().all(|s| s.ok() && s.latency_ms >= 250),
        "{samples:?}"
    );
}

/// A raw server: for each connection, reads the request, writes `reply` and then, with
/// `reset`, closes with an RST (SO_LINGER 0) instead of a clean FIN.
async fn raw_server(reply: &'static [u8], reset: bool) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp.write_all(reply).await;
            let _ = tcp.flush().await;
            if reset {
                let _ = tcp.set_zero_linger();
            }
            drop(tcp);
        }
    });
    addr
}

#[tokio::test]
async fn a_reset_mid_response_is_a_failure_not_a_success() {
    // Headers promise 100 bytes; 3 arrive, then the connection is reset.
    let addr = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhel", true).await;
    let mut p = probe(&format!("http://{addr}/"));
    p.expect.body_contains = Some("hello".into());
    let s = run(&p).await;
    assert!(!s.ok(), "{s:?}");
    assert!(!message(&s).is_empty(), "{s:?}");
    // The same cut without a body check: the body still did not arrive whole.
    let addr = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhel", true).await;
    let s = run(&probe(&format!("http://{addr}/"))).await;
    assert!(!s.ok(), "a response cut short is not a success: {s:?}");
}

#[tokio::test]
async fn a_flapping_target_gives_each_sample_its_own_verdict() {
    use std::sync::atomic::AtomicBool;
    // Up, down, up, down…: every other request answers 503.
    let flip = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = Router::new().route(
        "/flap",
        get(move || {
            let down = flip.fetch_xor(true, Ordering::SeqCst);
            async move {
                if down {
                    (StatusCode::SERVICE_UNAVAILABLE, "down")
                } else {
                    (StatusCode::OK, "up")
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let mut p = probe(&format!("http://{addr}/flap"));
    p.every = Duration::from_millis(50);
    let (tx, mut rx) = mpsc::channel(64);
    let handles = spawn(vec![p], tx);
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples.len() < 8 {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(Msg::Probe(s))) => samples.push(s),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    for h in &handles {
        h.abort();
    }
    assert!(samples.len() >= 8, "{samples:?}");
    let verdicts: Vec<bool> = samples.iter().map(Sample::ok).collect();
    // Strictly alternating: no sample is merged with, or hidden by, the one before it.
    assert!(verdicts.windows(2).all(|w| w[0] != w[1]), "{verdicts:?}");
    for s in samples.iter().filter(|s| !s.ok()) {
        assert_eq!(kind(s), Some(&FailureKind::BadStatus(503)), "{s:?}");
    }
}
