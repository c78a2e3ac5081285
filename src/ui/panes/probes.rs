//! The probes pane: each HTTP health probe (probing is not connected in this build).

use super::Ctx;
use super::unavailable::draw_lines;
use crate::config::units::format_duration_spec;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, t) = (cx.m, cx.theme);
    let mut lines = Vec::new();
    if m.checklist.probes.is_empty() {
        lines.push(Line::styled("no probes defined", t.bold()));
        lines.push(Line::styled(
            "add `probes:` (name, url, expect) to watch health here",
            t.muted(),
        ));
    } else {
        lines.push(Line::raw(
            "probes are not connected in this build; defined here:",
        ));
        for p in &m.checklist.probes {
            let mut spans = vec![
                Span::styled("· ", t.muted()),
                Span::styled(p.name.clone(), t.bold()),
                Span::styled(
                    format!(" every {}", format_duration_spec(p.every)),
                    t.muted(),
                ),
            ];
            if p.insecure {
                spans.push(Span::styled(" insecure (TLS not verified)", t.warn()));
            }
            lines.push(Line::from(spans));
            lines.push(Line::raw(format!("  {} {}", p.method, p.url)));
        }
    }
    draw_lines(cx, area, lines);
}
