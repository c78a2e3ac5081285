//! The timeline pane: Gantt bars of each started step, actual against its estimate, over the run.
//!
//! Step times come from the journal, so this pane has real data without a cluster; rollout and
//! probe milestones need the cluster connection and are named as missing.

use super::Ctx;
use super::unavailable::{NOT_CONNECTED, draw_lines};
use crate::config::checklist::Step;
use crate::core::run::StepState;
use crate::ui::clock::{hms, millis};
use crate::ui::text::{fit, split_line};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

struct Bar<'a> {
    step: &'a Step,
    state: StepState,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, t) = (cx.m, cx.theme);
    let (width, height) = (usize::from(area.width), usize::from(area.height));
    let milestones = match (&m.checklist.cluster, m.checklist.probes.is_empty()) {
        (None, true) => "rollout and probe milestones: no cluster in this checklist".to_string(),
        _ => format!("rollout and probe milestones: {NOT_CONNECTED}"),
    };
    let bars: Vec<Bar> = m
        .checklist
        .flat_steps()
        .into_iter()
        .filter(|f| f.step.steps.is_empty())
        .filter_map(|f| {
            let rec = m.run.steps.get(&f.step.id)?;
            let start = rec.first_start()?;
            let live = m.running.as_ref().is_some_and(|r| r.step == f.step.id);
            let end = match rec.attempts.last() {
                Some(a) if live || a.finished.is_none() => m.now.max(start),
                Some(a) => a.finished.unwrap_or(start),
                None => start,
            };
            Some(Bar {
                step: f.step,
                state: super::checklist::shown_state(m, f.step),
                start,
                end,
            })
        })
        .collect();
    if bars.is_empty() || width < 20 || height < 2 {
        let lines = vec![
            Line::raw(
                "no step has started yet — bars of actual against estimated time appear as steps run",
            ),
            Line::styled(milestones, t.muted()),
        ];
        return draw_lines(cx, area, lines);
    }
    let t0 = m.run.started.unwrap_or(bars[0].start).min(bars[0].start);
    let t1 = m
        .run
        .finished
        .map_or(m.now, |f| f.0)
        .max(bars.iter().map(|b| b.end).max().unwrap_or(t0));
    let total = (t1 - t0).num_milliseconds().max(1000) as f64;
    let label_w = (width / 4).clamp(6, 18);
    let right_w = 8;
    let bar_w = width.saturating_sub(label_w + right_w + 2).max(1);
    let col = |at: DateTime<Utc>| {
        ((at - t0).num_milliseconds().max(0) as f64 / total * bar_w as f64) as usize
    };
    let rows = height.saturating_sub(if height >= 4 { 2 } else { 1 });
    let mut lines: Vec<Line> = Vec::new();
    for b in bars.iter().skip(bars.len().saturating_sub(rows)) {
        let style = t.state(b.state);
        let (s, e) = (col(b.start).min(bar_w - 1), col(b.end).min(bar_w));
        let e = e.max(s + 1);
        let plan = b
            .step
            .estimate
            .map(|d| col(b.start + chrono::Duration::milliseconds(d.as_millis() as i64)));
        let planned = plan.map_or(e, |p| p.clamp(e, bar_w));
        let glyph = match b.state {
            StepState::Skipped => "↷",
            StepState::ManualDone => "☑",
            _ => "█",
        };
        let bar = if glyph == "█" {
            glyph.repeat(e - s)
        } else {
            format!("{glyph}{}", " ".repeat(e - s - 1))
        };
        let spans = vec![
            Span::raw(format!("{:<w$} ", fit(&b.step.id, label_w), w = label_w)),
            Span::raw(" ".repeat(s)),
            Span::styled(bar, style),
            Span::styled("░".repeat(planned - e), t.muted()),
        ];
        let ms = (b.end - b.start).num_milliseconds().max(0) as u64;
        let dur = if matches!(b.state, StepState::Skipped | StepState::ManualDone) {
            String::new()
        } else {
            millis(ms)
        };
        lines.push(split_line(spans, vec![Span::styled(dur, t.muted())], width));
    }
    let axis = format!("{:>w$}{}", "", hms(t0), w = label_w + 1);
    lines.push(split_line(
        vec![Span::styled(axis, t.muted())],
        vec![Span::styled(hms(t1), t.muted())],
        width,
    ));
    if height >= 4 {
        lines.push(Line::styled(fit(&milestones, width), t.muted()));
    }
    cx.frame.render_widget(Paragraph::new(lines), area);
}
