//! The timeline pane: a Gantt row per leaf step on one time axis — the plan (the median of past
//! runs, else the checklist's `estimate:`) as a light track, what happened as a solid bar — with
//! the journal's milestones on it: actions applied, waits ended, sign-offs and rollbacks on
//! their step's row; probes turning green/amber/red and rollback advice on a run-level row; the
//! newest few, with their times, in a legend line.
//!
//! Everything comes from the model (`m.run` replayed from the journal, `m.history`, `m.now`), so
//! the pane has the same data live, in a watcher and after a resume. Only the visible rows are
//! built; the plan of the steps before them is a running sum.

use super::Ctx;
use super::unavailable::draw_lines;
use crate::config::checklist::{Step, StepKind};
use crate::config::units::format_duration_spec;
use crate::core::history::{Basis, expected_ms};
use crate::core::journal::StepOutcome;
use crate::core::model::Model;
use crate::core::run::{ActionMark, Advice, Mark, ProbeChange, StepRecord, StepState, WaitMark};
use crate::ui::clock::{hms, millis};
use crate::ui::lines::Lines;
use crate::ui::text::{clean, fit_spans, width as text_width};
use crate::ui::theme::Theme;
use chrono::{DateTime, Duration, Utc};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The planned track, an actual bar, the time axis, an advice episode, the `now` mark.
const PLAN: char = '░';
const BAR: char = '█';
const AXIS: char = '─';
const ADVISED: char = '━';
const NOW: char = '▲';

/// Milestones per legend line at most.
const LEGEND_MAX: usize = 6;

/// One step's row, built only for the visible ones.
struct Row<'a> {
    step: &'a Step,
    state: StepState,
    rec: Option<&'a StepRecord>,
    /// Where its plan starts: where it actually started, or after the steps before it.
    plan_at: DateTime<Utc>,
    plan: Option<(u64, Basis)>,
    /// The running attempt's time so far, or the last finished attempt's duration.
    actual_ms: Option<u64>,
}

impl Row<'_> {
    fn plan_end(&self) -> Option<DateTime<Utc>> {
        self.plan.map(|(ms, _)| self.plan_at + ms_dur(ms))
    }
}

/// A plan's length as a duration, capped at ten years so that adding it to a time cannot
/// overflow (an estimate that long is a typo anyway).
fn ms_dur(ms: u64) -> Duration {
    const CAP: u64 = 10 * 365 * 24 * 3_600_000;
    Duration::milliseconds(i64::try_from(ms.min(CAP)).unwrap_or(0))
}

/// A milestone from the journal.
#[derive(Clone, Copy)]
enum Mk<'a> {
    Action(&'a ActionMark),
    Wait(&'a WaitMark),
    SignOff(&'a str, &'a Mark),
    Rollback(&'a str, &'a Mark),
    Probe(&'a ProbeChange),
    Advised(&'a Advice),
    Cleared(DateTime<Utc>),
}

impl Mk<'_> {
    fn at(&self) -> DateTime<Utc> {
        match self {
            Mk::Action(a) => a.at,
            Mk::Wait(w) => w.at,
            Mk::SignOff(_, m) | Mk::Rollback(_, m) => m.at,
            Mk::Probe(p) => p.at,
            Mk::Advised(a) => a.at,
            Mk::Cleared(at) => *at,
        }
    }

    fn glyph(&self, t: &Theme) -> (char, Style) {
        match self {
            Mk::Action(_) => ('⚑', t.code()),
            Mk::Wait(w) if w.outcome == "satisfied" => ('✔', t.ok()),
            Mk::Wait(_) => ('✘', t.failed()),
            Mk::SignOff(..) => ('✍', t.ok()),
            Mk::Rollback(..) => ('↺', t.warn()),
            Mk::Probe(p) => match p.to.as_str() {
                "green" => ('✔', t.ok()),
                "amber" => ('◐', t.warn()),
                "red" => ('✘', t.failed()),
                _ => ('·', t.muted()),
            },
            Mk::Advised(_) => ('⚠', t.failed()),
            Mk::Cleared(_) => ('◇', t.ok()),
        }
    }

    /// What happened, in a few words: `set_image web → 2.0`, `rollout web complete`.
    fn text(&self) -> String {
        match self {
            Mk::Action(a) => action_text(a),
            Mk::Wait(w) => wait_text(w),
            Mk::SignOff(step, m) => {
                let who = m.by.split('@').next().unwrap_or(&m.by);
                format!("{who} signed off {step}")
            }
            Mk::Rollback(step, _) => format!("rollback of {step}"),
            Mk::Probe(p) => format!("probe {} {}", p.probe, p.to),
            Mk::Advised(_) => "rollback advised".into(),
            Mk::Cleared(_) => "advice cleared".into(),
        }
    }
}

/// `deployment/web` → `web`.
fn short_target(t: &str) -> &str {
    t.rsplit('/').next().unwrap_or(t)
}

/// `registry/web:2.0` → `2.0`; anything else (several images, a digest) as it is.
fn image_tag(image: &str) -> &str {
    if image.contains(", ") || image.contains('@') {
        return image;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.rsplit_once(':').map_or(last, |(_, tag)| tag)
}

fn action_text(a: &ActionMark) -> String {
    let mut words = a.action.split_whitespace();
    let verb = words.next().unwrap_or("action");
    let target = if a.target.is_empty() {
        words.next().unwrap_or_default()
    } else {
        a.target.as_str()
    };
    let name = short_target(target);
    match verb {
        "set_image" => format!("set_image {name} → {}", image_tag(&a.after)),
        "scale" => format!("scale {name} → {}", a.after),
        "undo" => match a.revision_after {
            Some(r) => format!("undo {name} → revision {r}"),
            None => format!("undo {name}"),
        },
        _ => format!("{verb} {name}"),
    }
}

fn wait_text(w: &WaitMark) -> String {
    let rollout = w.what.strip_prefix("rollout of ").map(short_target);
    match (w.outcome, rollout) {
        ("satisfied", Some(name)) => format!("rollout {name} complete"),
        ("satisfied", None) => w.what.clone(),
        (how, Some(name)) => format!("rollout {name} {}", how.replace('_', " ")),
        (how, None) => format!("{} {}", w.what, how.replace('_', " ")),
    }
}

/// The milestones of one step, oldest first within each kind.
fn step_marks<'a>(id: &'a str, rec: &'a StepRecord) -> impl Iterator<Item = Mk<'a>> + 'a {
    let signoffs = rec.signoffs.iter().map(move |m| Mk::SignOff(id, m));
    let waits = rec.waits.iter().map(Mk::Wait);
    let actions = rec.actions.iter().map(Mk::Action);
    let rollbacks = rec.rollbacks.iter().map(move |m| Mk::Rollback(id, m));
    // Drawn in this order: the later ones win a shared cell.
    signoffs
        .chain(
            waits
                .clone()
                .filter(|w| matches!(w, Mk::Wait(w) if w.outcome == "satisfied")),
        )
        .chain(actions)
        .chain(rollbacks)
        .chain(waits.filter(|w| matches!(w, Mk::Wait(w) if w.outcome != "satisfied")))
}

/// The run-level milestones: probe changes and rollback advice.
fn run_marks(m: &Model) -> impl Iterator<Item = Mk<'_>> {
    let probes = m.run.probe_changes.iter().map(Mk::Probe);
    let cleared = m
        .run
        .advice
        .iter()
        .filter_map(|a| a.cleared.map(Mk::Cleared));
    let advised = m.run.advice.iter().map(Mk::Advised);
    cleared.chain(probes).chain(advised)
}

/// When the step's attempts end on screen: now for the one that runs, else the last finish.
fn actual_end(state: StepState, rec: &StepRecord, live_end: DateTime<Utc>) -> DateTime<Utc> {
    let Some(last) = rec.attempts.last() else {
        return rec.first_start().unwrap_or(live_end);
    };
    match last.finished {
        Some(f) => f,
        None if state == StepState::Running => live_end.max(last.started),
        None => last.started,
    }
}

/// The running attempt's time so far, or the last finished attempt's duration.
fn actual_ms(m: &Model, id: &str, state: StepState, rec: Option<&StepRecord>) -> Option<u64> {
    if matches!(
        state,
        StepState::Pending | StepState::Skipped | StepState::ManualDone
    ) {
        return None;
    }
    let rec = rec?;
    match rec.attempts.last() {
        Some(a) if a.finished.is_none() && state == StepState::Running => {
            let since = match &m.running {
                Some(r) if r.step == id && !r.rollback => r.since,
                _ => a.started,
            };
            let since = since.max(a.started).min(m.now);
            Some(u64::try_from((m.now - since).num_milliseconds()).unwrap_or(0))
        }
        _ => rec.last_duration_ms(),
    }
}

/// First of `rows` visible rows of `n`, keeping `focus` in view with a third of them above it:
/// what comes next matters more than what is done.
fn window(focus: usize, n: usize, rows: usize) -> usize {
    if n <= rows {
        return 0;
    }
    let above = if rows >= 3 { (rows - 1) / 3 } else { 0 };
    focus.saturating_sub(above).min(n - rows)
}

/// Bar cells of one row, grouped into spans when drawn.
struct Cells(Vec<(char, Style)>);

impl Cells {
    fn new(n: usize, c: char, style: Style) -> Self {
        Cells(vec![(c, style); n])
    }

    fn fill(&mut self, from: usize, to: usize, c: char, style: Style) {
        let to = to.min(self.0.len());
        for cell in self.0.iter_mut().take(to).skip(from) {
            *cell = (c, style);
        }
    }

    fn set(&mut self, at: usize, c: char, style: Style) {
        if let Some(cell) = self.0.get_mut(at) {
            *cell = (c, style);
        }
    }

    /// Writes `s` from `at` when it fits inside the row.
    fn text(&mut self, at: usize, s: &str, style: Style) -> bool {
        let n = s.chars().count();
        if at + n > self.0.len() {
            return false;
        }
        for (i, c) in s.chars().enumerate() {
            self.0[at + i] = (c, style);
        }
        true
    }

    fn is(&self, from: usize, n: usize, c: char) -> bool {
        from + n <= self.0.len() && self.0[from..from + n].iter().all(|(x, _)| *x == c)
    }

    fn spans(&self) -> Vec<Span<'static>> {
        crate::ui::text::group(&self.0)
    }
}

/// Maps times to columns of a bar `w` cells wide from `t0` to `t1`.
#[derive(Clone, Copy)]
struct Axis {
    t0: DateTime<Utc>,
    t1: DateTime<Utc>,
    span: i64,
    w: usize,
}

impl Axis {
    fn new(t0: DateTime<Utc>, t1: DateTime<Utc>, w: usize) -> Self {
        let span = (t1 - t0).num_milliseconds().max(1000);
        Axis { t0, t1, span, w }
    }

    /// The column a time falls in, `0..=w` (`w` is the end edge).
    fn edge(&self, t: DateTime<Utc>) -> usize {
        let ms = (t - self.t0).num_milliseconds().clamp(0, self.span);
        (i128::from(ms) * self.w as i128 / i128::from(self.span)) as usize
    }

    /// The cell a moment is drawn in.
    fn cell(&self, t: DateTime<Utc>) -> usize {
        self.edge(t).min(self.w.saturating_sub(1))
    }

    /// Cells `[from, to)` of a span of time, at least one.
    fn range(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> (usize, usize) {
        let a = self.cell(from);
        (a, self.edge(to).max(a + 1).min(self.w))
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.t0 && t <= self.t1
    }
}

/// Column widths: step label, bar, right column (actual/planned; 0 = none).
#[derive(Clone, Copy)]
struct Cols {
    label: usize,
    bar: usize,
    right: usize,
}

impl Cols {
    fn new(width: usize, label_need: usize, right_need: usize) -> Self {
        if width < 12 {
            return Cols {
                label: width,
                bar: 0,
                right: 0,
            };
        }
        let right = if width >= 40 {
            right_need.clamp(8, 12)
        } else if width >= 28 {
            right_need.clamp(5, 8)
        } else {
            0
        };
        let cap = (width / 3).min(28);
        let label = label_need.min(cap).max(if width >= 40 { 8 } else { 4 });
        let used = label + 1 + if right > 0 { right + 1 } else { 0 };
        Cols {
            label,
            bar: width.saturating_sub(used),
            right,
        }
    }

    /// A full line: label, bar cells, right column, each in its place.
    fn line(
        &self,
        label: Vec<Span<'static>>,
        bar: Option<&Cells>,
        right: Vec<Span<'static>>,
    ) -> Line<'static> {
        let mut spans = pad_spans(fit_spans(label, self.label), self.label);
        if self.bar > 0 {
            spans.push(Span::raw(" "));
            match bar {
                Some(c) => spans.extend(c.spans()),
                None => spans.push(Span::raw(" ".repeat(self.bar))),
            }
        }
        if self.right > 0 {
            spans.push(Span::raw(" "));
            let right = fit_spans(right, self.right);
            let w: usize = right.iter().map(|s| text_width(&s.content)).sum();
            spans.push(Span::raw(" ".repeat(self.right - w)));
            spans.extend(right);
        }
        Line::from(spans)
    }
}

fn pad_spans(mut spans: Vec<Span<'static>>, w: usize) -> Vec<Span<'static>> {
    let used: usize = spans.iter().map(|s| text_width(&s.content)).sum();
    if used < w {
        spans.push(Span::raw(" ".repeat(w - used)));
    }
    spans
}

/// `12s/10s`, `12s/~9.8s` (a median of past runs), `~10s` before it ran, `skipped`, `?`.
fn right_text(cx: &Ctx, r: &Row) -> (String, Style) {
    let (m, t) = (cx.m, cx.theme);
    let plan = |(ms, basis): (u64, Basis)| match (basis, r.step.estimate) {
        (Basis::Estimate, Some(e)) => format_duration_spec(e),
        _ => format!("~{}", millis(ms)),
    };
    match (r.state, r.actual_ms, r.plan) {
        (StepState::Skipped, ..) => ("skipped".into(), t.muted()),
        (StepState::ManualDone, ..) => ("done".into(), t.muted()),
        (_, Some(ms), Some(p)) => {
            let style = if over(m, r, ms) { t.warn() } else { t.muted() };
            (format!("{}/{}", millis(ms), plan(p)), style)
        }
        (_, Some(ms), None) => (millis(ms), t.muted()),
        (StepState::Pending, None, Some(p)) => {
            let s = plan(p);
            let s = if s.starts_with('~') {
                s
            } else {
                format!("~{s}")
            };
            (s, t.muted())
        }
        (StepState::Pending, None, None) => ("?".into(), t.muted()),
        _ => (String::new(), t.muted()),
    }
}

/// Over plan: past the estimate, or past the p90 of past runs (half of all runs beat a median),
/// as the checklist pane says it.
fn over(m: &Model, r: &Row, ms: u64) -> bool {
    match r.plan {
        Some((e, Basis::History)) => {
            ms > m
                .history
                .get(&r.step.id)
                .and_then(|s| s.p90_ms)
                .unwrap_or(e)
        }
        Some((e, Basis::Estimate)) => ms > e,
        None => false,
    }
}

fn label_spans(cx: &Ctx, r: &Row) -> Vec<Span<'static>> {
    let t = cx.theme;
    let glyph_style = match r.state {
        StepState::Pending if matches!(r.step.kind, StepKind::Manual) => t.manual(),
        s => t.state(s),
    };
    let title_style = match r.state {
        StepState::Skipped => t.muted(),
        StepState::Running => t.running(),
        _ => Style::new(),
    };
    vec![
        Span::styled(super::checklist::glyph(cx.m, r.step, r.state), glyph_style),
        Span::raw(" "),
        Span::styled(clean(&r.step.title), title_style),
    ]
}

fn bar_cells(cx: &Ctx, r: &Row, axis: &Axis, live_end: DateTime<Utc>) -> Cells {
    let (m, t) = (cx.m, cx.theme);
    let mut cells = Cells::new(axis.w, ' ', Style::new());
    if axis.w == 0 {
        return cells;
    }
    let marked = matches!(r.state, StepState::Skipped | StepState::ManualDone);
    match r.plan_end() {
        Some(end) if !marked => {
            let (a, b) = axis.range(r.plan_at, end);
            cells.fill(a, b, PLAN, t.muted());
        }
        None if r.state == StepState::Pending => {
            cells.set(axis.cell(r.plan_at), '?', t.muted());
        }
        _ => {}
    }
    let Some(rec) = r.rec else { return cells };
    let overrun = match (r.actual_ms, r.plan_end()) {
        (Some(ms), Some(end)) if over(m, r, ms) => Some(axis.edge(end)),
        _ => None,
    };
    for (i, a) in rec.attempts.iter().enumerate() {
        let end = match a.finished {
            Some(f) => f,
            None if i + 1 == rec.attempts.len() => actual_end(r.state, rec, live_end),
            None => a.started,
        };
        // Each attempt in the colour of how it ended: a retry shows its failed attempts.
        let style = match a.outcome {
            Some(StepOutcome::Succeeded) => t.ok(),
            Some(StepOutcome::Failed | StepOutcome::TimedOut | StepOutcome::Aborted) => t.failed(),
            Some(StepOutcome::Interrupted) => t.warn(),
            None => t.state(r.state),
        };
        let (from, to) = axis.range(a.started, end);
        cells.fill(from, to, BAR, style);
        if let Some(o) = overrun
            && style != t.failed()
        {
            cells.fill(from.max(o), to, BAR, t.warn());
        }
    }
    match r.state {
        StepState::Skipped => {
            if let Some(s) = &rec.skipped {
                cells.set(axis.cell(s.at), '↷', t.muted());
            }
        }
        StepState::ManualDone => {
            if let Some(d) = &rec.manual_done {
                cells.set(axis.cell(d.at), '☑', t.ok());
            }
        }
        StepState::Interrupted => {
            if let Some(a) = rec.attempts.last() {
                cells.set(axis.cell(a.started), '⚠', t.warn());
            }
        }
        _ => {}
    }
    for mk in step_marks(&r.step.id, rec) {
        let (c, s) = mk.glyph(t);
        cells.set(axis.cell(mk.at()), c, s);
    }
    cells
}

/// The run-level milestones on `cells`: advice episodes as a heavy line, then the glyphs.
fn draw_run_marks(cx: &Ctx, cells: &mut Cells, axis: &Axis, live_end: DateTime<Utc>) {
    let t = cx.theme;
    if axis.w == 0 {
        return;
    }
    for a in &cx.m.run.advice {
        let end = a.cleared.unwrap_or(live_end);
        if end < axis.t0 || a.at > axis.t1 {
            continue;
        }
        let (from, to) = axis.range(a.at, end);
        cells.fill(from, to, ADVISED, t.failed());
    }
    for mk in run_marks(cx.m) {
        if axis.contains(mk.at()) {
            let (c, s) = mk.glyph(t);
            cells.set(axis.cell(mk.at()), c, s);
        }
    }
}

/// The newest milestones that fit in `lines` lines of `width`, oldest of them first:
/// `12:03:04 ⚑ set_image web → 2.0 · 12:03:40 ✔ rollout web complete`.
fn legend(cx: &Ctx, leaves: &[&Step], width: usize, lines: usize) -> Vec<Line<'static>> {
    let (m, t) = (cx.m, cx.theme);
    let most = LEGEND_MAX * lines.max(1);
    let tail = |n: usize| n.saturating_sub(most);
    // The last few of each list are enough to find the newest few overall.
    let mut marks: Vec<Mk> = Vec::new();
    for step in leaves {
        if let Some(rec) = m.run.steps.get(&step.id) {
            let id = step.id.as_str();
            let (a, w) = (&rec.actions, &rec.waits);
            marks.extend(a[tail(a.len())..].iter().map(Mk::Action));
            marks.extend(w[tail(w.len())..].iter().map(Mk::Wait));
            let (s, r) = (&rec.signoffs, &rec.rollbacks);
            marks.extend(s[tail(s.len())..].iter().map(|x| Mk::SignOff(id, x)));
            marks.extend(r[tail(r.len())..].iter().map(|x| Mk::Rollback(id, x)));
        }
    }
    let probes = &m.run.probe_changes;
    marks.extend(probes[tail(probes.len())..].iter().map(Mk::Probe));
    let advice = &m.run.advice;
    for a in &advice[tail(advice.len())..] {
        marks.push(Mk::Advised(a));
        if let Some(at) = a.cleared {
            marks.push(Mk::Cleared(at));
        }
    }
    marks.sort_by_key(|k| k.at());
    // Packed from the newest back, so the last line is full of the newest; read oldest first.
    let mut packed: Vec<(usize, Vec<Vec<Span<'static>>>)> = Vec::new();
    for mk in marks.iter().rev().take(most) {
        let (c, s) = mk.glyph(t);
        let item = vec![
            Span::styled(hms(mk.at()), t.muted()),
            Span::raw(" "),
            Span::styled(c.to_string(), s),
            Span::raw(format!(" {}", clean(&mk.text()))),
        ];
        let w: usize = item.iter().map(|s| text_width(&s.content)).sum();
        let full = packed.len() >= lines;
        match packed.last_mut() {
            Some((used, items)) if *used + 3 + w <= width => {
                *used += 3 + w;
                items.push(item);
            }
            Some(_) if full => break,
            _ => packed.push((w, vec![item])),
        }
    }
    packed
        .into_iter()
        .rev()
        .map(|(_, items)| {
            let mut spans = Vec::new();
            for (i, item) in items.into_iter().rev().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" · ", t.muted()));
                }
                spans.extend(item);
            }
            Line::from(fit_spans(spans, width))
        })
        .collect()
}

/// What the glyphs mean, for a pane with room to spare and no milestone yet.
fn key_line(t: &Theme, width: usize) -> Line<'static> {
    let spans = vec![
        Span::styled(PLAN.to_string(), t.muted()),
        Span::styled(" planned  ", t.muted()),
        Span::raw(BAR.to_string()),
        Span::styled(" actual  ", t.muted()),
        Span::styled(NOW.to_string(), t.running()),
        Span::styled(
            " now — actions ⚑, waits ✔, sign-offs ✍, probes and rollback advice appear as they happen",
            t.muted(),
        ),
    ];
    Line::from(fit_spans(spans, width))
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, t) = (cx.m, cx.theme);
    let (width, height) = (usize::from(area.width), usize::from(area.height));
    if width == 0 || height == 0 {
        return;
    }
    let flat = m.checklist.flat_steps();
    let leaves: Vec<&Step> = flat
        .iter()
        .filter(|f| f.step.steps.is_empty())
        .map(|f| f.step)
        .collect();
    let live = m.run.finished.is_none();
    let live_end = m.run.finished.map_or(m.now, |f| f.0);

    // First pass, over every leaf step: where the plan of the steps still to run begins, which
    // step is "now", and whether there is anything to draw at all.
    let mut cursor = live_end;
    let mut focus: Option<(usize, DateTime<Utc>, bool)> = None;
    let (mut started, mut planned, mut by_history, mut by_estimate) = (false, false, 0, 0);
    for (i, step) in leaves.iter().enumerate() {
        let state = super::checklist::shown_state(m, step);
        let expected = expected_ms(m, &step.id);
        planned |= expected.is_some();
        match expected {
            Some((_, Basis::History)) => by_history += 1,
            Some((_, Basis::Estimate)) => by_estimate += 1,
            None => {}
        }
        let Some(rec) = m.run.steps.get(&step.id) else {
            continue;
        };
        let Some(first) = rec.first_start() else {
            continue;
        };
        started = true;
        let end = actual_end(state, rec, live_end);
        cursor = cursor.max(end);
        let running = state == StepState::Running;
        if running && let Some((ms, _)) = expected {
            cursor = cursor.max(first + ms_dur(ms));
        }
        let newer = match focus {
            None => true,
            Some((_, at, was_running)) => running || (!was_running && first >= at),
        };
        if newer {
            focus = Some((i, first, running));
        }
    }

    if !started && !planned {
        let mut lines = vec![
            Line::raw("nothing has run yet — bars of the actual times appear as steps run"),
            Line::styled(
                "no step has a plan to draw: plans come from `estimate:` on the checklist's \
                 steps, or from past runs of this checklist",
                t.muted(),
            ),
        ];
        lines.extend(legend(cx, &leaves, width, height.saturating_sub(2).min(3)));
        return draw_lines(cx, area, lines);
    }

    // Rows: the note, the steps, the run-level milestones, the time axis, the legend.
    let has_run_marks = !m.run.probe_changes.is_empty() || !m.run.advice.is_empty();
    let has_marks = has_run_marks
        || m.run.steps.values().any(|r| {
            !(r.actions.is_empty()
                && r.waits.is_empty()
                && r.signoffs.is_empty()
                && r.rollbacks.is_empty())
        });
    let axis_row = height >= 2;
    let note_row = !started && height >= 3;
    let legend_row = has_marks && height >= 4;
    let marks_row = has_run_marks && height >= 6;
    let fixed = [axis_row, note_row, legend_row, marks_row]
        .iter()
        .filter(|b| **b)
        .count();
    let rows = height.saturating_sub(fixed).max(1);
    let n = leaves.len();
    let first = window(focus.map_or(0, |f| f.0), n, rows);
    let shown = rows.min(n);

    // Second pass: the plan, laid out in order; rows built for the visible steps only.
    let mut visible: Vec<Row> = Vec::with_capacity(shown);
    for (i, step) in leaves.iter().enumerate() {
        if i >= first + shown {
            break;
        }
        let state = super::checklist::shown_state(m, step);
        let rec = m.run.steps.get(&step.id);
        let plan = expected_ms(m, &step.id);
        let plan_at = match rec.and_then(StepRecord::first_start) {
            Some(at) => at,
            None => {
                let at = cursor;
                cursor += plan.map_or(Duration::zero(), |(ms, _)| ms_dur(ms));
                at
            }
        };
        if i >= first {
            visible.push(Row {
                step,
                state,
                rec,
                plan_at,
                plan,
                actual_ms: actual_ms(m, &step.id, state, rec),
            });
        }
    }

    // The time axis of the visible rows (and now, while the run is live).
    let mut t0 = live_end;
    let mut t1 = live_end;
    if first == 0
        && let Some(s) = m.run.started
    {
        t0 = t0.min(s);
    }
    for r in &visible {
        t0 = t0.min(r.plan_at);
        t1 = t1.max(r.plan_at);
        if let Some(e) = r.plan_end()
            && !matches!(r.state, StepState::Skipped | StepState::ManualDone)
        {
            t1 = t1.max(e);
        }
        if let Some(rec) = r.rec {
            t1 = t1.max(actual_end(r.state, rec, live_end));
            for mk in step_marks(&r.step.id, rec) {
                t0 = t0.min(mk.at());
                t1 = t1.max(mk.at());
            }
        }
    }
    if t1 - t0 < Duration::seconds(1) {
        t1 = t0 + Duration::seconds(1);
    }

    let rights: Vec<(String, Style)> = visible.iter().map(|r| right_text(cx, r)).collect();
    let right_need = rights.iter().map(|(s, _)| text_width(s)).max().unwrap_or(0);
    let label_need = visible
        .iter()
        .map(|r| 2 + text_width(&clean(&r.step.title)))
        .max()
        .unwrap_or(0)
        .max(if marks_row { 10 } else { 0 });
    let cols = Cols::new(width, label_need, right_need);
    let axis = Axis::new(t0, t1, cols.bar);

    let mut lines: Vec<Line<'static>> = Vec::with_capacity(height);
    if note_row {
        let source = match (by_history > 0, by_estimate > 0) {
            (true, true) => "estimates and past runs",
            (true, false) => "past runs",
            _ => "the checklist's estimates",
        };
        lines.push(Line::from(fit_spans(
            vec![
                Span::styled("nothing has run yet — ", t.bold()),
                Span::styled(format!("{PLAN} planned from {source}"), t.muted()),
            ],
            width,
        )));
    }
    for (r, (text, style)) in visible.iter().zip(rights) {
        let cells = bar_cells(cx, r, &axis, live_end);
        lines.push(cols.line(
            label_spans(cx, r),
            Some(&cells),
            vec![Span::styled(text, style)],
        ));
    }
    if marks_row {
        let mut cells = Cells::new(axis.w, ' ', Style::new());
        draw_run_marks(cx, &mut cells, &axis, live_end);
        lines.push(cols.line(
            vec![Span::styled("milestones", t.muted())],
            Some(&cells),
            Vec::new(),
        ));
    }
    if axis_row {
        lines.push(axis_line(
            cx,
            &cols,
            &axis,
            live,
            has_run_marks && !marks_row,
            live_end,
        ));
    }
    // Rows the steps leave free go to more of the legend (or, before any milestone, the key).
    let spare = rows - shown;
    if legend_row {
        lines.extend(legend(cx, &leaves, width, 1 + spare.min(2)));
    } else if spare > 0 && started {
        lines.push(key_line(t, width));
    }
    lines.truncate(height);
    cx.frame.render_widget(Lines::new(lines), area);
}

/// `12:00:00 ──────▲now──────── 12:05:00`: start and end times, now while the run is live, and
/// the run-level milestones when they have no row of their own.
fn axis_line(
    cx: &Ctx,
    cols: &Cols,
    axis: &Axis,
    live: bool,
    with_marks: bool,
    live_end: DateTime<Utc>,
) -> Line<'static> {
    let (m, t) = (cx.m, cx.theme);
    let (start, end) = (hms(axis.t0), hms(axis.t1));
    if cols.bar == 0 {
        return Line::from(fit_spans(
            vec![Span::styled(format!("{start}–{end}"), t.muted())],
            cols.label,
        ));
    }
    // Times first, kept whole; the milestones and `now` go where the line is bare.
    let mut cells = Cells::new(axis.w, AXIS, t.muted());
    let mut label = Vec::new();
    let start_in_bar = cols.label < 8;
    if !start_in_bar {
        label.push(Span::raw(" ".repeat(cols.label - 8)));
        label.push(Span::styled(start.clone(), t.muted()));
    } else if axis.w >= 8 {
        cells.text(0, &start, t.muted());
    }
    let mut right = Vec::new();
    if cols.right >= 8 {
        right.push(Span::styled(end.clone(), t.muted()));
        // Left-aligned next to the bar's end: pad on the right.
        right.push(Span::raw(" ".repeat(cols.right - 8)));
    } else if axis.w >= if start_in_bar { 17 } else { 8 } {
        cells.text(axis.w - 8, &end, t.muted());
    }
    if with_marks {
        let mut marks = Cells::new(axis.w, ' ', Style::new());
        draw_run_marks(cx, &mut marks, axis, live_end);
        for (cell, mark) in cells.0.iter_mut().zip(marks.0) {
            if cell.0 == AXIS && mark.0 != ' ' {
                *cell = mark;
            }
        }
    }
    if live && axis.w > 0 && axis.contains(m.now) {
        let at = axis.cell(m.now);
        if !cells.0[at].0.is_ascii() {
            cells.set(at, NOW, t.running());
            if cells.is(at + 1, 3, AXIS) {
                cells.text(at + 1, "now", t.running());
            } else if at >= 3 && cells.is(at - 3, 3, AXIS) {
                cells.text(at - 3, "now", t.running());
            }
        }
    }
    cols.line(label, Some(&cells), right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_the_focus_with_what_follows() {
        assert_eq!(window(3, 5, 10), 0);
        assert_eq!(window(0, 20, 4), 0);
        assert_eq!(window(10, 20, 4), 9);
        assert_eq!(window(10, 20, 7), 8);
        assert_eq!(window(19, 20, 4), 16);
        assert_eq!(window(10, 20, 1), 10);
        assert_eq!(window(10, 20, 2), 10);
    }

    #[test]
    fn the_axis_maps_times_to_cells() {
        let t0 = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let a = Axis::new(t0, t0 + Duration::seconds(10), 10);
        assert_eq!(a.cell(t0), 0);
        assert_eq!(a.cell(t0 + Duration::seconds(10)), 9);
        assert_eq!(a.edge(t0 + Duration::seconds(10)), 10);
        assert_eq!(a.range(t0, t0), (0, 1));
        assert_eq!(
            a.range(t0 + Duration::seconds(2), t0 + Duration::seconds(5)),
            (2, 5)
        );
        assert_eq!(a.cell(t0 - Duration::seconds(5)), 0);
        let zero = Axis::new(t0, t0, 0);
        assert_eq!(zero.cell(t0), 0);
        assert_eq!(zero.range(t0, t0), (0, 0));
    }

    #[test]
    fn milestone_texts() {
        let t0 = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let a = ActionMark {
            at: t0,
            action: "set_image deployment/web web=registry/web:2.0".into(),
            target: "deployment/web".into(),
            before: "registry/web:1.9".into(),
            after: "registry/web:2.0".into(),
            revision_before: Some(3),
            revision_after: Some(4),
        };
        assert_eq!(action_text(&a), "set_image web → 2.0");
        let w = WaitMark {
            at: t0,
            what: "rollout of deployment/web".into(),
            outcome: "satisfied",
            duration_ms: 1,
            message: String::new(),
        };
        assert_eq!(wait_text(&w), "rollout web complete");
        let w = WaitMark {
            outcome: "timed_out",
            what: "pods ready (app=web)".into(),
            ..w
        };
        assert_eq!(wait_text(&w), "pods ready (app=web) timed out");
        assert_eq!(image_tag("localhost:5000/web:2.1"), "2.1");
        assert_eq!(image_tag("web"), "web");
    }
}
