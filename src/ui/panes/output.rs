//! The output pane: the running (or selected) step's output with ANSI colours, following the tail.

use super::Ctx;
use crate::config::checklist::StepKind;
use crate::core::model::Model;
use crate::core::redact::redact;
use crate::ui::ansi::parse_line;
use crate::ui::lines::Lines;
use crate::ui::text::{fit, fit_line};
use ratatui::layout::Rect;
use ratatui::text::Line;

/// `tests #2 · FOLLOW`, `tests #2 · PAUSED +40`, `db-backup rollback · FOLLOW`.
pub fn title_extra(m: &Model) -> String {
    let Some(id) = m.output_step() else {
        return String::new();
    };
    let Some(out) = m.outputs.get(id) else {
        return id.to_string();
    };
    let attempt = if out.attempt == u32::MAX {
        "rollback".to_string()
    } else {
        format!("#{}", out.attempt)
    };
    let mode = if m.output_scroll == 0 && m.follow {
        "FOLLOW".to_string()
    } else {
        format!("PAUSED +{}", m.output_scroll)
    };
    format!("{id} {attempt} · {mode}")
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, t) = (cx.m, cx.theme);
    let (width, height) = (usize::from(area.width), usize::from(area.height));
    if width == 0 || height == 0 {
        return;
    }
    let id = m.output_step();
    let out = id
        .and_then(|id| m.outputs.get(id))
        .filter(|o| !o.lines.is_empty());
    let Some(out) = out else {
        let text = fit(&empty_text(m), width);
        cx.frame
            .render_widget(Lines::from(Line::styled(text, t.muted())), area);
        return;
    };
    let len = out.lines.len();
    let end = len - m.output_scroll.min(len);
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    let mut start = end.saturating_sub(height);
    if start == 0 && out.dropped > 0 {
        // At the top of what is kept: say that earlier lines are only in the step's log file.
        start = end.saturating_sub(height - 1);
        let note = format!("… {} earlier lines are in the step's log file", out.dropped);
        lines.push(Line::styled(fit(&note, width), t.muted()));
    }
    for raw in out.lines.range(start..end) {
        let line = parse_line(&redact(raw, &m.secrets), t.color);
        lines.push(fit_line(line, width));
    }
    cx.frame.render_widget(Lines::new(lines), area);
}

/// What the pane says before there is output, depending on the step and whether it runs.
fn empty_text(m: &Model) -> String {
    let Some(id) = m.output_step() else {
        return "no step selected".into();
    };
    if let Some(r) = m.running.as_ref().filter(|r| r.step == id) {
        return format!(
            "no output yet — running for {}",
            crate::ui::clock::since(r.since, m.now)
        );
    }
    let Some(step) = m.step(id) else {
        return "no output yet".into();
    };
    let ran = m.run.steps.get(id).is_some_and(|r| !r.attempts.is_empty());
    let watching = m.role == crate::core::model::Role::Watcher;
    match &step.kind {
        StepKind::Manual if watching => "a manual step prints nothing — the driver ticks it".into(),
        _ if watching && !ran => "no output yet — it shows here when the driver runs it".into(),
        StepKind::Manual => "a manual step prints nothing — Enter ticks it once it is done".into(),
        StepKind::Group => "a group has no output of its own — select one of its steps".into(),
        _ if ran => "no output recorded for the last attempt".into(),
        _ => "no output yet — Enter runs the selected step".into(),
    }
}
