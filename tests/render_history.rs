//! Render snapshots and checks of what past runs add to the cockpit: each step's expected
//! duration in the checklist pane, the ETA in the header, and the pair-review header parts
//! (watching whom, the newest sign-off). Times are fixed and shown in UTC (`clock::force_utc`).

mod common;

use common::{
    RunStart, at_ms as at, draw, fg_of, key, row, screen, select, step_finished, step_started, text,
};
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use shipdeck::config::layout::builtin;
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::history::StepStats;
use shipdeck::core::journal::{Entry, Event, StepOutcome};
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::model::{Model, Role};
use shipdeck::core::msg::Msg;
use shipdeck::core::update::update;
use std::sync::Arc;

const LIST: &str = r#"
name: Shop release
phases:
  - name: Build
    steps:
      - { id: tests, title: Unit tests, run: make test, estimate: 5m }
      - { id: image, title: Build the image, run: make image, estimate: 2m }
      - { id: review, title: Review the diff, manual: true, signoff: true }
  - name: Ship
    steps:
      - { id: deploy, title: Deploy to production, run: ./deploy.sh, estimate: 3m }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
      - { id: announce, title: Announce, run: ./announce.sh, estimate: 10s }
"#;

fn entry(ms: i64, event: Event) -> Entry {
    Entry::new(at(ms), event)
}

const START: RunStart = RunStart {
    run: "20261121T120000Z-9c1d",
    name: "Shop release",
    path: "shop.yaml",
    mode: "cockpit",
    cluster: None,
};

fn stats(median_ms: u64, p90_ms: u64) -> StepStats {
    StepStats {
        runs: 3,
        durations_ms: vec![median_ms, median_ms, p90_ms],
        median_ms: Some(median_ms),
        p90_ms: Some(p90_ms),
        last_ms: Some(p90_ms),
        failed_runs: 0,
    }
}

/// Past runs: tests ~3m (p90 4m), image ~1m30s, deploy ~2m40s, smoke ~45s; `announce` never
/// ran (its estimate, 10s, stands) and `review` is manual with no estimate (unknown).
fn history() -> std::collections::BTreeMap<String, StepStats> {
    [
        ("tests", stats(180_000, 240_000)),
        ("image", stats(90_000, 120_000)),
        ("deploy", stats(160_000, 190_000)),
        ("smoke", stats(45_000, 50_000)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn model(entries: &[Entry], now_ms: i64, layout: &str) -> Model {
    let mut m = common::model(LIST, &START, entries, at(now_ms), layout);
    m.history = history();
    m
}

/// `tests` took 4m20s (over its p90); `image` has been running for 30s.
fn running() -> Model {
    let done = [
        step_started("tests", 1, at(1_000)),
        step_finished(
            "tests",
            1,
            StepOutcome::Succeeded,
            Some(0),
            at(261_000),
            260_000,
        ),
    ];
    let mut m = model(&done, 270_000, "compact");
    select(&mut m, "image");
    key(&mut m, Key::plain(KeyCode::Enter));
    assert_eq!(
        m.running.as_ref().map(|r| r.step.as_str()),
        Some("image"),
        "Enter starts the selected step"
    );
    update(&mut m, Msg::Tick(at(300_000)));
    m
}

/// The checklist pane's line (the pane is on the left, drawn with a heavy border when focused)
/// holding `needle`.
fn list_line(buf: &Buffer, needle: &str) -> String {
    (0..buf.area.height)
        .map(|y| row(buf, y))
        .find(|l| l.starts_with('┃') && l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", text(buf)))
}

#[test]
fn expected_durations_and_eta_while_running() {
    let m = running();
    insta::assert_snapshot!("running_compact_80x24", screen(&m, 80, 24));
    let mut wide = m.clone();
    wide.layout_name = "default".into();
    wide.panes = builtin("default").unwrap().panes();
    insta::assert_snapshot!("running_default_120x40", screen(&wide, 120, 40));
}

#[test]
fn checklist_pane_shows_actual_against_expected() {
    let m = running();
    let buf = draw(&m, 80, 24, true);
    // Ran: against the median of past runs, amber past their p90 (4m20s > 4m).
    assert!(list_line(&buf, "Unit tests").contains("4m20s/~3m00s"));
    assert_eq!(fg_of(&buf, "4m20s/~3m00s"), Color::Yellow);
    // Running: live time against the median.
    assert!(list_line(&buf, "Build the image").contains("30s/~1m30s"));
    // Still to run: the median, else the checklist's estimate; nothing when neither exists.
    assert!(list_line(&buf, "Deploy to production").contains("~2m40s"));
    assert!(list_line(&buf, "Smoke tests").contains("~45s"));
    assert!(list_line(&buf, "Announce").contains("~10s"));
    assert!(!list_line(&buf, "Review the diff").contains('~'));
    assert_eq!(fg_of(&buf, "~2m40s"), Color::DarkGray);

    // Within the p90 a run over the median is not flagged.
    let mut calm = m.clone();
    calm.history.get_mut("tests").unwrap().p90_ms = Some(300_000);
    assert_eq!(
        fg_of(&draw(&calm, 80, 24, true), "4m20s/~3m00s"),
        Color::DarkGray
    );

    // Without history the estimates are what the pane shows, as before.
    let mut plain = m;
    plain.history.clear();
    let buf = draw(&plain, 80, 24, true);
    assert!(list_line(&buf, "Unit tests").contains("4m20s/5m"));
    assert!(list_line(&buf, "Build the image").contains("30s/2m"));
    assert!(list_line(&buf, "Deploy to production").contains("~3m"));
    assert!(!list_line(&buf, "Smoke tests").contains('~'));
}

#[test]
fn header_eta_is_the_time_left() {
    // image 1m30s − 30s + deploy 2m40s + smoke 45s + announce 10s = 4m35s; `review` has no
    // expected time, so that is a lower bound.
    let mut m = running();
    assert_eq!(shipdeck::core::history::eta_ms(&m), Some(275_000));
    let head = row(&draw(&m, 80, 24, true), 0);
    assert!(head.contains("ETA ≥4m35s"), "{head}");

    // With the manual step ticked every step ahead is known.
    m.run.apply(&entry(
        300_000,
        Event::ManualDone {
            step: "review".into(),
            by: "ana@box".into(),
        },
    ));
    let head = row(&draw(&m, 80, 24, true), 0);
    assert!(head.contains("ETA 4m35s"), "{head}");
}

#[test]
fn no_eta_when_the_run_is_over_or_nothing_is_known() {
    let finished = [entry(
        5_000,
        Event::RunFinished {
            outcome: shipdeck::core::journal::RunOutcome::Aborted,
            duration_ms: 5_000,
        },
    )];
    let m = model(&finished, 6_000, "compact");
    let buf = draw(&m, 120, 40, true);
    assert!(!row(&buf, 0).contains("ETA"));

    let mut unknown = model(&[], 6_000, "compact");
    unknown.history.clear();
    let c = load_checklist(
        "name: Shop release\nphases:\n  - name: P\n    steps:\n      - { id: a, title: A, run: 'true' }\n",
        "x.yaml",
        &LoadOptions::default(),
    )
    .unwrap();
    unknown.checklist = Arc::new(c);
    unknown.rows = shipdeck::core::model::rows_of(&unknown.checklist);
    let buf = draw(&unknown, 120, 40, true);
    assert!(!row(&buf, 0).contains("ETA"));
}

fn signed(step: &str, by: &str, ms: i64) -> Entry {
    entry(
        ms,
        Event::SignedOff {
            step: step.into(),
            by: by.into(),
        },
    )
}

#[test]
fn a_watcher_sees_whom_it_follows_and_the_newest_signoff() {
    let entries = [
        signed("tests", "cy@lap", 1_000),
        signed("review", "bo@desk", 9_000),
        signed("image", "dee@srv", 5_000),
    ];
    let mut m = model(&entries, 20_000, "compact");
    m.role = Role::Watcher;
    m.driver = "bo@desk".into();
    let buf = draw(&m, 80, 24, true);
    insta::assert_snapshot!("watcher_compact_80x24", text(&buf));
    let head = row(&buf, 0);
    assert!(head.contains("watching · driver ana@box"), "{head}");
    assert!(
        !head.contains("bo@desk"),
        "the watcher is not the driver: {head}"
    );
    assert!(
        row(&buf, 1).contains("✍ review by bo@desk"),
        "newest by time, not by step order"
    );

    // Resumed by someone else: they drive now.
    m.run.apply(&entry(
        21_000,
        Event::RunResumed {
            user: "eve".into(),
            host: "ops".into(),
            pid: 7,
        },
    ));
    let head = row(&draw(&m, 80, 24, true), 0);
    assert!(head.contains("watching · driver eve@ops"), "{head}");
}

#[test]
fn the_driver_sees_the_newest_signoff_too() {
    let m = model(&[signed("review", "bo@desk", 9_000)], 20_000, "compact");
    let buf = draw(&m, 80, 24, true);
    assert!(row(&buf, 0).contains("driver ana@box"));
    assert!(row(&buf, 1).contains("✍ review by bo@desk"));
}

#[test]
fn header_fits_every_width_and_keeps_the_essentials() {
    let mut watcher = running();
    watcher.role = Role::Watcher;
    for m in [running(), watcher] {
        for w in 40..=160u16 {
            let buf = draw(&m, w, 24, true);
            let head = row(&buf, 0);
            assert!(
                head.contains("Shop release") && head.contains("RUNNING"),
                "{w}: {head}"
            );
            // A watcher's `watching · driver …` outranks the times at 80 columns.
            let eta_from = if m.role == Role::Watcher { 96 } else { 80 };
            if w >= eta_from {
                assert!(head.contains("ETA ≥4m35s"), "{w}: {head}");
            }
            if w >= 80 && m.role == Role::Watcher {
                assert!(head.contains("watching"), "{w}: {head}");
            }
        }
    }
}
