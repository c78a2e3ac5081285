//! The logs pane: the merged tail of every pod matching the log selector, a colour per pod,
//! newest at the bottom, with its follow/pause state, filter and streams that are retrying.

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines, no_cluster, offline, place, stale_line};
use crate::config::units::format_duration_spec;
use crate::core::logs::LogBuffer;
use crate::core::msg::{LogLine, LogStreamState, Stream};
use crate::core::redact::redact;
use crate::ui::ansi::parse_line;
use crate::ui::clock::hms;
use crate::ui::text::{clean, fit, fit_spans, width};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (max, height) = (usize::from(area.width), usize::from(area.height));
    if max == 0 || height == 0 {
        return;
    }
    let t = cx.theme;
    let Some(c) = &cx.m.checklist.cluster else {
        let lines = no_cluster(cx, "pod logs").unwrap_or_default();
        return draw_lines(cx, area, lines);
    };
    let Some(spec) = &c.logs else {
        let lines = vec![
            Line::styled("no log selector in this checklist", t.bold()),
            Line::styled(
                "add `cluster.logs: { selector: app=web }` to tail pod logs here",
                t.muted(),
            ),
        ];
        return draw_lines(cx, area, lines);
    };
    let unwired = |c: &crate::config::checklist::Cluster| {
        let mut extra = Vec::new();
        if let Some(cn) = &spec.container {
            extra.push(format!("container {cn}"));
        }
        if let Some(s) = spec.since {
            extra.push(format!("since {}", format_duration_spec(s)));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        vec![Line::raw(format!(
            "logs of pods matching {}{extra} {} — live tail is not connected in this build",
            spec.selector,
            place(cx.m, c)
        ))]
    };
    if let Some(lines) = offline(cx, "pod logs", unwired) {
        return draw_lines(cx, area, lines);
    }
    let logs = &cx.m.logs;
    let mut notes: Vec<Line<'static>> = Vec::new();
    notes.extend(stale_line(cx, Stream::Logs, max));
    notes.extend(retrying(t, logs, max));
    let rows = height.saturating_sub(notes.len() + 1);
    // `scroll` counts lines up from the tail; stop where the oldest line reaches the top. Only a
    // scrolled view needs the count of every shown line: following, the page is found by
    // walking back from the newest line.
    let scroll = match logs.scroll {
        0 => 0,
        up => up.min(logs.visible().count().saturating_sub(rows)),
    };
    let mut page: Vec<&LogLine> = logs.visible().rev().skip(scroll).take(rows).collect();
    let mut lines = vec![Line::from(fit_spans(status(t, logs, scroll), max))];
    lines.extend(notes);
    if page.is_empty() && logs.visible().next_back().is_none() {
        let text = if logs.lines.is_empty() {
            format!(
                "waiting for log lines from pods matching {}",
                clean(&spec.selector)
            )
        } else {
            format!(
                "no line matches filter \"{}\" ({} hidden) — / to change it",
                clean(&logs.filter),
                logs.lines.len()
            )
        };
        lines.push(Line::styled(text, t.muted()));
        return draw_fitted(cx, area, lines);
    }
    page.reverse();
    lines.extend(tail(cx, &page, max));
    draw_fitted(cx, area, lines);
}

/// `3 pods · FOLLOW`, `3 pods · PAUSED ↑12 · filter: "error" · +120 dropped` (`scroll`: lines
/// the view is above the tail).
pub fn status(t: &Theme, logs: &LogBuffer, scroll: usize) -> Vec<Span<'static>> {
    let followed = logs
        .pods
        .values()
        .filter(|p| p.state != LogStreamState::Detached)
        .count();
    let noun = if followed == 1 { "pod" } else { "pods" };
    let sep = || Span::styled(" · ", t.muted());
    let mut spans = vec![Span::raw(format!("{followed} {noun}")), sep()];
    if logs.follow {
        spans.push(Span::styled("FOLLOW", t.ok()));
    } else {
        spans.push(Span::styled("PAUSED", t.warn()));
        if scroll > 0 {
            spans.push(Span::styled(format!(" ↑{scroll}"), t.muted()));
        }
    }
    if !logs.filter.is_empty() {
        spans.push(sep());
        spans.push(Span::styled("filter: ", t.muted()));
        spans.push(Span::styled(
            format!("\"{}\"", clean(&logs.filter)),
            t.code(),
        ));
    }
    if logs.dropped > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("+{} dropped", logs.dropped),
            t.muted(),
        ));
    }
    spans
}

/// `retrying: x2lqp (connection reset) · 9kq7w (…)`: streams that broke and are being retried.
fn retrying(t: &Theme, logs: &LogBuffer, max: usize) -> Option<Line<'static>> {
    let parts: Vec<String> = logs
        .pods
        .iter()
        .filter_map(|(pod, p)| match &p.state {
            LogStreamState::Retrying(e) => Some(format!("{} ({})", short(pod, 2), clean(e))),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let text = format!("retrying: {}", parts.join(" · "));
    Some(Line::styled(fit(&text, max), t.muted()))
}

/// The last `n` `-`-separated segments of a pod name (`6b7f9c8d5-x2lqp`), or all of it.
pub fn short(pod: &str, n: usize) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    if parts.len() <= n {
        return pod.to_string();
    }
    parts[parts.len() - n..].join("-")
}

/// `HH:MM:SS pod │ text` lines; pod names shortened until the text keeps two thirds of the line.
fn tail(cx: &Ctx, page: &[&LogLine], max: usize) -> Vec<Line<'static>> {
    let (m, t) = (cx.m, cx.theme);
    let time_w = if max >= 40 { 9 } else { 0 };
    let budget = max.saturating_sub(time_w + 3) / 3;
    let widest = |n: usize| {
        page.iter()
            .map(|l| width(&short(&clean(&l.pod), n)))
            .max()
            .unwrap_or(0)
    };
    let segments = match (widest(usize::MAX), widest(2)) {
        (full, _) if full <= budget => usize::MAX,
        (_, two) if two <= budget => 2,
        _ => 1,
    };
    let pod_w = widest(segments).min(budget.max(1));
    page.iter()
        .map(|l| {
            let colour = m.logs.pods.get(&l.pod).map_or(0, |p| p.colour);
            let name = fit(&short(&clean(&l.pod), segments), pod_w);
            let padding = " ".repeat(pod_w.saturating_sub(width(&name)));
            let mut spans = Vec::new();
            if time_w > 0 {
                spans.push(Span::styled(format!("{} ", hms(l.ts)), t.muted()));
            }
            spans.push(Span::styled(name, t.pod(colour)));
            spans.push(Span::raw(padding));
            spans.push(Span::styled(" │ ", t.muted()));
            spans.extend(parse_line(&redact(&l.text, &m.secrets), t.color).spans);
            Line::from(fit_spans(spans, max))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_pod_names() {
        assert_eq!(super::short("web-6b7f9c8d5-x2lqp", 2), "6b7f9c8d5-x2lqp");
        assert_eq!(super::short("web-6b7f9c8d5-x2lqp", 1), "x2lqp");
        assert_eq!(super::short("db-0", 2), "db-0");
        assert_eq!(super::short("db-0", usize::MAX), "db-0");
    }
}
