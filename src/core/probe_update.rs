//! How probe results change the model: health, rollback advice, probe waits and minute
//! summaries for the record (called by `update`).

use super::effect::Effect;
use super::journal::Event;
use super::model::{Model, Phase};
use super::msg::WaitResult;
use super::probes::{ProbeChange, Sample};
use super::steps::wait_done;
use super::update::{flash, record};
use crate::config::checklist::WaitKind;

pub(super) fn on_sample(m: &mut Model, sample: Sample, fx: &mut Vec<Effect>) {
    let changes = m.probes.record(sample);
    apply(m, changes, fx);
    check_probe_wait(m, fx);
    m.lazy_dirty = true;
}

pub(super) fn on_tick(m: &mut Model, fx: &mut Vec<Effect>) {
    let changes = m.probes.tick(m.now);
    if !changes.is_empty() {
        m.lazy_dirty = true;
    }
    apply(m, changes, fx);
    check_probe_wait(m, fx);
}

/// Journals what changed: health flips, rollback advice, minute summaries.
pub(super) fn apply(m: &mut Model, changes: Vec<ProbeChange>, fx: &mut Vec<Effect>) {
    for c in changes {
        let event = match c {
            ProbeChange::Health {
                probe,
                from,
                to,
                detail,
            } => Event::ProbeStateChanged {
                probe,
                from: from.as_str().into(),
                to: to.as_str().into(),
                detail,
            },
            ProbeChange::Minute {
                probe,
                minute,
                requests,
                errors,
                p50_ms,
                p95_ms,
                max_ms,
            } => Event::ProbeMinute {
                probe,
                minute,
                requests,
                errors,
                p50_ms,
                p95_ms,
                max_ms,
            },
            ProbeChange::Advised { rule, detail } => {
                flash(m, &format!("ROLLBACK ADVISED: {detail}"), true);
                Event::RollbackAdvised { rule, detail }
            }
            ProbeChange::Cleared { rule } => Event::RollbackAdviceCleared { rule },
        };
        record(m, event, fx);
    }
}

/// A step waiting for `probe: NAME, healthy_for: D` completes once the probe has been green
/// for D without a break, and times out at its deadline (default 5 minutes).
pub(super) fn check_probe_wait(m: &mut Model, fx: &mut Vec<Effect>) {
    // A watcher's probes are its own view: the driver judges the wait and journals it.
    if m.role == crate::core::model::Role::Watcher {
        return;
    }
    let Some(r) = m
        .running
        .clone()
        .filter(|r| r.phase == Phase::Waiting && !r.rollback)
    else {
        return;
    };
    let Some(wait) = m.step(&r.step).and_then(|s| s.wait.clone()) else {
        return;
    };
    let WaitKind::Probe { name, healthy_for } = &wait.kind else {
        return;
    };
    let started = r.wait_started.unwrap_or(r.since);
    let waited = (m.now - started).num_milliseconds().max(0) as u64;
    let healthy = chrono::Duration::from_std(*healthy_for).unwrap_or_default();
    // Green time counts from the start of the wait: health before the change proves nothing.
    let result = match m.probes.green_since(name).map(|g| g.max(started)) {
        Some(since) if m.now - since >= healthy => Some(WaitResult::Satisfied {
            detail: format!(
                "probe {name} green for {}",
                crate::config::units::format_duration(*healthy_for)
            ),
            duration_ms: waited,
        }),
        _ => {
            let timeout = wait.timeout.unwrap_or(std::time::Duration::from_secs(300));
            (waited >= timeout.as_millis() as u64).then(|| WaitResult::TimedOut {
                detail: format!(
                    "probe {name} is {} — not green for {} within {}",
                    m.probes.health(name).as_str(),
                    crate::config::units::format_duration(*healthy_for),
                    crate::config::units::format_duration(timeout)
                ),
                duration_ms: waited,
            })
        }
    };
    if let Some(result) = result {
        wait_done(m, r.step.clone(), r.attempt, result, fx);
    }
}
