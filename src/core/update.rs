//! `update(&mut Model, Msg) -> Vec<Effect>`: every transition of the cockpit, pure and deterministic.

use super::effect::{Command as StepCommand, Effect};
use super::journal::{Entry, Event, RunOutcome, StepOutcome};
use super::keys::{Key, KeyCode};
use super::model::*;
use super::msg::{Finished, Msg, SignalKind};
use super::redact::redact;
use super::run::StepState;
use crate::config::checklist::{Step, StepKind};
use crate::config::keymap::Command;
use crate::config::layout::PaneId;

pub const NO_CLUSTER: &str = "needs a cluster connection (not available yet)";

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Tick(now) => {
            if now.timestamp() != m.now.timestamp() {
                m.dirty = true;
            }
            m.now = now;
            if m.flash.as_ref().is_some_and(|f| f.until <= now) {
                m.flash = None;
                m.dirty = true;
            }
        }
        Msg::Resize(w, h) => {
            m.size = (w, h);
            m.page = usize::from(h.saturating_sub(6)).max(1);
            m.dirty = true;
        }
        Msg::Key(key) => on_key(m, key, &mut fx),
        Msg::StepSpawned {
            step,
            attempt,
            pgid,
        } => {
            if let Some(r) = m.running.as_mut().filter(|r| r.step == step && !r.rollback) {
                r.pgid = Some(pgid);
                record(
                    m,
                    Event::StepSpawned {
                        step,
                        attempt,
                        pgid,
                    },
                    &mut fx,
                );
            }
        }
        Msg::StepLine {
            step,
            attempt,
            line,
        } => {
            let out = m.outputs.entry(step.clone()).or_default();
            if attempt >= out.attempt {
                if attempt > out.attempt {
                    *out = Output {
                        attempt,
                        ..Output::default()
                    };
                }
                out.push(line);
                if m.output_step() == Some(step.as_str()) {
                    m.dirty = true;
                    if !m.follow {
                        m.output_scroll += 1;
                    }
                }
            }
        }
        Msg::StepDone {
            step,
            attempt,
            done,
        } => step_done(m, step, attempt, done, &mut fx),
        Msg::RollbackDone { step, done } => {
            m.running = None;
            m.shown = Some(step.clone());
            let outcome = done.outcome;
            record(
                m,
                Event::RollbackFinished {
                    step: step.clone(),
                    outcome,
                    exit_code: done.exit_code,
                    duration_ms: done.duration_ms,
                },
                &mut fx,
            );
            flash(
                m,
                &format!("rollback of `{step}` {}", outcome.as_str()),
                outcome != StepOutcome::Succeeded,
            );
            after_process(m, &mut fx);
        }
        Msg::LogLoaded {
            step,
            attempt,
            lines,
        } => {
            let out = m.outputs.entry(step).or_default();
            if out.lines.is_empty() && attempt >= out.attempt {
                *out = Output {
                    attempt,
                    ..Output::default()
                };
                lines.into_iter().for_each(|l| out.push(l));
                m.dirty = true;
            }
        }
        Msg::Signal(kind) => {
            let what = match kind {
                SignalKind::Interrupt => "SIGINT",
                SignalKind::Terminate => "SIGTERM",
                SignalKind::Hangup => "SIGHUP",
            };
            flash(m, &format!("{what} received: stopping"), true);
            quit(m, true, &mut fx);
        }
        Msg::JournalFailed(e) => {
            flash(
                m,
                &format!("cannot write the journal ({e}); stopping so nothing goes unrecorded"),
                true,
            );
            quit(m, false, &mut fx);
        }
    }
    fx
}

/// Applies an event to the run state now and has the executor append it to the journal.
fn record(m: &mut Model, event: Event, fx: &mut Vec<Effect>) {
    let entry = Entry::new(m.now, event);
    m.run.apply(&entry);
    fx.push(Effect::Journal(entry));
    m.dirty = true;
}

fn flash(m: &mut Model, text: &str, error: bool) {
    m.flash = Some(Flash {
        text: text.to_string(),
        error,
        until: m.now + chrono::Duration::seconds(if error { 8 } else { 4 }),
    });
    m.dirty = true;
}

fn act(m: &mut Model, what: String) {
    m.last_action = Some(LastAction {
        what,
        by: m.driver.clone(),
        at: m.now,
    });
}

fn on_key(m: &mut Model, key: Key, fx: &mut Vec<Effect>) {
    m.dirty = true;
    if let Some(modal) = m.modal.take() {
        return on_modal_key(m, modal, key, fx);
    }
    if key == Key::ctrl('c') {
        return on_command(m, Command::Quit, fx);
    }
    if let Some(cmd) = m.keymap.resolve(key) {
        on_command(m, cmd, fx);
    }
}

fn on_modal_key(m: &mut Model, modal: Modal, key: Key, fx: &mut Vec<Effect>) {
    match modal {
        Modal::Help => {}
        Modal::Confirm {
            step,
            what: ConfirmWhat::Interrupted,
        } => match key.code {
            KeyCode::Char('r') => start(m, &step, true, fx),
            KeyCode::Char('d') => {
                let by = m.driver.clone();
                record(
                    m,
                    Event::ManualDone {
                        step: step.clone(),
                        by,
                    },
                    fx,
                );
                act(m, format!("marked {step} done"));
                advance(m);
                after_process(m, fx);
            }
            _ => flash(m, "cancelled", false),
        },
        Modal::Confirm { step, what } => {
            if key.code != KeyCode::Char('y') && key.code != KeyCode::Char('Y') {
                flash(m, "cancelled", false);
                return;
            }
            match what {
                ConfirmWhat::Run => start(m, &step, true, fx),
                ConfirmWhat::Rollback => start_rollback(m, &step, fx),
                ConfirmWhat::QuitWhileRunning => quit(m, false, fx),
                ConfirmWhat::Interrupted => {}
            }
        }
        Modal::Input {
            step,
            what,
            mut text,
        } => match key.code {
            KeyCode::Esc => flash(m, "cancelled", false),
            KeyCode::Enter => submit_input(m, step, what, text.trim().to_string(), fx),
            KeyCode::Backspace => {
                text.pop();
                m.modal = Some(Modal::Input { step, what, text });
            }
            KeyCode::Char('u') if key.ctrl => {
                m.modal = Some(Modal::Input {
                    step,
                    what,
                    text: String::new(),
                })
            }
            KeyCode::Char(c) if !key.ctrl && !key.alt => {
                if text.chars().count() < 500 {
                    text.push(c);
                }
                m.modal = Some(Modal::Input { step, what, text });
            }
            _ => m.modal = Some(Modal::Input { step, what, text }),
        },
    }
}

fn submit_input(m: &mut Model, step: String, what: InputWhat, text: String, fx: &mut Vec<Effect>) {
    if text.is_empty() {
        let need = match what {
            InputWhat::SkipReason => "a skip needs a reason",
            InputWhat::Comment => "empty comment: nothing recorded",
            InputWhat::SignOffName => "a sign-off needs the reviewer's name",
        };
        return flash(m, need, true);
    }
    let by = m.driver.clone();
    match what {
        InputWhat::SkipReason => {
            let leaves = open_leaves(m, &step);
            for id in &leaves {
                record(
                    m,
                    Event::StepSkipped {
                        step: id.clone(),
                        reason: text.clone(),
                        by: by.clone(),
                    },
                    fx,
                );
            }
            act(m, format!("skipped {step}"));
            advance(m);
            after_process(m, fx);
        }
        InputWhat::Comment => {
            record(
                m,
                Event::Comment {
                    step: Some(step.clone()),
                    text,
                    by,
                },
                fx,
            );
            act(m, format!("commented on {step}"));
        }
        InputWhat::SignOffName => {
            record(
                m,
                Event::SignedOff {
                    step: step.clone(),
                    by: text.clone(),
                },
                fx,
            );
            act(m, format!("{step} signed off by {text}"));
            flash(m, &format!("`{step}` signed off by {text}"), false);
        }
    }
}

/// The step itself if it is a leaf, else its descendants that are not done yet.
fn open_leaves(m: &Model, id: &str) -> Vec<String> {
    fn walk(s: &Step, m: &Model, out: &mut Vec<String>) {
        if s.steps.is_empty() {
            if !m.run.state_of(&s.id).is_done() {
                out.push(s.id.clone());
            }
        } else {
            s.steps.iter().for_each(|c| walk(c, m, out));
        }
    }
    let mut out = Vec::new();
    if let Some(s) = m.step(id) {
        walk(s, m, &mut out);
    }
    out
}

fn on_command(m: &mut Model, cmd: Command, fx: &mut Vec<Effect>) {
    let selected = m.selected_id().map(str::to_string);
    match cmd {
        Command::MoveDown
        | Command::MoveUp
        | Command::Top
        | Command::Bottom
        | Command::PageUp
        | Command::PageDown => navigate(m, cmd, fx),
        Command::Run => {
            if let Some(id) = selected {
                start(m, &id, false, fx);
            }
        }
        Command::Retry => match selected {
            Some(id) if m.run.state_of(&id) == StepState::Pending => {
                flash(m, "not run yet — Enter runs it", false)
            }
            Some(id) => start(m, &id, false, fx),
            None => {}
        },
        Command::Skip => match selected {
            Some(id) if m.running.as_ref().is_some_and(|r| r.step == id) => {
                flash(m, "it is running — x aborts it first", true)
            }
            Some(id) if open_leaves(m, &id).is_empty() => flash(m, "already done", false),
            Some(id) => {
                m.modal = Some(Modal::Input {
                    step: id,
                    what: InputWhat::SkipReason,
                    text: String::new(),
                })
            }
            None => {}
        },
        Command::Abort => match m.running.as_mut() {
            Some(r) => {
                r.aborting = true;
                let step = r.step.clone();
                fx.push(Effect::Abort { step: step.clone() });
                act(m, format!("aborted {step}"));
                flash(
                    m,
                    "aborting: SIGINT, then SIGTERM, then SIGKILL to its process group",
                    true,
                );
            }
            None => flash(m, "nothing is running", false),
        },
        Command::Rollback => match selected {
            Some(id) if m.step(&id).is_some_and(|s| s.rollback.is_some()) => {
                m.modal = Some(Modal::Confirm {
                    step: id,
                    what: ConfirmWhat::Rollback,
                })
            }
            Some(_) => flash(m, "this step has no rollback", false),
            None => {}
        },
        Command::SignOff => {
            if let Some(id) = selected {
                m.modal = Some(Modal::Input {
                    step: id,
                    what: InputWhat::SignOffName,
                    text: String::new(),
                });
            }
        }
        Command::Comment => {
            if let Some(id) = selected {
                m.modal = Some(Modal::Input {
                    step: id,
                    what: InputWhat::Comment,
                    text: String::new(),
                });
            }
        }
        Command::FocusNext => m.focus = (m.focus + 1) % m.panes.len().max(1),
        Command::FocusPrev => m.focus = (m.focus + m.panes.len().max(1) - 1) % m.panes.len().max(1),
        Command::Focus(n) => {
            if usize::from(n) <= m.panes.len() {
                m.focus = usize::from(n) - 1;
            }
        }
        Command::Zoom => m.zoom = !m.zoom,
        Command::Filter => flash(
            m,
            "filtering applies to the logs pane, which needs a cluster",
            false,
        ),
        Command::Follow => {
            m.follow = !m.follow;
            if m.follow {
                m.output_scroll = 0;
            }
            flash(
                m,
                if m.follow {
                    "following the output"
                } else {
                    "output paused (f follows again)"
                },
                false,
            );
        }
        Command::Help => m.modal = Some(Modal::Help),
        Command::Quit => match &m.running {
            Some(r) => {
                m.modal = Some(Modal::Confirm {
                    step: r.step.clone(),
                    what: ConfirmWhat::QuitWhileRunning,
                })
            }
            None => quit(m, false, fx),
        },
    }
}

fn navigate(m: &mut Model, cmd: Command, fx: &mut Vec<Effect>) {
    let page = m.page.max(1);
    match m.focused() {
        PaneId::Output => {
            let len = m
                .output_step()
                .and_then(|s| m.outputs.get(s))
                .map_or(0, |o| o.lines.len());
            let scroll = match cmd {
                Command::MoveUp => m.output_scroll + 1,
                Command::MoveDown => m.output_scroll.saturating_sub(1),
                Command::PageUp => m.output_scroll + page,
                Command::PageDown => m.output_scroll.saturating_sub(page),
                Command::Top => len,
                _ => 0,
            };
            m.output_scroll = scroll.min(len);
            m.follow = m.output_scroll == 0;
        }
        PaneId::Details => {
            m.details_scroll = match cmd {
                Command::MoveUp => m.details_scroll.saturating_sub(1),
                Command::MoveDown => m.details_scroll.saturating_add(1),
                Command::PageUp => m.details_scroll.saturating_sub(page as u16),
                Command::PageDown => m.details_scroll.saturating_add(page as u16),
                Command::Top => 0,
                _ => u16::MAX / 2,
            }
        }
        _ => {
            let steps: Vec<usize> = (0..m.rows.len())
                .filter(|i| matches!(m.rows[*i], Row::Step { .. }))
                .collect();
            let Some(pos) = steps.iter().position(|i| *i == m.selected) else {
                return;
            };
            let target = match cmd {
                Command::MoveUp => pos.saturating_sub(1),
                Command::MoveDown => (pos + 1).min(steps.len() - 1),
                Command::PageUp => pos.saturating_sub(page),
                Command::PageDown => (pos + page).min(steps.len() - 1),
                Command::Top => 0,
                _ => steps.len() - 1,
            };
            select(m, steps[target], fx);
        }
    }
}

fn select(m: &mut Model, row: usize, fx: &mut Vec<Effect>) {
    m.selected = row;
    m.shown = None;
    m.details_scroll = 0;
    m.output_scroll = 0;
    m.follow = true;
    let Some(id) = m.selected_id().map(str::to_string) else {
        return;
    };
    // Output of an attempt from before this process started is read back from its log.
    let last = m
        .run
        .steps
        .get(&id)
        .and_then(|r| r.attempts.last())
        .map(|a| a.n);
    if let Some(attempt) = last
        && m.running.as_ref().is_none_or(|r| r.step != id)
        && m.outputs.get(&id).is_none_or(|o| o.attempt < attempt)
    {
        fx.push(Effect::LoadLog { step: id, attempt });
    }
}

/// Selects the next step that is still open after a step was settled.
fn advance(m: &mut Model) {
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

fn signed_by_other(m: &Model, id: &str) -> bool {
    let driver_user = m.driver.split('@').next().unwrap_or("");
    m.run.steps.get(id).is_some_and(|r| {
        r.signoffs
            .iter()
            .any(|s| s.by != m.driver && s.by.split('@').next() != Some(driver_user))
    })
}

fn next_attempt(m: &Model, id: &str) -> u32 {
    m.run
        .steps
        .get(id)
        .and_then(|r| r.attempts.iter().map(|a| a.n).max())
        .unwrap_or(0)
        + 1
}

/// Enter / retry: tick a manual step, run a command, or record why it cannot run.
fn start(m: &mut Model, id: &str, confirmed: bool, fx: &mut Vec<Effect>) {
    let Some(step) = m.step(id).cloned() else {
        return;
    };
    if let Some(r) = &m.running {
        return flash(
            m,
            &format!("`{}` is running — one step at a time (x aborts it)", r.step),
            true,
        );
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
            return flash(
                m,
                "needs a sign-off by someone other than the driver first (S)",
                true,
            );
        }
        StepKind::Manual => {
            record(
                m,
                Event::ManualDone {
                    step: id.to_string(),
                    by: m.driver.clone(),
                },
                fx,
            );
            act(m, format!("ticked {id}"));
            advance(m);
            return after_process(m, fx);
        }
        // Cut off when the last run died: it may have half-happened, so a person decides.
        _ if state == StepState::Interrupted && !confirmed => {
            return m.modal = Some(Modal::Confirm {
                step: id.to_string(),
                what: ConfirmWhat::Interrupted,
            });
        }
        _ if state.is_done()
            && !confirmed
            && m.modal.is_none()
            && !matches!(state, StepState::Skipped) =>
        {
            // Enter on a finished step asks first: re-running is rarely what a deployer means.
            return m.modal = Some(Modal::Confirm {
                step: id.to_string(),
                what: ConfirmWhat::Run,
            });
        }
        _ => {}
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
    let cmd = match (&step.kind, &step.wait) {
        (StepKind::Run(cmd), None) => cmd.clone(),
        _ => {
            let what = match &step.kind {
                StepKind::Action(a) => a.describe(),
                _ => step
                    .wait
                    .as_ref()
                    .map(|w| format!("wait for {}", w.describe()))
                    .unwrap_or_default(),
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
            let finished = Event::StepFinished {
                step: id.to_string(),
                attempt,
                outcome: StepOutcome::Failed,
                exit_code: None,
                signal: None,
                duration_ms: 0,
                message: Some(NO_CLUSTER.into()),
            };
            record(m, finished, fx);
            return flash(m, &format!("`{id}` {NO_CLUSTER}"), true);
        }
    };
    let what = redact(&cmd, &m.secrets).into_owned();
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
    fx.push(Effect::RunStep {
        step: id.to_string(),
        attempt,
        command: command_of(&step, cmd),
    });
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

fn start_rollback(m: &mut Model, id: &str, fx: &mut Vec<Effect>) {
    let Some(step) = m.step(id).cloned() else {
        return;
    };
    let Some(cmd) = step.rollback.clone() else {
        return;
    };
    if let Some(r) = &m.running {
        return flash(
            m,
            &format!("`{}` is running — one step at a time", r.step),
            true,
        );
    }
    let attempt = m.run.steps.get(id).map_or(0, |r| r.rollbacks.len() as u32) + 1;
    let command = redact(&cmd, &m.secrets).into_owned();
    record(
        m,
        Event::RollbackStarted {
            step: id.to_string(),
            by: m.driver.clone(),
            command,
        },
        fx,
    );
    act(m, format!("rolled back {id}"));
    m.running = Some(Running {
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
    let mut command = command_of(&step, cmd);
    command.interactive = false;
    fx.push(Effect::RunRollback {
        step: id.to_string(),
        attempt,
        command,
    });
}

fn step_done(m: &mut Model, step: String, attempt: u32, done: Finished, fx: &mut Vec<Effect>) {
    if m.running
        .as_ref()
        .is_none_or(|r| r.step != step || r.attempt != attempt || r.rollback)
    {
        return;
    }
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
            flash(
                m,
                &format!(
                    "`{step}` {} ({why}) — allowed to fail, moving on",
                    outcome.as_str()
                ),
                false,
            );
        } else {
            flash(
                m,
                &format!("`{step}` {} ({why}) — r retries, s skips", outcome.as_str()),
                true,
            );
        }
    }
    after_process(m, fx);
}

/// After a step settles: finish the run when everything is done, or complete a pending quit.
fn after_process(m: &mut Model, fx: &mut Vec<Effect>) {
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

fn quit(m: &mut Model, interrupted: bool, fx: &mut Vec<Effect>) {
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
