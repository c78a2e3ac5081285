//! The rollout pane: each watched workload's counts, revision, progress bar, kubectl's status
//! text and the warnings of its pods.

use super::Ctx;
use super::unavailable::{draw_fitted, draw_lines, offline, stale_line, watched};
use crate::core::kube::{POD_WARNINGS, Rollout, WorkloadView, pod_warning, rollout_status};
use crate::core::msg::Stream;
use crate::ui::text::{clean, split_line, wrap};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

pub fn draw(cx: &mut Ctx, area: Rect) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    if let Some(lines) = offline(cx, "rollouts", |c| watched(cx, c, "rollouts")) {
        return draw_lines(cx, area, lines);
    }
    let lines = content(cx, width);
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

fn content(cx: &Ctx, width: usize) -> Vec<Line<'static>> {
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
            Some(w) => out.extend(block(cx, w, width)),
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

fn block(cx: &Ctx, w: &WorkloadView, width: usize) -> Vec<Line<'static>> {
    let t = cx.theme;
    let status = rollout_status(w);
    let mut right = Vec::new();
    if let Some(rev) = revision(w) {
        right.push(Span::styled(format!("rev {rev}"), t.muted()));
    }
    if w.paused {
        if !right.is_empty() {
            right.push(Span::raw(" "));
        }
        right.push(Span::styled("paused", t.warn()));
    }
    let name = Span::styled(format!("{}/{}", w.kind, w.name), t.bold());
    let mut out = vec![split_line(vec![name], right, width)];
    let desired = w.desired.unwrap_or(w.replicas);
    out.push(Line::from(vec![
        Span::raw(format!("{}/{desired} ready", w.ready)),
        Span::styled(" · ", t.muted()),
        Span::raw(format!("{} updated", w.updated)),
        Span::styled(" · ", t.muted()),
        Span::raw(format!("{} available", w.available)),
    ]));
    if width >= 8 {
        out.push(bar(t, w, &status, width));
    }
    let text = Line::styled(clean(status.text()), verdict_style(t, &status));
    out.extend(wrap(text, width, 2));
    out.extend(warnings(cx, w));
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

/// `7` for a Deployment, the update revision of a StatefulSet.
fn revision(w: &WorkloadView) -> Option<String> {
    match w.revision {
        Some(r) => Some(r.to_string()),
        None if !w.update_revision.is_empty() => Some(w.update_revision.clone()),
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
fn warnings(cx: &Ctx, w: &WorkloadView) -> Vec<Line<'static>> {
    let t = cx.theme;
    let found: Vec<&str> = cx.m.kube.pods_of(w).filter_map(pod_warning).collect();
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
