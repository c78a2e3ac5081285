//! The pods pane: the pods of the watched workloads, like `kubectl get pods -o wide` (a subset),
//! with columns that give way at narrow widths (NODE, then REV, AGE, RESTARTS).

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines, fit_middle, offline, pad, stale_line, watched};
use crate::core::kube::{PodView, age, pod_status};
use crate::core::msg::Stream;
use crate::ui::text::{clean, fit_spans};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::cmp::Reverse;

/// Preferred smallest width of NAME before columns are dropped; the last resort is `NAME_LAST`.
const NAME_MIN: usize = 14;
const NAME_LAST: usize = 8;

/// One table column: header, cells, and when it gives way (0 never; lower goes first).
struct Col {
    head: &'static str,
    cells: Vec<(String, Style)>,
    drop: u8,
}

impl Col {
    fn natural(&self) -> usize {
        self.cells
            .iter()
            .map(|(s, _)| crate::ui::text::width(s))
            .chain([self.head.len()])
            .max()
            .unwrap_or(0)
    }
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (width, height) = (usize::from(area.width), usize::from(area.height));
    if width == 0 || height == 0 {
        return;
    }
    if let Some(lines) = offline(cx, "pods", |c| watched(cx, c, "pods")) {
        return draw_lines(cx, area, lines);
    }
    let t = cx.theme;
    let mut lines: Vec<Line<'static>> = Vec::new();
    lines.extend(stale_line(cx, Stream::Pods, width));
    let pods = rows(cx);
    if pods.is_empty() {
        lines.push(Line::styled("no pods yet", t.muted()));
        return draw_fitted(cx, area, lines);
    }
    let cols = columns(cx, &pods);
    let table = table(t, &cols, width);
    let room = height.saturating_sub(lines.len());
    let n = table.len();
    if n > room && room >= 2 {
        // Say how many rows did not fit rather than cutting silently.
        lines.extend(table.into_iter().take(room - 1));
        let more = n - (room - 1);
        lines.push(Line::styled(format!("… {more} more pods"), t.muted()));
    } else {
        lines.extend(table);
    }
    draw_fitted(cx, area, lines);
}

/// The pods pane's rows: newest revision first, then by name.
pub fn rows<'a>(cx: &Ctx<'a, '_>) -> Vec<&'a PodView> {
    let mut pods = cx.m.kube.watched_pods();
    pods.sort_by(|a, b| (Reverse(a.revision), &a.name).cmp(&(Reverse(b.revision), &b.name)));
    pods
}

/// kubectl's STATUS words by what they mean: running, on the way, broken, finished.
pub fn status_style(t: &Theme, status: &str) -> Style {
    let broken = ["BackOff", "Err", "Error", "Failed", "OOMKilled", "Evicted"];
    if status == "Running" {
        t.ok()
    } else if status == "Completed" || status == "Succeeded" {
        t.muted()
    } else if broken.iter().any(|b| status.contains(b))
        || status.starts_with("ExitCode")
        || status.contains("Signal")
        || status == "Unknown"
    {
        t.failed()
    } else {
        t.warn()
    }
}

fn columns(cx: &Ctx, pods: &[&PodView]) -> Vec<Col> {
    let (m, t) = (cx.m, cx.theme);
    let col = |head, drop, f: &dyn Fn(&PodView) -> (String, Style)| Col {
        head,
        drop,
        cells: pods.iter().map(|p| f(p)).collect(),
    };
    vec![
        col("NAME", 0, &|p| (clean(&p.name), Style::new())),
        col("READY", 0, &|p| {
            let (r, n) = p.ready();
            let style = if r < n { t.warn() } else { Style::new() };
            (format!("{r}/{n}"), style)
        }),
        col("STATUS", 0, &|p| {
            let s = pod_status(p);
            let style = status_style(t, &s);
            (s, style)
        }),
        col("RESTARTS", 4, &|p| {
            let n = p.restarts();
            (n.to_string(), if n > 0 { t.warn() } else { Style::new() })
        }),
        col("AGE", 3, &|p| {
            let a = p.created.map_or("-".into(), |c| age(c, m.now));
            (a, Style::new())
        }),
        col("NODE", 1, &|p| {
            let node = if p.node.is_empty() {
                "<none>".into()
            } else {
                clean(&p.node)
            };
            (node, Style::new())
        }),
        col("REV", 2, &|p| {
            let rev = p.revision.map_or("-".into(), |r| r.to_string());
            (rev, t.muted())
        }),
    ]
}

/// Which columns to show, the gap between them and NAME's width, for `width` cells.
fn plan(cols: &[Col], width: usize) -> (Vec<bool>, usize, usize) {
    let natural: Vec<usize> = cols.iter().map(Col::natural).collect();
    let need = |shown: &[bool], gap: usize, name: usize| -> usize {
        let kept: Vec<usize> = (1..cols.len())
            .filter(|i| shown[*i])
            .map(|i| natural[i])
            .collect();
        name + kept.iter().sum::<usize>() + gap * kept.len()
    };
    let name_min = natural[0].min(NAME_MIN);
    for level in 0..=4u8 {
        let shown: Vec<bool> = cols.iter().map(|c| c.drop == 0 || c.drop > level).collect();
        // Whole names with the roomier gap, then whole names, then names cut in the middle.
        for (gap, name) in [
            (2, natural[0]),
            (1, natural[0]),
            (2, name_min),
            (1, name_min),
        ] {
            let fixed = need(&shown, gap, 0);
            if fixed + name <= width {
                return (shown, gap, natural[0].min(width - fixed));
            }
        }
    }
    let shown: Vec<bool> = cols.iter().map(|c| c.drop == 0).collect();
    let fixed = need(&shown, 1, 0);
    let name = width.saturating_sub(fixed).max(NAME_LAST).min(natural[0]);
    (shown, 1, name)
}

fn table(t: &Theme, cols: &[Col], width: usize) -> Vec<Line<'static>> {
    let (shown, gap, name_w) = plan(cols, width);
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| if i == 0 { name_w } else { c.natural() })
        .collect();
    let visible: Vec<usize> = (0..cols.len()).filter(|i| shown[*i]).collect();
    let last = visible.last().copied();
    let cell = |i: usize, text: &str, style: Style| -> Vec<Span<'static>> {
        let text = if i == 0 {
            fit_middle(text, widths[i])
        } else {
            text.to_string()
        };
        let text = if Some(i) == last {
            text
        } else {
            pad(&text, widths[i])
        };
        let mut spans = vec![Span::styled(text, style)];
        if Some(i) != last {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans
    };
    let mut out = Vec::new();
    let head: Vec<Span<'static>> = visible
        .iter()
        .flat_map(|i| cell(*i, cols[*i].head, t.bold()))
        .collect();
    out.push(Line::from(fit_spans(head, width)));
    let rows = cols.first().map_or(0, |c| c.cells.len());
    for r in 0..rows {
        let spans: Vec<Span<'static>> = visible
            .iter()
            .flat_map(|i| {
                let (text, style) = &cols[*i].cells[r];
                cell(*i, text, *style)
            })
            .collect();
        out.push(Line::from(fit_spans(spans, width)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(name: &str, status: &str) -> Vec<Col> {
        let c = |head, drop, s: &str| Col {
            head,
            drop,
            cells: vec![(s.to_string(), Style::new())],
        };
        vec![
            c("NAME", 0, name),
            c("READY", 0, "1/1"),
            c("STATUS", 0, status),
            c("RESTARTS", 4, "0"),
            c("AGE", 3, "2m30s"),
            c("NODE", 1, "node-a"),
            c("REV", 2, "7"),
        ]
    }

    #[test]
    fn columns_give_way_in_order() {
        let c = cols("web-6b7f9c8d5-x2lqp", "ContainerCreating");
        let (shown, gap, name) = plan(&c, 120);
        assert_eq!(
            (shown.iter().filter(|s| **s).count(), gap, name),
            (7, 2, 19)
        );
        let (shown, _, _) = plan(&c, 60);
        assert!(!shown[5] && shown[6], "NODE goes first: {shown:?}");
        let (shown, _, _) = plan(&c, 50);
        assert!(!shown[5] && !shown[6] && !shown[4] && shown[3], "{shown:?}");
        let (shown, gap, name) = plan(&c, 34);
        assert_eq!(shown, [true, true, true, false, false, false, false]);
        assert_eq!((gap, name), (1, 10));
    }
}
