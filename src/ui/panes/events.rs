//! The events pane: Warning/Normal events of the namespace (needs the cluster connection).

use super::Ctx;
use super::unavailable::{NOT_CONNECTED, draw_lines, no_cluster, place};
use ratatui::layout::Rect;
use ratatui::text::Line;

pub fn draw(cx: &mut Ctx, area: Rect) {
    let lines = match &cx.m.checklist.cluster {
        Some(c) => vec![Line::raw(format!(
            "events {} — {NOT_CONNECTED}",
            place(cx.m, c)
        ))],
        None => no_cluster(cx, "events").unwrap_or_default(),
    };
    draw_lines(cx, area, lines);
}
