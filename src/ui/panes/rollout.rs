//! The rollout pane: each watched workload's counts, revision, progress bar, kubectl's status
//! text and the warnings of its pods.

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines, offline, stale_line, watched};
use crate::core::kube::{POD_WARNINGS, Rollout, WorkloadView, rollout_status};
use crate::core::msg::Stream;
use crate::ui::text::{clean, fit, spans_width, split_line, wrap};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

pub fn draw(cx: &mut Ctx, area: Rect) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    if let Some(lines) = offline(cx, "rollouts", |c| watched(cx, c, "rollouts")) {
        return draw_lines(cx, area, lines);
    }
    let warns = warnings_of(cx);
    // When the blocks do not fit, status texts give up lines: finished workloads' first.
    let mut lines = content(cx, &warns, width, 0);
    for tight in 1..=2 {
        if lines.len() <= usize::from(area.height) {
            break;
        }
        lines = content(cx, &warns, width, tight);
    }
    draw_fitted(cx, area, lines);
}

/// The workloads in `cluster.watch` order, then any others the sources reported.
fn keys(cx: &Ctx) -> Vec<String> {
    let mut keys: Vec<String> =
        cx.m.checklist
            .cluster
            .iter()
            .flat_map(|c| c.watch.iter().map(|w| w.to_string()))
            .collect();
    for k in cx.m.kube.workloads.keys() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

/// `tight`: 0 shows status texts whole, 1 cuts a finished workload's to one line, 2 every
/// other to two.
fn content(cx: &Ctx, warns: &Warnings, width: usize, tight: u8) -> Vec<Line<'static>> {
    let t = cx.theme;
    let mut out = Vec::new();
    out.extend(stale_line(cx, Stream::Workloads, width));
    let keys = keys(cx);
    if keys.is_empty() {
        out.push(Line::styled("nothing listed in cluster.watch", t.bold()));
        out.push(Line::styled(
            "add `watch: [deployment/NAME]` to see rollouts here",
            t.muted(),
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(Line::default());
        }
        match cx.m.kube.workloads.get(key) {
            Some(w) => {
                let found = warns.get(key.as_str()).map_or(&[][..], Vec::as_slice);
                out.extend(block(cx, w, found, width, tight))
            }
            None => out.push(Line::from(vec![
                Span::styled(key.clone(), t.bold()),
                Span::styled(" — not found (yet)", t.muted()),
            ])),
        }
    }
    out
}

/// The verdict's colour: green done, yellow progressing, red failed.
fn verdict_style(t: &Theme, r: &Rollout) -> Style {
    match r {
        Rollout::Done(_) => t.ok(),
        Rollout::Progressing(_) => t.warn(),
        Rollout::Failed(_) => t.failed(),
    }
}

/// Each workload's pod warnings, from `KubeState::pod_warnings`.
type Warnings = BTreeMap<String, Vec<&'static str>>;

thread_local! {
    /// The warnings for one [`crate::core::kube::Generation`] of the pods: they change only
    /// when the pods do, not with every frame.
    static WARNINGS: RefCell<Option<(u64, Rc<Warnings>)>> = const { RefCell::new(None) };
}

/// One pass over the pods for every workload's warnings, shared by the tightening passes and
/// kept while the pods stay the same.
fn warnings_of(cx: &Ctx) -> Rc<Warnings> {
    let generation = cx.m.kube.generation.0;
    WARNINGS.with_borrow_mut(|cache| match cache {
        Some((g, w)) if *g == generation => w.clone(),
        _ => {
            let w = Rc::new(cx.m.kube.pod_warnings());
            *cache = Some((generation, w.clone()));
            w
        }
    })
}

fn block(
    cx: &Ctx,
    w: &WorkloadView,
    found: &[&str],
    width: usize,
    tight: u8,
) -> Vec<Line<'static>> {
    let t = cx.theme;
    let status = rollout_status(w);
    // The name first: the revision gives way, then the paused mark.
    let name = Span::styled(format!("{}/{}", w.kind, w.name), t.bold());
    let paused = w.paused.then(|| Span::styled("paused", t.warn()));
    let rev = revision(w).map(|r| Span::styled(format!("rev {r}"), t.muted()));
    let fits =
        |spans: &[Span]| crate::ui::text::width(&name.content) + 1 + spans_width(spans) <= width;
    let full: Vec<Span<'static>> = match (rev, paused.clone()) {
        (Some(r), Some(p)) => vec![r, Span::raw(" "), p],
        (r, p) => r.into_iter().chain(p).collect(),
    };
    let right = if fits(&full) {
        full
    } else {
        paused
            .into_iter()
            .filter(|p| fits(std::slice::from_ref(p)))
            .collect()
    };
    let mut out = vec![split_line(vec![name], right, width)];
    out.push(counts(cx.theme, w, width));
    if width >= 8 {
        out.push(bar(t, w, &status, width));
    }
    let style = verdict_style(t, &status);
    let mut text = wrap(Line::styled(clean(status.text()), style), width, 2);
    let keep = match (&status, tight) {
        (Rollout::Done(_), 1..) => 1,
        (_, 2..) => 2,
        _ => text.len(),
    };
    if text.len() > keep {
        // Cut with `…` where the kept lines end.
        let rest: Vec<String> = text[keep - 1..]
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.trim()).collect::<String>())
            .collect();
        let indent = if keep > 1 { "  " } else { "" };
        text.truncate(keep - 1);
        text.push(Line::styled(
            fit(&format!("{indent}{}", rest.join(" ")), width),
            style,
        ));
    }
    out.extend(text);
    out.extend(warnings(cx.theme, found));
    // Conditions only when one is not True: the verdict above already says the rest.
    let odd: Vec<String> = w
        .conditions
        .iter()
        .filter(|(_, status, _, _)| status != "True")
        .map(|(kind, status, reason, _)| match reason.is_empty() {
            true => format!("{kind}={status}"),
            false => format!("{kind}={status} ({reason})"),
        })
        .collect();
    if !odd.is_empty() {
        out.push(Line::styled(odd.join(" · "), t.muted()));
    }
    out
}

/// `3/3 ready · 2 updated · 3 available`, shorter when the pane is narrow.
fn counts(t: &Theme, w: &WorkloadView, width: usize) -> Line<'static> {
    let desired = w.desired.unwrap_or(w.replicas);
    let text = |upd: &str, avail: &str| {
        format!(
            "{}/{desired} ready · {} {upd} · {} {avail}",
            w.ready, w.updated, w.available
        )
    };
    let mut full = text("updated", "available");
    if crate::ui::text::width(&full) > width {
        full = text("upd", "avail");
    }
    let parts: Vec<&str> = full.split(" · ").collect();
    let mut spans = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.muted()));
        }
        spans.push(Span::raw(p.to_string()));
    }
    Line::from(spans)
}

/// `7` for a Deployment, the update revision of a StatefulSet.
fn revision(w: &WorkloadView) -> Option<String> {
    match w.revision {
        Some(r) => Some(r.to_string()),
        // `db-7c9f8d6b5`: the hash is what changes.
        None if !w.update_revision.is_empty() => {
            let prefix = format!("{}-", w.name);
            let hash = w.update_revision.strip_prefix(&prefix);
            Some(hash.unwrap_or(&w.update_revision).to_string())
        }
        None => None,
    }
}

/// How far the rollout got: updated pods, then updated pods available, over twice `desired`.
/// Full (and green) once kubectl would call it done.
pub fn progress(w: &WorkloadView, status: &Rollout) -> f64 {
    if matches!(status, Rollout::Done(_)) {
        return 1.0;
    }
    let desired = w.desired.unwrap_or(w.replicas);
    if desired <= 0 {
        return 0.0;
    }
    let updated = w.updated.clamp(0, desired);
    let available = w.available.min(w.updated).clamp(0, desired);
    f64::from(updated + available) / f64::from(2 * desired)
}

fn bar(t: &Theme, w: &WorkloadView, status: &Rollout, width: usize) -> Line<'static> {
    let frac = progress(w, status);
    let pct = format!(" {:>3.0}%", frac * 100.0);
    let cells = width.saturating_sub(pct.len());
    let filled = ((frac * cells as f64).round() as usize).min(cells);
    let style = match status {
        Rollout::Done(_) => t.ok(),
        Rollout::Progressing(_) => t.running(),
        Rollout::Failed(_) => t.failed(),
    };
    Line::from(vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(cells - filled), t.muted()),
        Span::raw(pct),
    ])
}

/// `⚠ 2 pods CrashLoopBackOff`: the pod problems of the workload, most common kinds first.
fn warnings(t: &Theme, found: &[&str]) -> Vec<Line<'static>> {
    POD_WARNINGS
        .iter()
        .filter_map(|kind| {
            let n = found.iter().filter(|f| *f == kind).count();
            (n > 0).then(|| {
                let noun = if n == 1 { "pod" } else { "pods" };
                let style = if *kind == "Unschedulable" {
                    t.warn()
                } else {
                    t.failed()
                };
                Line::styled(format!("⚠ {n} {noun} {kind}"), style)
            })
        })
        .collect()
}
