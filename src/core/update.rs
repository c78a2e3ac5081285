//! `update(&mut Model, Msg) -> Vec<Effect>`: every transition of the cockpit, pure and deterministic.

use super::effect::Effect;
use super::journal::{Entry, Event};
use super::keys::{Key, KeyCode};
use super::model::*;
use super::msg::{Msg, SignalKind};
use super::run::StepState;
use super::steps::*;
use crate::config::checklist::Step;
use crate::config::keymap::Command;
use crate::config::layout::PaneId;

pub const NO_CLUSTER: &str = "needs a cluster connection (not available yet)";

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    // `version` changes with everything a frame shows except the log lines and the time within
    // the second: a frame where only log lines came can redraw the log pane alone.
    match msg {
        Msg::Logs(_) => transition(m, msg),
        // A stream state that did not change (a follower reattached) changes nothing drawn.
        Msg::LogStream { ref pod, ref state }
            if m.logs.pods.get(pod).is_some_and(|p| &p.state == state) =>
        {
            Vec::new()
        }
        Msg::Tick(_) => {
            let was = (m.dirty, m.lazy_dirty);
            (m.dirty, m.lazy_dirty) = (false, false);
            let fx = transition(m, msg);
            if m.dirty || m.lazy_dirty {
                m.version += 1;
            }
            m.dirty |= was.0;
            m.lazy_dirty |= was.1;
            fx
        }
        _ => {
            m.version += 1;
            transition(m, msg)
        }
    }
}

fn transition(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Tick(now) => {
            if now.timestamp() != m.now.timestamp() {
                m.lazy_dirty = true;
            }
            m.now = now;
            if m.flash.as_ref().is_some_and(|f| f.until <= now) {
                m.flash = None;
                m.dirty = true;
            }
            super::probe_update::on_tick(m, &mut fx);
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
                    m.lazy_dirty = true;
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
            let message = done.message.clone();
            rollback_done(m, step, done.outcome, done.exit_code, message, &mut fx)
        }
        Msg::ActionDone {
            step,
            attempt,
            result,
        } => action_done(m, step, attempt, result, &mut fx),
        Msg::RollbackActionDone { step, result } => rollback_action_done(m, step, result, &mut fx),
        Msg::WaitDone {
            step,
            attempt,
            result,
        } => wait_done(m, step, attempt, result, &mut fx),
        Msg::Start { step } => start(m, &step, true, &mut fx),
        Msg::Abort => on_command(m, Command::Abort, &mut fx),
        Msg::MarkDone { step, by } => {
            record(
                m,
                Event::ManualDone {
                    step: step.clone(),
                    by,
                },
                &mut fx,
            );
            act(m, format!("marked {step} done"));
            after_process(m, &mut fx);
        }
        Msg::Rollback { step } => start_rollback(m, &step, &mut fx),
        Msg::EndRun { outcome } => {
            let last = m.probes.flush_minutes();
            super::probe_update::apply(m, last, &mut fx);
            if m.run.finished.is_none() {
                let duration_ms = m.run.duration_ms(m.now).unwrap_or(0);
                record(
                    m,
                    Event::RunFinished {
                        outcome,
                        duration_ms,
                    },
                    &mut fx,
                );
            }
            let code = if outcome == super::journal::RunOutcome::Succeeded {
                0
            } else {
                1
            };
            fx.push(Effect::Quit { code });
        }
        Msg::Probe(sample) => super::probe_update::on_sample(m, sample, &mut fx),
        Msg::Kube(k) => {
            super::kube_update::on_kube(m, k);
        }
        Msg::Logs(batch) => {
            m.logs.push_batch(batch);
            m.lazy_dirty = true;
        }
        Msg::LogStream { pod, state } => {
            m.logs.set_state(&pod, state);
            m.dirty = true;
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
        Msg::Journal(entries) => super::follow::on_journal(m, entries),
        Msg::Driver(by) => super::follow::on_driver(m, by),
        Msg::History(stats) => {
            m.history = stats;
            m.dirty = true;
        }
        Msg::Signal(_) if m.role == Role::Watcher => {
            m.quit = Some(QuitState::Now { interrupted: true });
            fx.push(Effect::Quit { code: 0 });
        }
        Msg::JournalFailed(e) if m.role == Role::Watcher => {
            flash(m, &format!("cannot append to the journal: {e}"), true);
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
pub(super) fn record(m: &mut Model, mut event: Event, fx: &mut Vec<Effect>) {
    if m.role == Role::Watcher && !super::follow::watcher_may_record(&event) {
        return;
    }
    // Free text typed by a person may paste a secret.
    if let Event::Comment { text, .. } = &mut event {
        *text = super::redact::redact(text, &m.secrets).into_owned();
    }
    let entry = Entry::new(m.now, event);
    m.run.apply(&entry);
    fx.push(Effect::Journal(entry));
    m.dirty = true;
}

pub(super) fn flash(m: &mut Model, text: &str, error: bool) {
    m.flash = Some(Flash {
        text: text.to_string(),
        error,
        until: m.now + chrono::Duration::seconds(if error { 8 } else { 4 }),
    });
    m.dirty = true;
}

pub(super) fn act(m: &mut Model, what: String) {
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
                ConfirmWhat::SignOff => super::follow::sign_off(m, &step, fx),
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
    if what == InputWhat::LogFilter {
        // An empty filter clears it: every line shows again.
        m.logs.filter = text;
        m.logs.scroll = 0;
        return;
    }
    if text.is_empty() {
        let need = match what {
            InputWhat::SkipReason => "a skip needs a reason",
            InputWhat::Comment => "empty comment: nothing recorded",
            InputWhat::SignOffName => "a sign-off needs the reviewer's name",
            InputWhat::LogFilter => "",
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
        InputWhat::LogFilter => {}
    }
}

/// The step itself if it is a leaf, else its descendants that are not done yet.
pub(super) fn open_leaves(m: &Model, id: &str) -> Vec<String> {
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
    if super::follow::watcher_command(m, cmd, fx) {
        return;
    }
    let selected = m.selected_id().map(str::to_string);
    match cmd {
        Command::MoveDown
        | Command::MoveUp
        | Command::Top
        | Command::Bottom
        | Command::PageUp
        | Command::PageDown => navigate(m, cmd, fx),
        // Enter on the probes pane shows (or hides) the details of the last failure.
        Command::Run if m.focused() == PaneId::Probes => m.probe_detail = !m.probe_detail,
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
            // A probe wait is judged here in the core: abort ends it at once.
            Some(r)
                if r.phase == Phase::Waiting
                    && !r.rollback
                    && probe_wait(m.checklist.step(&r.step)) =>
            {
                r.aborting = true;
                let (step, attempt) = (r.step.clone(), r.attempt);
                act(m, format!("aborted {step}"));
                let result = super::msg::WaitResult::Failed {
                    detail: "aborted".into(),
                    duration_ms: 0,
                };
                wait_done(m, step, attempt, result, fx);
            }
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
        Command::Filter if m.focused() == PaneId::Logs => {
            let text = m.logs.filter.clone();
            m.modal = Some(Modal::Input {
                step: String::new(),
                what: InputWhat::LogFilter,
                text,
            });
        }
        Command::Filter => flash(
            m,
            "/ filters the logs pane: focus it first (Tab or its number)",
            false,
        ),
        Command::Follow if m.focused() == PaneId::Logs => {
            m.logs.follow = !m.logs.follow;
            if m.logs.follow {
                m.logs.scroll = 0;
            }
            let text = if m.logs.follow {
                "following the logs"
            } else {
                "logs paused (f follows again)"
            };
            flash(m, text, false);
        }
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
        PaneId::Logs => {
            let len = m.logs.visible().count();
            let scroll = match cmd {
                Command::MoveUp => m.logs.scroll + 1,
                Command::MoveDown => m.logs.scroll.saturating_sub(1),
                Command::PageUp => m.logs.scroll + page,
                Command::PageDown => m.logs.scroll.saturating_sub(page),
                Command::Top => len,
                _ => 0,
            };
            m.logs.scroll = scroll.min(len);
            m.logs.follow = m.logs.scroll == 0;
        }
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

fn probe_wait(step: Option<&Step>) -> bool {
    step.and_then(|s| s.wait.as_ref())
        .is_some_and(|w| matches!(w.kind, crate::config::checklist::WaitKind::Probe { .. }))
}
