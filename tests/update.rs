//! The pure cockpit core: key presses and process events in, journal events and effects out.

use chrono::{DateTime, TimeZone, Utc};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::effect::Effect;
use shipdeck::core::journal::{Entry, Event, RunOutcome, StepOutcome};
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::model::{ConfirmWhat, Modal, Model, QuitState};
use shipdeck::core::msg::{Finished, Msg, SignalKind};
use shipdeck::core::run::{RunState, StepState};
use shipdeck::core::update::{NO_CLUSTER, update};
use std::sync::Arc;

const LIST: &str = r#"
name: Core test
phases:
  - name: One
    steps:
      - { id: build, title: Build, run: make }
      - { id: danger, title: Drop cache, run: "redis-cli flushall", confirm: true }
      - { id: look, title: Look at graphs, manual: true }
      - { id: qa, title: QA approved, manual: true, signoff: true }
      - { id: roll, title: Roll out, action: { restart: deployment/web } }
      - { id: last, title: Last, run: "true", rollback: "echo undo" }
"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn model_with(entries: &[Entry]) -> Model {
    let c = load_checklist(LIST, "t.yaml", &LoadOptions::default()).unwrap();
    let mut run = RunState::replay(entries);
    run.run_id = "R1".into();
    Model::new(Arc::new(c), run, "ana@box".into(), t0())
}

fn key(m: &mut Model, k: Key) -> Vec<Effect> {
    update(m, Msg::Key(k))
}

fn ch(m: &mut Model, c: char) -> Vec<Effect> {
    key(m, Key::ch(c))
}

fn enter(m: &mut Model) -> Vec<Effect> {
    key(m, Key::plain(KeyCode::Enter))
}

fn typed(m: &mut Model, text: &str) {
    for c in text.chars() {
        ch(m, c);
    }
}

fn events(fx: &[Effect]) -> Vec<Event> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(entry) => Some(entry.event.clone()),
            _ => None,
        })
        .collect()
}

fn done(outcome: StepOutcome, code: Option<i32>) -> Finished {
    Finished {
        outcome,
        exit_code: code,
        signal: None,
        duration_ms: 1200,
        message: None,
    }
}

fn select(m: &mut Model, id: &str) {
    m.selected = m
        .rows
        .iter()
        .position(|r| matches!(r, shipdeck::core::model::Row::Step { id: i, .. } if i == id))
        .unwrap();
}

#[test]
fn enter_runs_the_selected_step_and_success_moves_on() {
    let mut m = model_with(&[]);
    assert_eq!(m.selected_id(), Some("build"));
    let fx = enter(&mut m);
    assert!(
        matches!(&events(&fx)[0], Event::StepStarted { step, attempt: 1, by, .. } if step == "build" && by == "ana@box")
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::RunStep { step, attempt: 1, command } if step == "build" && command.command == "make")));
    assert_eq!(m.running.as_ref().unwrap().step, "build");
    // One step at a time.
    ch(&mut m, 'j');
    assert!(events(&enter(&mut m)).is_empty());
    assert!(
        m.flash
            .as_ref()
            .unwrap()
            .text
            .contains("one step at a time")
    );
    update(
        &mut m,
        Msg::StepLine {
            step: "build".into(),
            attempt: 1,
            line: "compiling".into(),
        },
    );
    assert_eq!(m.outputs["build"].lines, ["compiling"]);
    let fx = update(
        &mut m,
        Msg::StepDone {
            step: "build".into(),
            attempt: 1,
            done: done(StepOutcome::Succeeded, Some(0)),
        },
    );
    assert!(matches!(
        &events(&fx)[0],
        Event::StepFinished {
            outcome: StepOutcome::Succeeded,
            exit_code: Some(0),
            ..
        }
    ));
    assert!(m.running.is_none());
    assert_eq!(m.run.state_of("build"), StepState::Succeeded);
    assert_eq!(
        m.selected_id(),
        Some("danger"),
        "success moves the selection on"
    );
    assert_eq!(m.output_step(), Some("build"), "its output stays on screen");
    ch(&mut m, 'k');
    assert_eq!(
        m.output_step(),
        Some("build"),
        "moving shows the selected step again"
    );
    ch(&mut m, 'j');
    assert_eq!(m.output_step(), Some("danger"));
    assert_eq!(m.last_action.as_ref().unwrap().what, "started build");
}

#[test]
fn failure_then_retry_is_a_second_attempt() {
    let mut m = model_with(&[]);
    enter(&mut m);
    update(
        &mut m,
        Msg::StepDone {
            step: "build".into(),
            attempt: 1,
            done: done(StepOutcome::Failed, Some(2)),
        },
    );
    assert_eq!(m.run.state_of("build"), StepState::Failed);
    assert_eq!(
        m.selected_id(),
        Some("build"),
        "a failure keeps the selection"
    );
    assert!(m.flash.as_ref().unwrap().text.contains("exit 2"));
    let fx = ch(&mut m, 'r');
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::RunStep { attempt: 2, .. }))
    );
}

#[test]
fn confirm_steps_ask_and_default_to_no() {
    let mut m = model_with(&[]);
    select(&mut m, "danger");
    assert!(events(&enter(&mut m)).is_empty());
    assert_eq!(
        m.modal,
        Some(Modal::Confirm {
            step: "danger".into(),
            what: ConfirmWhat::Run
        })
    );
    assert!(events(&ch(&mut m, 'n')).is_empty());
    assert!(m.modal.is_none() && m.running.is_none());
    enter(&mut m);
    let fx = ch(&mut m, 'y');
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::RunStep { step, .. } if step == "danger"))
    );
}

#[test]
fn manual_steps_tick_and_signoff_needs_another_person() {
    let mut m = model_with(&[]);
    select(&mut m, "look");
    let ev = events(&enter(&mut m));
    assert!(matches!(&ev[0], Event::ManualDone { step, by } if step == "look" && by == "ana@box"));
    assert_eq!(m.selected_id(), Some("qa"));
    assert!(
        events(&enter(&mut m)).is_empty(),
        "no tick without a sign-off"
    );
    assert!(m.flash.as_ref().unwrap().text.contains("sign-off"));
    ch(&mut m, 'S');
    typed(&mut m, "bo@desk");
    let ev = events(&enter(&mut m));
    assert!(matches!(&ev[0], Event::SignedOff { step, by } if step == "qa" && by == "bo@desk"));
    let ev = events(&enter(&mut m));
    assert!(matches!(&ev[0], Event::ManualDone { step, .. } if step == "qa"));
}

#[test]
fn skip_needs_a_reason_and_records_it() {
    let mut m = model_with(&[]);
    ch(&mut m, 's');
    assert!(events(&enter(&mut m)).is_empty());
    assert!(m.flash.as_ref().unwrap().text.contains("needs a reason"));
    ch(&mut m, 's');
    typed(&mut m, "built by CI");
    key(&mut m, Key::plain(KeyCode::Backspace));
    let ev = events(&enter(&mut m));
    assert!(
        matches!(&ev[0], Event::StepSkipped { step, reason, .. } if step == "build" && reason == "built by C")
    );
    assert_eq!(m.run.state_of("build"), StepState::Skipped);
}

#[test]
fn actions_go_to_the_executor_and_their_result_is_journaled() {
    let mut m = model_with(&[]);
    select(&mut m, "roll");
    let fx = enter(&mut m);
    assert!(
        matches!(&events(&fx)[0], Event::StepStarted { what: Some(w), .. } if w == "restart deployment/web")
    );
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Apply { step, attempt: 1, rollback: false, .. } if step == "roll")
    ));
    assert!(m.running.is_some());
    let fx = update(
        &mut m,
        Msg::ActionDone {
            step: "roll".into(),
            attempt: 1,
            result: Err(NO_CLUSTER.into()),
        },
    );
    let ev = events(&fx);
    assert!(
        matches!(&ev[0], Event::StepFinished { outcome: StepOutcome::Failed, message: Some(msg), .. } if msg == NO_CLUSTER)
    );
    assert!(m.running.is_none());
}

#[test]
fn abort_and_quit_while_running() {
    let mut m = model_with(&[]);
    enter(&mut m);
    let fx = ch(&mut m, 'x');
    assert!(fx.contains(&Effect::Abort {
        step: "build".into()
    }));
    let fx = ch(&mut m, 'q');
    assert!(fx.is_empty());
    assert!(matches!(
        m.modal,
        Some(Modal::Confirm {
            what: ConfirmWhat::QuitWhileRunning,
            ..
        })
    ));
    let fx = ch(&mut m, 'y');
    assert!(fx.contains(&Effect::Abort {
        step: "build".into()
    }));
    assert_eq!(m.quit, Some(QuitState::AfterAbort { interrupted: false }));
    let fx = update(
        &mut m,
        Msg::StepDone {
            step: "build".into(),
            attempt: 1,
            done: done(StepOutcome::Aborted, None),
        },
    );
    assert!(matches!(
        &events(&fx)[0],
        Event::StepFinished {
            outcome: StepOutcome::Aborted,
            ..
        }
    ));
    assert!(fx.contains(&Effect::Quit { code: 1 }));
}

#[test]
fn sigterm_interrupts_the_running_step_and_exits_3() {
    let mut m = model_with(&[]);
    enter(&mut m);
    let fx = update(&mut m, Msg::Signal(SignalKind::Terminate));
    assert!(fx.contains(&Effect::Abort {
        step: "build".into()
    }));
    let fx = update(
        &mut m,
        Msg::StepDone {
            step: "build".into(),
            attempt: 1,
            done: done(StepOutcome::Aborted, None),
        },
    );
    let ev = events(&fx);
    assert!(matches!(
        &ev[0],
        Event::StepFinished {
            outcome: StepOutcome::Interrupted,
            ..
        }
    ));
    assert!(matches!(
        &ev[1],
        Event::RunFinished {
            outcome: RunOutcome::Interrupted,
            ..
        }
    ));
    assert!(fx.contains(&Effect::Quit { code: 3 }));
}

#[test]
fn quit_when_idle_and_finishing_the_run() {
    let mut m = model_with(&[]);
    let fx = ch(&mut m, 'q');
    assert_eq!(
        fx,
        vec![Effect::Quit { code: 1 }],
        "unfinished run: exit 1, nothing recorded"
    );
    let entries: Vec<Entry> = ["build", "danger", "look", "roll"]
        .iter()
        .map(|s| {
            Entry::new(
                t0(),
                Event::StepSkipped {
                    step: s.to_string(),
                    reason: "n/a".into(),
                    by: "ana@box".into(),
                },
            )
        })
        .chain([
            Entry::new(
                t0(),
                Event::SignedOff {
                    step: "qa".into(),
                    by: "bo@desk".into(),
                },
            ),
            Entry::new(
                t0(),
                Event::ManualDone {
                    step: "qa".into(),
                    by: "ana@box".into(),
                },
            ),
        ])
        .collect();
    let mut m = model_with(&entries);
    assert_eq!(
        m.selected_id(),
        Some("last"),
        "opens on the first open step"
    );
    enter(&mut m);
    let fx = update(
        &mut m,
        Msg::StepDone {
            step: "last".into(),
            attempt: 1,
            done: done(StepOutcome::Succeeded, Some(0)),
        },
    );
    assert!(matches!(
        events(&fx).last(),
        Some(Event::RunFinished {
            outcome: RunOutcome::Succeeded,
            ..
        })
    ));
    assert_eq!(ch(&mut m, 'q'), vec![Effect::Quit { code: 0 }]);
}

#[test]
fn interrupted_steps_ask_to_rerun_or_mark_done() {
    let entries = vec![
        Entry::new(
            t0(),
            Event::StepStarted {
                step: "build".into(),
                attempt: 1,
                by: "ana@box".into(),
                what: None,
            },
        ),
        Entry::new(
            t0(),
            Event::StepInterrupted {
                step: "build".into(),
                attempt: 1,
            },
        ),
    ];
    let mut m = model_with(&entries);
    assert_eq!(m.run.state_of("build"), StepState::Interrupted);
    enter(&mut m);
    assert!(matches!(
        m.modal,
        Some(Modal::Confirm {
            what: ConfirmWhat::Interrupted,
            ..
        })
    ));
    let ev = events(&ch(&mut m, 'd'));
    assert!(matches!(&ev[0], Event::ManualDone { step, .. } if step == "build"));
    let mut m = model_with(&entries);
    enter(&mut m);
    let fx = ch(&mut m, 'r');
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::RunStep { attempt: 2, .. }))
    );
}

#[test]
fn rollback_asks_then_runs_and_is_journaled() {
    let mut m = model_with(&[]);
    select(&mut m, "last");
    ch(&mut m, 'u');
    assert!(matches!(
        m.modal,
        Some(Modal::Confirm {
            what: ConfirmWhat::Rollback,
            ..
        })
    ));
    let fx = ch(&mut m, 'y');
    assert!(
        matches!(&events(&fx)[0], Event::RollbackStarted { step, command, .. } if step == "last" && command == "echo undo")
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::RunRollback { step, .. } if step == "last"))
    );
    let fx = update(
        &mut m,
        Msg::RollbackDone {
            step: "last".into(),
            done: done(StepOutcome::Succeeded, Some(0)),
        },
    );
    assert!(matches!(
        &events(&fx)[0],
        Event::RollbackFinished {
            outcome: StepOutcome::Succeeded,
            ..
        }
    ));
    assert!(m.run.rolled_back);
    select(&mut m, "build");
    ch(&mut m, 'u');
    assert!(m.modal.is_none() && m.flash.as_ref().unwrap().text.contains("no rollback"));
}

#[test]
fn focus_zoom_help_and_scrolling() {
    let mut m = model_with(&[]);
    m.panes = vec![
        shipdeck::config::layout::PaneId::Checklist,
        shipdeck::config::layout::PaneId::Output,
        shipdeck::config::layout::PaneId::Details,
    ];
    key(&mut m, Key::plain(KeyCode::Tab));
    assert_eq!(m.focus, 1);
    key(&mut m, Key::plain(KeyCode::BackTab));
    key(&mut m, Key::plain(KeyCode::BackTab));
    assert_eq!(m.focus, 2);
    ch(&mut m, '2');
    assert_eq!(m.focus, 1);
    ch(&mut m, '9');
    assert_eq!(m.focus, 1, "no pane 9: focus stays");
    ch(&mut m, 'z');
    assert!(m.zoom);
    ch(&mut m, '?');
    assert_eq!(m.modal, Some(Modal::Help));
    ch(&mut m, 'q');
    assert!(
        m.modal.is_none() && m.quit.is_none(),
        "q closes help, does not quit"
    );
    // Output pane: k scrolls up and pauses following; G follows again.
    for i in 0..50 {
        m.outputs
            .entry("build".into())
            .or_default()
            .push(format!("line {i}"));
    }
    ch(&mut m, 'k');
    assert_eq!((m.output_scroll, m.follow), (1, false));
    ch(&mut m, 'G');
    assert_eq!((m.output_scroll, m.follow), (0, true));
}

#[test]
fn idle_ticks_redraw_only_when_the_second_changes() {
    let mut m = model_with(&[]);
    m.dirty = false;
    let version = m.version;
    update(
        &mut m,
        Msg::Tick(t0() + chrono::Duration::milliseconds(400)),
    );
    assert!(!m.dirty && !m.lazy_dirty);
    assert_eq!(m.version, version, "nothing on screen changed");
    update(
        &mut m,
        Msg::Tick(t0() + chrono::Duration::milliseconds(1100)),
    );
    // The clock is background news: redrawn with the next lazy frame, not at once.
    assert!(m.lazy_dirty && !m.dirty);
    assert!(m.version > version);
}

#[test]
fn a_step_allowed_to_fail_moves_on() {
    let text = "name: L\nphases:\n  - name: P\n    steps:\n      - { id: lint, title: Lint, run: lint, continue_on_error: true }\n      - { id: ship, title: Ship, run: ship }\n";
    let c = load_checklist(text, "l.yaml", &LoadOptions::default()).unwrap();
    let mut m = Model::new(Arc::new(c), RunState::default(), "ana@box".into(), t0());
    enter(&mut m);
    update(
        &mut m,
        Msg::StepDone {
            step: "lint".into(),
            attempt: 1,
            done: done(StepOutcome::Failed, Some(1)),
        },
    );
    assert_eq!(m.run.state_of("lint"), StepState::Failed);
    assert_eq!(m.selected_id(), Some("ship"));
    let f = m.flash.as_ref().unwrap();
    assert!(!f.error && f.text.contains("allowed to fail"), "{}", f.text);
    enter(&mut m);
    let fx = update(
        &mut m,
        Msg::StepDone {
            step: "ship".into(),
            attempt: 1,
            done: done(StepOutcome::Succeeded, Some(0)),
        },
    );
    assert!(
        matches!(
            events(&fx).last(),
            Some(Event::RunFinished {
                outcome: RunOutcome::Succeeded,
                ..
            })
        ),
        "a tolerated failure still lets the run succeed"
    );
}

#[test]
fn enter_on_the_probes_pane_shows_the_last_failure() {
    let mut m = model_with(&[]);
    m.panes = vec![
        shipdeck::config::layout::PaneId::Checklist,
        shipdeck::config::layout::PaneId::Probes,
    ];
    ch(&mut m, '2');
    let fx = enter(&mut m);
    assert!(
        m.probe_detail && fx.is_empty() && m.running.is_none(),
        "Enter on probes does not run a step"
    );
    enter(&mut m);
    assert!(!m.probe_detail);
}

#[test]
fn a_red_probe_closes_the_gate_and_a_probe_wait_needs_green_for_its_time() {
    use shipdeck::core::probes::{FailureKind, Sample};
    let text = r#"
name: G
probes:
  - { name: web, url: "http://127.0.0.1:9/health", every: 1s, slo: { window: 30s, error_rate: 1% } }
phases:
  - name: P
    steps:
      - { id: ship, title: Ship, run: ship, gate: { probes: [web] } }
      - { id: calm, title: Calm, wait: { probe: web, healthy_for: 10s, timeout: 1m } }
"#;
    let c = load_checklist(text, "g.yaml", &LoadOptions::default()).unwrap();
    let mut m = Model::new(Arc::new(c), RunState::default(), "ana@box".into(), t0());
    let sample = |s: i64, ok: bool| Sample {
        probe: "web".into(),
        at: t0() + chrono::Duration::seconds(s),
        latency_ms: 20,
        status: Some(if ok { 200 } else { 500 }),
        failure: (!ok).then(|| (FailureKind::BadStatus(500), "status 500".to_string())),
        cert_days: None,
    };
    for s in 0..4 {
        update(&mut m, Msg::Tick(t0() + chrono::Duration::seconds(s)));
        update(&mut m, Msg::Probe(sample(s, false)));
    }
    assert_eq!(m.probes.health("web"), shipdeck::core::probes::Health::Red);
    assert!(events(&enter(&mut m)).is_empty(), "the gate refuses");
    assert!(
        m.flash
            .as_ref()
            .unwrap()
            .text
            .contains("gate: probe web is red"),
        "{:?}",
        m.flash
    );
    // Green again; the wait counts green time from its own start.
    select(&mut m, "calm");
    for s in 4..8 {
        update(&mut m, Msg::Tick(t0() + chrono::Duration::seconds(s)));
        update(&mut m, Msg::Probe(sample(s, true)));
    }
    let fx = enter(&mut m);
    assert!(matches!(&events(&fx)[0], Event::StepStarted { step, .. } if step == "calm"));
    // The four errors stay in the 30 s window until 34 s: green from then, satisfied 10 s later.
    let mut finished = None;
    for s in 8..60 {
        let now = t0() + chrono::Duration::seconds(s);
        let mut fx = update(&mut m, Msg::Tick(now));
        fx.extend(update(&mut m, Msg::Probe(sample(s, true))));
        if events(&fx)
            .iter()
            .any(|e| matches!(e, Event::WaitSatisfied { .. }))
        {
            finished = Some(s);
            break;
        }
    }
    let at = finished.expect("the probe wait is satisfied");
    assert!(
        (43..=46).contains(&at),
        "green from 34 s, then 10 s more: got {at}"
    );
    assert_eq!(m.run.state_of("calm"), StepState::Succeeded);
}

fn at(s: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(s)
}

#[test]
fn a_watcher_signs_off_and_comments_but_never_runs_or_records_the_drivers_events() {
    let started = Entry::new(
        at(0),
        Event::StepStarted {
            step: "build".into(),
            attempt: 1,
            by: "ana@box".into(),
            what: None,
        },
    );
    let mut m = model_with(&[started]);
    m.driver = "bo@desk".into();
    shipdeck::core::follow::become_watcher(&mut m);
    assert_eq!(m.running.as_ref().map(|r| r.step.as_str()), Some("build"));
    // Run, retry, skip, abort, rollback: refused, nothing to the executor.
    for c in ['\n', 'r', 's', 'x', 'u'] {
        let fx = if c == '\n' {
            enter(&mut m)
        } else {
            ch(&mut m, c)
        };
        assert!(fx.is_empty(), "{c:?} gave {fx:?}");
        assert!(m.modal.is_none());
        assert!(
            m.flash.as_ref().unwrap().text.contains("only the driver"),
            "{:?}",
            m.flash
        );
    }
    // The driver's step ends (from the journal): the watcher follows, records nothing itself.
    let finished = Entry::new(
        at(2),
        Event::StepFinished {
            step: "build".into(),
            attempt: 1,
            outcome: StepOutcome::Succeeded,
            exit_code: Some(0),
            signal: None,
            duration_ms: 2000,
            message: None,
        },
    );
    let fx = update(&mut m, Msg::Journal(vec![finished]));
    assert!(fx.is_empty());
    assert_eq!(m.run.state_of("build"), StepState::Succeeded);
    assert!(m.running.is_none());
    // Whatever else the core would record (a tick of a manual step here) a watcher drops:
    // only the driver writes the run's events.
    let fx = update(
        &mut m,
        Msg::MarkDone {
            step: "look".into(),
            by: "bo@desk".into(),
        },
    );
    assert!(events(&fx).is_empty(), "{fx:?}");
    assert_eq!(m.run.state_of("look"), StepState::Pending);
    // S names the step and asks; y signs off as the watcher's own user@host; c comments.
    select(&mut m, "qa");
    assert!(events(&ch(&mut m, 'S')).is_empty());
    assert!(matches!(
        &m.modal,
        Some(Modal::Confirm { step, what: ConfirmWhat::SignOff }) if step == "qa"
    ));
    let ev = events(&ch(&mut m, 'y'));
    assert_eq!(
        ev,
        vec![Event::SignedOff {
            step: "qa".into(),
            by: "bo@desk".into()
        }]
    );
    ch(&mut m, 'c');
    typed(&mut m, "ok");
    let ev = events(&enter(&mut m));
    assert!(
        matches!(&ev[..], [Event::Comment { text, by, .. }] if text == "ok" && by == "bo@desk")
    );
    // q leaves at once, exit 0, with nothing recorded.
    let fx = ch(&mut m, 'q');
    assert_eq!(fx, vec![Effect::Quit { code: 0 }]);
}

#[test]
fn a_sign_off_from_the_journal_unblocks_the_drivers_gate() {
    let mut m = model_with(&[]);
    select(&mut m, "qa");
    assert!(
        events(&enter(&mut m)).is_empty(),
        "blocked before the sign-off"
    );
    let signed = Entry::new(
        at(5),
        Event::SignedOff {
            step: "qa".into(),
            by: "bo@desk".into(),
        },
    );
    assert!(update(&mut m, Msg::Journal(vec![signed])).is_empty());
    let last = m.last_action.clone().unwrap();
    assert_eq!(last.by, "bo@desk");
    assert!(
        m.flash
            .as_ref()
            .unwrap()
            .text
            .contains("signed off by bo@desk")
    );
    let ev = events(&enter(&mut m));
    assert!(
        matches!(&ev[..], [Event::ManualDone { step, .. }] if step == "qa"),
        "{ev:?}"
    );
}

#[test]
fn a_watcher_shows_the_drivers_rollback_while_it_runs() {
    let mut m = model_with(&[]);
    shipdeck::core::follow::become_watcher(&mut m);
    let started = Entry::new(
        at(1),
        Event::RollbackStarted {
            step: "last".into(),
            by: "ana@box".into(),
            command: "echo undo".into(),
        },
    );
    update(&mut m, Msg::Journal(vec![started]));
    let r = m.running.clone().expect("the rollback runs");
    assert!(r.rollback && r.step == "last" && r.attempt == 1, "{r:?}");
    let finished = Entry::new(
        at(2),
        Event::RollbackFinished {
            step: "last".into(),
            outcome: StepOutcome::Succeeded,
            exit_code: Some(0),
            duration_ms: 1000,
        },
    );
    update(&mut m, Msg::Journal(vec![finished]));
    assert!(m.running.is_none());
}

#[test]
fn new_log_lines_ask_for_a_slower_redraw_than_other_changes() {
    let mut m = model_with(&[]);
    m.dirty = false;
    let line = shipdeck::core::msg::LogLine {
        pod: "web-1".into(),
        ts: t0(),
        text: "GET /health 200".into(),
    };
    assert!(update(&mut m, Msg::Logs(vec![line])).is_empty());
    assert!(m.lazy_dirty && !m.dirty);
    assert_eq!(m.logs.visible().count(), 1);
}

/// A log follower that reattaches says `Attached` again: the same state changes nothing drawn
/// (no frame, no version), while a real change still does.
#[test]
fn an_unchanged_log_stream_state_changes_nothing() {
    use shipdeck::core::msg::LogStreamState;
    let mut m = model_with(&[]);
    let state = |s: LogStreamState| Msg::LogStream {
        pod: "web-1".into(),
        state: s,
    };
    update(&mut m, state(LogStreamState::Attached));
    (m.dirty, m.lazy_dirty) = (false, false);
    let v = m.version;
    update(&mut m, state(LogStreamState::Attached));
    assert_eq!((m.dirty, m.lazy_dirty, m.version), (false, false, v));
    update(&mut m, state(LogStreamState::Retrying("refused".into())));
    assert!(m.dirty && m.version > v);
}

#[test]
fn a_whole_pod_listing_is_drawn_at_once_and_single_pods_with_the_next_lazy_frame() {
    use shipdeck::core::kube::PodView;
    use shipdeck::core::msg::KubeMsg;
    let pod = |name: &str| PodView {
        name: name.into(),
        ..Default::default()
    };
    let mut m = model_with(&[]);
    m.dirty = false;
    update(&mut m, Msg::Kube(KubeMsg::Pod(pod("web-1"))));
    assert!(m.lazy_dirty && !m.dirty, "one pod is background news");
    m.lazy_dirty = false;
    update(
        &mut m,
        Msg::Kube(KubeMsg::PodsRelisted(vec![pod("web-1"), pod("web-2")])),
    );
    assert!(m.dirty, "the listing is drawn at once");
    assert_eq!(m.kube.pods.len(), 2);
    m.dirty = false;
    update(&mut m, Msg::Kube(KubeMsg::Unavailable("no route".into())));
    assert!(m.dirty, "so is the connection's state");
}
