//! The record as a Markdown document to paste into release notes: summary, issues, steps,
//! changes, sign-offs, comments, probes, rollbacks and a timeline. Times are UTC.

mod records;
mod timeline;

use super::{Report, StepOut, attempt_summary, dur, is_done};
use crate::core::redact::MASK;
use chrono::{DateTime, Utc};
use records::{advice, changes, comments, probes, rollbacks, signoffs};
use timeline::timeline;

/// Formats record timestamps: the time of day, with the date when it is not the run's day.
struct Clock {
    day: Option<String>,
}

fn parse(iso: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(iso)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Clock {
    fn at(&self, iso: &str) -> String {
        match parse(iso) {
            Some(t) if self.day.as_deref() == Some(&t.format("%Y-%m-%d").to_string()) => {
                t.format("%H:%M:%S").to_string()
            }
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => String::new(),
        }
    }
}

fn full(iso: &str) -> String {
    parse(iso).map_or_else(String::new, |t| {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}

/// Text on one line: lines trimmed and joined by spaces.
fn flat(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table cell: one line, `|` escaped (also inside code spans, as GFM requires).
fn cell(text: &str) -> String {
    flat(text).replace('|', "\\|")
}

/// A code span of the first line, with `…` when more lines follow.
fn code(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut s = lines.next().unwrap_or("").to_string();
    if lines.next().is_some() {
        s += " …";
    }
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn signed(ms: i64) -> String {
    if ms == 0 {
        return "±0".into();
    }
    let sign = if ms < 0 { "-" } else { "+" };
    format!("{sign}{}", dur(Some(ms.unsigned_abs())))
}

fn state_text(state: &str) -> String {
    state.replace('_', " ")
}

fn glyph_of(state: &str) -> &'static str {
    match state {
        "succeeded" => "✔",
        "done" => "☑",
        "skipped" => "↷",
        "failed" | "timed_out" | "aborted" => "✘",
        "running" => "▶",
        "interrupted" => "⚠",
        _ => "·",
    }
}

fn revisions(before: Option<i64>, after: Option<i64>) -> Option<String> {
    match (before, after) {
        (Some(b), Some(a)) if a != b => Some(format!("{b} → {a}")),
        (Some(b), _) => Some(b.to_string()),
        (None, Some(a)) => Some(a.to_string()),
        (None, None) => None,
    }
}

fn step_name(r: &Report, id: &str) -> String {
    match r.steps.iter().find(|s| s.id == id) {
        Some(s) if s.title != s.id => format!("`{id}` {}", flat(&s.title)),
        _ => format!("`{id}`"),
    }
}

pub fn to_markdown(r: &Report) -> String {
    let clock = Clock {
        day: r.date.clone(),
    };
    let mut o = String::new();
    let name = r
        .checklist
        .as_ref()
        .map_or("(unknown checklist)".to_string(), |c| flat(&c.name));
    o += &format!("# Deployment record — {name}\n\n");
    summary(&mut o, r);
    variables(&mut o, r);
    issues(&mut o, r, &clock);
    steps(&mut o, r, &clock);
    changes(&mut o, r, &clock);
    signoffs(&mut o, r, &clock);
    comments(&mut o, r, &clock);
    probes(&mut o, r, &clock);
    advice(&mut o, r, &clock);
    rollbacks(&mut o, r, &clock);
    timeline(&mut o, r, &clock);
    o
}

fn summary(o: &mut String, r: &Report) {
    *o += "| Field | Value |\n|---|---|\n";
    let mut row = |k: &str, v: String| *o += &format!("| {k} | {v} |\n");
    row("Outcome", format!("**{}**", r.outcome));
    let version: Vec<String> = r
        .version
        .iter()
        .map(|(k, v)| code(&format!("{k}={v}")))
        .collect();
    row(
        "Version",
        if version.is_empty() {
            "—".into()
        } else {
            cell(&version.join(", "))
        },
    );
    row("Date", r.date.clone().unwrap_or_else(|| "—".into()));
    row("Deployed by", cell(&r.driver));
    row("Started", r.started.as_deref().map_or("—".into(), full));
    let finished = match (&r.finished, r.live, &r.last_event) {
        (Some(f), _, _) => full(f),
        (None, true, _) => "— (still running)".into(),
        (None, false, Some(l)) => format!("— (never finished; last event {})", full(l)),
        (None, false, None) => "—".into(),
    };
    row("Finished", finished);
    let so_far = match (r.finished.is_some(), r.live) {
        (true, _) => "",
        (false, true) => " so far",
        (false, false) => " to the last event",
    };
    row("Duration", format!("{}{so_far}", dur(r.duration_ms)));
    row("Rollback", if r.rollback { "yes" } else { "no" }.into());
    row("Steps", step_counts(r));
    let failed: Vec<String> = r
        .steps
        .iter()
        .filter(|s| matches!(s.state, "failed" | "timed_out" | "aborted" | "interrupted"))
        .filter(|s| s.kind != "group")
        .map(|s| format!("{} ({})", step_name(r, &s.id), state_text(s.state)))
        .collect();
    if !failed.is_empty() {
        row("Failed steps", cell(&failed.join(", ")));
    }
    row(
        "Issues",
        match r.issues.len() {
            0 => "none".into(),
            n => format!("{n} (see Issues)"),
        },
    );
    for res in &r.resumed {
        row("Resumed", format!("{} by {}", full(&res.at), cell(&res.by)));
    }
    row("Run", format!("`{}`", r.run));
    if let Some(c) = &r.checklist {
        row(
            "Checklist",
            format!("{} — {}", cell(&c.name), cell(&code(&c.path))),
        );
        row("Checklist sha256", format!("`{}`", c.sha256));
    }
    row("Mode", cell(&r.mode));
    let mut cluster = Vec::new();
    if let Some(c) = &r.context {
        cluster.push(format!("context {}", code(c)));
    }
    if let Some(n) = &r.namespace {
        cluster.push(format!("namespace {}", code(n)));
    }
    if !cluster.is_empty() {
        row("Cluster", cell(&cluster.join(", ")));
    }
}

fn step_counts(r: &Report) -> String {
    let mut text = format!("{} of {} done", r.steps_done, r.steps_total);
    let mut parts = Vec::new();
    for (state, label) in [
        ("succeeded", "succeeded"),
        ("done", "ticked"),
        ("skipped", "skipped"),
        ("failed", "failed"),
        ("timed_out", "timed out"),
        ("aborted", "aborted"),
        ("interrupted", "interrupted"),
        ("running", "running"),
        ("pending", "not run"),
    ] {
        let n = r
            .steps
            .iter()
            .filter(|s| s.kind != "group" && s.state == state)
            .count();
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    if !parts.is_empty() {
        text += &format!(" ({})", parts.join(", "));
    }
    text
}

fn variables(o: &mut String, r: &Report) {
    if r.vars.is_empty() {
        return;
    }
    *o += "\n## Variables\n\n| Name | Value |\n|---|---|\n";
    for (k, v) in &r.vars {
        let value = if v == MASK {
            format!("{MASK} (secret)")
        } else {
            cell(&code(v))
        };
        *o += &format!("| `{k}` | {value} |\n");
    }
}

fn issues(o: &mut String, r: &Report, clock: &Clock) {
    *o += "\n## Issues\n\n";
    if r.issues.is_empty() {
        *o += if r.live { "None so far.\n" } else { "None.\n" };
        return;
    }
    for i in &r.issues {
        let subject = match (&i.step, &i.probe) {
            (Some(s), _) => format!("{}: ", step_name(r, s)),
            _ => String::new(),
        };
        *o += &format!("- {} {subject}{}\n", clock.at(&i.at), flat(&i.detail));
    }
}

fn steps(o: &mut String, r: &Report, clock: &Clock) {
    *o += &format!("\n## Steps ({} of {} done)\n", r.steps_done, r.steps_total);
    let mut phase = None;
    for s in &r.steps {
        if phase != Some(&s.phase) {
            phase = Some(&s.phase);
            let title = if s.phase.is_empty() {
                "(not in the checklist)"
            } else {
                &s.phase
            };
            *o += &format!("\n### {}\n\n", flat(title));
            if let Some(p) = r.phases.iter().find(|p| p.name == s.phase)
                && p.duration_ms.is_some()
            {
                *o += &format!("Took {}", dur(p.duration_ms));
                if let Some(e) = p.estimate_ms {
                    *o += &format!(" against an estimate of {}", dur(Some(e)));
                }
                *o += &format!("; {} of {} steps done.\n\n", p.steps_done, p.steps_total);
            }
            *o += "| | Step | State | Start (UTC) | Duration | Estimate | vs estimate | Attempts | Notes |\n";
            *o += "|---|---|---|---|---|---|---|---|---|\n";
        }
        let group = s.kind == "group";
        *o += &format!(
            "| {} | {}`{}` {} | {} | {} | {} | {} | {} | {} | {} |\n",
            glyph_of(s.state),
            "↳ ".repeat(s.depth),
            s.id,
            cell(&s.title),
            state_text(s.state),
            s.started
                .as_deref()
                .map(|t| clock.at(t))
                .unwrap_or_default(),
            if group {
                String::new()
            } else {
                dur(s.duration_ms)
            },
            if s.estimate_ms.is_some() || !group {
                dur(s.estimate_ms)
            } else {
                String::new()
            },
            s.estimate_delta_ms.map(signed).unwrap_or_default(),
            if group {
                String::new()
            } else {
                s.attempts.len().to_string()
            },
            cell(&notes(r, s))
        );
    }
}

fn notes(r: &Report, s: &StepOut) -> String {
    let mut n = Vec::new();
    if let Some(k) = &s.skipped {
        n.push(format!("skipped by {}: {}", k.by, k.text));
    }
    if let Some(m) = &s.manual_done {
        n.push(format!("ticked by {}", m.by));
    }
    if !s.signoffs.is_empty() {
        let by: Vec<&str> = s.signoffs.iter().map(|m| m.by.as_str()).collect();
        n.push(format!("signed off by {}", by.join(", ")));
    } else if s.signoff_required {
        n.push("needs a sign-off".into());
    }
    let redone = s.attempts.len().saturating_sub(1);
    if redone > 0 && is_done(s.state) {
        n.push(format!(
            "retried {redone}×, {} on attempt {}",
            state_text(s.state),
            s.attempts.len()
        ));
    }
    if let Some(last) = s.attempts.last()
        && !is_done(s.state)
        && matches!(s.state, "failed" | "timed_out" | "aborted" | "interrupted")
        && let Some((_, why)) = attempt_summary(last, false).split_once(": ")
    {
        n.push(why.to_string());
    }
    for b in r.rollbacks.iter().filter(|b| b.step == s.id) {
        n.push(match b.outcome {
            Some("succeeded") => "rolled back".to_string(),
            Some(o) => format!("rollback {}", state_text(o)),
            None => "rollback did not finish".into(),
        });
    }
    match s.comments.len() {
        0 => {}
        1 => n.push("1 comment".into()),
        c => n.push(format!("{c} comments")),
    }
    n.join("; ")
}
