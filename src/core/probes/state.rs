//! One probe's live state: its sliding window, the SLO verdict with hysteresis, minute buckets.
//!
//! The verdict of a sample, judged on the window after adding it:
//!
//! * **Red** when the last 3 requests (or more) all failed — a *hard* red — or, with an `slo`,
//!   when it is breached over the window: error rate > `slo.error_rate`, or p50/p95/p99 >
//!   their limits (each only when set).
//! * **Amber** when not red but the requests flap (of the last 5, each one's outcome differs
//!   from the one before at least 3 times: a target failing every other request never gives
//!   2 equal verdicts in a row otherwise), or the last request failed, or (with an `slo`) the last request
//!   alone took longer than the p95 limit, or a percentile or the error rate is at 80–100 % of
//!   its limit, or the certificate expires within `cert_days_min` days.
//! * **Green** otherwise.
//!
//! Hysteresis: the first sample sets the state directly (from Unknown); after that the state
//! changes only when the same new verdict came out of 2 consecutive samples, except that a hard
//! red applies at once. Ticks slide the window but do not judge (verdicts need samples).

use super::stats::{Stats, percent};
use super::{FailureKind, Health, Sample};
use crate::config::checklist::{Probe, Slo};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::VecDeque;
use std::time::Duration;

/// The window when a probe has no `slo` (or a zero one).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// At most this many samples stay in a window, however often the probe runs.
pub const WINDOW_CAP: usize = 2000;
/// Latencies kept for the sparkline.
pub const LATENCY_CAP: usize = 60;
/// Consecutive failures that make a probe red at once.
const HARD_STREAK: u32 = 3;
/// Consecutive samples a new verdict needs before the state follows it.
const HOLD: u32 = 2;
/// Flapping: of the last `FLAP_SPAN` requests, at least `FLAP_CHANGES` times one failed and
/// the next passed, or the other way round.
const FLAP_SPAN: usize = 5;
const FLAP_CHANGES: usize = 3;

/// What one sample says about a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub health: Health,
    /// For humans: `error rate 12% > 1%`, `3 failures in a row: connection refused`.
    pub detail: String,
    /// A red from a failure streak: applies without waiting for a second sample.
    pub hard: bool,
}

/// Requests of one wall-clock minute, summarised when the minute is over.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Minute {
    pub start: DateTime<Utc>,
    pub latencies: Vec<u64>,
    pub errors: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeState {
    pub name: String,
    pub url: String,
    pub method: String,
    pub insecure: bool,
    pub slo: Option<Slo>,
    pub cert_days_min: u32,
    /// Samples of the last `slo.window` (default 60 s), oldest first, at most [`WINDOW_CAP`].
    pub window: VecDeque<Sample>,
    pub health: Health,
    pub health_since: DateTime<Utc>,
    /// Why the probe is in its state (the verdict that set it, kept current while it holds).
    pub detail: String,
    pub last: Option<Sample>,
    pub last_failure: Option<Sample>,
    /// Latencies of the last [`LATENCY_CAP`] requests, oldest first (the sparkline).
    pub latencies: VecDeque<u64>,
    /// Requests that failed in a row up to the last one.
    pub failures_in_row: u32,
    /// A verdict that differs from the state, and for how many samples in a row it came out.
    pending: Option<(Health, u32)>,
    minute: Option<Minute>,
}

impl ProbeState {
    pub fn new(p: &Probe, now: DateTime<Utc>) -> Self {
        ProbeState {
            name: p.name.clone(),
            url: p.url.clone(),
            method: p.method.clone(),
            insecure: p.insecure,
            slo: p.slo.clone(),
            cert_days_min: p.expect.cert_days_min,
            window: VecDeque::new(),
            health: Health::Unknown,
            health_since: now,
            detail: "no request yet".into(),
            last: None,
            last_failure: None,
            latencies: VecDeque::new(),
            failures_in_row: 0,
            pending: None,
            minute: None,
        }
    }

    /// How far back the window reaches.
    pub fn window_len(&self) -> Duration {
        match &self.slo {
            Some(slo) if !slo.window.is_zero() => slo.window,
            _ => DEFAULT_WINDOW,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats::of(&self.window)
    }

    /// Days until the certificate expires, from the last request that said so.
    pub fn cert_days(&self) -> Option<i64> {
        let last = self.last.as_ref()?;
        match &last.failure {
            Some((FailureKind::CertExpiring(d), _)) => Some(*d),
            _ => last.cert_days,
        }
    }

    /// Whether the certificate expires within `cert_days_min` days.
    pub fn cert_expiring(&self) -> bool {
        self.cert_days()
            .is_some_and(|d| d < i64::from(self.cert_days_min))
    }

    /// Drops samples older than the window as of `now` (a late sample too), then the oldest
    /// beyond [`WINDOW_CAP`].
    pub(super) fn slide(&mut self, now: DateTime<Utc>) {
        let len = chrono::Duration::from_std(self.window_len()).unwrap_or(chrono::Duration::MAX);
        if let Some(from) = now.checked_sub_signed(len) {
            self.window.retain(|s| s.at > from);
        }
        while self.window.len() > WINDOW_CAP {
            self.window.pop_front();
        }
    }

    /// Adds a sample at board time `now`: returns the finished minute, if the sample opened a
    /// new one, and the health change, if any.
    pub(super) fn record(
        &mut self,
        s: Sample,
        now: DateTime<Utc>,
    ) -> (Option<Minute>, Option<(Health, Health, String)>) {
        let start = minute_of(s.at);
        let closed = match &self.minute {
            Some(m) if m.start < start => self.minute.take(),
            _ => None,
        };
        let bucket = self.minute.get_or_insert_with(|| Minute {
            start,
            latencies: Vec::new(),
            errors: 0,
        });
        bucket.latencies.push(s.latency_ms);
        bucket.errors += u32::from(s.is_error());

        if s.is_error() {
            self.failures_in_row += 1;
            self.last_failure = Some(s.clone());
        } else {
            self.failures_in_row = 0;
        }
        self.latencies.push_back(s.latency_ms);
        if self.latencies.len() > LATENCY_CAP {
            self.latencies.pop_front();
        }
        let at = s.at;
        self.window.push_back(s.clone());
        self.last = Some(s);
        self.slide(now);
        let v = self.verdict();
        (closed, self.apply(v, at))
    }

    /// Closes the minute when it is over at `now` (or always, with `force`).
    pub(super) fn close_minute(&mut self, now: DateTime<Utc>, force: bool) -> Option<Minute> {
        let over = |m: &Minute| force || m.start + chrono::Duration::minutes(1) <= now;
        if self.minute.as_ref().is_some_and(over) {
            self.minute.take()
        } else {
            None
        }
    }

    /// The verdict on the window as it stands (see the module docs).
    pub fn verdict(&self) -> Verdict {
        let v = |health, detail: String| Verdict {
            health,
            detail,
            hard: false,
        };
        let Some(last) = &self.last else {
            return v(Health::Unknown, "no request yet".into());
        };
        let label = || last.failure.as_ref().map_or(String::new(), |f| f.0.label());
        if self.failures_in_row >= HARD_STREAK {
            return Verdict {
                health: Health::Red,
                detail: format!("{} failures in a row: {}", self.failures_in_row, label()),
                hard: true,
            };
        }
        let stats = self.stats();
        let (mut breaches, mut near) = (Vec::new(), Vec::new());
        if let Some(slo) = &self.slo {
            if let Some(limit) = slo.error_rate {
                let rate = stats.error_rate;
                if rate > limit {
                    breaches.push(format!("error rate {} > {}", percent(rate), percent(limit)));
                } else if stats.errors > 0 && rate >= limit * 0.8 {
                    near.push(format!(
                        "error rate {} near {}",
                        percent(rate),
                        percent(limit)
                    ));
                }
            }
            for (p, limit) in [(50, slo.p50_ms), (95, slo.p95_ms), (99, slo.p99_ms)] {
                let Some(limit) = limit else { continue };
                let value = stats.at(p);
                if value > limit {
                    breaches.push(format!("p{p} {value} ms > {limit} ms"));
                } else if value * 10 >= limit * 8 && value > 0 {
                    near.push(format!("p{p} {value} ms near {limit} ms"));
                }
            }
        }
        if !breaches.is_empty() {
            return v(Health::Red, breaches.join(", "));
        }
        if let Some(failed) = self.flapping() {
            return v(
                Health::Amber,
                format!("flapping: {failed} of the last {FLAP_SPAN} requests failed"),
            );
        }
        if last.is_error() {
            return v(Health::Amber, format!("last request failed: {}", label()));
        }
        let p95 = self.slo.as_ref().and_then(|s| s.p95_ms);
        if let Some(limit) = p95.filter(|l| last.latency_ms > *l) {
            let ms = last.latency_ms;
            return v(
                Health::Amber,
                format!("slow request: {ms} ms > p95 {limit} ms"),
            );
        }
        if !near.is_empty() {
            return v(Health::Amber, near.join(", "));
        }
        if self.cert_expiring() {
            let d = self.cert_days().unwrap_or(0);
            return v(Health::Amber, format!("certificate expires in {d} days"));
        }
        let detail = match &self.slo {
            Some(_) => format!(
                "within SLO: p95 {} ms, error rate {}",
                stats.p95_ms,
                percent(stats.error_rate)
            ),
            None => "ok".into(),
        };
        v(Health::Green, detail)
    }

    /// How many of the last [`FLAP_SPAN`] requests failed, when their outcomes flap.
    fn flapping(&self) -> Option<usize> {
        let last: Vec<bool> = self
            .window
            .iter()
            .rev()
            .take(FLAP_SPAN)
            .map(Sample::is_error)
            .collect();
        let changes = last.windows(2).filter(|w| w[0] != w[1]).count();
        (last.len() == FLAP_SPAN && changes >= FLAP_CHANGES)
            .then(|| last.iter().filter(|f| **f).count())
    }

    /// Hysteresis: follows `v` when it is the first verdict, a hard red, or the second in a row.
    fn apply(&mut self, v: Verdict, at: DateTime<Utc>) -> Option<(Health, Health, String)> {
        if v.health == self.health {
            self.pending = None;
            self.detail = v.detail;
            return None;
        }
        let held = match self.pending {
            Some((h, n)) if h == v.health => n + 1,
            _ => 1,
        };
        if self.health != Health::Unknown && !(v.hard && v.health == Health::Red) && held < HOLD {
            self.pending = Some((v.health, held));
            return None;
        }
        let from = self.health;
        self.pending = None;
        self.health = v.health;
        self.health_since = at;
        self.detail = v.detail.clone();
        Some((from, v.health, v.detail))
    }
}

/// The start of the wall-clock minute `t` is in.
pub(super) fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(60) * 60;
    Utc.timestamp_opt(secs, 0).single().unwrap_or(t)
}
