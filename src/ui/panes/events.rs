//! The events pane: Warning/Normal events of the namespace, newest first; one line each when
//! the pane is wide, two (what, then the message) when it is narrow.

use super::Ctx;
use super::unavailable::{
    NOT_CONNECTED, draw_fitted, draw_lines, fit_middle, namespace_name, offline, pad, place,
    stale_line,
};
use crate::core::kube::EventView;
use crate::core::msg::Stream;
use crate::ui::clock::hms;
use crate::ui::text::{clean, fit, fit_spans, width};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Below this width an event takes two lines.
const ONE_LINE_MIN: usize = 90;

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (max, height) = (usize::from(area.width), usize::from(area.height));
    if max == 0 || height == 0 {
        return;
    }
    let unwired = |c: &crate::config::checklist::Cluster| {
        vec![Line::raw(format!(
            "events {} — {NOT_CONNECTED}",
            place(cx.m, c)
        ))]
    };
    if let Some(lines) = offline(cx, "events", unwired) {
        return draw_lines(cx, area, lines);
    }
    let (m, t) = (cx.m, cx.theme);
    let mut lines: Vec<Line<'static>> = Vec::new();
    lines.extend(stale_line(cx, Stream::Events, max));
    if m.kube.events.is_empty() {
        let ns = m
            .checklist
            .cluster
            .as_ref()
            .map(|c| namespace_name(m, c))
            .unwrap_or_default();
        lines.push(Line::styled(format!("no events in {ns} yet"), t.muted()));
        return draw_fitted(cx, area, lines);
    }
    let events: Vec<&EventView> = m.kube.events.iter().take(height).collect();
    // Column widths from what is shown, capped so the message keeps most of the line.
    let reason_w = events
        .iter()
        .map(|e| width(&e.reason))
        .max()
        .unwrap_or(0)
        .min(24);
    let object_w = events
        .iter()
        .map(|e| width(&e.object))
        .max()
        .unwrap_or(0)
        .min(max / 4);
    for e in events {
        if lines.len() >= height {
            break;
        }
        let mut head = vec![
            Span::styled(e.last.map_or("--:--:--".into(), hms), t.muted()),
            Span::raw(" "),
            Span::styled(format!("{:<7}", e.kind), kind_style(t, &e.kind)),
            Span::raw(" "),
        ];
        if max >= ONE_LINE_MIN {
            head.push(Span::styled(pad(&clean(&e.reason), reason_w), t.bold()));
            head.push(Span::raw(" "));
            head.push(Span::raw(pad(
                &fit_middle(&clean(&e.object), object_w),
                object_w,
            )));
            head.push(Span::raw(" "));
            let room = max.saturating_sub(crate::ui::text::spans_width(&head));
            head.extend(message(t, e, room, Style::new()));
            lines.push(Line::from(fit_spans(head, max)));
        } else {
            head.push(Span::styled(clean(&e.reason), t.bold()));
            head.push(Span::raw(" "));
            let left = max.saturating_sub(crate::ui::text::spans_width(&head));
            head.push(Span::raw(fit_middle(&clean(&e.object), left)));
            lines.push(Line::from(fit_spans(head, max)));
            let mut second = vec![Span::raw("  ")];
            second.extend(message(t, e, max.saturating_sub(2), t.muted()));
            lines.push(Line::from(fit_spans(second, max)));
        }
    }
    draw_fitted(cx, area, lines);
}

/// `Warning` in red, `Normal` dim.
fn kind_style(t: &Theme, kind: &str) -> Style {
    if kind == "Warning" {
        t.failed()
    } else {
        t.muted()
    }
}

/// The message cut to `room` cells, keeping `(x4)` when the event happened more than once.
fn message(t: &Theme, e: &EventView, room: usize, style: Style) -> Vec<Span<'static>> {
    let text = clean(e.message.trim());
    let count = if e.count > 1 {
        format!(" (x{})", e.count)
    } else {
        String::new()
    };
    let room = room.saturating_sub(width(&count));
    vec![
        Span::styled(fit(&text, room), style),
        Span::styled(count, t.warn()),
    ]
}
