//! Render snapshots and checks of the timeline pane: a planned track and an actual bar per leaf
//! step on one time axis, the journal's milestones on the step rows and on a run-level row, the
//! legend of the newest ones, and the plan alone before anything ran. Times are fixed and shown
//! in UTC (`clock::force_utc`).

mod common;

use chrono::{DateTime, Utc};
use common::{RunStart, draw, row, step_finished, step_started, text};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::{Frame, Terminal};
use shipdeck::config::layout::PaneId;
use shipdeck::core::history::StepStats;
use shipdeck::core::journal::{Entry, Event, StepOutcome};
use shipdeck::core::model::{Model, Phase, Running};
use shipdeck::ui::Theme;
use shipdeck::ui::panes::{self, Ctx};

const LIST: &str = r#"
name: Web release 2.0
cluster:
  context: prod
  namespace: shop
  watch: [deployment/web]
probes:
  - { name: web, url: "https://shop.example.com/health", every: 2s }
phases:
  - name: Prepare
    steps:
      - { id: tests, title: All unit tests pass, run: cargo test, estimate: 40s }
      - { id: backup, title: Database backup, run: ./backup.sh, estimate: 20s }
      - { id: qa, title: QA sign-off received, manual: true, signoff: true }
  - name: Deploy
    steps:
      - id: rollout
        title: Roll out web 2.0
        action: { set_image: deployment/web, container: web, image: "registry/web:2.0" }
        wait: { rollout: deployment/web, timeout: 5m }
        estimate: 1m
      - { id: watch, title: Watch the error rate for two minutes, run: ./watch.sh, estimate: 2m }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
      - { id: announce, title: Announce the release, manual: true, estimate: 30s }
"#;

/// `s` seconds (to the millisecond) after 12:00:00.
fn at(s: f64) -> DateTime<Utc> {
    common::at_ms((s * 1000.0) as i64)
}

fn entry(s: f64, event: Event) -> Entry {
    Entry::new(at(s), event)
}

const START: RunStart = RunStart {
    run: "20261121T120000Z-7e1b",
    name: "Web release 2.0",
    path: "web.yaml",
    mode: "cockpit",
    cluster: Some(("prod", "shop")),
};

fn started(step: &str, s: f64) -> Entry {
    step_started(step, 1, at(s))
}

fn finished(step: &str, from: f64, to: f64) -> Entry {
    let ms = ((to - from) * 1000.0) as u64;
    step_finished(step, 1, StepOutcome::Succeeded, Some(0), at(to), ms)
}

fn probe(s: f64, from: &str, to: &str) -> Entry {
    entry(
        s,
        Event::ProbeStateChanged {
            probe: "web".into(),
            from: from.into(),
            to: to.into(),
            detail: String::new(),
        },
    )
}

/// `rollout` set the web image to 2.0 (revision 3 to 4).
fn image_set(s: f64) -> Entry {
    entry(
        s,
        Event::ActionApplied {
            step: "rollout".into(),
            action: "set_image deployment/web web=registry/web:2.0".into(),
            target: "deployment/web".into(),
            before: "registry/web:1.9".into(),
            after: "registry/web:2.0".into(),
            revision_before: Some(3),
            revision_after: Some(4),
        },
    )
}

/// Past runs: `smoke` took 45s (median), 50s (p90); nothing else has a history.
fn history() -> std::collections::BTreeMap<String, StepStats> {
    let smoke = StepStats {
        runs: 3,
        durations_ms: vec![40_000, 45_000, 50_000],
        median_ms: Some(45_000),
        p90_ms: Some(50_000),
        last_ms: Some(50_000),
        failed_runs: 0,
    };
    [("smoke".to_string(), smoke)].into_iter().collect()
}

fn model(yaml: &str, entries: &[Entry], now: f64) -> Model {
    common::model(yaml, &START, entries, at(now), "wide")
}

/// The release at 12:03:50: tests overran (48s against 40s), backup was quick, QA ticked and
/// signed off, the rollout applied the image and its rollout completed (1m05s against 1m); the
/// web probe went green, turned red while the new pods warmed up, advised a rollback, and came
/// back green; `watch` runs now. `smoke` is planned from its past runs, `announce` from its
/// estimate.
fn release() -> Model {
    let entries = vec![
        started("tests", 2.0),
        probe(5.0, "unknown", "green"),
        finished("tests", 2.0, 50.0),
        started("backup", 51.0),
        finished("backup", 51.0, 63.0),
        entry(
            70.0,
            Event::ManualDone {
                step: "qa".into(),
                by: "ana@box".into(),
            },
        ),
        entry(
            72.0,
            Event::SignedOff {
                step: "qa".into(),
                by: "bo@desk".into(),
            },
        ),
        started("rollout", 75.0),
        image_set(77.0),
        entry(
            140.0,
            Event::WaitSatisfied {
                step: "rollout".into(),
                what: "rollout of deployment/web".into(),
                duration_ms: 63_000,
            },
        ),
        finished("rollout", 75.0, 140.0),
        started("watch", 141.0),
        probe(150.0, "green", "red"),
        entry(
            160.0,
            Event::RollbackAdvised {
                rule: "web error_rate > 5% for 10s".into(),
                detail: "web error rate 12% > 5% for 10s".into(),
            },
        ),
        probe(200.0, "red", "green"),
        entry(
            205.0,
            Event::RollbackAdviceCleared {
                rule: "web error_rate > 5% for 10s".into(),
            },
        ),
    ];
    let mut m = model(LIST, &entries, 230.0);
    m.history = history();
    m.running = Some(Running {
        phase: Phase::Command,
        exit_code: None,
        wait_started: None,
        step: "watch".into(),
        attempt: 1,
        since: at(141.0),
        pgid: Some(4242),
        aborting: false,
        rollback: false,
    });
    m
}

/// The timeline focused and zoomed.
fn zoomed(m: Model) -> Model {
    common::zoomed(m, PaneId::Timeline)
}

/// Only the timeline pane, filling a `w`×`h` area (no border).
fn draw_pane(m: &Model, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w.max(1), h.max(1))).unwrap();
    term.draw(|f| timeline_pane(f, m, Rect::new(0, 0, w, h), true))
        .unwrap();
    term.backend().buffer().clone()
}

/// Draws the timeline pane of `m` into `area`: focused and in colour, or neither.
fn timeline_pane(f: &mut Frame, m: &Model, area: Rect, on: bool) {
    let theme = Theme { color: on };
    let mut cx = Ctx {
        frame: f,
        m,
        theme: &theme,
        focused: on,
    };
    panes::draw(&mut cx, PaneId::Timeline, area);
}

/// The row of the pane holding `needle`, and its index (on a whole screen, the zoomed pane's
/// rows only: the header names the running step too).
fn line_with(buf: &Buffer, needle: &str) -> (u16, String) {
    let screen = row(buf, 2).starts_with('┏');
    (0..buf.area.height)
        .map(|y| (y, row(buf, y)))
        .filter(|(_, l)| !screen || l.starts_with('┃'))
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", text(buf)))
}

/// Foreground colours of the cells of row `y` showing `sym`.
fn colours_of(buf: &Buffer, y: u16, sym: &str) -> Vec<Color> {
    (0..buf.area.width)
        .filter(|x| buf[(*x, y)].symbol() == sym)
        .map(|x| buf[(x, y)].fg)
        .collect()
}

#[test]
fn snapshots_of_a_release_under_way() {
    let m = zoomed(release());
    insta::assert_snapshot!("release_zoomed_120x30", text(&draw(&m, 120, 30, true)));
    insta::assert_snapshot!("release_zoomed_80x24", text(&draw(&m, 80, 24, true)));
    insta::assert_snapshot!("release_zoomed_30x6", text(&draw(&m, 30, 6, true)));
    insta::assert_snapshot!(
        "release_wide_200x50",
        text(&draw(&release(), 200, 50, true))
    );
    insta::assert_snapshot!("release_pane_30x5", text(&draw_pane(&release(), 30, 5)));
}

#[test]
fn every_leaf_step_has_a_row_with_actual_against_planned() {
    let buf = draw(&zoomed(release()), 120, 30, true);
    for (title, right) in [
        ("All unit tests pass", "48s/40s"),
        ("Database backup", "12s/20s"),
        ("QA sign-off received", "done"),
        ("Roll out web 2.0", "1m05s/1m"),
        ("Watch the error rate", "1m29s/2m"),
        ("Smoke tests", "~45s"),
        ("Announce the release", "~30s"),
    ] {
        let (_, l) = line_with(&buf, title);
        assert!(l.contains(right), "{title}: {right:?} in {l:?}");
    }
    // Steps that have not run are drawn as their plan only.
    let (y, l) = line_with(&buf, "Smoke tests");
    assert!(l.contains('░') && !l.contains('█'), "{l}");
    assert_eq!(colours_of(&buf, y, "░")[0], Color::DarkGray);
}

#[test]
fn an_overrun_shows_both_numbers_and_the_warning_colour() {
    let buf = draw(&zoomed(release()), 120, 30, true);
    let (y, l) = line_with(&buf, "All unit tests pass");
    assert!(l.contains("48s/40s"), "{l}");
    let bar = colours_of(&buf, y, "█");
    assert!(
        bar.contains(&Color::Green),
        "the planned part is green: {bar:?}"
    );
    assert_eq!(
        bar.last(),
        Some(&Color::Yellow),
        "the overrun is amber: {bar:?}"
    );
    // Within its plan: no amber anywhere on the row.
    let (y, _) = line_with(&buf, "Database backup");
    assert!(!colours_of(&buf, y, "█").contains(&Color::Yellow));
}

#[test]
fn each_milestone_kind_appears() {
    let buf = draw(&zoomed(release()), 120, 30, true);
    let (_, rollout) = line_with(&buf, "Roll out web 2.0");
    assert!(rollout.contains('⚑'), "action applied: {rollout}");
    assert!(rollout.contains('✔'), "rollout complete: {rollout}");
    let (_, qa) = line_with(&buf, "QA sign-off received");
    assert!(
        qa.contains('✍') && qa.contains('☑'),
        "sign-off and tick: {qa}"
    );
    let (y, run) = line_with(&buf, "milestones");
    assert!(run.contains('✘'), "probe turned red: {run}");
    assert!(run.contains('✔'), "probe turned green: {run}");
    assert!(run.contains('⚠'), "rollback advised: {run}");
    assert!(run.contains('◇'), "advice cleared: {run}");
    assert!(colours_of(&buf, y, "✘").contains(&Color::Red));
    // The legend names the newest ones with their times.
    let (_, legend) = line_with(&buf, "12:03:25 ◇ advice cleared");
    for part in [
        "12:02:30 ✘ probe web red",
        "12:02:40 ⚠ rollback advised",
        "12:03:20 ✔ probe web green",
    ] {
        assert!(legend.contains(part), "{part:?} in {legend:?}");
    }
    let narrow = draw(&zoomed(release()), 80, 24, true);
    let (_, legend) = line_with(&narrow, "advice cleared");
    assert!(
        !legend.contains("12:01:17"),
        "only the newest fit: {legend}"
    );
    // The time axis: the run's start, the end of the plan, and now.
    let (_, axis) = line_with(&buf, "▲now");
    assert!(
        axis.contains("12:00:00") && axis.contains("12:05:36"),
        "{axis}"
    );
}

#[test]
fn the_action_and_rollback_texts_in_the_legend() {
    let mut entries = vec![
        started("rollout", 1.0),
        image_set(2.0),
        entry(
            30.0,
            Event::WaitTimedOut {
                step: "rollout".into(),
                what: "rollout of deployment/web".into(),
                duration_ms: 28_000,
                message: "1 of 3 updated".into(),
            },
        ),
    ];
    entries.push(entry(
        31.0,
        Event::StepFinished {
            step: "rollout".into(),
            attempt: 1,
            outcome: StepOutcome::TimedOut,
            exit_code: None,
            signal: None,
            duration_ms: 30_000,
            message: Some("1 of 3 updated".into()),
        },
    ));
    entries.push(entry(
        40.0,
        Event::RollbackStarted {
            step: "rollout".into(),
            by: "ana@box".into(),
            command: "undo deployment/web".into(),
        },
    ));
    let m = zoomed(model(LIST, &entries, 45.0));
    let buf = draw(&m, 120, 30, true);
    let (_, legend) = line_with(&buf, "set_image web → 2.0");
    for part in [
        "12:00:02 ⚑ set_image web → 2.0",
        "12:00:30 ✘ rollout web timed out",
        "12:00:40 ↺ rollback of rollout",
    ] {
        assert!(legend.contains(part), "{part:?} in {legend:?}");
    }
    let (y, l) = line_with(&buf, "Roll out web 2.0");
    assert!(l.contains('↺') && l.contains('✘'), "{l}");
    assert!(colours_of(&buf, y, "█").contains(&Color::Red), "timed out");
}

/// 30 steps of 10s each; step 20 runs.
fn long_list() -> (String, Vec<Entry>) {
    let mut yaml = String::from("name: Long\nphases:\n  - name: All\n    steps:\n");
    for i in 1..=30 {
        yaml += &format!(
            "      - {{ id: s{i}, title: {i} deploy shard, run: \"true\", estimate: 10s }}\n"
        );
    }
    let mut entries = Vec::new();
    for i in 1..20 {
        let from = f64::from(i) * 10.0;
        entries.push(started(&format!("s{i}"), from));
        entries.push(finished(&format!("s{i}"), from, from + 9.0));
    }
    entries.push(started("s20", 200.0));
    (yaml, entries)
}

#[test]
fn the_running_step_stays_visible_when_not_all_fit() {
    let (yaml, entries) = long_list();
    let m = model(&yaml, &entries, 204.0);
    for (w, h) in [(80, 4), (80, 6), (120, 9), (30, 5), (40, 3)] {
        let buf = draw_pane(&m, w, h);
        let (y, l) = line_with(&buf, "20 d");
        assert!(l.contains('█'), "{w}x{h}: the running bar: {l}");
        if h >= 6 {
            // With room, the steps around it too: the one before and the next ones.
            line_with(&buf, "19 d");
            line_with(&buf, "21 d");
            assert!(y >= 1);
        }
    }
    insta::assert_snapshot!("long_list_pane_80x9", text(&draw_pane(&m, 80, 9)));
    // Finished: the last steps are in view.
    let mut all = entries.clone();
    all.push(finished("s20", 200.0, 209.0));
    for i in 21..=30 {
        let from = f64::from(i) * 10.0;
        all.push(started(&format!("s{i}"), from));
        all.push(finished(&format!("s{i}"), from, from + 9.0));
    }
    let m = model(&yaml, &all, 320.0);
    line_with(&draw_pane(&m, 80, 6), "30 d");
}

#[test]
fn before_anything_ran_the_plan_is_shown() {
    let mut m = model(LIST, &[], 0.0);
    m.history = history();
    let m = zoomed(m);
    let buf = draw(&m, 80, 24, true);
    insta::assert_snapshot!("not_started_zoomed_80x24", text(&buf));
    line_with(&buf, "nothing has run yet");
    let (_, l) = line_with(&buf, "All unit tests pass");
    assert!(l.contains('░') && l.contains("~40s"), "{l}");
    let (_, l) = line_with(&buf, "Smoke tests");
    assert!(
        l.contains('░') && l.contains("~45s"),
        "planned from its median: {l}"
    );
    let (_, l) = line_with(&buf, "QA sign-off received");
    assert!(l.contains('?'), "no plan for it: {l}");
    assert!(!text(&buf).contains("not connected"));
}

#[test]
fn without_estimates_or_history_it_says_where_plans_come_from() {
    let yaml = "name: Bare\nphases:\n  - name: One\n    steps:\n      - { id: a, title: A, run: \"true\" }\n      - { id: b, title: B, run: \"true\" }\n";
    let m = zoomed(model(yaml, &[], 0.0));
    let s = text(&draw(&m, 80, 24, true));
    insta::assert_snapshot!("no_plan_zoomed_80x24", s);
    assert!(s.contains("estimate:") && s.contains("past runs"), "{s}");
}

#[test]
fn never_panics_and_never_draws_outside_the_pane() {
    let (yaml, long) = long_list();
    let models = [
        release(),
        model(LIST, &[], 0.0),
        model(&yaml, &long, 204.0),
        model(LIST, &[started("tests", 1.0)], 1.0),
    ];
    for m in &models {
        for w in 0..=64u16 {
            for h in 0..=10u16 {
                let mut term = Terminal::new(TestBackend::new(70, 12)).unwrap();
                term.draw(|f| timeline_pane(f, m, Rect::new(2, 1, w, h), false))
                    .unwrap();
                let buf = term.backend().buffer();
                for y in 0..12u16 {
                    for x in 0..70u16 {
                        let inside = (2..2 + w).contains(&x) && (1..1 + h).contains(&y);
                        assert!(
                            inside || buf[(x, y)].symbol() == " ",
                            "{w}x{h}: drawn at {x},{y}\n{}",
                            text(buf)
                        );
                    }
                }
            }
        }
    }
    for (w, h) in [(30, 5), (30, 6), (80, 24), (120, 30)] {
        draw(&zoomed(release()), w, h, true);
    }
}

#[test]
fn lines_never_overflow_so_the_right_column_is_never_cut() {
    // The right column ends each step row: if the row were too long, the paragraph would clip
    // the numbers off. Every visible step row must end with its numbers.
    let m = release();
    for w in [30u16, 41, 57, 80, 119, 200] {
        let buf = draw_pane(&m, w, 12);
        let (_, l) = line_with(&buf, "12s/20s");
        assert!(l.trim_end().ends_with("12s/20s"), "{w}: {l:?}");
    }
}

#[test]
fn a_retried_step_shows_its_failed_attempt() {
    let entries = vec![
        started("tests", 0.0),
        step_finished("tests", 1, StepOutcome::Failed, Some(1), at(10.0), 10_000),
        step_started("tests", 2, at(20.0)),
        step_finished(
            "tests",
            2,
            StepOutcome::Succeeded,
            Some(0),
            at(50.0),
            30_000,
        ),
    ];
    let m = model(LIST, &entries, 55.0);
    let buf = draw_pane(&m, 80, 10);
    let (y, l) = line_with(&buf, "All unit tests pass");
    assert!(
        l.contains("30s/40s"),
        "the last attempt against the plan: {l}"
    );
    let bar = colours_of(&buf, y, "█");
    assert_eq!(bar.first(), Some(&Color::Red), "{bar:?}");
    assert_eq!(bar.last(), Some(&Color::Green), "{bar:?}");
    assert!(!bar.contains(&Color::Yellow), "30s is within 40s: {bar:?}");
}
