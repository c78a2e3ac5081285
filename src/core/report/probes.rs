//! The record's probe SLO summaries and rollback-advice episodes.

use super::ts;
use crate::config::checklist::{Checklist, Slo};
use crate::core::run::{ProbeMinute, RunState};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ProbeOut {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    /// Percent of requests that failed.
    pub error_rate: f64,
    /// Median of the minutes' p95 latencies.
    pub p95_ms: u64,
    pub max_ms: u64,
    /// The minute with the highest error rate (then p95).
    pub worst_minute: Option<MinuteOut>,
    pub changes: Vec<ChangeOut>,
    /// Median of the minutes' p50 latencies.
    pub p50_ms: u64,
    /// Every minute summary, in time order.
    pub minutes: Vec<MinuteOut>,
    /// The probe's SLO from the checklist, when it has one.
    pub slo: Option<SloOut>,
    /// Whether the run's numbers kept within the SLO; null without an SLO or requests.
    pub slo_met: Option<bool>,
    pub minutes_over_slo: u32,
    /// The probe's state when the record ends: unknown | green | amber | red.
    pub final_state: Option<String>,
    /// How long the probe was red during the run.
    pub red_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct MinuteOut {
    pub minute: String,
    pub requests: u32,
    pub errors: u32,
    pub error_rate: f64,
    pub p95_ms: u64,
    pub p50_ms: u64,
    pub max_ms: u64,
    /// Whether this minute broke the SLO; null without an SLO.
    pub over_slo: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct SloOut {
    pub window_ms: u64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    /// Percent.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ChangeOut {
    pub at: String,
    pub from: String,
    pub to: String,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct AdviceOut {
    pub at: String,
    pub rule: String,
    pub detail: String,
    pub cleared: Option<String>,
    /// From the advice to its clearing, or to the end of the record.
    pub active_ms: u64,
}

/// Percent with one decimal.
fn rate(errors: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        (errors as f64 * 1000.0 / requests as f64).round() / 10.0
    }
}

/// Whether numbers break the SLO. p99 is not judged: the minute summaries do not keep it.
fn over(slo: &Slo, error_rate: f64, p50: u64, p95: u64) -> bool {
    slo.error_rate.is_some_and(|t| error_rate > t)
        || slo.p50_ms.is_some_and(|t| p50 > t)
        || slo.p95_ms.is_some_and(|t| p95 > t)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn minute_out(m: &ProbeMinute, slo: Option<&Slo>) -> MinuteOut {
    let error_rate = rate(m.errors.into(), m.requests.into());
    MinuteOut {
        minute: ts(m.minute),
        requests: m.requests,
        errors: m.errors,
        error_rate,
        p95_ms: m.p95_ms,
        p50_ms: m.p50_ms,
        max_ms: m.max_ms,
        over_slo: slo.map(|s| over(s, error_rate, m.p50_ms, m.p95_ms)),
    }
}

pub(super) fn probes_out(
    checklist: Option<&Checklist>,
    run: &RunState,
    end: DateTime<Utc>,
) -> Vec<ProbeOut> {
    let mut names: Vec<&String> = run.probe_minutes.keys().collect();
    for c in &run.probe_changes {
        if !names.contains(&&c.probe) {
            names.push(&c.probe);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let slo = checklist
                .and_then(|c| c.probe(name))
                .and_then(|p| p.slo.as_ref());
            let minutes = run
                .probe_minutes
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let requests: u64 = minutes.iter().map(|m| u64::from(m.requests)).sum();
            let errors: u64 = minutes.iter().map(|m| u64::from(m.errors)).sum();
            let error_rate = rate(errors, requests);
            let p50_ms = median(minutes.iter().map(|m| m.p50_ms).collect());
            let p95_ms = median(minutes.iter().map(|m| m.p95_ms).collect());
            let minutes: Vec<MinuteOut> = minutes.iter().map(|m| minute_out(m, slo)).collect();
            let worst = minutes.iter().max_by(|a, b| {
                a.error_rate
                    .total_cmp(&b.error_rate)
                    .then(a.p95_ms.cmp(&b.p95_ms))
            });
            let changes: Vec<_> = run
                .probe_changes
                .iter()
                .filter(|c| &c.probe == name)
                .collect();
            let mut red_ms = 0;
            for (i, c) in changes.iter().enumerate() {
                if c.to == "red" {
                    let until = changes.get(i + 1).map_or(end, |n| n.at);
                    red_ms += (until - c.at).num_milliseconds().max(0) as u64;
                }
            }
            ProbeOut {
                name: name.clone(),
                requests,
                errors,
                error_rate,
                p95_ms,
                max_ms: minutes.iter().map(|m| m.max_ms).max().unwrap_or(0),
                worst_minute: worst.map(|w| MinuteOut {
                    minute: w.minute.clone(),
                    over_slo: w.over_slo,
                    ..*w
                }),
                changes: changes
                    .iter()
                    .map(|c| ChangeOut {
                        at: ts(c.at),
                        from: c.from.clone(),
                        to: c.to.clone(),
                        detail: c.detail.clone(),
                    })
                    .collect(),
                p50_ms,
                slo: slo.map(|s| SloOut {
                    window_ms: s.window.as_millis() as u64,
                    p50_ms: s.p50_ms,
                    p95_ms: s.p95_ms,
                    p99_ms: s.p99_ms,
                    error_rate: s.error_rate,
                }),
                slo_met: slo
                    .filter(|_| requests > 0)
                    .map(|s| !over(s, error_rate, p50_ms, p95_ms)),
                minutes_over_slo: minutes.iter().filter(|m| m.over_slo == Some(true)).count()
                    as u32,
                final_state: changes.last().map(|c| c.to.clone()),
                red_ms,
                minutes,
            }
        })
        .collect()
}

pub(super) fn advice_out(run: &RunState, end: DateTime<Utc>) -> Vec<AdviceOut> {
    run.advice
        .iter()
        .map(|a| AdviceOut {
            at: ts(a.at),
            rule: a.rule.clone(),
            detail: a.detail.clone(),
            cleared: a.cleared.map(ts),
            active_ms: (a.cleared.unwrap_or(end) - a.at).num_milliseconds().max(0) as u64,
        })
        .collect()
}
