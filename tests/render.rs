//! Render snapshots (insta + TestBackend) of every pane state, modal and shipped layout, plus
//! size sweeps that must never panic, lose a pane title, or draw past the frame.
//!
//! Times: the UI shows local time; every test calls `clock::force_utc()` first so snapshots read
//! the same on every machine (no `TZ` mutation, which is unsafe with parallel tests).

mod common;

use common::{
    RunStart, assert_no_colour, at_ms as at, draw, draw_in, focus, key, screen, select,
    step_finished, step_started, text,
};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use shipdeck::config::layout::{PaneId, builtin};
use shipdeck::core::journal::{Entry, Event, StepOutcome};
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::model::Model;
use shipdeck::core::msg::Msg;
use shipdeck::core::update::update;
use shipdeck::ui::layout::compute;
use shipdeck::ui::placed;

const LIST: &str = r#"
name: Web release ${VERSION}
vars:
  VERSION: "2.0"
cluster:
  context: prod
  namespace: shop
  watch: [deployment/web, statefulset/db]
  logs: { selector: app=web, container: web, since: 5m }
probes:
  - { name: web, url: "https://shop.example.com/health", every: 2s }
phases:
  - name: Pre-deployment
    steps:
      - id: tests
        title: All unit tests pass
        run: cargo test --quiet
        estimate: 5m
        timeout: 20m
      - id: backup
        title: Database backup
        run: |
          ./scripts/backup.sh --all
          ./scripts/verify-backup.sh
        confirm: true
        estimate: 2m
        rollback: ./scripts/restore.sh --latest
        env: { PGHOST: db.internal }
        notes: |
          ## Why
          Restores need a **fresh** backup.
          - check `df -h` on the db host first
      - id: qa
        title: QA sign-off received
        manual: true
        signoff: true
  - name: Deployment
    steps:
      - id: rollout
        title: Roll out web ${VERSION}
        action: { set_image: deployment/web, container: web, image: "registry/web:${VERSION}" }
        wait: { rollout: deployment/web, timeout: 5m }
      - id: smoke
        title: Smoke tests
        steps:
          - { id: smoke-api, title: API answers, run: "curl -fsS https://shop.example.com/api" }
          - { id: smoke-ui, title: Home page renders, run: ./smoke.sh, estimate: 30s }
      - id: announce
        title: Announce the release in the releases channel with the changelog link and the dashboards
        manual: true
"#;

const LOCAL: &str = r#"
name: Local tool release
phases:
  - name: Build
    steps:
      - { id: build, title: Build, run: make, estimate: 1m }
      - { id: check, title: Look at the artefact, manual: true }
"#;

/// A model of `yaml` after `entries`, at `now_ms` after 12:00:00, laid out by `layout`.
fn model(yaml: &str, entries: &[Entry], now_ms: i64, layout: &str) -> Model {
    common::model(yaml, &RunStart::default(), entries, at(now_ms), layout)
}

/// `tests` done in 4.2s.
fn tests_done() -> Vec<Entry> {
    vec![
        step_started("tests", 1, at(1_000)),
        step_finished(
            "tests",
            1,
            StepOutcome::Succeeded,
            Some(0),
            at(5_200),
            4_200,
        ),
    ]
}

/// `tests` done in 4.2s, `backup` running for 12.3s with coloured output.
fn running_model(layout: &str) -> Model {
    let mut m = model(LIST, &tests_done(), 10_000, layout);
    select(&mut m, "backup");
    key(&mut m, Key::plain(KeyCode::Enter));
    key(&mut m, Key::ch('y'));
    for line in [
        "\x1b[1mbacking up\x1b[0m 3 databases",
        "  orders   \x1b[32m✔ 1.2 GB\x1b[0m",
        "  users    \x1b[32m✔ 80 MB\x1b[0m",
        "\x1b[33mwarning:\x1b[0m table \x1b[4maudit_log\x1b[24m is large",
        "progress 10%\rprogress 40%\rprogress 75%",
        "\x1b[38;5;208mcompressing\x1b[0m with \x1b[38;2;0;200;255mzstd -19\x1b[0m\x1b[K",
    ] {
        update(
            &mut m,
            Msg::StepLine {
                step: "backup".into(),
                attempt: 1,
                line: line.into(),
            },
        );
    }
    update(&mut m, Msg::Tick(at(22_300)));
    m
}

/// Rows `y0..y1` with style runs marked: `{fg:Red+BOLD}text{}`, for colour and attribute checks.
fn styled(buf: &Buffer, y0: u16, y1: u16) -> String {
    let mut out = String::new();
    for y in y0..y1 {
        let mut last = String::new();
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let mut tag = Vec::new();
            if c.fg != Color::Reset {
                tag.push(format!("fg:{:?}", c.fg));
            }
            if c.bg != Color::Reset {
                tag.push(format!("bg:{:?}", c.bg));
            }
            if !c.modifier.is_empty() {
                tag.push(format!("{:?}", c.modifier));
            }
            let tag = tag.join(" ");
            if tag != last {
                out.push_str(&format!("{{{tag}}}"));
                last = tag;
            }
            out.push_str(c.symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn pending_checklist() {
    let m = model(LIST, &[], 5_000, "compact");
    insta::assert_snapshot!(screen(&m, 100, 30));
}

#[test]
fn running_step_with_live_ansi_output() {
    let m = running_model("compact");
    let buf = draw(&m, 100, 30, true);
    insta::assert_snapshot!("running_screen", text(&buf));
    // The output pane's lines (rows 3..9), with colours and attributes as parsed from ANSI.
    insta::assert_snapshot!("running_output_styles", styled(&buf, 3, 9));
}

#[test]
fn failed_step_with_attempts_in_details() {
    let mut entries = tests_done();
    entries.push(step_started("backup", 1, at(20_000)));
    entries.push(step_finished(
        "backup",
        1,
        StepOutcome::Failed,
        Some(2),
        at(31_500),
        11_500,
    ));
    entries.push(step_started("backup", 2, at(60_000)));
    entries.push(Entry::new(
        at(95_000),
        Event::StepFinished {
            step: "backup".into(),
            attempt: 2,
            outcome: StepOutcome::TimedOut,
            exit_code: None,
            signal: Some(15),
            duration_ms: 35_000,
            message: Some("timed out after 35s".into()),
        },
    ));
    entries.push(Entry::new(
        at(100_000),
        Event::Comment {
            step: Some("backup".into()),
            text: "disk full on db-2, cleaning".into(),
            by: "bo@desk".into(),
        },
    ));
    let mut m = model(LIST, &entries, 120_000, "compact");
    select(&mut m, "backup");
    focus(&mut m, PaneId::Details);
    insta::assert_snapshot!("failed_in_compact", screen(&m, 100, 30));
    // Zoomed, the details pane has room for the whole history.
    key(&mut m, Key::ch('z'));
    insta::assert_snapshot!("failed_details_zoomed", screen(&m, 100, 30));
}

#[test]
fn skipped_manual_signed_off_and_interrupted() {
    let entries = vec![
        step_started("tests", 1, at(1_000)),
        Entry::new(
            at(2_000),
            Event::StepInterrupted {
                step: "tests".into(),
                attempt: 1,
            },
        ),
        Entry::new(
            at(3_000),
            Event::StepSkipped {
                step: "backup".into(),
                reason: "backed up at 11:40 by the DBA".into(),
                by: "ana@box".into(),
            },
        ),
        Entry::new(
            at(4_000),
            Event::SignedOff {
                step: "qa".into(),
                by: "bo@desk".into(),
            },
        ),
        Entry::new(
            at(5_000),
            Event::ManualDone {
                step: "qa".into(),
                by: "ana@box".into(),
            },
        ),
        Entry::new(
            at(6_000),
            Event::StepSkipped {
                step: "smoke-api".into(),
                reason: "API unchanged".into(),
                by: "ana@box".into(),
            },
        ),
    ];
    let mut m = model(LIST, &entries, 30_000, "compact");
    select(&mut m, "qa");
    insta::assert_snapshot!("manual_ticked_and_signed_off", screen(&m, 100, 30));
    select(&mut m, "backup");
    insta::assert_snapshot!("skipped_with_reason", screen(&m, 100, 30));
    select(&mut m, "tests");
    insta::assert_snapshot!("interrupted", screen(&m, 100, 30));
}

#[test]
fn modals() {
    let mut m = model(LIST, &[], 5_000, "compact");
    key(&mut m, Key::ch('?'));
    insta::assert_snapshot!("modal_help_80x24", screen(&m, 80, 24));
    insta::assert_snapshot!("modal_help_120x40", screen(&m, 120, 40));
    key(&mut m, Key::plain(KeyCode::Esc));
    select(&mut m, "backup");
    key(&mut m, Key::plain(KeyCode::Enter));
    insta::assert_snapshot!("modal_confirm_run", screen(&m, 80, 24));
    key(&mut m, Key::ch('y'));
    update(&mut m, Msg::Tick(at(9_500)));
    key(&mut m, Key::ch('q'));
    insta::assert_snapshot!("modal_confirm_quit", screen(&m, 80, 24));
    key(&mut m, Key::ch('n'));
    select(&mut m, "smoke-ui");
    key(&mut m, Key::ch('s'));
    for c in "covered by the synthetic monitor, see dashboard".chars() {
        key(&mut m, Key::ch(c));
    }
    insta::assert_snapshot!("modal_input_skip_reason", screen(&m, 80, 24));
}

#[test]
fn every_builtin_layout_at_120x40_and_80x24() {
    for name in ["default", "compact", "pair", "wide"] {
        let m = running_model(name);
        insta::assert_snapshot!(format!("layout_{name}_120x40"), screen(&m, 120, 40));
        insta::assert_snapshot!(format!("layout_{name}_80x24"), screen(&m, 80, 24));
    }
}

#[test]
fn without_a_cluster_the_kube_panes_say_why() {
    let m = model(LOCAL, &[], 5_000, "wide");
    insta::assert_snapshot!(screen(&m, 200, 50));
}

#[test]
fn zoomed_output() {
    let mut m = running_model("default");
    focus(&mut m, PaneId::Output);
    key(&mut m, Key::ch('z'));
    insta::assert_snapshot!(screen(&m, 80, 24));
}

#[test]
fn no_colour_uses_attributes_only() {
    let m = running_model("compact");
    let buf = draw(&m, 100, 30, false);
    assert_no_colour(&buf, "a colour in a NO_COLOR render");
    assert!(
        buf.content()
            .iter()
            .any(|c| c.modifier.contains(Modifier::REVERSED)),
        "the selection is reversed"
    );
    insta::assert_snapshot!(styled(&buf, 0, 30));
}

#[test]
fn compact_at_80x24_shows_every_pane_title() {
    let m = running_model("compact");
    let s = screen(&m, 80, 24);
    for title in ["1 checklist", "2 output", "3 details"] {
        assert!(s.contains(title), "{title} missing:\n{s}");
    }
}

#[test]
fn every_layout_at_every_size_fits_and_titles_each_pane_once() {
    let sizes = [
        (80, 24),
        (100, 30),
        (120, 40),
        (200, 60),
        (300, 80),
        (40, 10),
        (20, 5),
        (1, 1),
        (80, 3),
    ];
    for name in ["default", "compact", "pair", "wide"] {
        let layout = builtin(name).unwrap();
        for m in [
            model(LIST, &[], 5_000, name),
            running_model(name),
            model(LOCAL, &[], 5_000, name),
        ] {
            for (w, h) in sizes {
                let buf = draw_in(&m, &layout, w, h, true);
                assert_eq!(buf.area.width, w);
                if w < 80 || h < 24 {
                    continue;
                }
                let s = text(&buf);
                // The body is what header (2 lines) and footer (1) leave; dropped panes show nothing.
                let body = Rect::new(0, 2, w, h - 3);
                let placed: Vec<PaneId> =
                    placed(&m, &layout, body).into_iter().map(|p| p.0).collect();
                let all: Vec<PaneId> = compute(&layout, body, None)
                    .into_iter()
                    .map(|p| p.0)
                    .collect();
                if all.contains(&m.focused()) {
                    assert_eq!(placed, all, "{name} {w}x{h}");
                } else {
                    assert_eq!(
                        placed,
                        vec![m.focused()],
                        "{name} {w}x{h}: the focused pane alone"
                    );
                }
                for (i, pane) in layout.panes().iter().enumerate() {
                    let title = format!(" {} {} ", i + 1, pane.name());
                    let want = usize::from(placed.contains(pane));
                    assert_eq!(
                        s.matches(&title).count(),
                        want,
                        "{name} {w}x{h}: `{title}`:\n{s}"
                    );
                }
            }
        }
    }
}

#[test]
fn long_titles_are_truncated_with_an_ellipsis() {
    let mut m = model(LIST, &[], 5_000, "compact");
    select(&mut m, "announce");
    let s = screen(&m, 80, 24);
    // The checklist row is cut at its pane's border with `…`; the details pane wraps it whole.
    let row = s
        .lines()
        .find(|l| l.contains("☐ Announce the release"))
        .unwrap();
    let cell = row.split('┃').nth(1).unwrap();
    assert!(cell.ends_with('…'), "{row}");
    assert_eq!(unicode_width::UnicodeWidthStr::width(cell), 30, "{row}");
    assert!(s.contains("the dashboards"), "{s}");
}

#[test]
fn tiny_terminal_degrades() {
    let m = running_model("default");
    insta::assert_snapshot!("tiny_40x10_default", screen(&m, 40, 10));
    insta::assert_snapshot!(
        "tiny_30x4_compact",
        screen(&running_model("compact"), 30, 4)
    );
}
