//! The probes pane: one row per HTTP health probe — state, last status, latency sparkline,
//! p50/p95, error rate against the SLO, certificate days — with the verdict under it; or, with
//! `probe_detail`, the selected probe's last failure in full.
//!
//! Columns give way in a narrow pane (p50 first, then cert, sparkline, insecure, p95, error
//! rate); every row keeps the same columns so they line up.

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines};
use crate::config::units::format_duration_spec;
use crate::core::probes::{FailureKind, Health, ProbeState, percent};
use crate::ui::clock::{hms, since};
use crate::ui::text::{clean, spans_width};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Narrower than this the sparkline is left out.
const SPARK_MIN: usize = 5;
const SPARK_MAX: usize = crate::core::probes::LATENCY_CAP;
const NAME_MAX: usize = 16;
const GAP: usize = 2;

/// Columns in display order; `DROP` says which give way first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Name,
    Status,
    Spark,
    P50,
    P95,
    Err,
    Cert,
    Insecure,
}

const DROP: [Col; 6] = [
    Col::P50,
    Col::Cert,
    Col::Spark,
    Col::Insecure,
    Col::P95,
    Col::Err,
];

pub fn draw(cx: &mut Ctx, area: Rect) {
    let (m, t) = (cx.m, cx.theme);
    if m.checklist.probes.is_empty() || m.probes.probes.is_empty() {
        let lines = vec![
            Line::styled("no probes defined", t.bold()),
            Line::styled(
                "add `probes:` (name, url, expect) to watch health here",
                t.muted(),
            ),
        ];
        draw_lines(cx, area, lines);
        return;
    }
    if m.probe_detail {
        let lines = details(cx, selected(&m.probes.probes));
        draw_lines(cx, area, lines);
        return;
    }
    let lines = rows(cx, usize::from(area.width), usize::from(area.height));
    draw_fitted(cx, area, lines);
}

/// The probe the details view shows: the first one that is not green, else the first.
pub fn selected(probes: &[ProbeState]) -> &ProbeState {
    probes
        .iter()
        .find(|p| matches!(p.health, Health::Red | Health::Amber))
        .unwrap_or(&probes[0])
}

/// `●` for a known state, `?` before the first request.
pub fn glyph(h: Health) -> &'static str {
    match h {
        Health::Unknown => "?",
        _ => "●",
    }
}

/// `▁▂▅█`: one bar per latency, scaled so that a full bar is the largest shown or `limit`
/// (the p95 limit), whichever is larger: with an SLO, tall bars mean close to the limit.
pub fn sparkline(latencies: &[u64], limit: Option<u64>) -> String {
    let top = latencies
        .iter()
        .copied()
        .chain(limit)
        .max()
        .unwrap_or(0)
        .max(1);
    latencies
        .iter()
        .map(|v| {
            let level = (v.saturating_mul(8)).div_ceil(top).clamp(1, 8);
            BARS[level as usize - 1]
        })
        .collect()
}

/// The sparkline of `p`'s last `w` latencies, each bar red over the p95 limit and amber at
/// 80–100 % of it.
fn spark_spans(p: &ProbeState, w: usize, t: &Theme) -> Vec<Span<'static>> {
    let n = p.latencies.len().min(w);
    let last: Vec<u64> = p
        .latencies
        .iter()
        .skip(p.latencies.len() - n)
        .copied()
        .collect();
    let limit = p.slo.as_ref().and_then(|s| s.p95_ms);
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (bar, v) in sparkline(&last, limit).chars().zip(&last) {
        let style = against(limit, *v, t, t.code());
        match spans.last_mut() {
            Some(sp) if sp.style == style => sp.content.to_mut().push(bar),
            _ => spans.push(Span::styled(bar.to_string(), style)),
        }
    }
    spans
}

/// Red over `limit`, amber at 80–100 % of it, else `normal`.
fn against(limit: Option<u64>, v: u64, t: &Theme, normal: Style) -> Style {
    match limit {
        Some(l) if v > l => t.failed(),
        Some(l) if v * 10 >= l * 8 => t.warn(),
        _ => normal,
    }
}

/// A probe's cells, by column (a column it has nothing for is left out).
fn cells(p: &ProbeState, t: &Theme) -> Vec<(Col, Vec<Span<'static>>)> {
    let stats = p.stats();
    let slo = p.slo.as_ref();
    let mut out = vec![(
        Col::Name,
        vec![
            Span::styled(format!("{} ", glyph(p.health)), t.health(p.health)),
            Span::styled(clean(&p.name), t.bold()),
        ],
    )];
    let status = match &p.last {
        None => Span::styled("—", t.muted()),
        Some(s) => match &s.failure {
            Some((FailureKind::BadStatus(c), _)) => Span::styled(c.to_string(), t.failed()),
            Some((k, _)) if s.is_error() => Span::styled(k.label(), t.failed()),
            _ => Span::styled(s.status.map_or("ok".into(), |c| c.to_string()), t.ok()),
        },
    };
    out.push((Col::Status, vec![status]));
    if stats.requests > 0 {
        for (col, p, limit) in [
            (Col::P50, 50, slo.and_then(|s| s.p50_ms)),
            (Col::P95, 95, slo.and_then(|s| s.p95_ms)),
        ] {
            let v = stats.at(p);
            let style = against(limit, v, t, Style::new());
            out.push((col, vec![Span::styled(format!("p{p} {v}ms"), style)]));
        }
    }
    let rate = format!("err {:.1}%", stats.error_rate);
    let mut err = match slo.and_then(|s| s.error_rate) {
        Some(l) => {
            let style = if stats.error_rate > l {
                t.failed()
            } else if stats.errors > 0 {
                t.warn()
            } else {
                Style::new()
            };
            vec![
                Span::styled(rate, style),
                Span::styled(format!(" / {}", percent(l)), t.muted()),
            ]
        }
        None => vec![Span::raw(rate)],
    };
    if stats.requests == 0 {
        err = vec![Span::styled("err —", t.muted())];
    }
    out.push((Col::Err, err));
    if let Some(d) = p.cert_days() {
        let style = if p.cert_expiring() {
            t.warn()
        } else {
            t.muted()
        };
        out.push((Col::Cert, vec![Span::styled(format!("cert {d}d"), style)]));
    }
    if p.insecure {
        out.push((Col::Insecure, vec![Span::styled("insecure", t.warn())]));
    }
    out
}

/// The rows: a probe line, then its verdict line when the pane is tall enough.
fn rows(cx: &Ctx, max: usize, height: usize) -> Vec<Line<'static>> {
    let t = cx.theme;
    let probes = &cx.m.probes.probes;
    let table: Vec<_> = probes.iter().map(|p| cells(p, t)).collect();
    // Every column any probe has, as wide as its widest cell (names cut at NAME_MAX).
    let mut shown: Vec<(Col, usize)> = Vec::new();
    for (c, cell) in table.iter().flatten() {
        let w = spans_width(cell).min(if *c == Col::Name {
            NAME_MAX + 2
        } else {
            usize::MAX
        });
        match shown.iter_mut().find(|(k, _)| k == c) {
            Some((_, cw)) => *cw = (*cw).max(w),
            None => shown.push((*c, w)),
        }
    }
    shown.sort_by_key(|(c, _)| *c);
    let used = |shown: &[(Col, usize)]| -> usize {
        shown.iter().map(|(_, w)| w).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    // Drop columns in `DROP` order until the rest fit, with a sparkline while it is alive.
    let longest = probes.iter().map(|p| p.latencies.len()).max().unwrap_or(0);
    let (mut spark, mut spark_alive, mut next) = (0, longest > 0, 0);
    loop {
        let room = max.saturating_sub(used(&shown) + GAP);
        if spark_alive && room >= SPARK_MIN.min(longest) {
            spark = room.min(SPARK_MAX).min(longest);
            break;
        }
        if !spark_alive && used(&shown) <= max {
            break;
        }
        let Some(drop) = DROP.get(next) else { break };
        next += 1;
        if *drop == Col::Spark {
            spark_alive = false;
        } else {
            shown.retain(|(c, _)| c != drop);
        }
    }
    if spark > 0 {
        shown.push((Col::Spark, spark));
        shown.sort_by_key(|(c, _)| *c);
    }
    let two = height >= probes.len() * 2;
    let mut lines = Vec::new();
    for (p, row) in probes.iter().zip(&table) {
        lines.push(row_line(p, row, &shown, t));
        if two {
            lines.push(verdict_line(
                cx,
                p,
                !shown.iter().any(|(c, _)| *c == Col::Insecure),
            ));
        }
    }
    lines
}

fn row_line(
    p: &ProbeState,
    row: &[(Col, Vec<Span<'static>>)],
    shown: &[(Col, usize)],
    t: &Theme,
) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (col, w)) in shown.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(GAP)));
        }
        let cell: Vec<Span<'static>> = if *col == Col::Spark {
            spark_spans(p, *w, t)
        } else {
            row.iter()
                .find(|(c, _)| c == col)
                .map(|(_, s)| s.clone())
                .unwrap_or_default()
        };
        let cell = crate::ui::text::fit_spans(cell, *w);
        let gap = w.saturating_sub(spans_width(&cell));
        spans.extend(cell);
        if i + 1 < shown.len() {
            spans.push(Span::raw(" ".repeat(gap)));
        }
    }
    Line::from(spans)
}

/// `  green · within SLO: p95 40 ms, error rate 0% · since 12:00:30`: the state in words
/// first, so it reads without colour.
fn verdict_line(cx: &Ctx, p: &ProbeState, insecure: bool) -> Line<'static> {
    let t = cx.theme;
    let mut spans = vec![Span::raw("  ")];
    if insecure && p.insecure {
        spans.push(Span::styled("insecure · ", t.warn()));
    }
    if p.health == Health::Unknown {
        let url = crate::core::redact::redact(&p.url, &cx.m.secrets);
        let what = format!("no request yet · {} {}", p.method, clean(&url));
        spans.push(Span::styled(what, t.muted()));
        return Line::from(spans);
    }
    let style = match p.health {
        Health::Green => t.muted(),
        h => t.health(h),
    };
    spans.push(Span::styled(
        format!("{} · ", p.health.as_str()),
        t.health(p.health),
    ));
    spans.push(Span::styled(clean(&p.detail), style));
    let since = format!(" · since {}", hms(p.health_since));
    spans.push(Span::styled(since, t.muted()));
    Line::from(spans)
}

/// The details view: the probe, its SLO and numbers, and its last failure in full.
fn details(cx: &Ctx, p: &ProbeState) -> Vec<Line<'static>> {
    let (m, t) = (cx.m, cx.theme);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", glyph(p.health)), t.health(p.health)),
        Span::styled(clean(&p.name), t.bold()),
        Span::styled(
            format!(" {} since {}", p.health.as_str(), hms(p.health_since)),
            t.health(p.health),
        ),
        Span::styled(format!(" — {}", clean(&p.detail)), t.muted()),
    ])];
    // A token in a query string is masked like everywhere else.
    let url = crate::core::redact::redact(&p.url, &m.secrets);
    let mut target = vec![Span::raw(format!("{} {}", p.method, clean(&url)))];
    if p.insecure {
        target.push(Span::styled("  insecure (TLS not verified)", t.warn()));
    }
    lines.push(Line::from(target));
    let window = format_duration_spec(p.window_len());
    let mut limits = Vec::new();
    if let Some(slo) = &p.slo {
        for (name, l) in [
            ("p50", slo.p50_ms),
            ("p95", slo.p95_ms),
            ("p99", slo.p99_ms),
        ] {
            limits.extend(l.map(|l| format!("{name} ≤ {l} ms")));
        }
        limits.extend(slo.error_rate.map(|e| format!("errors ≤ {}", percent(e))));
    }
    let slo = if limits.is_empty() {
        format!("no SLO · window {window}")
    } else {
        format!("SLO {} over {window}", limits.join(", "))
    };
    lines.push(Line::styled(slo, t.muted()));
    let s = p.stats();
    lines.push(Line::raw(format!(
        "{} requests, {} errors ({:.1}%) · p50 {} ms · p95 {} ms · p99 {} ms · max {} ms",
        s.requests, s.errors, s.error_rate, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms
    )));
    lines.push(Line::raw(""));
    match &p.last_failure {
        None => lines.push(Line::styled("no failed request so far", t.ok())),
        Some(f) => {
            lines.push(Line::from(vec![
                Span::styled("last failure ", t.bold()),
                Span::raw(format!("at {} ({})", hms(f.at), ago(f.at, m.now))),
            ]));
            let (kind, message) = f
                .failure
                .as_ref()
                .map_or(("error".into(), ""), |(k, msg)| (k.label(), msg.as_str()));
            let status = f.status.map_or("— (no response)".into(), |c| c.to_string());
            let took = format!("{} ms", f.latency_ms);
            let field = |name: &str, value: Span<'static>| {
                Line::from(vec![Span::styled(format!("  {name:<8}"), t.muted()), value])
            };
            lines.push(field("kind", Span::styled(kind, t.failed())));
            lines.push(field("status", Span::raw(status)));
            lines.push(field("took", Span::raw(took)));
            for (i, l) in message.lines().enumerate() {
                let name = if i == 0 { "message" } else { "" };
                lines.push(field(name, Span::raw(clean(l))));
            }
        }
    }
    let rules: Vec<_> = m
        .probes
        .rules
        .iter()
        .filter(|r| r.rule.probe == p.name)
        .collect();
    if !rules.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("rollback rules", t.bold()));
        for r in rules {
            let (state, style) = match (&r.active, r.holding_since) {
                (Some((at, _)), _) => (format!("ADVISED since {}", hms(*at)), t.failed()),
                (None, Some(at)) => (format!("breached since {}", hms(at)), t.warn()),
                (None, None) => ("ok".to_string(), t.ok()),
            };
            lines.push(Line::from(vec![
                Span::raw(format!("  {} — ", clean(&r.text))),
                Span::styled(state, style),
            ]));
        }
    }
    lines
}

/// `45s ago`, or `just now` within a second.
fn ago(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    if (now - at).num_milliseconds() < 1000 {
        "just now".into()
    } else {
        format!("{} ago", since(at, now))
    }
}
