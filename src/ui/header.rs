//! The header: what runs, since when, who drives and who pressed what last (SPEC §4, §6), and
//! the red ROLLBACK ADVISED banner above everything else while a `rollback_when` rule fires.
//!
//! Parts carry a priority; at narrow widths the least important are dropped first, so 80
//! columns always keep the checklist name, the run state and the running step.

use super::clock::{hms, since};
use super::panes::checklist::glyph;
use super::text::{fit_spans, spans_width};
use super::theme::Theme;
use crate::core::model::{Model, Role};
use crate::ui::lines::Lines;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// A header part: lower `prio` is kept longer.
struct Part {
    prio: u8,
    spans: Vec<Span<'static>>,
}

fn part(prio: u8, spans: Vec<Span<'static>>) -> Part {
    Part { prio, spans }
}

pub fn draw(frame: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let width = usize::from(area.width);
    let (mut first, second) = (identity(m, t, width), activity(m, t, width));
    let banner = rollback_banner(m, t, width);
    let lines = if area.height >= 2 && banner.is_none() {
        vec![pack(first, width, t), pack(second, width, t)]
    } else {
        // One line: the name and state, then what runs, then the rest.
        for p in &mut first {
            p.prio += u8::from(p.prio > 0);
        }
        first.extend(second);
        let rest = pack(first, width, t);
        match banner {
            Some(b) if area.height >= 2 => vec![b, rest],
            Some(b) => vec![b],
            None => vec![rest],
        }
    };
    frame.render_widget(Lines::new(lines), area);
}

/// ` ROLLBACK ADVISED: web error rate 12% > 5% for 30s · since 12:01:30 `, red and reversed
/// across the whole width, when a `rollback_when` rule fired: above everything else.
fn rollback_banner(m: &Model, t: &Theme, width: usize) -> Option<Line<'static>> {
    let (_, detail, at) = m.probes.advice()?;
    let mut text = format!(" ROLLBACK ADVISED: {}", super::text::clean(detail));
    let more = m.probes.advice_count().saturating_sub(1);
    let mut tail = format!(" · since {}", hms(at));
    if more > 0 {
        tail += &format!(" · +{more} more rule{}", if more == 1 { "" } else { "s" });
    }
    if super::text::width(&text) + super::text::width(&tail) < width {
        text += &tail;
    }
    let text = super::text::fit(&text, width);
    let pad = width.saturating_sub(super::text::width(&text));
    Some(Line::styled(
        format!("{text}{}", " ".repeat(pad)),
        t.alarm(),
    ))
}

/// Keeps the most important parts that fit, in their original order, joined by ` · `.
fn pack(parts: Vec<Part>, width: usize, t: &Theme) -> Line<'static> {
    let mut keep: Vec<bool> = vec![true; parts.len()];
    let total = |keep: &[bool]| -> usize {
        let kept: Vec<usize> = parts
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| spans_width(&p.spans))
            .collect();
        kept.iter().sum::<usize>() + 3 * kept.len().saturating_sub(1)
    };
    while total(&keep) > width {
        let Some(worst) = (0..parts.len())
            .filter(|i| keep[*i] && parts[*i].prio > 0)
            .max_by_key(|i| (parts[*i].prio, *i))
        else {
            break;
        };
        // The last part shown may be cut with `…` rather than dropped when a good part of it fits.
        let last = (0..parts.len()).rfind(|i| keep[*i]);
        keep[worst] = false;
        if last == Some(worst) && total(&keep) + 3 + 16 <= width {
            keep[worst] = true;
            break;
        }
    }
    let mut spans = Vec::new();
    for p in parts
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| p)
    {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", t.muted()));
        }
        spans.extend(p.spans);
    }
    Line::from(fit_spans(spans, width))
}

/// Line 1: checklist, run state, progress, run id, elapsed, driver, cluster, layout.
fn identity(m: &Model, t: &Theme, width: usize) -> Vec<Part> {
    let name = super::text::fit(
        &super::text::clean(&m.checklist.name),
        (width * 2 / 5).max(12),
    );
    let mut parts = vec![part(0, vec![Span::styled(format!(" {name} "), t.header())])];
    let (label, style) = run_state(m, t);
    parts.push(part(0, vec![Span::styled(format!(" {label} "), style)]));
    let leaves: Vec<_> = m
        .checklist
        .flat_steps()
        .into_iter()
        .filter(|f| f.step.steps.is_empty())
        .collect();
    let done = leaves
        .iter()
        .filter(|f| m.run.state_of(&f.step.id).is_done())
        .count();
    let failed = leaves
        .iter()
        .filter(|f| m.run.state_of(&f.step.id).is_failure())
        .count();
    let mut progress = vec![Span::raw(format!("{done}/{} done", leaves.len()))];
    if failed > 0 {
        progress.push(Span::styled(format!(" {failed} ✘"), t.failed()));
    }
    parts.push(part(1, progress));
    // The run id gives way before the cluster: which context a release goes to matters more
    // on screen than the id `shipdeck report` takes.
    if !m.run_id.is_empty() {
        parts.push(part(
            5,
            vec![Span::styled("run ", t.muted()), Span::raw(m.run_id.clone())],
        ));
    }
    if let Some(start) = m.run.started {
        let end = m.run.finished.map_or(m.now, |f| f.0);
        parts.push(part(
            2,
            vec![Span::styled("⏱ ", t.muted()), Span::raw(since(start, end))],
        ));
    }
    if let Some(eta) = eta(m, t) {
        parts.push(part(2, eta));
    }
    parts.push(match m.role {
        Role::Driver => part(
            2,
            vec![
                Span::styled("driver ", t.muted()),
                Span::raw(m.driver.clone()),
            ],
        ),
        // A watcher must always see that this screen cannot drive, and whose run it follows.
        Role::Watcher => part(
            1,
            vec![
                Span::styled("watching", t.bold()),
                Span::styled(" · driver ", t.muted()),
                Span::raw(super::text::clean(driven_by(m))),
            ],
        ),
    });
    parts.extend(cluster(m, t));
    parts.push(part(
        5,
        vec![
            Span::styled("layout ", t.muted()),
            Span::raw(m.layout_name.clone()),
        ],
    ));
    parts
}

/// `ETA 4m10s`: the expected time left while the run is unfinished, from past runs' medians and
/// the estimates; `≥` when some steps still ahead have neither, so the time is a lower bound.
fn eta(m: &Model, t: &Theme) -> Option<Vec<Span<'static>>> {
    if m.run.finished.is_some() {
        return None;
    }
    let eta = crate::core::history::eta(m)?;
    let at_least = if eta.unknown > 0 { "≥" } else { "" };
    let left = if eta.ms < 1000 {
        "<1s".to_string()
    } else {
        super::clock::millis(eta.ms)
    };
    Some(vec![
        Span::styled("ETA ", t.muted()),
        Span::raw(format!("{at_least}{left}")),
    ])
}

/// Who drives the run a watcher follows: whoever resumed it last, else who started it.
fn driven_by(m: &Model) -> &str {
    m.run
        .resumed
        .last()
        .map_or(m.run.driver.as_str(), |(_, who)| who.as_str())
}

/// `k8s prod/shop`, plus `connecting…`, a red `cluster unavailable: …` or an amber
/// `stale since 12:00:30` (the oldest broken stream) when that is the case.
fn cluster(m: &Model, t: &Theme) -> Vec<Part> {
    use crate::core::kube::Connection;
    let Some(c) = &m.checklist.cluster else {
        return Vec::new();
    };
    let (ctx, ns) = match &m.kube.connection {
        Connection::Connected {
            context, namespace, ..
        } => (context.clone(), namespace.clone()),
        _ => (
            c.context
                .clone()
                .or_else(|| m.run.context.clone())
                .unwrap_or_else(|| "current context".into()),
            c.namespace
                .clone()
                .or_else(|| m.run.namespace.clone())
                .unwrap_or_else(|| "default".into()),
        ),
    };
    let mut k8s = vec![
        Span::styled("k8s ", t.muted()),
        Span::raw(format!("{ctx}/{ns}")),
    ];
    if m.kube.connection == Connection::Connecting {
        k8s.push(Span::styled(" connecting…", t.muted()));
    }
    let mut parts = vec![part(4, k8s)];
    if let Connection::Unavailable(e) = &m.kube.connection {
        let e = super::text::fit(&super::text::clean(e), 32);
        parts.push(part(
            1,
            vec![Span::styled(
                format!("cluster unavailable: {e}"),
                t.failed(),
            )],
        ));
    }
    if let Some(at) = m.kube.stale.values().map(|(at, _)| *at).min() {
        parts.push(part(
            1,
            vec![Span::styled(format!("stale since {}", hms(at)), t.warn())],
        ));
    }
    parts
}

/// The badge after the checklist name: RUNNING, IDLE, or how the run ended.
fn run_state(m: &Model, t: &Theme) -> (String, Style) {
    let badge = |c: Color| {
        if t.color {
            Style::new()
                .fg(Color::Black)
                .bg(c)
                .add_modifier(Modifier::BOLD)
        } else {
            t.bold()
        }
    };
    if let Some(r) = &m.running {
        let label = if r.aborting {
            "ABORTING"
        } else if r.rollback {
            "ROLLING BACK"
        } else {
            "RUNNING"
        };
        return (
            label.into(),
            badge(if r.aborting || r.rollback {
                Color::Yellow
            } else {
                Color::Cyan
            }),
        );
    }
    match m.run.finished {
        Some((_, o)) => {
            let ok = o == crate::core::journal::RunOutcome::Succeeded;
            (
                o.as_str().to_uppercase(),
                badge(if ok { Color::Green } else { Color::Red }),
            )
        }
        None => (
            "IDLE".into(),
            if t.color {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                t.bold()
            },
        ),
    }
}

/// Line 2: the running step since when and for how long, then the last action and who did it.
fn activity(m: &Model, t: &Theme, width: usize) -> Vec<Part> {
    let short = |s: &str| super::text::fit(&super::text::clean(s), (width / 2).max(12));
    let mut parts = Vec::new();
    match &m.running {
        Some(r) => {
            let title = short(m.step(&r.step).map_or(&r.step, |s| &s.title));
            let g = m
                .step(&r.step)
                .map_or("▶", |s| glyph(m, s, crate::core::run::StepState::Running));
            let what = if r.rollback { "rollback of " } else { "" };
            parts.push(part(
                0,
                vec![
                    Span::styled(format!("{g} {what}"), t.running()),
                    Span::styled(title, t.running()),
                ],
            ));
            parts.push(part(
                1,
                vec![Span::raw(format!(
                    "since {} ({})",
                    hms(r.since),
                    since(r.since, m.now)
                ))],
            ));
        }
        None => {
            // When the last step ended: how long the release has been waiting on a person.
            let ended = m
                .run
                .steps
                .values()
                .flat_map(|r| r.attempts.iter())
                .filter_map(|a| a.finished)
                .max();
            let text = match ended {
                Some(e) => format!("nothing running since {} ({})", hms(e), since(e, m.now)),
                None => "nothing running".to_string(),
            };
            parts.push(part(0, vec![Span::styled(text, t.muted())]));
        }
    }
    if let Some(a) = &m.last_action {
        parts.push(part(
            1,
            vec![
                Span::styled("last ", t.muted()),
                Span::raw(format!("{} by {} at {}", a.what, a.by, hms(a.at))),
            ],
        ));
    }
    if let Some((step, by)) = newest_signoff(m) {
        parts.push(part(
            2,
            vec![
                Span::styled("✍ ", t.ok()),
                Span::raw(super::text::clean(step)),
                Span::styled(" by ", t.muted()),
                Span::raw(super::text::clean(by)),
            ],
        ));
    }
    parts
}

/// The step and signer of the newest sign-off of the run (the later step on a tie).
fn newest_signoff(m: &Model) -> Option<(&str, &str)> {
    m.run
        .steps
        .iter()
        .flat_map(|(id, rec)| rec.signoffs.iter().map(move |s| (s.at, id, s)))
        .max_by_key(|(at, _, _)| *at)
        .map(|(_, id, s)| (id.as_str(), s.by.as_str()))
}
