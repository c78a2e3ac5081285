//! Events from other processes sharing the run's journal: a watcher's sign-offs and comments in
//! the driver's cockpit, and the whole run as recorded by the driver in `shipdeck watch`.

use super::effect::Effect;
use super::journal::{Entry, Event};
use super::model::*;
use super::run::StepState;
use super::update::{act, flash, record};
use crate::config::checklist::StepKind;

/// What a watcher is told when it presses a key that only the driver may use.
pub const WATCH_ONLY: &str = "watching: only the driver runs steps — S signs off, c comments";

/// Applies events another process appended, and tells who did what.
pub(super) fn on_journal(m: &mut Model, entries: Vec<Entry>) {
    for entry in entries {
        // The driver holds the run's lock: others only sign off and comment.
        if m.role == Role::Driver && !watcher_may_record(&entry.event) {
            continue;
        }
        m.run.apply(&entry);
        match &entry.event {
            Event::SignedOff { step, by } => {
                let what = format!("{step} signed off by {by}");
                m.last_action = Some(LastAction {
                    what: what.clone(),
                    by: by.clone(),
                    at: entry.ts,
                });
                flash(m, &format!("✍ {what}"), false);
            }
            Event::Comment { step, text, by } => {
                let on = step.as_deref().unwrap_or("the run");
                m.last_action = Some(LastAction {
                    what: format!("commented on {on}"),
                    by: by.clone(),
                    at: entry.ts,
                });
                flash(m, &format!("{by} on {on}: {text}"), false);
            }
            Event::StepStarted { step, by, .. } if m.role == Role::Watcher => {
                m.last_action = Some(LastAction {
                    what: format!("started {step}"),
                    by: by.clone(),
                    at: entry.ts,
                });
                if let Some(row) = row_of(m, step) {
                    m.selected = row;
                    m.shown = None;
                    m.output_scroll = 0;
                    m.follow = true;
                }
            }
            Event::StepFinished { step, .. } if m.role == Role::Watcher => {
                m.shown = Some(step.clone());
                follow_selection(m, step);
            }
            Event::StepSkipped { step, by, .. } | Event::ManualDone { step, by }
                if m.role == Role::Watcher =>
            {
                let what = if matches!(entry.event, Event::StepSkipped { .. }) {
                    "skipped"
                } else {
                    "ticked"
                };
                m.last_action = Some(LastAction {
                    what: format!("{what} {step}"),
                    by: by.clone(),
                    at: entry.ts,
                });
                follow_selection(m, step);
            }
            _ => {}
        }
    }
    if m.role == Role::Watcher {
        sync_running(m);
    }
    m.dirty = true;
}

/// A watcher's selection moves on with the driver's: when the selected step is settled, to
/// the next open one (as the driver's cockpit does).
fn follow_selection(m: &mut Model, step: &str) {
    if m.selected_id() == Some(step) && m.run.state_of(step).is_done() {
        super::steps::advance(m);
    }
}

fn row_of(m: &Model, id: &str) -> Option<usize> {
    m.rows
        .iter()
        .position(|r| matches!(r, Row::Step { id: s, .. } if s == id))
}

/// The run's driver came or went (a watcher checks the lock about once a second).
pub(super) fn on_driver(m: &mut Model, by: Option<String>) {
    if by == m.driven_by {
        return;
    }
    let text = match (&by, &m.driven_by) {
        (Some(new), _) => format!("{new} drives the run now"),
        (None, Some(old)) if m.run.finished.is_some() => format!("{old} closed the run"),
        (None, Some(old)) => format!(
            "{old} stopped driving: nobody drives the run now (it can be resumed with --resume)"
        ),
        (None, None) => String::new(),
    };
    m.driven_by = by;
    if !text.is_empty() {
        flash(m, &text, m.driven_by.is_none() && m.run.finished.is_none());
    }
}

/// Turns a model built from a replayed journal into a watcher's: read-only, with the running
/// step (if any) selected and followed.
pub fn become_watcher(m: &mut Model) {
    m.role = Role::Watcher;
    sync_running(m);
    if let Some(row) = m.running.as_ref().and_then(|r| row_of(m, &r.step)) {
        m.selected = row;
    }
    m.dirty = true;
}

/// A watcher's idea of the running step comes from the journal alone: a step's attempt, or
/// a step's rollback.
pub(super) fn sync_running(m: &mut Model) {
    let rollback = m.run.steps.iter().find_map(|(id, rec)| {
        let mark = rec.rollbacks.last().filter(|_| rec.rollback_open)?;
        let action = matches!(
            m.step(id).and_then(|s| s.rollback.as_ref()),
            Some(crate::config::checklist::Rollback::Action(_))
        );
        Some(Running {
            phase: if action {
                Phase::Action
            } else {
                Phase::Command
            },
            exit_code: None,
            wait_started: None,
            step: id.clone(),
            attempt: rec.rollbacks.len() as u32,
            since: mark.at,
            pgid: None,
            aborting: false,
            rollback: true,
        })
    });
    let running = rollback.or_else(|| {
        m.run.steps.iter().find_map(|(id, rec)| {
            if rec.state != StepState::Running {
                return None;
            }
            let a = rec.attempts.last()?;
            let waiting = !rec.waits.iter().any(|w| w.at >= a.started)
                && match m.step(id).map(|s| &s.kind) {
                    Some(StepKind::Action(_)) => rec.actions.iter().any(|x| x.at >= a.started),
                    Some(StepKind::Run(_)) => false,
                    _ => true,
                };
            let phase = match m.step(id).map(|s| &s.kind) {
                _ if waiting => Phase::Waiting,
                Some(StepKind::Action(_)) => Phase::Action,
                _ => Phase::Command,
            };
            Some(Running {
                phase,
                exit_code: None,
                wait_started: None,
                step: id.clone(),
                attempt: a.n,
                since: a.started,
                pgid: a.pgid,
                aborting: false,
                rollback: false,
            })
        })
    });
    m.running = running;
}

/// Keys in a watcher: sign-offs and comments are its own; steps are the driver's.
/// Returns true when the command was handled here.
pub(super) fn watcher_command(
    m: &mut Model,
    cmd: crate::config::keymap::Command,
    fx: &mut Vec<Effect>,
) -> bool {
    use crate::config::keymap::Command as C;
    if m.role != Role::Watcher {
        return false;
    }
    match cmd {
        C::Run if m.focused() == crate::config::layout::PaneId::Probes => return false,
        C::Run | C::Retry | C::Skip | C::Abort | C::Rollback => flash(m, WATCH_ONLY, true),
        C::SignOff => {
            if let Some(id) = m.selected_id().map(str::to_string) {
                m.modal = Some(Modal::Confirm {
                    step: id,
                    what: ConfirmWhat::SignOff,
                });
            }
        }
        C::Quit => {
            m.quit = Some(QuitState::Now { interrupted: false });
            fx.push(Effect::Quit { code: 0 });
        }
        _ => return false,
    }
    true
}

/// A watcher's confirmed sign-off of `id`, as its own user@host.
pub(super) fn sign_off(m: &mut Model, id: &str, fx: &mut Vec<Effect>) {
    let by = m.driver.clone();
    record(
        m,
        Event::SignedOff {
            step: id.to_string(),
            by: by.clone(),
        },
        fx,
    );
    act(m, format!("{id} signed off by {by}"));
    flash(m, &format!("✍ `{id}` signed off by {by}"), false);
}

/// Whether a watcher may append this event: only its own sign-offs and comments; everything
/// else about the run is the driver's to record.
pub(super) fn watcher_may_record(event: &Event) -> bool {
    matches!(event, Event::SignedOff { .. } | Event::Comment { .. })
}
