//! The deployment record of a run (SPEC §7), as stable JSON and as readable Markdown.

use super::run::{Attempt, Mark, RunState, StepState};
use crate::config::checklist::{Checklist, StepKind};
use crate::config::units::format_duration;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::time::Duration;

pub const SCHEMA: &str = "shipdeck.report/1";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub run: String,
    pub checklist: Option<crate::core::journal::ChecklistRef>,
    pub vars: std::collections::BTreeMap<String, String>,
    pub driver: String,
    pub mode: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    /// succeeded | failed | aborted | interrupted | stopped | live | unfinished
    pub outcome: String,
    pub rollback: bool,
    pub resumed: Vec<MarkOut>,
    pub steps: Vec<StepOut>,
    pub comments: Vec<MarkOut>,
    /// Per probe: the SLO numbers of the run, from its minute summaries.
    pub probes: Vec<ProbeOut>,
    pub rollback_advice: Vec<AdviceOut>,
}

#[derive(Debug, Serialize)]
pub struct ProbeOut {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    /// Percent of requests that failed.
    pub error_rate: f64,
    /// Median of the minutes' p95 latencies.
    pub p95_ms: u64,
    pub max_ms: u64,
    /// The minute with the highest error rate (then p95).
    pub worst_minute: Option<MinuteOut>,
    pub changes: Vec<ChangeOut>,
}

#[derive(Debug, Serialize)]
pub struct MinuteOut {
    pub minute: String,
    pub requests: u32,
    pub errors: u32,
    pub error_rate: f64,
    pub p95_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct ChangeOut {
    pub at: String,
    pub from: String,
    pub to: String,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct AdviceOut {
    pub at: String,
    pub rule: String,
    pub detail: String,
    pub cleared: Option<String>,
}

fn rate(errors: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        (errors as f64 * 1000.0 / requests as f64).round() / 10.0
    }
}

fn probes_out(run: &RunState) -> Vec<ProbeOut> {
    let mut names: Vec<&String> = run.probe_minutes.keys().collect();
    for c in &run.probe_changes {
        if !names.contains(&&c.probe) {
            names.push(&c.probe);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let minutes = run
                .probe_minutes
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let requests: u64 = minutes.iter().map(|m| u64::from(m.requests)).sum();
            let errors: u64 = minutes.iter().map(|m| u64::from(m.errors)).sum();
            let mut p95s: Vec<u64> = minutes.iter().map(|m| m.p95_ms).collect();
            p95s.sort_unstable();
            let worst = minutes.iter().max_by(|a, b| {
                let ra = rate(a.errors.into(), a.requests.into());
                let rb = rate(b.errors.into(), b.requests.into());
                ra.total_cmp(&rb).then(a.p95_ms.cmp(&b.p95_ms))
            });
            ProbeOut {
                name: name.clone(),
                requests,
                errors,
                error_rate: rate(errors, requests),
                p95_ms: p95s.get(p95s.len() / 2).copied().unwrap_or(0),
                max_ms: minutes.iter().map(|m| m.max_ms).max().unwrap_or(0),
                worst_minute: worst.map(|w| MinuteOut {
                    minute: ts(w.minute),
                    requests: w.requests,
                    errors: w.errors,
                    error_rate: rate(w.errors.into(), w.requests.into()),
                    p95_ms: w.p95_ms,
                }),
                changes: run
                    .probe_changes
                    .iter()
                    .filter(|c| &c.probe == name)
                    .map(|c| ChangeOut {
                        at: ts(c.at),
                        from: c.from.clone(),
                        to: c.to.clone(),
                        detail: c.detail.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct StepOut {
    pub id: String,
    pub title: String,
    pub phase: String,
    pub depth: usize,
    pub kind: &'static str,
    pub state: &'static str,
    pub started: Option<String>,
    pub duration_ms: Option<u64>,
    pub estimate_ms: Option<u64>,
    pub attempts: Vec<AttemptOut>,
    pub skipped: Option<MarkOut>,
    pub manual_done: Option<MarkOut>,
    pub signoffs: Vec<MarkOut>,
    pub comments: Vec<MarkOut>,
    pub rollbacks: Vec<MarkOut>,
    pub actions: Vec<ActionOut>,
    pub waits: Vec<WaitOut>,
}

#[derive(Debug, Serialize)]
pub struct ActionOut {
    pub at: String,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub revision_before: Option<i64>,
    pub revision_after: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct WaitOut {
    pub at: String,
    pub what: String,
    /// satisfied | timed_out | failed
    pub outcome: &'static str,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct AttemptOut {
    pub n: u32,
    pub by: String,
    pub what: Option<String>,
    pub started: String,
    pub finished: Option<String>,
    pub outcome: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MarkOut {
    pub by: String,
    pub at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn mark(m: &Mark) -> MarkOut {
    MarkOut {
        by: m.by.clone(),
        at: ts(m.at),
        text: m.text.clone(),
    }
}

fn attempt(a: &Attempt) -> AttemptOut {
    AttemptOut {
        n: a.n,
        by: a.by.clone(),
        what: a.what.clone(),
        started: ts(a.started),
        finished: a.finished.map(ts),
        outcome: a.outcome.map(|o| match o {
            super::journal::StepOutcome::Succeeded => "succeeded",
            super::journal::StepOutcome::Failed => "failed",
            super::journal::StepOutcome::TimedOut => "timed_out",
            super::journal::StepOutcome::Aborted => "aborted",
            super::journal::StepOutcome::Interrupted => "interrupted",
        }),
        exit_code: a.exit_code,
        signal: a.signal,
        duration_ms: a.duration_ms,
        message: a.message.clone(),
    }
}

/// Builds the record. `live` says whether the run's driver is still running.
pub fn build(
    checklist: Option<&Checklist>,
    run: &RunState,
    live: bool,
    now: DateTime<Utc>,
) -> Report {
    let mut steps = Vec::new();
    if let Some(c) = checklist {
        let flat = c.flat_steps();
        for f in &flat {
            let state = match f.step.kind {
                StepKind::Group => group_state(f.step, run),
                _ => run.state_of(&f.step.id),
            };
            let kind = match f.step.kind {
                StepKind::Run(_) => "run",
                StepKind::Action(_) => "action",
                StepKind::Manual => "manual",
                StepKind::Wait => "wait",
                StepKind::Group => "group",
            };
            steps.push(step_out(
                &f.step.id,
                &f.step.title,
                &c.phases[f.phase].name,
                f.depth,
                kind,
                state,
                f.step.estimate,
                run,
            ));
        }
    }
    // Steps the journal knows that the checklist (changed or missing) does not.
    for id in run.steps.keys() {
        if !steps.iter().any(|s| &s.id == id) {
            steps.push(step_out(
                id,
                id,
                "",
                0,
                "unknown",
                run.state_of(id),
                None,
                run,
            ));
        }
    }
    let outcome = match run.finished {
        Some((_, o)) => o.as_str().to_string(),
        None if live => "live".into(),
        None => "unfinished".into(),
    };
    Report {
        schema: SCHEMA,
        run: run.run_id.clone(),
        checklist: run.checklist.clone(),
        vars: run.vars.clone(),
        driver: run.driver.clone(),
        mode: run.mode.clone(),
        context: run.context.clone(),
        namespace: run.namespace.clone(),
        started: run.started.map(ts),
        finished: run.finished.map(|f| ts(f.0)),
        duration_ms: run.duration_ms(if live {
            now
        } else {
            run.last_event.unwrap_or(now)
        }),
        outcome,
        rollback: run.rolled_back,
        resumed: run
            .resumed
            .iter()
            .map(|(at, by)| MarkOut {
                by: by.clone(),
                at: ts(*at),
                text: String::new(),
            })
            .collect(),
        steps,
        comments: run.comments.iter().map(mark).collect(),
        probes: probes_out(run),
        rollback_advice: run
            .advice
            .iter()
            .map(|a| AdviceOut {
                at: ts(a.at),
                rule: a.rule.clone(),
                detail: a.detail.clone(),
                cleared: a.cleared.map(ts),
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn step_out(
    id: &str,
    title: &str,
    phase: &str,
    depth: usize,
    kind: &'static str,
    state: StepState,
    estimate: Option<Duration>,
    run: &RunState,
) -> StepOut {
    let rec = run.step(id);
    StepOut {
        id: id.to_string(),
        title: title.to_string(),
        phase: phase.to_string(),
        depth,
        kind,
        state: state.as_str(),
        started: rec.first_start().map(ts),
        duration_ms: rec.last_duration_ms(),
        estimate_ms: estimate.map(|e| e.as_millis() as u64),
        attempts: rec.attempts.iter().map(attempt).collect(),
        skipped: rec.skipped.as_ref().map(mark),
        manual_done: rec.manual_done.as_ref().map(mark),
        signoffs: rec.signoffs.iter().map(mark).collect(),
        comments: rec.comments.iter().map(mark).collect(),
        rollbacks: rec.rollbacks.iter().map(mark).collect(),
        actions: rec
            .actions
            .iter()
            .map(|a| ActionOut {
                at: ts(a.at),
                action: a.action.clone(),
                target: a.target.clone(),
                before: a.before.clone(),
                after: a.after.clone(),
                revision_before: a.revision_before,
                revision_after: a.revision_after,
            })
            .collect(),
        waits: rec
            .waits
            .iter()
            .map(|w| WaitOut {
                at: ts(w.at),
                what: w.what.clone(),
                outcome: w.outcome,
                duration_ms: w.duration_ms,
                message: w.message.clone(),
            })
            .collect(),
    }
}

/// A group is done when all its children are; failed or running if any child is.
pub fn group_state(step: &crate::config::checklist::Step, run: &RunState) -> StepState {
    let states: Vec<StepState> = step
        .steps
        .iter()
        .map(|c| {
            if matches!(c.kind, StepKind::Group) {
                group_state(c, run)
            } else {
                run.state_of(&c.id)
            }
        })
        .collect();
    if states.iter().all(|s| s.is_done()) {
        StepState::Succeeded
    } else if let Some(s) = states
        .iter()
        .find(|s| matches!(s, StepState::Running | StepState::Interrupted))
    {
        *s
    } else if states.iter().any(|s| s.is_failure()) {
        StepState::Failed
    } else {
        StepState::Pending
    }
}

fn local_time(iso: &str) -> String {
    DateTime::parse_from_rfc3339(iso)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn dur(ms: Option<u64>) -> String {
    ms.map(|m| format_duration(Duration::from_millis(m)))
        .unwrap_or_else(|| "—".into())
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The record as a Markdown document to paste into release notes.
pub fn to_markdown(r: &Report) -> String {
    let mut o = String::new();
    let name = r
        .checklist
        .as_ref()
        .map_or("(unknown checklist)", |c| c.name.as_str());
    o += &format!("# Deployment record — {name}\n\n| | |\n|---|---|\n");
    o += &format!("| Run | `{}` |\n", r.run);
    if let Some(c) = &r.checklist {
        o += &format!(
            "| Checklist | {} (`{}`, sha256 `{}`) |\n",
            cell(&c.name),
            cell(&c.path),
            &c.sha256[..c.sha256.len().min(16)]
        );
    }
    o += &format!("| Driver | {} |\n", r.driver);
    if let Some(ns) = &r.namespace {
        o += &format!("| Namespace | {ns} |\n");
    }
    o += &format!("| Started | {} |\n", r.started.as_deref().unwrap_or("—"));
    o += &format!("| Finished | {} |\n", r.finished.as_deref().unwrap_or("—"));
    o += &format!("| Duration | {} |\n", dur(r.duration_ms));
    o += &format!("| Outcome | **{}** |\n", r.outcome);
    o += &format!("| Rollback | {} |\n", if r.rollback { "yes" } else { "no" });
    if !r.vars.is_empty() {
        let vars: Vec<String> = r.vars.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        o += &format!("| Vars | {} |\n", cell(&vars.join(", ")));
    }
    for res in &r.resumed {
        o += &format!("| Resumed | {} by {} |\n", res.at, res.by);
    }
    let done = r
        .steps
        .iter()
        .filter(|s| matches!(s.state, "succeeded" | "skipped" | "done"))
        .count();
    o += &format!("\n## Steps ({done} of {} done)\n", r.steps.len());
    let mut phase = None;
    for s in &r.steps {
        if phase != Some(&s.phase) {
            phase = Some(&s.phase);
            o += &format!(
                "\n### {}\n\n| | Step | State | Start | Duration | Estimate | Attempts |\n|---|---|---|---|---|---|---|\n",
                if s.phase.is_empty() {
                    "(not in the checklist)"
                } else {
                    &s.phase
                }
            );
        }
        let glyph = glyph_of(s.state);
        let indent = "  ".repeat(s.depth);
        o += &format!(
            "| {glyph} | {indent}`{}` {} | {} | {} | {} | {} | {} |\n",
            s.id,
            cell(&s.title),
            s.state,
            s.started.as_deref().map(local_time).unwrap_or_default(),
            dur(s.duration_ms),
            dur(s.estimate_ms),
            s.attempts.len()
        );
    }
    if !r.probes.is_empty() {
        o += "\n## Health probes\n\n| Probe | Requests | Errors | Error rate | p95 | Max | Worst minute |\n|---|---|---|---|---|---|---|\n";
        for p in &r.probes {
            let worst = p.worst_minute.as_ref().map_or("—".to_string(), |w| {
                format!(
                    "{} ({:.1}% errors, p95 {} ms)",
                    local_time(&w.minute),
                    w.error_rate,
                    w.p95_ms
                )
            });
            o += &format!(
                "| {} | {} | {} | {:.1}% | {} ms | {} ms | {} |\n",
                cell(&p.name),
                p.requests,
                p.errors,
                p.error_rate,
                p.p95_ms,
                p.max_ms,
                worst
            );
        }
    }
    if !r.rollback_advice.is_empty() {
        o += "\n## Rollback advice\n\n";
        for a in &r.rollback_advice {
            let cleared = a
                .cleared
                .as_deref()
                .map_or("still active at the end".to_string(), |c| {
                    format!("cleared at {}", local_time(c))
                });
            o += &format!(
                "- {} ROLLBACK ADVISED: {} ({cleared})\n",
                local_time(&a.at),
                a.detail
            );
        }
    }
    let mut notes = String::new();
    for s in &r.steps {
        for a in s.attempts.iter().filter(|a| a.outcome != Some("succeeded")) {
            let why = a
                .message
                .clone()
                .or(a.exit_code.map(|c| format!("exit {c}")))
                .or(a.signal.map(|g| format!("signal {g}")))
                .unwrap_or_default();
            notes += &format!(
                "- `{}` attempt {} {} {} ({} by {})\n",
                s.id,
                a.n,
                a.outcome.unwrap_or("did not finish"),
                why,
                local_time(&a.started),
                a.by
            );
        }
        if let Some(k) = &s.skipped {
            notes += &format!("- `{}` skipped by {}: {}\n", s.id, k.by, k.text);
        }
        if let Some(m) = &s.manual_done {
            notes += &format!("- `{}` ticked by {} at {}\n", s.id, m.by, local_time(&m.at));
        }
        for so in &s.signoffs {
            notes += &format!(
                "- `{}` signed off by {} at {}\n",
                s.id,
                so.by,
                local_time(&so.at)
            );
        }
        for c in &s.comments {
            notes += &format!("- `{}` comment by {}: {}\n", s.id, c.by, c.text);
        }
        for a in &s.actions {
            let rev = match (a.revision_before, a.revision_after) {
                (Some(b), Some(x)) => format!(" (revision {b} → {x})"),
                _ => String::new(),
            };
            notes += &format!(
                "- `{}` {}: {} → {}{rev} at {}\n",
                s.id,
                a.action,
                a.before,
                a.after,
                local_time(&a.at)
            );
        }
        for w in &s.waits {
            let msg = if w.message.is_empty() {
                String::new()
            } else {
                format!(" — {}", w.message)
            };
            notes += &format!(
                "- `{}` wait for {}: {} after {}{msg}\n",
                s.id,
                w.what,
                w.outcome,
                dur(Some(w.duration_ms))
            );
        }
        for rb in &s.rollbacks {
            notes += &format!("- `{}` rollback by {}: `{}`\n", s.id, rb.by, rb.text);
        }
    }
    for c in &r.comments {
        notes += &format!("- comment by {}: {}\n", c.by, c.text);
    }
    if !notes.is_empty() {
        o += &format!("\n## Attempts, actions, waits, sign-offs and comments\n\n{notes}");
    }
    o
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
