//! Step timing statistics across past runs of one checklist (SPEC §7 `history`), and the
//! expected durations and ETA the cockpit shows from them.

use super::journal::StepOutcome;
use super::model::Model;
use super::run::{RunState, StepState};
use std::collections::BTreeMap;

/// One step's numbers over past runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepStats {
    /// Past runs in which the step ran at least one attempt.
    pub runs: usize,
    /// Durations of the attempts that succeeded (ms), oldest first.
    pub durations_ms: Vec<u64>,
    pub median_ms: Option<u64>,
    pub p90_ms: Option<u64>,
    /// Duration of the step's last finished attempt in the newest run that ran it.
    pub last_ms: Option<u64>,
    /// Runs in which at least one attempt of the step failed, timed out or was aborted.
    pub failed_runs: usize,
}

impl StepStats {
    /// Failed runs over runs, 0.0..=1.0.
    pub fn failure_rate(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.failed_runs as f64 / self.runs as f64
        }
    }
}

/// The `p`th percentile (0 < p ≤ 100) of `values` by nearest rank: the smallest value with at
/// least p% of the values at or below it. None for no values.
pub fn nearest_rank(values: &[u64], p: u32) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    // ceil(p/100 · n), at least rank 1, in integers so 50% of 4 is exactly rank 2.
    let rank = (usize::try_from(p).unwrap_or(100) * n)
        .div_ceil(100)
        .clamp(1, n);
    Some(sorted[rank - 1])
}

/// Per step id, from past runs given oldest first.
///
/// Durations are those of successful attempts; a step that never succeeded (one allowed to
/// fail, say) falls back to its failed attempts' durations, which are real times too. A manual
/// step has no attempt: its time is from when it became current — the latest moment anything
/// else in the run settled before it, or the run's start — to its tick.
pub fn step_stats(runs: &[RunState]) -> BTreeMap<String, StepStats> {
    let mut out: BTreeMap<String, StepStats> = BTreeMap::new();
    let mut failed_durations: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for run in runs {
        for (id, rec) in &run.steps {
            if rec.attempts.is_empty() {
                if let Some(ms) = manual_ms(run, id, rec) {
                    let s = out.entry(id.clone()).or_default();
                    s.runs += 1;
                    s.durations_ms.push(ms);
                    s.last_ms = Some(ms);
                }
                continue;
            }
            let s = out.entry(id.clone()).or_default();
            s.runs += 1;
            s.durations_ms.extend(
                rec.attempts
                    .iter()
                    .filter(|a| a.outcome == Some(StepOutcome::Succeeded))
                    .filter_map(|a| a.duration_ms),
            );
            failed_durations.entry(id.clone()).or_default().extend(
                rec.attempts
                    .iter()
                    .filter(|a| a.outcome == Some(StepOutcome::Failed))
                    .filter_map(|a| a.duration_ms),
            );
            let failed = rec.attempts.iter().any(|a| {
                matches!(
                    a.outcome,
                    Some(StepOutcome::Failed | StepOutcome::TimedOut | StepOutcome::Aborted)
                )
            });
            s.failed_runs += usize::from(failed);
            // Runs come oldest first, so the newest run with a finished attempt wins.
            if let Some(ms) = rec.last_duration_ms() {
                s.last_ms = Some(ms);
            }
        }
    }
    for (id, s) in out.iter_mut() {
        if s.durations_ms.is_empty()
            && let Some(failed) = failed_durations.remove(id)
        {
            s.durations_ms = failed;
        }
        s.median_ms = nearest_rank(&s.durations_ms, 50);
        s.p90_ms = nearest_rank(&s.durations_ms, 90);
    }
    out
}

/// How long a manual step took: from the latest moment anything else in the run settled before
/// its tick (or the run's start) to the tick.
fn manual_ms(run: &RunState, id: &str, rec: &crate::core::run::StepRecord) -> Option<u64> {
    let ticked = rec.manual_done.as_ref()?.at;
    let settled = run
        .steps
        .iter()
        .filter(|(other, _)| other.as_str() != id)
        .flat_map(|(_, r)| {
            r.attempts
                .iter()
                .filter_map(|a| a.finished)
                .chain(r.manual_done.as_ref().map(|m| m.at))
                .chain(r.skipped.as_ref().map(|m| m.at))
        })
        // A resume restarts the clock: the night between stop and resume is not the step's.
        .chain(run.resumed.iter().map(|r| r.0))
        .filter(|t| *t <= ticked)
        .max();
    let from = settled.or(run.started)?;
    Some((ticked - from).num_milliseconds().max(0) as u64)
}

/// Where an expected duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The median of the step's successful attempts in past runs.
    History,
    /// The `estimate:` written in the checklist (no past run succeeded at the step).
    Estimate,
}

/// How long the step is expected to take: the median of past runs, else its estimate.
pub fn expected_ms(m: &Model, step_id: &str) -> Option<(u64, Basis)> {
    if let Some(ms) = m.history.get(step_id).and_then(|s| s.median_ms) {
        return Some((ms, Basis::History));
    }
    let est = m.step(step_id)?.estimate?;
    Some((
        u64::try_from(est.as_millis()).unwrap_or(u64::MAX),
        Basis::Estimate,
    ))
}

/// The expected time left for the rest of the run, and how many of the steps still to go have
/// no expected duration at all (so the time is a lower bound when that is not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eta {
    pub ms: u64,
    pub unknown: usize,
}

/// When the step's current attempt started, if it is running now (driven here or, for a
/// watcher, according to the journal). A running rollback is not the step's own time.
fn running_since(m: &Model, id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Some(r) = &m.running
        && r.step == id
    {
        if r.rollback {
            return None;
        }
        let attempt = m.run.steps.get(id).and_then(|rec| rec.attempts.last());
        return Some(
            attempt
                .filter(|a| a.finished.is_none())
                .map_or(r.since, |a| a.started),
        );
    }
    if m.run.state_of(id) == StepState::Running {
        return m.run.steps.get(id)?.attempts.last().map(|a| a.started);
    }
    None
}

/// Whether a leaf step still lies ahead: not done, and not a failure the run went past.
fn ahead(m: &Model, id: &str, continue_on_error: bool) -> bool {
    let state = m.run.state_of(id);
    !(state.is_done() || (state.is_failure() && continue_on_error))
}

/// Sum of the expected durations of the leaf steps still ahead; the running one counts what is
/// left of its expected time (never below zero). None when none of them has an expectation.
pub fn eta(m: &Model) -> Option<Eta> {
    let mut out = Eta { ms: 0, unknown: 0 };
    let mut known = 0;
    for f in m.checklist.flat_steps() {
        let step = f.step;
        if !step.steps.is_empty() || !ahead(m, &step.id, step.continue_on_error) {
            continue;
        }
        let Some((expected, _)) = expected_ms(m, &step.id) else {
            out.unknown += 1;
            continue;
        };
        known += 1;
        let left = match running_since(m, &step.id) {
            Some(since) => {
                let elapsed = u64::try_from((m.now - since).num_milliseconds()).unwrap_or(0);
                expected.saturating_sub(elapsed)
            }
            None => expected,
        };
        out.ms = out.ms.saturating_add(left);
    }
    (known > 0).then_some(out)
}

/// The expected time left for the rest of the run (see [`eta`]).
pub fn eta_ms(m: &Model) -> Option<u64> {
    eta(m).map(|e| e.ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{LoadOptions, load_checklist};
    use crate::core::journal::{ChecklistRef, Entry, Event};
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use std::sync::Arc;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap() + Duration::milliseconds(ms)
    }

    fn started(step: &str, attempt: u32, ms: i64) -> Entry {
        Entry::new(
            t(ms),
            Event::StepStarted {
                step: step.into(),
                attempt,
                by: "ana@box".into(),
                what: None,
            },
        )
    }

    fn finished(step: &str, attempt: u32, outcome: StepOutcome, ms: i64, dur: u64) -> Entry {
        Entry::new(
            t(ms),
            Event::StepFinished {
                step: step.into(),
                attempt,
                outcome,
                exit_code: Some(i32::from(outcome != StepOutcome::Succeeded)),
                signal: None,
                duration_ms: dur,
                message: None,
            },
        )
    }

    /// A step that ran one attempt per outcome given, each lasting `dur` ms.
    fn ran(step: &str, attempts: &[(StepOutcome, u64)]) -> Vec<Entry> {
        let mut out = Vec::new();
        for (i, (o, dur)) in attempts.iter().enumerate() {
            let n = i as u32 + 1;
            out.push(started(step, n, 0));
            out.push(finished(step, n, *o, *dur as i64, *dur));
        }
        out
    }

    fn run(entries: Vec<Entry>) -> RunState {
        RunState::replay(&entries)
    }

    use StepOutcome::{Aborted, Failed, Succeeded, TimedOut};

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[30, 10, 20], 50), Some(20));
        assert_eq!(nearest_rank(&[30, 10, 20], 90), Some(30));
        assert_eq!(nearest_rank(&[40, 10, 30, 20], 50), Some(20));
        let hundred: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        assert_eq!(nearest_rank(&hundred, 90), Some(90));
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
    }

    #[test]
    fn stats_over_three_runs() {
        let runs = vec![
            run(ran("build", &[(Succeeded, 3_000)])),
            run(ran("build", &[(Failed, 500), (Succeeded, 1_000)])),
            run(ran("build", &[(Succeeded, 2_000)])),
        ];
        let s = &step_stats(&runs)["build"];
        assert_eq!(s.runs, 3);
        assert_eq!(s.durations_ms, vec![3_000, 1_000, 2_000]);
        assert_eq!(s.median_ms, Some(2_000));
        assert_eq!(s.p90_ms, Some(3_000));
        assert_eq!(s.last_ms, Some(2_000));
        assert_eq!(s.failed_runs, 1);
        assert!((s.failure_rate() - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn failures_count_once_per_run_and_time_only_a_step_that_never_succeeded() {
        let runs = vec![
            run(ran("lint", &[(Failed, 100), (TimedOut, 200)])),
            run(ran("lint", &[(Aborted, 300)])),
            run(ran("other", &[(Succeeded, 1)])),
        ];
        let stats = step_stats(&runs);
        let s = &stats["lint"];
        assert_eq!((s.runs, s.failed_runs), (2, 2));
        // Never succeeded: its failed (not timed-out or aborted) attempts give the times.
        assert_eq!(s.durations_ms, vec![100]);
        assert_eq!((s.median_ms, s.p90_ms), (Some(100), Some(100)));
        assert_eq!(
            s.last_ms,
            Some(300),
            "last finished attempt of the newest run"
        );
        assert_eq!(s.failure_rate(), 1.0);
        assert_eq!(stats["other"].runs, 1);
    }

    #[test]
    fn skipped_steps_are_not_counted_and_manual_ones_are_timed_from_the_step_before() {
        let mut entries = ran("build", &[(Succeeded, 10)]);
        entries.push(Entry::new(
            t(20),
            Event::ManualDone {
                step: "review".into(),
                by: "ana@box".into(),
            },
        ));
        entries.push(Entry::new(
            t(30),
            Event::StepSkipped {
                step: "publish".into(),
                reason: "not today".into(),
                by: "ana@box".into(),
            },
        ));
        let stats = step_stats(&[run(entries)]);
        assert_eq!(stats.keys().collect::<Vec<_>>(), vec!["build", "review"]);
        let build_end = stats["build"].durations_ms[0];
        assert!(stats["review"].median_ms.is_some() && build_end == 10);
        assert!(step_stats(&[]).is_empty());
    }

    #[test]
    fn last_comes_from_the_newest_run_with_a_finished_attempt() {
        // The newest run was cut off mid-attempt: the one before it says how long it took.
        let runs = vec![
            run(ran("build", &[(Succeeded, 1_000)])),
            run(ran("build", &[(Succeeded, 4_000)])),
            run(vec![started("build", 1, 0)]),
        ];
        let s = &step_stats(&runs)["build"];
        assert_eq!(s.runs, 3);
        assert_eq!(s.last_ms, Some(4_000));
        assert_eq!(s.failed_runs, 0);
    }

    const LIST: &str = r#"
name: Eta
phases:
  - name: One
    steps:
      - { id: a, title: A, run: "true", estimate: 10s }
      - { id: b, title: B, run: "true", estimate: 1m }
      - { id: lint, title: Lint, run: "false", estimate: 5s, continue_on_error: true }
      - id: g
        title: Group
        estimate: 1h
        steps:
          - { id: g1, title: G1, run: "true" }
          - { id: g2, title: G2, run: "true", estimate: 20s }
      - { id: review, title: Review, manual: true }
"#;

    fn model(entries: Vec<Entry>, now_ms: i64) -> Model {
        let c = load_checklist(LIST, "eta.yaml", &LoadOptions::default()).unwrap();
        let mut all = vec![Entry::new(
            t(0),
            Event::RunStarted {
                run: "r1".into(),
                checklist: ChecklistRef {
                    name: "Eta".into(),
                    path: "eta.yaml".into(),
                    sha256: "00".into(),
                },
                vars: Default::default(),
                user: "ana".into(),
                host: "box".into(),
                pid: 1,
                mode: "headless".into(),
                context: None,
                namespace: None,
                layout: None,
                kubeconfig: None,
            },
        )];
        all.extend(entries);
        Model::new(
            Arc::new(c),
            RunState::replay(&all),
            "ana@box".into(),
            t(now_ms),
        )
    }

    fn stats(median: u64) -> StepStats {
        StepStats {
            runs: 1,
            durations_ms: vec![median],
            median_ms: Some(median),
            p90_ms: Some(median),
            last_ms: Some(median),
            failed_runs: 0,
        }
    }

    #[test]
    fn expected_prefers_the_median_then_the_estimate() {
        let mut m = model(vec![], 0);
        assert_eq!(expected_ms(&m, "a"), Some((10_000, Basis::Estimate)));
        assert_eq!(expected_ms(&m, "g1"), None);
        assert_eq!(expected_ms(&m, "nope"), None);
        m.history.insert("a".into(), stats(4_000));
        m.history.insert("g1".into(), stats(7_000));
        // A step that never succeeded before has no median: the estimate stands.
        m.history.insert(
            "b".into(),
            StepStats {
                runs: 2,
                failed_runs: 2,
                ..Default::default()
            },
        );
        assert_eq!(expected_ms(&m, "a"), Some((4_000, Basis::History)));
        assert_eq!(expected_ms(&m, "g1"), Some((7_000, Basis::History)));
        assert_eq!(expected_ms(&m, "b"), Some((60_000, Basis::Estimate)));
    }

    #[test]
    fn eta_sums_the_leaf_steps_still_ahead() {
        let m = model(vec![], 0);
        // a 10s + b 1m + lint 5s + g2 20s; g1 and review unknown; the group's own estimate
        // does not count.
        assert_eq!(
            eta(&m),
            Some(Eta {
                ms: 95_000,
                unknown: 2
            })
        );
        assert_eq!(eta_ms(&m), Some(95_000));
    }

    #[test]
    fn eta_skips_done_steps_and_failures_the_run_went_past() {
        let mut entries = ran("a", &[(Succeeded, 1_000)]);
        entries.extend(ran("lint", &[(Failed, 1_000)]));
        entries.extend(ran("b", &[(Failed, 1_000)]));
        let mut m = model(entries, 5_000);
        m.history.insert("g1".into(), stats(3_000));
        // b failed without continue_on_error: it still has to be retried or skipped.
        assert_eq!(
            eta(&m),
            Some(Eta {
                ms: 60_000 + 3_000 + 20_000,
                unknown: 1
            })
        );
    }

    #[test]
    fn the_running_step_counts_what_is_left_floored_at_zero() {
        let mut entries = ran("a", &[(Succeeded, 1_000)]);
        entries.push(started("b", 1, 10_000));
        let m = model(entries.clone(), 25_000);
        assert_eq!(eta_ms(&m), Some(45_000 + 5_000 + 20_000));
        let late = model(entries, 10_000 + 90_000);
        assert_eq!(eta_ms(&late), Some(5_000 + 20_000));
    }

    #[test]
    fn the_running_step_driven_here_counts_from_its_attempt() {
        let mut m = model(vec![started("a", 1, 2_000)], 6_000);
        m.running = Some(crate::core::model::Running {
            phase: crate::core::model::Phase::Command,
            exit_code: None,
            wait_started: None,
            step: "a".into(),
            attempt: 1,
            since: t(2_000),
            pgid: None,
            aborting: false,
            rollback: false,
        });
        assert_eq!(eta_ms(&m), Some(6_000 + 60_000 + 5_000 + 20_000));
        // Its rollback running is not the step's own time.
        if let Some(r) = &mut m.running {
            r.rollback = true;
        }
        assert_eq!(eta_ms(&m), Some(10_000 + 60_000 + 5_000 + 20_000));
    }

    #[test]
    fn eta_is_none_when_nothing_is_known() {
        let mut entries = Vec::new();
        for id in ["a", "b", "lint", "g2"] {
            entries.extend(ran(id, &[(Succeeded, 1_000)]));
        }
        let m = model(entries, 9_000);
        assert_eq!(
            eta(&m),
            None,
            "only g1 and review are left, with no estimate"
        );
    }
}

#[cfg(test)]
mod manual_and_tolerated {
    use super::*;
    use crate::core::journal::{Entry, Event};
    use chrono::{TimeZone, Utc};

    fn at(s: i64) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn attempt(step: &str, start: i64, end: i64, outcome: StepOutcome) -> [Entry; 2] {
        [
            Entry::new(
                at(start),
                Event::StepStarted {
                    step: step.into(),
                    attempt: 1,
                    by: "ana@box".into(),
                    what: None,
                },
            ),
            Entry::new(
                at(end),
                Event::StepFinished {
                    step: step.into(),
                    attempt: 1,
                    outcome,
                    exit_code: Some(0),
                    signal: None,
                    duration_ms: ((end - start) * 1000) as u64,
                    message: None,
                },
            ),
        ]
    }

    #[test]
    fn manual_steps_time_from_the_step_before_and_failed_only_steps_still_have_a_median() {
        let mut entries = Vec::new();
        entries.extend(attempt("build", 0, 10, StepOutcome::Succeeded));
        entries.extend(attempt("lint", 10, 13, StepOutcome::Failed));
        entries.push(Entry::new(
            at(133),
            Event::ManualDone {
                step: "qa".into(),
                by: "ana@box".into(),
            },
        ));
        let run = RunState::replay(&entries);
        let stats = step_stats(&[run]);
        // QA became current when lint ended (13 s) and was ticked at 133 s: two minutes.
        assert_eq!(stats["qa"].median_ms, Some(120_000));
        assert_eq!(stats["qa"].runs, 1);
        assert_eq!(stats["lint"].median_ms, Some(3_000));
        assert_eq!(stats["lint"].failed_runs, 1);
        assert_eq!(stats["build"].median_ms, Some(10_000));
    }
}
