//! The deployment record of a run (SPEC §7), as stable JSON (`docs/report-json.md`) and as
//! readable Markdown.

mod issues;
mod markdown;
mod probes;

pub use markdown::to_markdown;

use super::journal::{ChecklistRef, StepOutcome};
use super::redact::redact;
use super::run::{Attempt, Mark, RunState, StepRecord, StepState};
use crate::config::checklist::{Checklist, Step, StepKind};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "shipdeck.report/1";

/// Fields are only ever added to this schema, never renamed or removed.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub run: String,
    pub checklist: Option<ChecklistRef>,
    pub vars: BTreeMap<String, String>,
    pub driver: String,
    pub mode: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    /// succeeded | failed | aborted | interrupted | stopped | live | unfinished
    pub outcome: String,
    pub rollback: bool,
    pub resumed: Vec<MarkOut>,
    pub steps: Vec<StepOut>,
    pub comments: Vec<MarkOut>,
    /// Per probe: the SLO numbers of the run, from its minute summaries.
    pub probes: Vec<ProbeOut>,
    pub rollback_advice: Vec<AdviceOut>,
    /// The day the run started, `YYYY-MM-DD` in UTC.
    pub date: Option<String>,
    /// The vars that name what was deployed (VERSION, IMAGE, TAG, …).
    pub version: BTreeMap<String, String>,
    /// Whether the run's driver was still running when the record was made.
    pub live: bool,
    /// The last event of the journal: the end of a run that never finished.
    pub last_event: Option<String>,
    pub steps_done: usize,
    pub steps_total: usize,
    pub phases: Vec<PhaseOut>,
    pub rollbacks: Vec<RollbackOut>,
    /// What did not go to plan, in time order.
    pub issues: Vec<IssueOut>,
}

#[derive(Debug, Serialize)]
pub struct PhaseOut {
    pub name: String,
    pub estimate_ms: Option<u64>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    pub steps_done: usize,
    pub steps_total: usize,
}

#[derive(Debug, Serialize)]
pub struct StepOut {
    pub id: String,
    pub title: String,
    pub phase: String,
    pub depth: usize,
    pub kind: &'static str,
    pub state: &'static str,
    pub started: Option<String>,
    pub duration_ms: Option<u64>,
    pub estimate_ms: Option<u64>,
    pub attempts: Vec<AttemptOut>,
    pub skipped: Option<MarkOut>,
    pub manual_done: Option<MarkOut>,
    pub signoffs: Vec<MarkOut>,
    pub comments: Vec<MarkOut>,
    pub rollbacks: Vec<MarkOut>,
    pub actions: Vec<ActionOut>,
    pub waits: Vec<WaitOut>,
    pub parent: Option<String>,
    pub signoff_required: bool,
    pub finished: Option<String>,
    /// `duration_ms - estimate_ms`: positive when the step took longer than estimated.
    pub estimate_delta_ms: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ActionOut {
    pub at: String,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub revision_before: Option<i64>,
    pub revision_after: Option<i64>,
    pub during_rollback: bool,
}

#[derive(Debug, Serialize)]
pub struct WaitOut {
    pub at: String,
    pub what: String,
    /// satisfied | timed_out | failed
    pub outcome: &'static str,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    pub during_rollback: bool,
}

#[derive(Debug, Serialize)]
pub struct AttemptOut {
    pub n: u32,
    pub by: String,
    pub what: Option<String>,
    pub started: String,
    pub finished: Option<String>,
    pub outcome: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MarkOut {
    pub by: String,
    pub at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct RollbackOut {
    pub step: String,
    pub by: String,
    pub at: String,
    pub command: String,
    /// succeeded | failed | timed_out | aborted | interrupted; null when it never finished.
    pub outcome: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct IssueOut {
    pub at: String,
    pub step: Option<String>,
    pub probe: Option<String>,
    /// failed | timed_out | aborted | interrupted | skipped | rollback | rollback_advised |
    /// probe_red | run_failed | run_aborted | run_interrupted | run_stopped | run_unfinished
    pub kind: &'static str,
    pub detail: String,
    pub resolved: bool,
}

pub use probes::{AdviceOut, ChangeOut, MinuteOut, ProbeOut, SloOut};

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn mark(m: &Mark) -> MarkOut {
    MarkOut {
        by: m.by.clone(),
        at: ts(m.at),
        text: m.text.clone(),
    }
}

pub(crate) fn outcome_str(o: StepOutcome) -> &'static str {
    match o {
        StepOutcome::Succeeded => "succeeded",
        StepOutcome::Failed => "failed",
        StepOutcome::TimedOut => "timed_out",
        StepOutcome::Aborted => "aborted",
        StepOutcome::Interrupted => "interrupted",
    }
}

fn attempt(a: &Attempt) -> AttemptOut {
    AttemptOut {
        n: a.n,
        by: a.by.clone(),
        what: a.what.clone(),
        started: ts(a.started),
        finished: a.finished.map(ts),
        outcome: a.outcome.map(outcome_str),
        exit_code: a.exit_code,
        signal: a.signal,
        duration_ms: a.duration_ms,
        message: a.message.clone(),
    }
}

/// Var names that say what was deployed, matched on `_`-separated words.
const VERSION_WORDS: &[&str] = &[
    "VERSION", "IMAGE", "TAG", "RELEASE", "COMMIT", "SHA", "REVISION", "REV",
];

fn version_vars(vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    vars.iter()
        .filter(|(k, v)| {
            v.as_str() != super::redact::MASK
                && k.to_ascii_uppercase()
                    .split(['_', '-'])
                    .any(|w| VERSION_WORDS.contains(&w))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What a checklist says about one step, for the record.
struct StepInfo<'a> {
    id: &'a str,
    title: String,
    phase: &'a str,
    depth: usize,
    parent: Option<&'a str>,
    kind: &'static str,
    state: StepState,
    step: Option<&'a Step>,
}

/// Builds the record. `live` says whether the run's driver is still running; `now` is only
/// read for a live run, so a finished run's record depends on its journal alone.
pub fn build(
    checklist: Option<&Checklist>,
    run: &RunState,
    live: bool,
    now: DateTime<Utc>,
) -> Report {
    let end = if live {
        now
    } else {
        run.finished.map(|f| f.0).or(run.last_event).unwrap_or(now)
    };
    // A running step in a run nobody drives any more was interrupted.
    let settled = |s: StepState| {
        if s == StepState::Running && !live {
            StepState::Interrupted
        } else {
            s
        }
    };
    let secrets = checklist.map(Checklist::secrets).unwrap_or_default();
    let mut infos = Vec::new();
    if let Some(c) = checklist {
        for f in c.flat_steps() {
            let state = match f.step.kind {
                StepKind::Group => group_state(f.step, run),
                _ => run.state_of(&f.step.id),
            };
            infos.push(StepInfo {
                id: &f.step.id,
                title: redact(&f.step.title, &secrets).into_owned(),
                phase: &c.phases[f.phase].name,
                depth: f.depth,
                parent: f.parent,
                kind: kind_of(&f.step.kind),
                state: settled(state),
                step: Some(f.step),
            });
        }
    }
    // Steps the journal knows that the checklist (changed or missing) does not.
    for id in run.steps.keys() {
        if !infos.iter().any(|s| s.id == id) {
            infos.push(StepInfo {
                id,
                title: id.clone(),
                phase: "",
                depth: 0,
                parent: None,
                kind: "unknown",
                state: settled(run.state_of(id)),
                step: None,
            });
        }
    }
    let steps: Vec<StepOut> = infos.iter().map(|i| step_out(i, run)).collect();
    let leaves: Vec<&StepOut> = steps.iter().filter(|s| s.kind != "group").collect();
    let outcome = match run.finished {
        Some((_, o)) => o.as_str().to_string(),
        None if live => "live".into(),
        None => "unfinished".into(),
    };
    let rollbacks = rollbacks_out(&steps);
    let probes = probes::probes_out(checklist, run, end);
    let rollback_advice = probes::advice_out(run, end);
    let issues = issues::issues(&steps, &probes, &rollback_advice, &rollbacks, run, &outcome);
    Report {
        schema: SCHEMA,
        run: run.run_id.clone(),
        checklist: run.checklist.clone(),
        vars: run.vars.clone(),
        driver: run.driver.clone(),
        mode: run.mode.clone(),
        context: run.context.clone(),
        namespace: run.namespace.clone(),
        started: run.started.map(ts),
        finished: run.finished.map(|f| ts(f.0)),
        duration_ms: run.duration_ms(end),
        outcome,
        rollback: run.rolled_back,
        resumed: run
            .resumed
            .iter()
            .map(|(at, by)| MarkOut {
                by: by.clone(),
                at: ts(*at),
                text: String::new(),
            })
            .collect(),
        comments: run.comments.iter().map(mark).collect(),
        probes,
        rollback_advice,
        date: run.started.map(|t| t.format("%Y-%m-%d").to_string()),
        version: version_vars(&run.vars),
        live,
        last_event: run.last_event.map(ts),
        steps_done: leaves.iter().filter(|s| is_done(s.state)).count(),
        steps_total: leaves.len(),
        phases: checklist.map_or_else(Vec::new, |c| phases_out(c, &steps)),
        rollbacks,
        issues,
        steps,
    }
}

fn kind_of(kind: &StepKind) -> &'static str {
    match kind {
        StepKind::Run(_) => "run",
        StepKind::Action(_) => "action",
        StepKind::Manual => "manual",
        StepKind::Wait => "wait",
        StepKind::Group => "group",
    }
}

pub(crate) fn is_done(state: &str) -> bool {
    matches!(state, "succeeded" | "skipped" | "done")
}

/// Whether something at `at` happened while the step was being rolled back: after one of its
/// rollbacks started and before any later attempt of the step.
fn during_rollback(rec: &StepRecord, at: DateTime<Utc>) -> bool {
    rec.rollbacks.iter().any(|r| {
        r.at <= at
            && !rec
                .attempts
                .iter()
                .any(|a| a.started > r.at && a.started <= at)
    })
}

fn step_out(i: &StepInfo, run: &RunState) -> StepOut {
    let rec = run.step(i.id);
    let estimate_ms = i
        .step
        .and_then(|s| s.estimate)
        .map(|e| e.as_millis() as u64);
    let duration_ms = rec.last_duration_ms();
    let finished = rec
        .attempts
        .iter()
        .filter_map(|a| a.finished)
        .chain(rec.manual_done.as_ref().map(|m| m.at))
        .chain(rec.skipped.as_ref().map(|m| m.at))
        .max();
    StepOut {
        id: i.id.to_string(),
        title: i.title.clone(),
        phase: i.phase.to_string(),
        depth: i.depth,
        kind: i.kind,
        state: i.state.as_str(),
        started: rec.first_start().map(ts),
        duration_ms,
        estimate_ms,
        attempts: rec.attempts.iter().map(attempt).collect(),
        skipped: rec.skipped.as_ref().map(mark),
        manual_done: rec.manual_done.as_ref().map(mark),
        signoffs: rec.signoffs.iter().map(mark).collect(),
        comments: rec.comments.iter().map(mark).collect(),
        rollbacks: rec.rollbacks.iter().map(mark).collect(),
        actions: rec
            .actions
            .iter()
            .map(|a| ActionOut {
                at: ts(a.at),
                action: a.action.clone(),
                target: a.target.clone(),
                before: a.before.clone(),
                after: a.after.clone(),
                revision_before: a.revision_before,
                revision_after: a.revision_after,
                during_rollback: during_rollback(&rec, a.at),
            })
            .collect(),
        waits: rec
            .waits
            .iter()
            .map(|w| WaitOut {
                at: ts(w.at),
                what: w.what.clone(),
                outcome: w.outcome,
                duration_ms: w.duration_ms,
                message: w.message.clone(),
                during_rollback: during_rollback(&rec, w.at),
            })
            .collect(),
        parent: i.parent.map(str::to_string),
        signoff_required: i.step.is_some_and(|s| s.signoff),
        finished: finished.map(ts),
        estimate_delta_ms: duration_ms
            .zip(estimate_ms)
            .map(|(d, e)| d as i64 - e as i64),
    }
}

/// The run keeps a rollback's outcome as a suffix of its command; split it back out.
fn rollbacks_out(steps: &[StepOut]) -> Vec<RollbackOut> {
    const OUTCOMES: [StepOutcome; 5] = [
        StepOutcome::Succeeded,
        StepOutcome::Failed,
        StepOutcome::TimedOut,
        StepOutcome::Aborted,
        StepOutcome::Interrupted,
    ];
    let mut out: Vec<RollbackOut> = steps
        .iter()
        .flat_map(|s| {
            s.rollbacks.iter().map(|r| {
                let split = OUTCOMES.iter().find_map(|o| {
                    r.text
                        .strip_suffix(&format!(" ({})", o.as_str()))
                        .map(|cmd| (cmd.to_string(), Some(outcome_str(*o))))
                });
                let (command, outcome) = split.unwrap_or_else(|| (r.text.clone(), None));
                RollbackOut {
                    step: s.id.clone(),
                    by: r.by.clone(),
                    at: r.at.clone(),
                    command,
                    outcome,
                }
            })
        })
        .collect();
    out.sort_by(|a, b| a.at.cmp(&b.at));
    out
}

fn phases_out(c: &Checklist, steps: &[StepOut]) -> Vec<PhaseOut> {
    c.phases
        .iter()
        .map(|p| {
            let mine: Vec<&StepOut> = steps
                .iter()
                .filter(|s| s.phase == p.name && s.kind != "group")
                .collect();
            let started = mine.iter().filter_map(|s| s.started.clone()).min();
            let finished = mine.iter().filter_map(|s| s.finished.clone()).max();
            let duration_ms = started
                .as_deref()
                .zip(finished.as_deref())
                .and_then(|(a, b)| {
                    let a = DateTime::parse_from_rfc3339(a).ok()?;
                    let b = DateTime::parse_from_rfc3339(b).ok()?;
                    Some((b - a).num_milliseconds().max(0) as u64)
                });
            PhaseOut {
                name: p.name.clone(),
                estimate_ms: p.estimate.map(|e| e.as_millis() as u64),
                started,
                finished,
                duration_ms,
                steps_done: mine.iter().filter(|s| is_done(s.state)).count(),
                steps_total: mine.len(),
            }
        })
        .collect()
}

/// A group is done when all its children are; failed or running if any child is.
pub fn group_state(step: &Step, run: &RunState) -> StepState {
    let states: Vec<StepState> = step
        .steps
        .iter()
        .map(|c| {
            if matches!(c.kind, StepKind::Group) {
                group_state(c, run)
            } else {
                run.state_of(&c.id)
            }
        })
        .collect();
    if states.iter().all(|s| s.is_done()) {
        StepState::Succeeded
    } else if let Some(s) = states
        .iter()
        .find(|s| matches!(s, StepState::Running | StepState::Interrupted))
    {
        *s
    } else if states.iter().any(|s| s.is_failure()) {
        StepState::Failed
    } else {
        StepState::Pending
    }
}

/// A duration as screens and the record show it, `—` when unknown.
fn dur(ms: Option<u64>) -> String {
    ms.map(|m| crate::config::units::format_duration(std::time::Duration::from_millis(m)))
        .unwrap_or_else(|| "—".into())
}

/// Milliseconds between two record timestamps.
fn between_ms(from: &str, to: &str) -> Option<u64> {
    let a = DateTime::parse_from_rfc3339(from).ok()?;
    let b = DateTime::parse_from_rfc3339(to).ok()?;
    Some((b - a).num_milliseconds().max(0) as u64)
}

fn signal_name(n: i32) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// `attempt 2 failed after 1.2s: exit 1, signal 9 (SIGKILL) — message`.
fn attempt_summary(a: &AttemptOut, live: bool) -> String {
    let outcome = match a.outcome {
        Some("timed_out") => "timed out",
        Some(o) => o,
        None if live => "running",
        None => "did not finish",
    };
    let mut text = format!("attempt {} {outcome}", a.n);
    if let Some(ms) = a.duration_ms {
        text += &format!(" after {}", dur(Some(ms)));
    }
    let mut why = Vec::new();
    if let Some(c) = a
        .exit_code
        .filter(|c| *c != 0 || a.outcome != Some("succeeded"))
    {
        why.push(format!("exit {c}"));
    }
    if let Some(s) = a.signal {
        why.push(match signal_name(s) {
            Some(name) => format!("signal {s} ({name})"),
            None => format!("signal {s}"),
        });
    }
    if let Some(m) = a.message.as_deref().map(str::trim)
        && !m.is_empty()
        && m != outcome
    {
        why.push(m.replace('\n', " "));
    }
    if !why.is_empty() {
        text += &format!(": {}", why.join(", "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::journal::{Entry, Event};
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn started(step: &str, attempt: u32, t: i64) -> Entry {
        Entry::new(
            at(t),
            Event::StepStarted {
                step: step.into(),
                attempt,
                by: "ana@box".into(),
                what: None,
            },
        )
    }

    fn applied(t: i64) -> Entry {
        Entry::new(
            at(t),
            Event::ActionApplied {
                step: "roll".into(),
                action: "set_image deployment/web web=web:2".into(),
                target: "deployment/web".into(),
                before: "web:1".into(),
                after: "web:2".into(),
                revision_before: None,
                revision_after: None,
            },
        )
    }

    #[test]
    fn version_vars_are_matched_by_word_and_never_secret() {
        let vars: BTreeMap<String, String> = [
            ("VERSION", "2.0"),
            ("image_tag", "abc"),
            ("GIT_SHA", "f00"),
            ("SHARDS", "4"),
            ("RELEASE_TOKEN", crate::core::redact::MASK),
            ("REGION", "eu"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let names: Vec<String> = version_vars(&vars).into_keys().collect();
        assert_eq!(names, ["GIT_SHA", "VERSION", "image_tag"]);
    }

    #[test]
    fn rollbacks_keep_their_outcome_and_actions_know_whether_a_rollback_applied_them() {
        let entries = vec![
            started("roll", 1, 0),
            applied(1),
            Entry::new(
                at(2),
                Event::RollbackStarted {
                    step: "roll".into(),
                    by: "ana@box".into(),
                    command: "undo deployment/web".into(),
                },
            ),
            applied(3),
            Entry::new(
                at(4),
                Event::RollbackFinished {
                    step: "roll".into(),
                    outcome: StepOutcome::TimedOut,
                    exit_code: None,
                    duration_ms: 2000,
                },
            ),
            // Run again after the rollback: its action is the step's own again.
            started("roll", 2, 5),
            applied(6),
        ];
        let run = RunState::replay(&entries);
        let r = build(None, &run, false, at(100));
        assert_eq!(r.rollbacks.len(), 1);
        assert_eq!(r.rollbacks[0].command, "undo deployment/web");
        assert_eq!(r.rollbacks[0].outcome, Some("timed_out"));
        let during: Vec<bool> = r.steps[0]
            .actions
            .iter()
            .map(|a| a.during_rollback)
            .collect();
        assert_eq!(during, [false, true, false]);
        assert!(r.issues.iter().any(|i| i.kind == "rollback" && !i.resolved));
    }

    #[test]
    fn attempts_read_as_a_sentence() {
        let a = AttemptOut {
            n: 2,
            by: "ana@box".into(),
            what: None,
            started: ts(at(0)),
            finished: Some(ts(at(1))),
            outcome: Some("timed_out"),
            exit_code: None,
            signal: Some(9),
            duration_ms: Some(1500),
            message: Some("timed out".into()),
        };
        assert_eq!(
            attempt_summary(&a, false),
            "attempt 2 timed out after 1.5s: signal 9 (SIGKILL)"
        );
        let running = AttemptOut {
            outcome: None,
            signal: None,
            duration_ms: None,
            message: None,
            ..a
        };
        assert_eq!(attempt_summary(&running, true), "attempt 2 running");
        assert_eq!(attempt_summary(&running, false), "attempt 2 did not finish");
    }
}
