//! The pods pane: the pods of the watched workloads, like `kubectl get pods -o wide` (a subset),
//! with columns that give way at narrow widths (NODE, then REV, AGE, RESTARTS).

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines, fit_middle, offline, pad, stale_line, watched};
use crate::core::kube::{PodView, age_parts, pod_status_str, write_age};
use crate::core::msg::Stream;
use crate::ui::text::{clean, fit_spans, is_clean, width};
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

/// Preferred smallest width of NAME before columns are dropped; the last resort is `NAME_LAST`.
const NAME_MIN: usize = 14;
const NAME_LAST: usize = 8;

/// The columns: header and when it gives way (0 never; lower goes first).
const COLS: [(&str, u8); 7] = [
    ("NAME", 0),
    ("READY", 0),
    ("STATUS", 0),
    ("RESTARTS", 4),
    ("AGE", 3),
    ("NODE", 1),
    ("REV", 2),
];

/// One table column: header, the cells of the rows drawn, the widest cell of every pod (drawn
/// or not, so widths do not depend on what fits), and when it gives way.
struct Col {
    head: &'static str,
    cells: Vec<(String, Style)>,
    widest: usize,
    drop: u8,
}

impl Col {
    fn natural(&self) -> usize {
        self.cells
            .iter()
            .map(|(s, _)| width(s))
            .chain([self.head.len(), self.widest])
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
    let (derived, widest) = derived(cx);
    if derived.names.is_empty() {
        lines.push(Line::styled("no pods yet", t.muted()));
        return draw_fitted(cx, area, lines);
    }
    let room = height.saturating_sub(lines.len());
    // The table is a header and a line per pod; only the lines that fit are built.
    let n = derived.names.len() + 1;
    let more = (n > room && room >= 2).then(|| n - (room - 1));
    let drawn = match more {
        Some(_) => room - 2,
        None => derived.names.len().min(room.saturating_sub(1)),
    };
    let shown: Vec<&PodView> = derived.names[..drawn]
        .iter()
        .filter_map(|name| cx.m.kube.pods.get(name))
        .collect();
    let cols = columns(cx, &shown, widest);
    lines.extend(table(t, &cols, width));
    if let Some(more) = more {
        // Say how many rows did not fit rather than cutting silently.
        lines.push(Line::styled(format!("… {more} more pods"), t.muted()));
    }
    draw_fitted(cx, area, lines);
}

/// What the pane derives from every pod: the rows' order and each column's widest cell.
struct Derived {
    generation: u64,
    names: Vec<String>,
    /// The widest cell of each column but AGE, which moves with the clock.
    widest: [usize; COLS.len()],
    /// Every pod's creation time, each distinct one once (None: not known): AGE's widest
    /// cell is measured over these, not over every pod.
    created: Vec<Option<DateTime<Utc>>>,
    /// AGE's widest cell, and the second it was measured at.
    age: std::cell::Cell<(i64, usize)>,
}

/// Index of AGE in [`COLS`].
const AGE: usize = 4;

thread_local! {
    /// The last frame's [`Derived`]: frames come 4–30 times a second, while the pods change
    /// far less often; AGE alone moves with the clock, and is measured by the second.
    static DERIVED: RefCell<Option<Rc<Derived>>> = const { RefCell::new(None) };
}

/// The rows and each column's widest cell for this model: rows and widths measured again only
/// when its pods or workloads changed ([`crate::core::kube::Generation`]), AGE's width when
/// the clock moved to another second.
fn derived(cx: &Ctx) -> (Rc<Derived>, [usize; COLS.len()]) {
    let generation = cx.m.kube.generation.0;
    let d = DERIVED.with_borrow_mut(|cache| {
        if let Some(d) = cache.as_ref()
            && d.generation == generation
        {
            return d.clone();
        }
        let pods = rows(cx);
        // One pass over the pods for every column: each pod is fetched from memory once.
        let mut widest = [0; COLS.len()];
        let mut created = Vec::new();
        for p in &pods {
            for (i, w) in widest.iter_mut().enumerate() {
                if i != AGE {
                    *w = (*w).max(cell_width(i, p, cx.m.now));
                }
            }
            created.push(p.created);
        }
        created.sort_unstable();
        created.dedup();
        let d = Rc::new(Derived {
            generation,
            names: pods.iter().map(|p| p.name.clone()).collect(),
            widest,
            created,
            age: std::cell::Cell::new((i64::MIN, 0)),
        });
        *cache = Some(d.clone());
        d
    });
    let second = cx.m.now.timestamp();
    let (at, mut age) = d.age.get();
    if at != second {
        age = d
            .created
            .iter()
            .map(|&c| age_width(c, cx.m.now))
            .max()
            .unwrap_or(0);
        d.age.set((second, age));
    }
    let mut widest = d.widest;
    widest[AGE] = age;
    (d, widest)
}

/// The pods pane's rows: newest revision first, then by name.
fn rows<'a>(cx: &Ctx<'a, '_>) -> Vec<&'a PodView> {
    // `watched_pods` comes in name order, and few revisions are live at once: bucketing by
    // revision keeps name order within each and costs less than sorting thousands of pods.
    let mut by_revision: BTreeMap<Reverse<Option<i64>>, Vec<&'a PodView>> = BTreeMap::new();
    for p in cx.m.kube.watched_pods() {
        by_revision.entry(Reverse(p.revision)).or_default().push(p);
    }
    by_revision.into_values().flatten().collect()
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

/// The columns with the cells of the pods drawn; `widest` is each column's widest cell over
/// every pod.
fn columns(cx: &Ctx, shown: &[&PodView], widest: [usize; COLS.len()]) -> Vec<Col> {
    let (now, t) = (cx.m.now, cx.theme);
    let mut buf = String::new();
    COLS.iter()
        .zip(widest)
        .enumerate()
        .map(|(i, (&(head, drop), widest))| {
            let cells = shown
                .iter()
                .map(|p| {
                    cell_text(i, p, now, &mut buf);
                    let style = cell_style(t, i, p, &buf);
                    (buf.clone(), style)
                })
                .collect();
            Col {
                head,
                cells,
                widest,
                drop,
            }
        })
        .collect()
}

/// The text of column `col` for pod `p`, into `out` (cleared first).
fn cell_text(col: usize, p: &PodView, now: DateTime<Utc>, out: &mut String) {
    out.clear();
    // Writing to a String cannot fail: the results of `write!` are dropped.
    match col {
        0 => push_clean(out, &p.name),
        1 => {
            let (r, n) = p.ready();
            let _ = write!(out, "{r}/{n}");
        }
        2 => out.push_str(&pod_status_str(p)),
        3 => {
            let _ = write!(out, "{}", p.restarts());
        }
        4 => match p.created {
            Some(c) => write_age(out, c, now),
            None => out.push('-'),
        },
        5 if p.node.is_empty() => out.push_str("<none>"),
        5 => push_clean(out, &p.node),
        _ => match p.revision {
            Some(r) => {
                let _ = write!(out, "{r}");
            }
            None => out.push('-'),
        },
    }
}

/// The cells [`cell_text`] would take, counted without writing the text.
fn cell_width(col: usize, p: &PodView, now: DateTime<Utc>) -> usize {
    match col {
        0 => clean_width(&p.name),
        1 => {
            let (r, n) = p.ready();
            digits(r as i64) + 1 + digits(n as i64)
        }
        2 => clean_width(&pod_status_str(p)),
        3 => digits(i64::from(p.restarts())),
        AGE => age_width(p.created, now),
        5 if p.node.is_empty() => "<none>".len(),
        5 => clean_width(&p.node),
        _ => p.revision.map_or(1, digits),
    }
}

/// The width of an AGE cell (`<unknown>` is drawn as `?`).
fn age_width(created: Option<DateTime<Utc>>, now: DateTime<Utc>) -> usize {
    match created {
        Some(c) => match age_parts(c, now) {
            (a, ua, 0, _) => digits(a) + ua.len(),
            (a, ua, b, ub) => digits(a) + ua.len() + digits(b) + ub.len(),
        },
        None => 1,
    }
}

fn cell_style(t: &Theme, col: usize, p: &PodView, text: &str) -> Style {
    match col {
        1 => {
            let (r, n) = p.ready();
            if r < n { t.warn() } else { Style::new() }
        }
        2 => status_style(t, text),
        3 if p.restarts() > 0 => t.warn(),
        6 => t.muted(),
        _ => Style::new(),
    }
}

/// [`clean`] appended to `out`, copying straight when there is nothing to clean.
fn push_clean(out: &mut String, s: &str) {
    if is_clean(s) {
        out.push_str(s);
    } else {
        out.push_str(&clean(s));
    }
}

/// `width(&clean(s))` without the copy: a tab becomes one space, other controls take none.
/// Printable ASCII (nearly every pod, node and status) takes a cell a byte.
fn clean_width(s: &str) -> usize {
    // A count rather than `all`: no early exit, so the loop vectorises.
    let odd = s.bytes().filter(|b| !(0x20..0x7f).contains(b)).count();
    if odd == 0 { s.len() } else { width(&clean(s)) }
}

/// Characters of `n` in decimal, sign included.
fn digits(n: i64) -> usize {
    let sign = usize::from(n < 0);
    sign + n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |l| l as usize + 1)
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
            widest: 0,
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
    fn widths_are_those_of_the_cells() {
        use crate::core::kube::ContainerView;
        let now = chrono::Utc::now();
        let mut p = PodView {
            name: "web-6b7f\t9c8d5-\u{1b}x2lqp-日本".into(),
            containers: 12,
            statuses: vec![ContainerView {
                restarts: -3,
                waiting_reason: Some("CrashLoopBackOff".into()),
                ..Default::default()
            }],
            created: Some(now - chrono::Duration::seconds(4000)),
            revision: Some(-120),
            ..Default::default()
        };
        let ages = [
            0,
            45,
            150,
            180,
            1500,
            4 * 3600 + 720,
            20 * 3600,
            3 * 86_400,
            900 * 86_400,
        ];
        for (round, secs) in ages.into_iter().enumerate() {
            for col in 0..COLS.len() {
                let mut text = String::new();
                cell_text(col, &p, now, &mut text);
                assert_eq!(cell_width(col, &p, now), width(&text), "{col} {text:?}");
            }
            p.name = [
                "web-6b7f9c8d5-x2\x7flqp",
                "web-\u{1b}]0;owned\u{7}-x\u{202e}lqp",
                "web-\u{9b}2J-\u{200b}\u{1b}[31mred",
            ][round % 3]
                .into();
            p.node = [
                "node\t1",
                "node-\u{1b}[2K",
                "n\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}ode",
            ][round % 3]
                .into();
            p.revision = (round % 2 == 0).then_some(7);
            p.created = Some(now - chrono::Duration::seconds(secs));
        }
        p.created = None;
        assert_eq!(cell_width(4, &p, now), 1);
        for n in [0, 9, 10, 99, 100, -1, -10, i64::MAX, i64::MIN] {
            assert_eq!(digits(n), n.to_string().len(), "{n}");
        }
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
