//! Names a failed probe request for a human: walks the error's source chain down to
//! the io or rustls error that says what really went wrong.

use crate::core::probes::FailureKind;
use rustls::CertificateError;
use std::error::Error as StdError;
use std::io;

/// Where the request went, for messages (never the full URL: it may carry credentials).
pub(super) struct Target<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    /// Days to expiry of the certificate the server presented, when seen.
    pub cert_days: Option<i64>,
    /// Neither system roots nor `ca_file` gave a trust anchor.
    pub no_roots: bool,
}

impl Target<'_> {
    fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }
}

/// The failure kind and one-line message for a request that got no response.
pub(super) fn classify(err: &reqwest::Error, target: &Target<'_>) -> (FailureKind, String) {
    let mut innermost = err.to_string();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return classify_tls(tls, target);
        }
        let mut next = e.source();
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionRefused {
                return (
                    FailureKind::ConnectionRefused,
                    format!("connection refused by {}", target.host_port()),
                );
            }
            // io::Error::source() skips the wrapped error itself (it returns the
            // inner error's source), and that is where rustls puts its error.
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn StdError + 'static));
            }
        }
        let text = e.to_string();
        if is_dns(&text) {
            return (FailureKind::Dns, dns_message(target.host, &deepest(e)));
        }
        innermost = text;
        current = next;
    }
    if err.is_timeout() {
        return (FailureKind::Timeout, "request timed out".into());
    }
    (
        FailureKind::Other,
        format!("request to {} failed: {innermost}", target.host_port()),
    )
}

/// The text of the last error in `e`'s chain (looking inside io errors).
fn deepest(e: &(dyn StdError + 'static)) -> String {
    let mut last = e;
    loop {
        let next = match last.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => last.source(),
        };
        match next {
            Some(n) => last = n,
            None => return last.to_string(),
        }
    }
}

fn is_dns(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.starts_with("dns error") || t.contains("failed to lookup address")
}

fn dns_message(host: &str, detail: &str) -> String {
    let detail = detail.trim();
    let detail = detail
        .strip_prefix("failed to lookup address information:")
        .unwrap_or(detail)
        .trim();
    if detail.is_empty() || detail.eq_ignore_ascii_case("dns error") {
        format!("DNS failure: {host} does not resolve")
    } else {
        format!("DNS failure: {host} does not resolve ({detail})")
    }
}

fn classify_tls(err: &rustls::Error, target: &Target<'_>) -> (FailureKind, String) {
    let host = target.host;
    let rustls::Error::InvalidCertificate(cert) = err else {
        return (
            FailureKind::Tls,
            format!("TLS handshake with {host} failed: {err}"),
        );
    };
    match cert {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            let msg = match target.cert_days {
                Some(d) if d < 0 => format!(
                    "certificate of {host} expired {} day{} ago",
                    -d,
                    if d == -1 { "" } else { "s" }
                ),
                _ => format!("certificate of {host} has expired"),
            };
            (FailureKind::TlsExpired, msg)
        }
        CertificateError::UnknownIssuer => {
            let hint = if target.no_roots {
                "no trusted roots: the system store is empty; set ca_file"
            } else {
                "unknown issuer or self-signed; add its CA with ca_file"
            };
            (
                FailureKind::TlsUntrusted,
                format!("certificate of {host} is not trusted ({hint})"),
            )
        }
        CertificateError::NotValidForName => (
            FailureKind::TlsHostname,
            format!("certificate is not valid for {host}"),
        ),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names = if presented.is_empty() {
                "no names".to_string()
            } else {
                let names: Vec<&str> = presented.iter().map(|n| bare_name(n)).collect();
                names.join(", ")
            };
            (
                FailureKind::TlsHostname,
                format!("certificate is not valid for {host} (it names {names})"),
            )
        }
        other => (
            FailureKind::Tls,
            format!(
                "certificate of {host} rejected: {}",
                rustls::Error::InvalidCertificate(other.clone())
            ),
        ),
    }
}

/// `DnsName("shop.example.com")` (how rustls lists presented names) → `shop.example.com`.
fn bare_name(presented: &str) -> &str {
    presented
        .split_once("(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .unwrap_or(presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(cert_days: Option<i64>) -> Target<'static> {
        Target {
            host: "shop.example.com",
            port: Some(443),
            cert_days,
            no_roots: false,
        }
    }

    #[test]
    fn tls_errors_are_named() {
        let t = target(Some(-3));
        let e = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(
            classify_tls(&e, &t),
            (
                FailureKind::TlsExpired,
                "certificate of shop.example.com expired 3 days ago".into()
            )
        );
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(classify_tls(&e, &t).0, FailureKind::TlsUntrusted);
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert_eq!(classify_tls(&e, &t).0, FailureKind::TlsHostname);
        let e = rustls::Error::InvalidCertificate(CertificateError::Revoked);
        assert_eq!(classify_tls(&e, &t).0, FailureKind::Tls);
        let e = rustls::Error::HandshakeNotComplete;
        assert_eq!(classify_tls(&e, &t).0, FailureKind::Tls);
    }

    #[test]
    fn dns_text_is_recognised() {
        assert!(is_dns("dns error"));
        assert!(is_dns(
            "failed to lookup address information: Name or service not known"
        ));
        assert!(!is_dns("connection reset"));
        assert_eq!(bare_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(bare_name("10.0.0.1"), "10.0.0.1");
        assert_eq!(
            dns_message(
                "x.invalid",
                "failed to lookup address information: Name or service not known"
            ),
            "DNS failure: x.invalid does not resolve (Name or service not known)"
        );
        assert_eq!(
            dns_message("x.invalid", "dns error"),
            "DNS failure: x.invalid does not resolve"
        );
    }
}
