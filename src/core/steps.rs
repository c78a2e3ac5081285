//! The step machine: start a step (command, action, wait), follow it to its end, roll back,
//! and finish or quit the run. Called by `update`; pure like it.

use super::effect::{Command as StepCommand, Effect};
use super::journal::{Event, RunOutcome, StepOutcome};
use super::model::*;
use super::msg::{ActionRecord, Finished, WaitResult};
use super::redact::redact;
use super::run::StepState;
use super::update::{act, flash, record};
use crate::config::checklist::{Rollback, Step, StepKind, Wait, WaitKind};

/// Selects the next step that is still open after a step was settled.
pub(super) fn advance(m: &mut Model) {
    let open = (m.selected + 1..m.rows.len()).find(|i| match &m.rows[*i] {
        Row::Step { id, .. } => {
            m.step(id).is_some_and(|s| s.steps.is_empty()) && !m.run.state_of(id).is_done()
        }
        Row::Phase(_) => false,
    });
    if let Some(i) = open {
        m.selected = i;
        m.output_scroll = 0;
        m.follow = true;
    }
}

pub(super) fn signed_by_other(m: &Model, id: &str) -> bool {
    let driver_user = m.driver.split('@').next().unwrap_or("");
    m.run.steps.get(id).is_some_and(|r| {
        r.signoffs
            .iter()
            .any(|s| s.by != m.driver && s.by.split('@').next() != Some(driver_user))
    })
}

pub(super) fn next_attempt(m: &Model, id: &str) -> u32 {
    m.run
        .steps
        .get(id)
        .and_then(|r| r.attempts.iter().map(|a| a.n).max())
        .unwrap_or(0)
        + 1
}

/// Enter / retry: tick a manual step, or start its command, action or wait.
pub(super) fn start(m: &mut Model, id: &str, confirmed: bool, fx: &mut Vec<Effect>) {
    let Some(step) = m.step(id).cloned() else {
        return;
    };
    if let Some(r) = &m.running {
        let msg = format!("`{}` is running — one step at a time (x aborts it)", r.step);
        return flash(m, &msg, true);
    }
    let state = m.run.state_of(id);
    match &step.kind {
        StepKind::Group => {
            return flash(
                m,
                "a group is done when its sub-steps are — select one of them",
                false,
            );
        }
        StepKind::Manual if state.is_done() => return flash(m, "already done", false),
        StepKind::Manual if step.signoff && !signed_by_other(m, id) => {
            let msg = "needs a sign-off by someone other than the driver first (S)";
            return flash(m, msg, true);
        }
        StepKind::Manual => {
            let by = m.driver.clone();
            record(
                m,
                Event::ManualDone {
                    step: id.to_string(),
                    by,
                },
                fx,
            );
            act(m, format!("ticked {id}"));
            advance(m);
            return after_process(m, fx);
        }
        // Cut off when the last run died: it may have half-happened, so a person decides.
        _ if state == StepState::Interrupted && !confirmed => {
            m.modal = Some(Modal::Confirm {
                step: id.to_string(),
                what: ConfirmWhat::Interrupted,
            });
            return;
        }
        // Enter on a finished step asks first: re-running is rarely what a deployer means.
        _ if state.is_done() && !confirmed && !matches!(state, StepState::Skipped) => {
            m.modal = Some(Modal::Confirm {
                step: id.to_string(),
                what: ConfirmWhat::Run,
            });
            return;
        }
        _ => {}
    }
    if let Some(why) = gate_closed(m, &step) {
        return flash(m, &why, true);
    }
    if step.confirm && !confirmed {
        m.modal = Some(Modal::Confirm {
            step: id.to_string(),
            what: ConfirmWhat::Run,
        });
        return;
    }
    let attempt = next_attempt(m, id);
    let by = m.driver.clone();
    let (phase, what) = match &step.kind {
        StepKind::Run(cmd) => (Phase::Command, redact(cmd, &m.secrets).into_owned()),
        StepKind::Action(a) => (Phase::Action, a.describe()),
        _ => {
            let what = step
                .wait
                .as_ref()
                .map(|w| format!("wait for {}", w.describe()));
            (Phase::Waiting, what.unwrap_or_default())
        }
    };
    record(
        m,
        Event::StepStarted {
            step: id.to_string(),
            attempt,
            by,
            what: Some(what),
        },
        fx,
    );
    act(m, format!("started {id}"));
    m.running = Some(Running {
        phase,
        exit_code: None,
        wait_started: None,
        step: id.to_string(),
        attempt,
        since: m.now,
        pgid: None,
        aborting: false,
        rollback: false,
    });
    m.outputs.insert(
        id.to_string(),
        Output {
            attempt,
            ..Output::default()
        },
    );
    m.output_scroll = 0;
    m.follow = true;
    match (&step.kind, &step.wait) {
        (StepKind::Run(cmd), _) => {
            let command = command_of(&step, cmd.clone());
            fx.push(Effect::RunStep {
                step: id.to_string(),
                attempt,
                command,
            });
        }
        (StepKind::Action(a), _) => {
            let action = a.clone();
            fx.push(Effect::Apply {
                step: id.to_string(),
                attempt,
                action,
                rollback: false,
            });
        }
        (_, Some(w)) => begin_wait(m, id.to_string(), attempt, w.clone(), fx),
        (_, None) => {}
    }
}

fn command_of(step: &Step, command: String) -> StepCommand {
    StepCommand {
        command,
        shell: step.shell.clone().unwrap_or_else(|| "sh".into()),
        env: step.env.clone(),
        cwd: step.cwd.clone(),
        timeout: step.timeout,
        interactive: step.interactive,
    }
}

pub(super) fn start_rollback(m: &mut Model, id: &str, fx: &mut Vec<Effect>) {
    let Some(step) = m.step(id).cloned() else {
        return;
    };
    let Some(rollback) = step.rollback.clone() else {
        return;
    };
    if let Some(r) = &m.running {
        let msg = format!("`{}` is running — one step at a time", r.step);
        return flash(m, &msg, true);
    }
    let attempt = m.run.steps.get(id).map_or(0, |r| r.rollbacks.len() as u32) + 1;
    let command = redact(&rollback.describe(), &m.secrets).into_owned();
    let by = m.driver.clone();
    record(
        m,
        Event::RollbackStarted {
            step: id.to_string(),
            by,
            command,
        },
        fx,
    );
    act(m, format!("rolled back {id}"));
    let phase = match rollback {
        Rollback::Command(_) => Phase::Command,
        Rollback::Action(_) => Phase::Action,
    };
    m.running = Some(Running {
        phase,
        exit_code: None,
        wait_started: None,
        step: id.to_string(),
        attempt,
        since: m.now,
        pgid: None,
        aborting: false,
        rollback: true,
    });
    m.outputs.insert(
        id.to_string(),
        Output {
            attempt: u32::MAX,
            ..Output::default()
        },
    );
    match rollback {
        Rollback::Command(cmd) => {
            let mut command = command_of(&step, cmd);
            command.interactive = false;
            fx.push(Effect::RunRollback {
                step: id.to_string(),
                attempt,
                command,
            });
        }
        Rollback::Action(action) => fx.push(Effect::Apply {
            step: id.to_string(),
            attempt,
            action,
            rollback: true,
        }),
    }
}

/// Why a step's `gate` refuses to let it start: one of its probes is red.
pub fn gate_closed(m: &Model, step: &Step) -> Option<String> {
    let red = step
        .gate
        .iter()
        .find(|p| m.probes.health(p) == super::probes::Health::Red)?;
    let why = m
        .probes
        .probe(red)
        .and_then(|p| p.last_failure.as_ref())
        .and_then(|s| s.failure.as_ref())
        .map(|f| f.1.clone());
    Some(match why {
        Some(w) => format!(
            "gate: probe {red} is red ({w}) — `{}` waits until it is not",
            step.id
        ),
        None => format!(
            "gate: probe {red} is red — `{}` waits until it is not",
            step.id
        ),
    })
}

/// Starts the wait of the running step: probe waits are judged here in the core, from the
/// probe board; rollouts and pods go to the executor.
fn begin_wait(m: &mut Model, step: String, attempt: u32, wait: Wait, fx: &mut Vec<Effect>) {
    if let Some(r) = m.running.as_mut() {
        r.phase = Phase::Waiting;
        r.wait_started = Some(m.now);
    }
    m.dirty = true;
    if matches!(wait.kind, WaitKind::Probe { .. }) {
        super::probe_update::check_probe_wait(m, fx);
    } else {
        fx.push(Effect::Wait {
            step,
            attempt,
            wait,
        });
    }
}

/// The running step's record, if `step`/`attempt` is it (stale messages are ignored).
fn running_is(m: &Model, step: &str, attempt: u32, rollback: bool) -> bool {
    m.running
        .as_ref()
        .is_some_and(|r| r.step == step && r.attempt == attempt && r.rollback == rollback)
}

fn elapsed_ms(m: &Model) -> u64 {
    m.running
        .as_ref()
        .map_or(0, |r| (m.now - r.since).num_milliseconds().max(0) as u64)
}

pub(super) fn step_done(
    m: &mut Model,
    step: String,
    attempt: u32,
    done: Finished,
    fx: &mut Vec<Effect>,
) {
    if !running_is(m, &step, attempt, false) {
        return;
    }
    // A command that succeeded still has its wait to go.
    let wait = m.step(&step).and_then(|s| s.wait.clone());
    if let (StepOutcome::Succeeded, Some(wait)) = (done.outcome, wait)
        && m.quit.is_none()
    {
        if let Some(r) = m.running.as_mut() {
            r.exit_code = done.exit_code;
        }
        begin_wait(m, step, attempt, wait, fx);
        return;
    }
    finish(m, step, attempt, done, fx);
}

pub(super) fn action_done(
    m: &mut Model,
    step: String,
    attempt: u32,
    result: Result<ActionRecord, String>,
    fx: &mut Vec<Effect>,
) {
    if !running_is(m, &step, attempt, false) {
        return;
    }
    let duration_ms = elapsed_ms(m);
    let rec = match result {
        Ok(rec) => rec,
        Err(message) => {
            let done = failed(StepOutcome::Failed, duration_ms, message);
            return finish(m, step, attempt, done, fx);
        }
    };
    record(m, applied(&step, &rec), fx);
    match m.step(&step).and_then(|s| s.wait.clone()) {
        Some(wait) if m.quit.is_none() => begin_wait(m, step, attempt, wait, fx),
        _ => {
            let done = Finished {
                outcome: StepOutcome::Succeeded,
                exit_code: None,
                signal: None,
                duration_ms,
                message: None,
            };
            finish(m, step, attempt, done, fx);
        }
    }
}

fn applied(step: &str, rec: &ActionRecord) -> Event {
    Event::ActionApplied {
        step: step.to_string(),
        action: rec.what.clone(),
        target: rec.target.clone(),
        before: rec.before.clone(),
        after: rec.after.clone(),
        revision_before: rec.revision_before,
        revision_after: rec.revision_after,
    }
}

fn failed(outcome: StepOutcome, duration_ms: u64, message: String) -> Finished {
    Finished {
        outcome,
        exit_code: None,
        signal: None,
        duration_ms,
        message: Some(message),
    }
}

pub(super) fn wait_done(
    m: &mut Model,
    step: String,
    attempt: u32,
    result: WaitResult,
    fx: &mut Vec<Effect>,
) {
    if running_is(m, &step, attempt, true) {
        return rollback_wait_done(m, step, result, fx);
    }
    if !running_is(m, &step, attempt, false) {
        return;
    }
    let what = m
        .step(&step)
        .and_then(|s| s.wait.as_ref())
        .map(|w| w.what())
        .unwrap_or_default();
    let exit_code = m.running.as_ref().and_then(|r| r.exit_code);
    let total = elapsed_ms(m);
    let aborting = m.running.as_ref().is_some_and(|r| r.aborting);
    let (event, done) = match result {
        WaitResult::Satisfied {
            detail,
            duration_ms,
        } => (
            Event::WaitSatisfied {
                step: step.clone(),
                what,
                duration_ms,
            },
            Finished {
                outcome: StepOutcome::Succeeded,
                exit_code,
                signal: None,
                duration_ms: total,
                message: Some(detail),
            },
        ),
        WaitResult::TimedOut {
            detail,
            duration_ms,
        } => (
            Event::WaitTimedOut {
                step: step.clone(),
                what,
                duration_ms,
                message: detail.clone(),
            },
            failed(StepOutcome::TimedOut, total, detail),
        ),
        WaitResult::Failed {
            detail,
            duration_ms,
        } => {
            let outcome = if aborting {
                StepOutcome::Aborted
            } else {
                StepOutcome::Failed
            };
            (
                Event::WaitFailed {
                    step: step.clone(),
                    what,
                    duration_ms,
                    message: detail.clone(),
                },
                failed(outcome, total, detail),
            )
        }
    };
    record(m, event, fx);
    finish(m, step, attempt, done, fx);
}

/// Records the end of the running step and moves the cockpit on.
fn finish(m: &mut Model, step: String, attempt: u32, done: Finished, fx: &mut Vec<Effect>) {
    m.running = None;
    m.shown = Some(step.clone());
    let interrupted = matches!(m.quit, Some(QuitState::AfterAbort { interrupted: true }));
    let outcome = match done.outcome {
        StepOutcome::Aborted if interrupted => StepOutcome::Interrupted,
        o => o,
    };
    let event = Event::StepFinished {
        step: step.clone(),
        attempt,
        outcome,
        exit_code: done.exit_code,
        signal: done.signal,
        duration_ms: done.duration_ms,
        message: done.message.clone(),
    };
    record(m, event, fx);
    if outcome == StepOutcome::Succeeded {
        // Move on only if the deployer is still looking at this step.
        if m.selected_id() == Some(step.as_str()) {
            advance(m);
        }
    } else {
        let why = done
            .message
            .clone()
            .or(done.exit_code.map(|c| format!("exit {c}")))
            .unwrap_or_else(|| outcome.as_str().into());
        let allowed = m.step(&step).is_some_and(|s| s.continue_on_error);
        if allowed && outcome != StepOutcome::Interrupted {
            if m.selected_id() == Some(step.as_str()) {
                advance(m);
            }
            let msg = format!(
                "`{step}` {} ({why}) — allowed to fail, moving on",
                outcome.as_str()
            );
            flash(m, &msg, false);
        } else {
            let msg = format!("`{step}` {} ({why}) — r retries, s skips", outcome.as_str());
            flash(m, &msg, true);
        }
    }
    after_process(m, fx);
}

pub(super) fn rollback_done(
    m: &mut Model,
    step: String,
    outcome: StepOutcome,
    exit_code: Option<i32>,
    message: Option<String>,
    fx: &mut Vec<Effect>,
) {
    if m.running
        .as_ref()
        .is_none_or(|r| r.step != step || !r.rollback)
    {
        return;
    }
    let duration_ms = elapsed_ms(m);
    m.running = None;
    m.shown = Some(step.clone());
    record(
        m,
        Event::RollbackFinished {
            step: step.clone(),
            outcome,
            exit_code,
            duration_ms,
        },
        fx,
    );
    let why = message.map(|w| format!(" ({w})")).unwrap_or_default();
    flash(
        m,
        &format!("rollback of `{step}` {}{why}", outcome.as_str()),
        outcome != StepOutcome::Succeeded,
    );
    after_process(m, fx);
}

pub(super) fn rollback_action_done(
    m: &mut Model,
    step: String,
    result: Result<ActionRecord, String>,
    fx: &mut Vec<Effect>,
) {
    let Some(running) = m.running.clone().filter(|r| r.step == step && r.rollback) else {
        return;
    };
    match result {
        Ok(rec) => {
            record(m, applied(&step, &rec), fx);
            // Undoing a rollout is done when the old version is back and available, as
            // `kubectl rollout undo` followed by `kubectl rollout status`.
            let target = match m.step(&step).and_then(|s| s.rollback.clone()) {
                Some(Rollback::Action(a)) if a.kind.starts_rollout() => Some(a.target),
                _ => None,
            };
            match target {
                Some(target) if m.quit.is_none() => {
                    if let Some(r) = m.running.as_mut() {
                        r.phase = Phase::Waiting;
                    }
                    let wait = Wait {
                        kind: WaitKind::Rollout(target),
                        timeout: None,
                        pos: Default::default(),
                    };
                    fx.push(Effect::Wait {
                        step,
                        attempt: running.attempt,
                        wait,
                    });
                }
                _ => rollback_done(m, step, StepOutcome::Succeeded, None, None, fx),
            }
        }
        Err(e) => rollback_done(m, step, StepOutcome::Failed, None, Some(e), fx),
    }
}

/// The rollout wait that follows a rollback action.
fn rollback_wait_done(m: &mut Model, step: String, result: WaitResult, fx: &mut Vec<Effect>) {
    let what = match m.step(&step).and_then(|s| s.rollback.clone()) {
        Some(Rollback::Action(a)) => format!("rollout of {}", a.target),
        _ => "rollout".to_string(),
    };
    let (event, outcome, message) = match result {
        WaitResult::Satisfied { duration_ms, .. } => (
            Event::WaitSatisfied {
                step: step.clone(),
                what,
                duration_ms,
            },
            StepOutcome::Succeeded,
            None,
        ),
        WaitResult::TimedOut {
            detail,
            duration_ms,
        } => (
            Event::WaitTimedOut {
                step: step.clone(),
                what,
                duration_ms,
                message: detail.clone(),
            },
            StepOutcome::TimedOut,
            Some(detail),
        ),
        WaitResult::Failed {
            detail,
            duration_ms,
        } => (
            Event::WaitFailed {
                step: step.clone(),
                what,
                duration_ms,
                message: detail.clone(),
            },
            StepOutcome::Failed,
            Some(detail),
        ),
    };
    record(m, event, fx);
    rollback_done(m, step, outcome, None, message, fx);
}

/// After a step settles: finish the run when everything is done, or complete a pending quit.
pub(super) fn after_process(m: &mut Model, fx: &mut Vec<Effect>) {
    if let Some(QuitState::AfterAbort { interrupted }) = m.quit
        && m.running.is_none()
    {
        return quit_now(m, interrupted, fx);
    }
    if m.run.finished.is_none() && all_settled(m) {
        let duration_ms = m.run.duration_ms(m.now).unwrap_or(0);
        record(
            m,
            Event::RunFinished {
                outcome: RunOutcome::Succeeded,
                duration_ms,
            },
            fx,
        );
        flash(m, "every step is done — q quits", false);
    }
}

/// Every leaf step is done (or failed with `continue_on_error`).
fn all_settled(m: &Model) -> bool {
    m.checklist
        .flat_steps()
        .iter()
        .filter(|f| f.step.steps.is_empty())
        .all(|f| {
            let s = m.run.state_of(&f.step.id);
            s.is_done() || (s.is_failure() && f.step.continue_on_error)
        })
}

pub(super) fn quit(m: &mut Model, interrupted: bool, fx: &mut Vec<Effect>) {
    match &m.running {
        Some(r) => {
            let step = r.step.clone();
            if let Some(r) = m.running.as_mut() {
                r.aborting = true;
            }
            m.quit = Some(QuitState::AfterAbort { interrupted });
            fx.push(Effect::Abort { step });
        }
        None => quit_now(m, interrupted, fx),
    }
}

fn quit_now(m: &mut Model, interrupted: bool, fx: &mut Vec<Effect>) {
    m.quit = Some(QuitState::Now { interrupted });
    // The partial minute of every probe goes into the record too.
    let last = m.probes.flush_minutes();
    super::probe_update::apply(m, last, fx);
    let code = if interrupted {
        if m.run.finished.is_none() {
            let duration_ms = m.run.duration_ms(m.now).unwrap_or(0);
            record(
                m,
                Event::RunFinished {
                    outcome: RunOutcome::Interrupted,
                    duration_ms,
                },
                fx,
            );
        }
        3
    } else if matches!(m.run.finished, Some((_, RunOutcome::Succeeded))) {
        0
    } else {
        1
    };
    fx.push(Effect::Quit { code });
}
