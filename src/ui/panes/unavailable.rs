//! Shared parts of the cluster panes: why there is no live data yet, stale marks, name fitting.

use super::Ctx;
use crate::config::checklist::Cluster;
use crate::core::kube::Connection;
use crate::core::model::Model;
use crate::core::msg::Stream;
use crate::ui::clock::{hms, since};
use crate::ui::lines::Lines;
use crate::ui::text::{clean, fit, fit_spans, width, wrap};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

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
    cx.frame.render_widget(Lines::new(lines), area);
}

/// Draws lines that are already cut to the pane's width, from the top.
pub fn draw_fitted(cx: &mut Ctx, area: Rect, lines: Vec<Line<'static>>) {
    let width = usize::from(area.width);
    let lines: Vec<Line> = lines
        .into_iter()
        .take(usize::from(area.height))
        .map(|l| crate::ui::text::fit_line(l, width))
        .collect();
    cx.frame.render_widget(Lines::new(lines), area);
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

/// What a cluster pane shows instead of live data: `Some` until the cluster is connected.
/// `unwired` gives the pane's own text for a checklist whose cluster nobody connects to yet.
pub fn offline(
    cx: &Ctx,
    noun: &str,
    unwired: impl FnOnce(&Cluster) -> Vec<Line<'static>>,
) -> Option<Vec<Line<'static>>> {
    let t = cx.theme;
    let Some(c) = &cx.m.checklist.cluster else {
        return no_cluster(cx, noun);
    };
    match &cx.m.kube.connection {
        Connection::Connected { .. } => None,
        Connection::None => Some(unwired(c)),
        Connection::Connecting => Some(vec![Line::styled(
            format!("connecting to {}…", context_name(cx.m, c)),
            t.muted(),
        )]),
        Connection::Unavailable(e) => Some(vec![
            Line::styled(format!("cluster unavailable: {}", clean(e)), t.failed()),
            Line::styled(
                format!(
                    "context {} · namespace {} — steps still run; check --context and --kubeconfig",
                    context_name(cx.m, c),
                    namespace_name(cx.m, c)
                ),
                t.muted(),
            ),
        ]),
    }
}

/// The kubeconfig context the cockpit uses (or will): the checklist's, the run's, or the default.
pub fn context_name(m: &Model, c: &Cluster) -> String {
    if let Connection::Connected { context, .. } = &m.kube.connection {
        return context.clone();
    }
    c.context
        .clone()
        .or_else(|| m.run.context.clone())
        .unwrap_or_else(|| "the current context".into())
}

/// The namespace the cluster panes show.
pub fn namespace_name(m: &Model, c: &Cluster) -> String {
    if let Connection::Connected { namespace, .. } = &m.kube.connection {
        return namespace.clone();
    }
    c.namespace
        .clone()
        .or_else(|| m.run.namespace.clone())
        .unwrap_or_else(|| "default".into())
}

/// `⚠ stale since 12:00:30 (45s) — watch pods: connection reset`, when `stream` broke.
/// The pane keeps showing what it last knew below it.
pub fn stale_line(cx: &Ctx, stream: Stream, max: usize) -> Option<Line<'static>> {
    let (at, error) = cx.m.kube.stale.get(&stream)?;
    let t = cx.theme;
    let spans = vec![
        Span::styled(
            format!("⚠ stale since {} ({})", hms(*at), since(*at, cx.m.now)),
            t.warn(),
        ),
        Span::styled(format!(" — {}", clean(error)), t.muted()),
    ];
    Some(Line::from(fit_spans(spans, max)))
}

/// `s` cut to `max` cells in the middle (`web-6b7…-x2lqp`): pod names differ at their end.
pub fn fit_middle(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max < 5 {
        return fit(s, max);
    }
    let head_room = (max - 1) / 2;
    let tail_room = max - 1 - head_room;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// `s` padded with spaces to `w` cells (cut with `…` when longer).
pub fn pad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = w.saturating_sub(width(&s));
    format!("{s}{}", " ".repeat(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_cut_keeps_both_ends() {
        assert_eq!(fit_middle("web-6b7f9c8d5-x2lqp", 19), "web-6b7f9c8d5-x2lqp");
        assert_eq!(fit_middle("web-6b7f9c8d5-x2lqp", 14), "web-6b…5-x2lqp");
        assert_eq!(width(&fit_middle("web-6b7f9c8d5-x2lqp", 10)), 10);
        assert_eq!(fit_middle("web-6b7f9c8d5-x2lqp", 3), "we…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abc…");
    }
}
