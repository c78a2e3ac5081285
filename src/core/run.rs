//! The state of a run, rebuilt by replaying its journal: what was done, by whom, and when.

use super::journal::{ChecklistRef, Entry, Event, RunOutcome, StepOutcome};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    Skipped,
    ManualDone,
    /// Was running when the process that drove it died.
    Interrupted,
}

impl StepState {
    /// Finished for good: a resumed run does not run it again.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            StepState::Succeeded | StepState::Skipped | StepState::ManualDone
        )
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            StepState::Failed | StepState::TimedOut | StepState::Aborted
        )
    }

    pub fn glyph(self) -> &'static str {
        match self {
            StepState::Pending => "·",
            StepState::Running => "▶",
            StepState::Succeeded => "✔",
            StepState::Failed | StepState::TimedOut | StepState::Aborted => "✘",
            StepState::Skipped => "↷",
            StepState::ManualDone => "☑",
            StepState::Interrupted => "⚠",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::TimedOut => "timed_out",
            StepState::Aborted => "aborted",
            StepState::Skipped => "skipped",
            StepState::ManualDone => "done",
            StepState::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub n: u32,
    pub started: DateTime<Utc>,
    pub by: String,
    pub what: Option<String>,
    pub finished: Option<DateTime<Utc>>,
    pub outcome: Option<StepOutcome>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
    /// Process group of the attempt's command, once it started.
    pub pgid: Option<i32>,
}

/// Who did something to a step, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub by: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A built-in action as the journal recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMark {
    pub at: DateTime<Utc>,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub revision_before: Option<i64>,
    pub revision_after: Option<i64>,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitMark {
    pub at: DateTime<Utc>,
    pub what: String,
    /// `satisfied`, `timed_out` or `failed`.
    pub outcome: &'static str,
    pub duration_ms: u64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub state: StepState,
    pub attempts: Vec<Attempt>,
    pub skipped: Option<Mark>,
    pub manual_done: Option<Mark>,
    pub signoffs: Vec<Mark>,
    pub comments: Vec<Mark>,
    pub rollbacks: Vec<Mark>,
    /// A rollback of this step started and has not finished (yet, or ever: a crash).
    pub rollback_open: bool,
    pub actions: Vec<ActionMark>,
    pub waits: Vec<WaitMark>,
}

impl Default for StepRecord {
    fn default() -> Self {
        StepRecord {
            state: StepState::Pending,
            attempts: Vec::new(),
            skipped: None,
            manual_done: None,
            signoffs: Vec::new(),
            comments: Vec::new(),
            rollbacks: Vec::new(),
            rollback_open: false,
            actions: Vec::new(),
            waits: Vec::new(),
        }
    }
}

impl StepRecord {
    /// When the step first started (or was ticked/skipped, for steps that never ran).
    pub fn first_start(&self) -> Option<DateTime<Utc>> {
        self.attempts
            .first()
            .map(|a| a.started)
            .or(self.manual_done.as_ref().map(|m| m.at))
            .or(self.skipped.as_ref().map(|m| m.at))
    }

    /// Duration of the last finished attempt.
    pub fn last_duration_ms(&self) -> Option<u64> {
        self.attempts.iter().rev().find_map(|a| a.duration_ms)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub run_id: String,
    pub checklist: Option<ChecklistRef>,
    pub vars: BTreeMap<String, String>,
    pub driver: String,
    pub pid: u32,
    pub mode: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// The kubeconfig file the driver named, if any.
    pub kubeconfig: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<(DateTime<Utc>, RunOutcome)>,
    pub resumed: Vec<(DateTime<Utc>, String)>,
    pub steps: BTreeMap<String, StepRecord>,
    /// Comments not tied to a step.
    pub comments: Vec<Mark>,
    pub last_event: Option<DateTime<Utc>>,
    /// Whether any rollback ran during the run.
    pub rolled_back: bool,
    pub probe_changes: Vec<ProbeChange>,
    /// Per probe, one summary a minute.
    pub probe_minutes: BTreeMap<String, Vec<ProbeMinute>>,
    pub advice: Vec<Advice>,
}

/// A probe turning green, amber or red.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeChange {
    pub at: DateTime<Utc>,
    pub probe: String,
    pub from: String,
    pub to: String,
    pub detail: String,
}

/// A probe's numbers over one minute of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeMinute {
    pub minute: DateTime<Utc>,
    pub requests: u32,
    pub errors: u32,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub max_ms: u64,
}

/// A ROLLBACK ADVISED episode, cleared when the rule stopped holding.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub at: DateTime<Utc>,
    pub rule: String,
    pub detail: String,
    pub cleared: Option<DateTime<Utc>>,
}

impl RunState {
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        let mut s = RunState::default();
        for e in entries {
            s.apply(e);
        }
        s
    }

    pub fn step(&self, id: &str) -> StepRecord {
        self.steps.get(id).cloned().unwrap_or_default()
    }

    pub fn state_of(&self, id: &str) -> StepState {
        self.steps.get(id).map_or(StepState::Pending, |r| r.state)
    }

    /// Steps whose last attempt never finished: after a crash they are interrupted.
    pub fn mark_unfinished_interrupted(&mut self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        for (id, rec) in &mut self.steps {
            if rec.state == StepState::Running {
                rec.state = StepState::Interrupted;
                out.push((id.clone(), rec.attempts.last().map_or(1, |a| a.n)));
            }
        }
        out
    }

    pub fn apply(&mut self, entry: &Entry) {
        let at = entry.ts;
        self.last_event = Some(at);
        match &entry.event {
            Event::RunStarted {
                run,
                checklist,
                vars,
                user,
                host,
                pid,
                mode,
                context,
                namespace,
                kubeconfig,
                ..
            } => {
                self.kubeconfig = kubeconfig.clone();
                self.run_id = run.clone();
                self.checklist = Some(checklist.clone());
                self.vars = vars.clone();
                self.driver = format!("{user}@{host}");
                self.pid = *pid;
                self.mode = mode.clone();
                self.context = context.clone();
                self.namespace = namespace.clone();
                self.started = Some(at);
            }
            Event::RunResumed { user, host, pid } => {
                self.pid = *pid;
                self.finished = None;
                self.resumed.push((at, format!("{user}@{host}")));
            }
            Event::StepStarted {
                step,
                attempt,
                by,
                what,
            } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.state = StepState::Running;
                rec.attempts.push(Attempt {
                    n: *attempt,
                    started: at,
                    by: by.clone(),
                    what: what.clone(),
                    finished: None,
                    outcome: None,
                    exit_code: None,
                    signal: None,
                    duration_ms: None,
                    message: None,
                    pgid: None,
                });
            }
            Event::StepFinished {
                step,
                attempt,
                outcome,
                exit_code,
                signal,
                duration_ms,
                message,
            } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.state = match outcome {
                    StepOutcome::Succeeded => StepState::Succeeded,
                    StepOutcome::Failed => StepState::Failed,
                    StepOutcome::TimedOut => StepState::TimedOut,
                    StepOutcome::Aborted => StepState::Aborted,
                    StepOutcome::Interrupted => StepState::Interrupted,
                };
                if let Some(a) = rec.attempts.iter_mut().rev().find(|a| a.n == *attempt) {
                    a.finished = Some(at);
                    a.outcome = Some(*outcome);
                    a.exit_code = *exit_code;
                    a.signal = *signal;
                    a.duration_ms = Some(*duration_ms);
                    a.message = message.clone();
                }
            }
            Event::StepSpawned {
                step,
                attempt,
                pgid,
            } => {
                let rec = self.steps.entry(step.clone()).or_default();
                if let Some(a) = rec.attempts.iter_mut().rev().find(|a| a.n == *attempt) {
                    a.pgid = Some(*pgid);
                }
            }
            Event::StepInterrupted { step, attempt } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.state = StepState::Interrupted;
                if let Some(a) = rec.attempts.iter_mut().rev().find(|a| a.n == *attempt) {
                    a.outcome = Some(StepOutcome::Interrupted);
                }
            }
            Event::StepSkipped { step, reason, by } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.state = StepState::Skipped;
                rec.skipped = Some(Mark {
                    by: by.clone(),
                    at,
                    text: reason.clone(),
                });
            }
            Event::ManualDone { step, by } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.state = StepState::ManualDone;
                rec.manual_done = Some(Mark {
                    by: by.clone(),
                    at,
                    text: String::new(),
                });
            }
            Event::SignedOff { step, by } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.signoffs.push(Mark {
                    by: by.clone(),
                    at,
                    text: String::new(),
                });
            }
            Event::Comment { step, text, by } => {
                let mark = Mark {
                    by: by.clone(),
                    at,
                    text: text.clone(),
                };
                match step {
                    Some(id) => self
                        .steps
                        .entry(id.clone())
                        .or_default()
                        .comments
                        .push(mark),
                    None => self.comments.push(mark),
                }
            }
            Event::RollbackStarted { step, by, command } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.rollbacks.push(Mark {
                    by: by.clone(),
                    at,
                    text: command.clone(),
                });
                rec.rollback_open = true;
                self.rolled_back = true;
            }
            Event::RollbackFinished { step, outcome, .. } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.rollback_open = false;
                if let Some(m) = rec.rollbacks.last_mut() {
                    m.text = format!("{} ({})", m.text, outcome.as_str());
                }
            }
            Event::ActionApplied {
                step,
                action,
                target,
                before,
                after,
                revision_before,
                revision_after,
            } => {
                let rec = self.steps.entry(step.clone()).or_default();
                rec.actions.push(ActionMark {
                    at,
                    action: action.clone(),
                    target: target.clone(),
                    before: before.clone(),
                    after: after.clone(),
                    revision_before: *revision_before,
                    revision_after: *revision_after,
                });
            }
            Event::WaitSatisfied {
                step,
                what,
                duration_ms,
            } => self.wait_mark(step, at, what, "satisfied", *duration_ms, ""),
            Event::WaitTimedOut {
                step,
                what,
                duration_ms,
                message,
            } => self.wait_mark(step, at, what, "timed_out", *duration_ms, message),
            Event::WaitFailed {
                step,
                what,
                duration_ms,
                message,
            } => self.wait_mark(step, at, what, "failed", *duration_ms, message),
            Event::ProbeStateChanged {
                probe,
                from,
                to,
                detail,
            } => self.probe_changes.push(ProbeChange {
                at,
                probe: probe.clone(),
                from: from.clone(),
                to: to.clone(),
                detail: detail.clone(),
            }),
            Event::ProbeMinute {
                probe,
                minute,
                requests,
                errors,
                p50_ms,
                p95_ms,
                max_ms,
            } => self
                .probe_minutes
                .entry(probe.clone())
                .or_default()
                .push(ProbeMinute {
                    minute: *minute,
                    requests: *requests,
                    errors: *errors,
                    p50_ms: *p50_ms,
                    p95_ms: *p95_ms,
                    max_ms: *max_ms,
                }),
            Event::RollbackAdvised { rule, detail } => self.advice.push(Advice {
                at,
                rule: rule.clone(),
                detail: detail.clone(),
                cleared: None,
            }),
            Event::RollbackAdviceCleared { rule } => {
                if let Some(a) = self
                    .advice
                    .iter_mut()
                    .rev()
                    .find(|a| &a.rule == rule && a.cleared.is_none())
                {
                    a.cleared = Some(at);
                }
            }
            Event::RunFinished { outcome, .. } => self.finished = Some((at, *outcome)),
        }
    }

    fn wait_mark(
        &mut self,
        step: &str,
        at: DateTime<Utc>,
        what: &str,
        outcome: &'static str,
        duration_ms: u64,
        message: &str,
    ) {
        self.steps
            .entry(step.to_string())
            .or_default()
            .waits
            .push(WaitMark {
                at,
                what: what.to_string(),
                outcome,
                duration_ms,
                message: message.to_string(),
            });
    }

    /// Wall time from the first event to the end (or to `now` while live).
    pub fn duration_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        let start = self.started?;
        let end = self.finished.map_or(now, |f| f.0);
        Some((end - start).num_milliseconds().max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn finished(step: &str, attempt: u32, outcome: StepOutcome, t: i64) -> Entry {
        Entry::new(
            at(t),
            Event::StepFinished {
                step: step.into(),
                attempt,
                outcome,
                exit_code: Some(0),
                signal: None,
                duration_ms: 1000,
                message: None,
            },
        )
    }

    #[test]
    fn replay_tracks_attempts_and_interruption() {
        let entries = vec![
            started("a", 1, 0),
            finished("a", 1, StepOutcome::Failed, 1),
            started("a", 2, 2),
            finished("a", 2, StepOutcome::Succeeded, 3),
            started("b", 1, 4),
        ];
        let mut s = RunState::replay(&entries);
        assert_eq!(s.state_of("a"), StepState::Succeeded);
        assert_eq!(s.step("a").attempts.len(), 2);
        assert_eq!(s.state_of("b"), StepState::Running);
        assert_eq!(s.mark_unfinished_interrupted(), vec![("b".to_string(), 1)]);
        assert_eq!(s.state_of("b"), StepState::Interrupted);
        assert_eq!(s.state_of("c"), StepState::Pending);
    }

    #[test]
    fn skip_manual_signoff_comment() {
        let entries = vec![
            Entry::new(
                at(0),
                Event::StepSkipped {
                    step: "a".into(),
                    reason: "not needed".into(),
                    by: "ana@box".into(),
                },
            ),
            Entry::new(
                at(1),
                Event::ManualDone {
                    step: "b".into(),
                    by: "ana@box".into(),
                },
            ),
            Entry::new(
                at(2),
                Event::SignedOff {
                    step: "b".into(),
                    by: "bo@desk".into(),
                },
            ),
            Entry::new(
                at(3),
                Event::Comment {
                    step: None,
                    text: "all good".into(),
                    by: "bo@desk".into(),
                },
            ),
        ];
        let s = RunState::replay(&entries);
        assert!(s.state_of("a").is_done());
        assert_eq!(s.step("a").skipped.unwrap().text, "not needed");
        assert_eq!(s.state_of("b"), StepState::ManualDone);
        assert_eq!(s.step("b").signoffs[0].by, "bo@desk");
        assert_eq!(s.comments.len(), 1);
    }
}
