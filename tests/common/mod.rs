//! Helpers shared by the render test binaries (`render`, `render_cluster`, `render_probes`,
//! `render_history`, `render_timeline`): fixed times, the run's first journal entry, models
//! replayed from a checklist and a journal, drawing a model on a `TestBackend`, and reading the
//! drawn buffer back as text and colours. Each binary uses only some of them.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use shipdeck::config::layout::{Layout, PaneId, builtin};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::journal::{ChecklistRef, Entry, Event, StepOutcome};
use shipdeck::core::keys::Key;
use shipdeck::core::model::{Model, Row};
use shipdeck::core::msg::Msg;
use shipdeck::core::run::RunState;
use shipdeck::core::update::update;
use shipdeck::ui::{Theme, clock, render};
use std::sync::Arc;

/// A scenario: a model drawn with the named built-in layout.
pub type Scenario = fn(&str) -> Model;

/// 2026-11-21 12:00:00 UTC, when every test run starts.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// `ms` milliseconds after [`t0`].
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    t0() + Duration::milliseconds(ms)
}

/// `s` seconds after [`t0`].
pub fn at_secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

/// The `RunStarted` entry that opens every test journal, at [`t0`]. The default is the web
/// release in the `tui` mode on the `prod/shop` cluster.
pub struct RunStart<'a> {
    pub run: &'a str,
    /// The checklist's name as the journal records it.
    pub name: &'a str,
    /// The checklist's file: also the name it is loaded under by [`replayed`].
    pub path: &'a str,
    pub mode: &'a str,
    /// Context and namespace.
    pub cluster: Option<(&'a str, &'a str)>,
}

impl Default for RunStart<'_> {
    fn default() -> Self {
        RunStart {
            run: "20261121T120000Z-3f2a",
            name: "Web release",
            path: "web.yaml",
            mode: "tui",
            cluster: Some(("prod", "shop")),
        }
    }
}

impl RunStart<'_> {
    pub fn entry(&self) -> Entry {
        Entry::new(
            t0(),
            Event::RunStarted {
                run: self.run.into(),
                checklist: ChecklistRef {
                    name: self.name.into(),
                    path: self.path.into(),
                    sha256: "00".into(),
                },
                vars: Default::default(),
                user: "ana".into(),
                host: "box".into(),
                pid: 1,
                mode: self.mode.into(),
                context: self.cluster.map(|(c, _)| c.into()),
                namespace: self.cluster.map(|(_, n)| n.into()),
                layout: None,
                kubeconfig: None,
            },
        )
    }
}

/// The model of checklist `yaml` driven by `ana@box` after `start` and `entries`, at `now`,
/// with the model's own default panes (no layout applied). Times show in UTC.
pub fn replayed(yaml: &str, start: &RunStart, entries: &[Entry], now: DateTime<Utc>) -> Model {
    clock::force_utc();
    let c = load_checklist(yaml, start.path, &LoadOptions::default()).unwrap();
    let mut all = vec![start.entry()];
    all.extend_from_slice(entries);
    Model::new(Arc::new(c), RunState::replay(&all), "ana@box".into(), now)
}

/// [`replayed`], laid out by the built-in layout `layout`.
pub fn model(
    yaml: &str,
    start: &RunStart,
    entries: &[Entry],
    now: DateTime<Utc>,
    layout: &str,
) -> Model {
    let mut m = replayed(yaml, start, entries, now);
    m.use_layout(&builtin(layout).unwrap());
    m
}

pub fn step_started(step: &str, attempt: u32, when: DateTime<Utc>) -> Entry {
    Entry::new(
        when,
        Event::StepStarted {
            step: step.into(),
            attempt,
            by: "ana@box".into(),
            what: None,
        },
    )
}

pub fn step_finished(
    step: &str,
    attempt: u32,
    outcome: StepOutcome,
    code: Option<i32>,
    when: DateTime<Utc>,
    duration_ms: u64,
) -> Entry {
    let ev = Event::StepFinished {
        step: step.into(),
        attempt,
        outcome,
        exit_code: code,
        signal: None,
        duration_ms,
        message: None,
    };
    Entry::new(when, ev)
}

/// Selects the checklist row of step `id`.
pub fn select(m: &mut Model, id: &str) {
    m.selected = m
        .rows
        .iter()
        .position(|r| matches!(r, Row::Step { id: i, .. } if i == id))
        .unwrap();
}

pub fn key(m: &mut Model, k: Key) {
    update(m, Msg::Key(k));
}

/// Focuses `pane`, which the layout must have.
pub fn focus(m: &mut Model, pane: PaneId) {
    m.focus = m.panes.iter().position(|p| *p == pane).unwrap();
}

/// `pane` focused and zoomed.
pub fn zoomed(mut m: Model, pane: PaneId) -> Model {
    focus(&mut m, pane);
    m.zoom = true;
    m
}

/// The whole screen of `m` at `w`×`h`, drawn with `layout`.
pub fn draw_in(m: &Model, layout: &Layout, w: u16, h: u16, color: bool) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, m, layout, &Theme { color }))
        .unwrap();
    term.backend().buffer().clone()
}

/// The whole screen of `m` at `w`×`h`, drawn with the model's built-in layout.
pub fn draw(m: &Model, w: u16, h: u16, color: bool) -> Buffer {
    draw_in(m, &builtin(&m.layout_name).unwrap(), w, h, color)
}

/// Row `y` as text (wide characters once).
pub fn row(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut skip = 0;
    for x in 0..buf.area.width {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let sym = buf[(x, y)].symbol();
        skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        out.push_str(sym);
    }
    out
}

/// The buffer as lines of text (wide characters once), each ended by `|` so that trailing
/// spaces show the alignment.
pub fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| format!("{}|\n", row(buf, y)))
        .collect()
}

/// The colour screen of `m` at `w`×`h` as [`text`].
pub fn screen(m: &Model, w: u16, h: u16) -> String {
    text(&draw(m, w, h, true))
}

/// Foreground colour of the first cell of `needle` on screen (the topmost match).
pub fn fg_of(buf: &Buffer, needle: &str) -> Color {
    let first: String = needle.chars().take(1).collect();
    for y in 0..buf.area.height {
        let line = row(buf, y);
        if let Some(i) = line.find(needle) {
            // Column of the match: the display width of what precedes it.
            let x = unicode_width::UnicodeWidthStr::width(&line[..i]) as u16;
            assert_eq!(buf[(x, y)].symbol(), first);
            return buf[(x, y)].fg;
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

/// Asserts that no cell has a foreground or background colour (a `NO_COLOR` render).
pub fn assert_no_colour(buf: &Buffer, what: &str) {
    for c in buf.content() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{what}");
    }
}

/// Draws `m` at sizes from 1×1 to 80×24: none may panic or draw another size.
pub fn assert_draws_at_tiny_sizes(m: &Model) {
    for (w, h) in [
        (1, 1),
        (2, 3),
        (10, 4),
        (20, 5),
        (30, 8),
        (40, 10),
        (60, 15),
        (80, 24),
    ] {
        let buf = draw(m, w, h, true);
        assert_eq!((buf.area.width, buf.area.height), (w, h));
    }
}
