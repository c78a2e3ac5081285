//! Shared text for panes whose live source (cluster, probes) this build does not connect to.

use super::Ctx;
use crate::config::checklist::Cluster;
use crate::core::model::Model;
use crate::ui::text::wrap;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub const NOT_CONNECTED: &str = "live status is not connected in this build";

/// Draws word-wrapped lines from the top of the pane.
pub fn draw_lines(cx: &mut Ctx, area: Rect, lines: Vec<Line<'static>>) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .flat_map(|l| wrap(l, width, 2))
        .take(usize::from(area.height))
        .collect();
    cx.frame.render_widget(Paragraph::new(lines), area);
}

/// The lines for a checklist without `cluster:`; `None` when it has one.
pub fn no_cluster(cx: &Ctx, what: &str) -> Option<Vec<Line<'static>>> {
    if cx.m.checklist.cluster.is_some() {
        return None;
    }
    Some(vec![
        Line::styled("no cluster in this checklist", cx.theme.bold()),
        Line::styled(
            format!("add a `cluster:` section (namespace, watch, logs) to see {what} here"),
            cx.theme.muted(),
        ),
    ])
}

/// `in shop (context prod)`: where the cluster panes would look.
pub fn place(m: &Model, c: &Cluster) -> String {
    let ns = c.namespace.clone().or_else(|| m.run.namespace.clone());
    let ctx = c.context.clone().or_else(|| m.run.context.clone());
    let mut s = match ns {
        Some(ns) => format!("in {ns}"),
        None => "in the default namespace".to_string(),
    };
    if let Some(ctx) = ctx {
        s += &format!(" (context {ctx})");
    }
    s
}

/// `cluster deployment/web, statefulset/db in shop — live status is not connected in this build`:
/// what would be watched, first, so a narrow pane still names it.
pub fn watched(cx: &Ctx, c: &Cluster, noun: &str) -> Vec<Line<'static>> {
    let t = cx.theme;
    if c.watch.is_empty() {
        return vec![
            Line::raw(format!(
                "cluster {}: nothing listed in cluster.watch",
                place(cx.m, c)
            )),
            Line::styled(
                format!("add `watch: [deployment/NAME]` to see {noun} here"),
                t.muted(),
            ),
        ];
    }
    let targets: Vec<String> = c.watch.iter().map(|w| w.to_string()).collect();
    vec![Line::from(vec![
        Span::raw("cluster "),
        Span::styled(targets.join(", "), t.bold()),
        Span::raw(format!(" {} — {NOT_CONNECTED}", place(cx.m, c))),
    ])]
}
