//! The probe engine: one task per probe, an HTTP request every `every`, each result
//! checked against `expect` and sent to the app as `Msg::Probe(Sample)`.

mod errors;
mod tls;

use crate::config::checklist::{Probe, StatusExpect};
use crate::config::units::format_duration_spec;
use crate::core::msg::Msg;
use crate::core::probes::{FailureKind, Sample};
use crate::core::redact::redact;
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Bodies are read up to this much; `body_contains` looks only there.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How much of a body a bad-status message quotes.
const EXCERPT_CHARS: usize = 80;
/// `tokio::time::interval` rejects a zero period; config validation should prevent it.
const MIN_EVERY: Duration = Duration::from_millis(100);

/// The HTTP client of one probe: its own TLS trust (`ca_file`, `insecure`).
pub struct ProbeClient {
    http: reqwest::Client,
    verifier: Arc<tls::Verifier>,
}

impl ProbeClient {
    /// Builds the client for `probe`; fails (one line) on an unreadable `ca_file`.
    ///
    /// Connections are not kept alive between requests, on purpose: every sample
    /// then pays DNS, TCP and TLS like a new visitor would, and sees the
    /// certificate the server presents now (a renewal shows up at once).
    /// Redirects are not followed: the probe checks exactly its URL, and a 301 is
    /// reported (and can be expected) as such. Proxies from `HTTPS_PROXY` /
    /// `HTTP_PROXY` / `NO_PROXY` are honoured, as curl would.
    ///
    /// Meant for one request at a time (as the engine does): the certificate seen
    /// during a refused handshake is remembered per client.
    pub fn new(probe: &Probe) -> Result<ProbeClient, String> {
        let (config, verifier) = tls::client_config(probe.ca_file.as_deref(), probe.insecure)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .tls_info(true)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .user_agent(concat!("shipdeck-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client setup: {e}"))?;
        Ok(ProbeClient { http, verifier })
    }
}

/// Starts one task per probe. Each sends a sample every `every` (the first at once),
/// never has more than one request in flight (a slow request delays the next tick),
/// and ends when the receiver is gone. Abort the handles to stop them sooner.
pub fn spawn(probes: Vec<Probe>, tx: mpsc::Sender<Msg>) -> Vec<JoinHandle<()>> {
    probes
        .into_iter()
        .map(|probe| tokio::spawn(run(probe, tx.clone())))
        .collect()
}

async fn run(probe: Probe, tx: mpsc::Sender<Msg>) {
    let client = ProbeClient::new(&probe);
    let mut ticks = tokio::time::interval(probe.every.max(MIN_EVERY));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sample = match &client {
            Ok(client) => probe_once(client, &probe).await,
            Err(msg) => failed(&probe, FailureKind::Other, msg.clone()),
        };
        if tx.send(Msg::Probe(sample)).await.is_err() {
            return;
        }
    }
}

fn failed(probe: &Probe, kind: FailureKind, msg: String) -> Sample {
    Sample {
        probe: probe.name.clone(),
        at: Utc::now(),
        latency_ms: 0,
        status: None,
        failure: Some((kind, msg)),
        cert_days: None,
    }
}

/// What came back, read to the end (or to `MAX_BODY_BYTES`).
struct Response {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    /// From the connection the response came on.
    not_after: Option<i64>,
}

/// One request of `probe`, checked against its expectations. Never panics; every
/// failure comes back in the sample. `at` is when the request started.
pub async fn probe_once(client: &ProbeClient, probe: &Probe) -> Sample {
    let at = Utc::now();
    let started = Instant::now();
    client.verifier.reset();
    let url = Url::parse(&probe.url);
    let result = match &url {
        Ok(url) => tokio::time::timeout(probe.timeout, fetch(client, probe, url.clone())).await,
        Err(e) => Ok(Err(Failure::Setup(format!("invalid url: {e}")))),
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let https = url.as_ref().is_ok_and(|u| u.scheme() == "https");
    let now_unix = Utc::now().timestamp();
    let from_conn = match &result {
        Ok(Ok(resp)) => resp.not_after.map(|t| tls::days_until(t, now_unix)),
        _ => None,
    };
    let cert_days = if https {
        from_conn.or_else(|| client.verifier.cert_days(now_unix))
    } else {
        None
    };
    let (host, port) = match &url {
        Ok(u) => (u.host_str().unwrap_or(""), u.port_or_known_default()),
        Err(_) => ("", None),
    };
    let target = errors::Target {
        host,
        port,
        cert_days,
        no_roots: client.verifier.has_no_roots(),
    };
    let (status, failure) = match result {
        Err(_) => (
            None,
            Some((
                FailureKind::Timeout,
                format!("no response within {}", format_duration_spec(probe.timeout)),
            )),
        ),
        Ok(Err(Failure::Setup(msg))) => (None, Some((FailureKind::Other, msg))),
        Ok(Err(Failure::Http(e))) => (None, Some(errors::classify(&e, &target))),
        Ok(Ok(resp)) => (Some(resp.status), check(probe, &resp, cert_days)),
    };
    let secrets = secrets_of(probe);
    let failure = failure.map(|(kind, msg)| (kind, redact(&msg, &secrets).into_owned()));
    Sample {
        probe: probe.name.clone(),
        at,
        latency_ms,
        status,
        failure,
        cert_days,
    }
}

enum Failure {
    /// The request could not even be built (bad method, header or URL).
    Setup(String),
    Http(reqwest::Error),
}

async fn fetch(client: &ProbeClient, probe: &Probe, url: Url) -> Result<Response, Failure> {
    let method = Method::from_bytes(probe.method.as_bytes())
        .map_err(|_| Failure::Setup(format!("invalid method {:?}", probe.method)))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &probe.request_headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Failure::Setup(format!("invalid request header name {name:?}")))?;
        // The value is never quoted: it may be a credential.
        let v = HeaderValue::from_str(value)
            .map_err(|_| Failure::Setup(format!("invalid value for request header {name}")))?;
        headers.append(n, v);
    }
    let mut resp = client
        .http
        .request(method, url)
        .headers(headers)
        .send()
        .await
        .map_err(Failure::Http)?;
    let not_after = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(tls::not_after);
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while body.len() < MAX_BODY_BYTES {
        match resp.chunk().await.map_err(Failure::Http)? {
            Some(chunk) => {
                let room = MAX_BODY_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(Response {
        status,
        headers,
        body,
        not_after,
    })
}

/// The first expectation that failed: status, then body, then headers, then the
/// certificate's remaining days (only a response that otherwise passed gets there).
fn check(probe: &Probe, resp: &Response, cert_days: Option<i64>) -> Option<(FailureKind, String)> {
    let expect = &probe.expect;
    if !status_ok(&expect.status, resp.status) {
        let mut msg = format!(
            "status {}, expected {}",
            resp.status,
            describe_status(&expect.status)
        );
        let excerpt = excerpt(&resp.body);
        if !excerpt.is_empty() {
            msg.push_str(": ");
            msg.push_str(&excerpt);
        }
        return Some((FailureKind::BadStatus(resp.status), msg));
    }
    if let Some(needle) = &expect.body_contains
        && !contains(&resp.body, needle.as_bytes())
    {
        let mut msg = format!("body does not contain {needle:?}");
        let excerpt = excerpt(&resp.body);
        msg.push_str(if excerpt.is_empty() {
            " (empty body)"
        } else {
            "; got: "
        });
        msg.push_str(&excerpt);
        return Some((FailureKind::BodyMismatch, msg));
    }
    let missing: Vec<&String> = expect
        .headers
        .iter()
        .filter(|name| {
            !resp
                .headers
                .keys()
                .any(|k| k.as_str().eq_ignore_ascii_case(name.trim()))
        })
        .collect();
    if let Some(first) = missing.first() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        let msg = format!(
            "response lacks header{} {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        );
        return Some((FailureKind::MissingHeader((*first).clone()), msg));
    }
    if let Some(days) = cert_days
        && days < i64::from(expect.cert_days_min)
    {
        let msg = format!(
            "certificate expires in {days} day{} (minimum {})",
            if days == 1 { "" } else { "s" },
            expect.cert_days_min
        );
        return Some((FailureKind::CertExpiring(days), msg));
    }
    None
}

fn status_ok(expect: &StatusExpect, status: u16) -> bool {
    match expect {
        StatusExpect::Code(c) => status == *c,
        StatusExpect::Codes(cs) => cs.contains(&status),
        StatusExpect::Class(class) => status / 100 == *class,
    }
}

fn describe_status(expect: &StatusExpect) -> String {
    match expect {
        StatusExpect::Code(c) => c.to_string(),
        StatusExpect::Codes(cs) => {
            let list: Vec<String> = cs.iter().map(u16::to_string).collect();
            format!("one of {}", list.join(", "))
        }
        StatusExpect::Class(class) => format!("{class}xx"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The body's start on one line: whitespace runs collapsed, at most `EXCERPT_CHARS`.
fn excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(EXCERPT_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let words: Vec<&str> = text.split_whitespace().collect();
    let one_line = words.join(" ");
    let mut out: String = one_line.chars().take(EXCERPT_CHARS).collect();
    if one_line.chars().count() > EXCERPT_CHARS || body.len() > head.len() {
        out.push('…');
    }
    out
}

/// What must never appear in a message: request header values (credentials), the
/// credential part of `Scheme credential` values, and a password in the URL.
fn secrets_of(probe: &Probe) -> Vec<String> {
    let mut out = Vec::new();
    for (_, value) in &probe.request_headers {
        out.push(value.clone());
        if let Some((_, credential)) = value.split_once(' ') {
            out.push(credential.trim().to_string());
        }
    }
    if let Ok(url) = Url::parse(&probe.url)
        && let Some(pw) = url.password()
    {
        out.push(pw.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_expectations() {
        assert!(status_ok(&StatusExpect::Code(200), 200));
        assert!(!status_ok(&StatusExpect::Code(200), 204));
        assert!(status_ok(&StatusExpect::Codes(vec![200, 204]), 204));
        assert!(status_ok(&StatusExpect::Class(2), 299));
        assert!(!status_ok(&StatusExpect::Class(2), 301));
        assert_eq!(describe_status(&StatusExpect::Class(2)), "2xx");
        assert_eq!(
            describe_status(&StatusExpect::Codes(vec![200, 204])),
            "one of 200, 204"
        );
    }

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(
            excerpt(b"  down\n for\tmaintenance "),
            "down for maintenance"
        );
        let long = "x".repeat(200);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b""), "");
    }

    #[test]
    fn body_search_is_bytewise() {
        assert!(contains(b"status: ok", b"ok"));
        assert!(!contains(b"status: fail", b"ok"));
        assert!(contains(b"", b""));
    }
}
