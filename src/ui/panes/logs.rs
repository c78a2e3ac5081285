//! The logs pane: merged tail of the pods matching the log selector (needs the cluster connection).

use super::Ctx;
use super::unavailable::{draw_lines, no_cluster, place};
use crate::config::units::format_duration_spec;
use ratatui::layout::Rect;
use ratatui::text::Line;

pub fn draw(cx: &mut Ctx, area: Rect) {
    let t = cx.theme;
    let lines = match &cx.m.checklist.cluster {
        None => no_cluster(cx, "pod logs").unwrap_or_default(),
        Some(c) => match &c.logs {
            None => vec![
                Line::styled("no log selector in this checklist", t.bold()),
                Line::styled(
                    "add `cluster.logs: { selector: app=web }` to tail pod logs here",
                    t.muted(),
                ),
            ],
            Some(l) => {
                let mut extra = Vec::new();
                if let Some(cn) = &l.container {
                    extra.push(format!("container {cn}"));
                }
                if let Some(s) = l.since {
                    extra.push(format!("since {}", format_duration_spec(s)));
                }
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                };
                vec![Line::raw(format!(
                    "logs of pods matching {}{extra} {} — live tail is not connected in this build",
                    l.selector,
                    place(cx.m, c)
                ))]
            }
        },
    };
    draw_lines(cx, area, lines);
}
