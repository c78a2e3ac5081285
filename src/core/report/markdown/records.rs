//! The record's tables and lists of what was done: changes, sign-offs, comments, probes,
//! rollback advice and rollbacks.

use super::{Clock, cell, code, flat, revisions, state_text, step_name};
use crate::core::report::{Report, dur};

pub(super) fn changes(o: &mut String, r: &Report, clock: &Clock) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    for s in &r.steps {
        for a in &s.actions {
            let rollback = if a.during_rollback { "rollback: " } else { "" };
            rows.push((
                &a.at,
                format!(
                    "| {} | `{}` | {rollback}{} | {} | {} | {} |\n",
                    clock.at(&a.at),
                    s.id,
                    cell(&a.action),
                    cell(&code(&a.before)),
                    cell(&code(&a.after)),
                    revisions(a.revision_before, a.revision_after).unwrap_or_else(|| "—".into())
                ),
            ));
        }
    }
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| a.0.cmp(b.0));
    *o += "\n## Changes applied\n\n| Time (UTC) | Step | Action | Before | After | Revision |\n|---|---|---|---|---|---|\n";
    for (_, row) in rows {
        *o += &row;
    }
}

pub(super) fn signoffs(o: &mut String, r: &Report, clock: &Clock) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    for s in &r.steps {
        let name = cell(&step_name(r, &s.id));
        for m in &s.signoffs {
            rows.push((
                &m.at,
                format!(
                    "| {name} | signed off | {} | {} |\n",
                    cell(&m.by),
                    clock.at(&m.at)
                ),
            ));
        }
        if let Some(m) = &s.manual_done {
            rows.push((
                &m.at,
                format!(
                    "| {name} | ticked done | {} | {} |\n",
                    cell(&m.by),
                    clock.at(&m.at)
                ),
            ));
        }
        if s.signoff_required && s.signoffs.is_empty() {
            rows.push(("~", format!("| {name} | **not signed off** | — | — |\n")));
        }
    }
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| a.0.cmp(b.0));
    *o += "\n## Sign-offs and manual checks\n\n| Step | Check | By | Time (UTC) |\n|---|---|---|---|\n";
    for (_, row) in rows {
        *o += &row;
    }
}

pub(super) fn comments(o: &mut String, r: &Report, clock: &Clock) {
    let mut items: Vec<(&str, String)> = r
        .comments
        .iter()
        .map(|c| (c.at.as_str(), format!("**{}**: {}", c.by, flat(&c.text))))
        .collect();
    for s in &r.steps {
        for c in &s.comments {
            items.push((
                &c.at,
                format!("**{}** on `{}`: {}", c.by, s.id, flat(&c.text)),
            ));
        }
    }
    if items.is_empty() {
        return;
    }
    items.sort_by(|a, b| a.0.cmp(b.0));
    *o += "\n## Comments\n\n";
    for (at, text) in items {
        *o += &format!("- {} {text}\n", clock.at(at));
    }
}

pub(super) fn probes(o: &mut String, r: &Report, clock: &Clock) {
    if r.probes.is_empty() {
        return;
    }
    *o += "\n## Health probes\n\n| Probe | Requests | Errors | Error rate | p50 | p95 | Max | Worst minute | Time red | SLO | Within SLO |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for p in &r.probes {
        let worst = p.worst_minute.as_ref().map_or("—".to_string(), |w| {
            format!(
                "{} ({:.1}% errors, p95 {} ms)",
                clock.at(&w.minute),
                w.error_rate,
                w.p95_ms
            )
        });
        let slo = p.slo.as_ref().map_or("—".to_string(), |s| {
            let mut parts = Vec::new();
            if let Some(v) = s.p50_ms {
                parts.push(format!("p50 ≤ {v} ms"));
            }
            if let Some(v) = s.p95_ms {
                parts.push(format!("p95 ≤ {v} ms"));
            }
            if let Some(v) = s.p99_ms {
                parts.push(format!("p99 ≤ {v} ms (not judged)"));
            }
            if let Some(v) = s.error_rate {
                parts.push(format!("errors ≤ {v}%"));
            }
            format!("{} (window {})", parts.join(", "), dur(Some(s.window_ms)))
        });
        let within = match p.slo_met {
            None => "—".to_string(),
            Some(true) => "yes".into(),
            Some(false) => "**no**".into(),
        };
        let within = if p.minutes_over_slo > 0 {
            format!(
                "{within} ({} of {} minutes over)",
                p.minutes_over_slo,
                p.minutes.len()
            )
        } else {
            within
        };
        *o += &format!(
            "| {} | {} | {} | {:.1}% | {} ms | {} ms | {} ms | {worst} | {} | {} | {within} |\n",
            cell(&p.name),
            p.requests,
            p.errors,
            p.error_rate,
            p.p50_ms,
            p.p95_ms,
            p.max_ms,
            if p.red_ms > 0 {
                dur(Some(p.red_ms))
            } else {
                "—".into()
            },
            cell(&slo),
        );
    }
    let mut changes: Vec<(&str, String)> = Vec::new();
    for p in &r.probes {
        for c in &p.changes {
            changes.push((
                &c.at,
                format!("`{}` {} → {}: {}", p.name, c.from, c.to, flat(&c.detail)),
            ));
        }
    }
    if !changes.is_empty() {
        changes.sort_by(|a, b| a.0.cmp(b.0));
        *o += "\nState changes:\n\n";
        for (at, text) in changes {
            *o += &format!("- {} {text}\n", clock.at(at));
        }
    }
}

pub(super) fn advice(o: &mut String, r: &Report, clock: &Clock) {
    if r.rollback_advice.is_empty() {
        return;
    }
    *o += "\n## Rollback advice\n\n";
    for a in &r.rollback_advice {
        let cleared = match &a.cleared {
            Some(c) => format!(
                "cleared at {} after {}",
                clock.at(c),
                dur(Some(a.active_ms))
            ),
            None => "still advised when the record ends".into(),
        };
        *o += &format!(
            "- {} ROLLBACK ADVISED: {} (rule {}; {cleared})\n",
            clock.at(&a.at),
            flat(&a.detail),
            code(&a.rule)
        );
    }
}

pub(super) fn rollbacks(o: &mut String, r: &Report, clock: &Clock) {
    if r.rollbacks.is_empty() {
        return;
    }
    *o += "\n## Rollbacks\n\n| Time (UTC) | Step | By | Rollback | Outcome |\n|---|---|---|---|---|\n";
    for b in &r.rollbacks {
        *o += &format!(
            "| {} | `{}` | {} | {} | {} |\n",
            clock.at(&b.at),
            b.step,
            cell(&b.by),
            cell(&code(&b.command)),
            b.outcome.map_or("did not finish".into(), state_text)
        );
    }
}
