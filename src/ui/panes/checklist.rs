//! The checklist pane: phases and steps with state glyphs, actual vs estimate, sign-off marks.

use super::Ctx;
use crate::config::checklist::{Step, StepKind};
use crate::config::units::format_duration_spec;
use crate::core::history::{Basis, expected_ms};
use crate::core::model::{Model, Row};
use crate::core::report::group_state;
use crate::core::run::StepState;
use crate::ui::clock;
use crate::ui::lines::Lines;
use crate::ui::text::{fit_spans, spans_width, split_line};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

const SPINNER: [&str; 8] = ["⣾", "⣽", "⣻", "⢿", "⡿", "⣟", "⣯", "⣷"];

/// Done / total leaf steps, for the pane title.
pub fn title_extra(m: &Model) -> String {
    let leaves: Vec<_> = m
        .checklist
        .flat_steps()
        .into_iter()
        .filter(|f| f.step.steps.is_empty())
        .collect();
    let done = leaves
        .iter()
        .filter(|f| m.run.state_of(&f.step.id).is_done())
        .count();
    format!("{done}/{} done", leaves.len())
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, width, height) = (cx.m, usize::from(area.width), usize::from(area.height));
    if width == 0 || height == 0 {
        return;
    }
    let offset = window(m.selected, m.rows.len(), height);
    let lines: Vec<Line> = m.rows[offset..]
        .iter()
        .take(height)
        .enumerate()
        .map(|(i, row)| match row {
            Row::Phase(p) => phase_line(cx, *p, width),
            Row::Step { id, depth, .. } => {
                step_line(cx, id, *depth, offset + i == m.selected, width)
            }
        })
        .collect();
    cx.frame.render_widget(Lines::new(lines), area);
}

/// First row shown so that the selected row stays visible, centred once the list scrolls.
fn window(selected: usize, rows: usize, height: usize) -> usize {
    if rows <= height {
        return 0;
    }
    selected.saturating_sub(height / 2).min(rows - height)
}

fn phase_line(cx: &Ctx, p: usize, width: usize) -> Line<'static> {
    let (m, t) = (cx.m, cx.theme);
    let Some(phase) = m.checklist.phases.get(p) else {
        return Line::default();
    };
    let leaves: Vec<&Step> = m
        .checklist
        .flat_steps()
        .into_iter()
        .filter(|f| f.phase == p && f.step.steps.is_empty())
        .map(|f| f.step)
        .collect();
    let done = leaves
        .iter()
        .filter(|s| m.run.state_of(&s.id).is_done())
        .count();
    let style = if done == leaves.len() {
        t.ok()
    } else {
        t.muted()
    };
    let left = vec![Span::styled(phase.name.clone(), t.bold())];
    split_line(
        left,
        vec![Span::styled(format!("{done}/{}", leaves.len()), style)],
        width,
    )
}

/// The state a row shows: a group's derived state, the live process for the running step.
pub fn shown_state(m: &Model, step: &Step) -> StepState {
    if m.running.as_ref().is_some_and(|r| r.step == step.id) {
        return StepState::Running;
    }
    if matches!(step.kind, StepKind::Group) {
        return group_state(step, &m.run);
    }
    m.run.state_of(&step.id)
}

/// The glyph of a step: the state's, a spinner while it runs, ☐ for an unticked manual step.
pub fn glyph(m: &Model, step: &Step, state: StepState) -> &'static str {
    match state {
        StepState::Running => {
            SPINNER[(m.now.timestamp_subsec_millis() / 100) as usize % SPINNER.len()]
        }
        StepState::Pending if matches!(step.kind, StepKind::Manual) => "☐",
        s => s.glyph(),
    }
}

fn step_line(cx: &Ctx, id: &str, depth: usize, selected: bool, width: usize) -> Line<'static> {
    let (m, t) = (cx.m, cx.theme);
    let Some(step) = m.step(id) else {
        return Line::default();
    };
    let state = shown_state(m, step);
    let state_style = match state {
        StepState::Pending if matches!(step.kind, StepKind::Manual) => t.manual(),
        s => t.state(s),
    };
    let title_style = match state {
        StepState::Skipped => t.muted(),
        StepState::Running => t.running(),
        _ => ratatui::style::Style::new(),
    };
    let left = vec![
        Span::raw(if selected { "›" } else { " " }),
        Span::raw("  ".repeat(depth.min(8))),
        Span::styled(glyph(m, step, state), state_style),
        Span::raw(" "),
        Span::styled(crate::ui::text::clean(&step.title), title_style),
    ];
    let mut right = Vec::new();
    let rec = m.run.steps.get(id);
    if rec.is_some_and(|r| !r.signoffs.is_empty()) {
        right.push(Span::styled("✍", t.ok()));
    } else if step.signoff {
        right.push(Span::styled("✍?", t.muted()));
    }
    if let Some(time) = timing(cx, step, state) {
        if !right.is_empty() {
            right.push(Span::raw(" "));
        }
        right.push(time);
    }
    // `applying…` / `waiting…` before the time, when the title still fits beside it; the
    // details pane says what is awaited.
    if let Some(phase) = super::details::phase_text(m, step) {
        let word = if phase.starts_with("applying") {
            "applying…"
        } else {
            "waiting…"
        };
        let need = spans_width(&left) + 2 + crate::ui::text::width(word) + spans_width(&right);
        if need <= width {
            if !right.is_empty() {
                right.insert(0, Span::raw(" "));
            }
            right.insert(0, Span::styled(word, t.running()));
        }
    }
    let mut line = split_line(left, right, width);
    if selected {
        let pad = width.saturating_sub(spans_width(&line.spans));
        line.spans.push(Span::raw(" ".repeat(pad)));
        for s in &mut line.spans {
            s.style = t.on_selected(s.style);
        }
        line = Line::from(fit_spans(line.spans, width)).style(t.selected(cx.focused));
    }
    line
}

/// Actual against expected: `4.2s/5m` against the checklist's estimate, `4.2s/~3.1s` against
/// the median of past runs; live for the running step; `~5m` / `~3.1s` before it ran. Amber
/// once over the estimate, or over the p90 of past runs (half of all runs beat the median).
fn timing(cx: &Ctx, step: &Step, state: StepState) -> Option<Span<'static>> {
    let (m, t) = (cx.m, cx.theme);
    let expected = expected_ms(m, &step.id);
    let actual_ms = match (&m.running, state) {
        (Some(r), StepState::Running) if r.step == step.id => {
            Some((m.now - r.since).num_milliseconds().max(0) as u64)
        }
        (_, StepState::Pending | StepState::Skipped | StepState::ManualDone) => None,
        _ => m.run.steps.get(&step.id).and_then(|r| r.last_duration_ms()),
    };
    let shown = |ms: u64, basis: Basis| match (basis, step.estimate) {
        (Basis::Estimate, Some(e)) => format_duration_spec(e),
        _ => format!("~{}", clock::millis(ms)),
    };
    match (actual_ms, expected) {
        (Some(ms), Some((e, basis))) => {
            let limit = match basis {
                Basis::History => m.history.get(&step.id).and_then(|s| s.p90_ms).unwrap_or(e),
                Basis::Estimate => e,
            };
            let text = format!("{}/{}", clock::millis(ms), shown(e, basis));
            Some(Span::styled(
                text,
                if ms > limit { t.warn() } else { t.muted() },
            ))
        }
        (Some(ms), None) => Some(Span::styled(clock::millis(ms), t.muted())),
        (None, Some((e, basis))) if state == StepState::Pending => {
            let text = shown(e, basis);
            let text = if text.starts_with('~') {
                text
            } else {
                format!("~{text}")
            };
            Some(Span::styled(text, t.muted()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_keeps_selection_visible() {
        assert_eq!(super::window(3, 5, 10), 0);
        assert_eq!(super::window(0, 50, 10), 0);
        assert_eq!(super::window(20, 50, 10), 15);
        assert_eq!(super::window(49, 50, 10), 40);
    }
}
