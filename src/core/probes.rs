//! Health probes in the core: samples, sliding-window SLO math, green/amber/red with
//! hysteresis, and rollback rules. Pure: time comes in with the samples and ticks.
//!
//! [`ProbeBoard`] holds one [`ProbeState`] per checklist probe and the rollback rules; feed it
//! samples with [`ProbeBoard::record`] and the clock with [`ProbeBoard::tick`], and journal the
//! [`ProbeChange`]s they return.

mod board;
mod rules;
mod state;
mod stats;

pub use board::{ProbeBoard, ProbeChange};
pub use rules::RuleState;
pub use state::{DEFAULT_WINDOW, LATENCY_CAP, ProbeState, Verdict, WINDOW_CAP};
pub use stats::{Stats, percent, percentile};

use chrono::{DateTime, Utc};

/// Why a probe request did not pass, named for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    Dns,
    ConnectionRefused,
    Timeout,
    TlsExpired,
    TlsUntrusted,
    TlsHostname,
    /// Another TLS failure (handshake, protocol).
    Tls,
    BadStatus(u16),
    BodyMismatch,
    MissingHeader(String),
    /// The certificate is valid but expires within `cert_days_min`.
    CertExpiring(i64),
    Other,
}

impl FailureKind {
    pub fn label(&self) -> String {
        match self {
            FailureKind::Dns => "DNS failure".into(),
            FailureKind::ConnectionRefused => "connection refused".into(),
            FailureKind::Timeout => "timeout".into(),
            FailureKind::TlsExpired => "TLS certificate expired".into(),
            FailureKind::TlsUntrusted => "TLS certificate untrusted".into(),
            FailureKind::TlsHostname => "TLS hostname mismatch".into(),
            FailureKind::Tls => "TLS error".into(),
            FailureKind::BadStatus(code) => format!("bad status {code}"),
            FailureKind::BodyMismatch => "body mismatch".into(),
            FailureKind::MissingHeader(h) => format!("missing header {h}"),
            FailureKind::CertExpiring(d) => format!("certificate expires in {d} days"),
            FailureKind::Other => "error".into(),
        }
    }
}

/// One probe request's result, as the probe engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub probe: String,
    pub at: DateTime<Utc>,
    pub latency_ms: u64,
    /// HTTP status, when a response came back.
    pub status: Option<u16>,
    /// `None` when every expectation held.
    pub failure: Option<(FailureKind, String)>,
    /// Days until the server certificate expires (https only).
    pub cert_days: Option<i64>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Whether the request counts as an error for error rates and failure streaks: any failure
    /// except [`FailureKind::CertExpiring`], which is a warning (the request itself succeeded).
    pub fn is_error(&self) -> bool {
        matches!(&self.failure, Some((kind, _)) if !matches!(kind, FailureKind::CertExpiring(_)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// No sample yet.
    #[default]
    Unknown,
    Green,
    Amber,
    Red,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Green => "green",
            Health::Amber => "amber",
            Health::Red => "red",
        }
    }
}
