//! The pods pane: pods of the watched workloads (needs the cluster connection).

use super::Ctx;
use super::unavailable::{draw_lines, no_cluster, watched};
use ratatui::layout::Rect;

pub fn draw(cx: &mut Ctx, area: Rect) {
    let lines = match &cx.m.checklist.cluster {
        Some(c) => watched(cx, c, "pods"),
        None => no_cluster(cx, "pods").unwrap_or_default(),
    };
    draw_lines(cx, area, lines);
}
