//! What did not go to plan: failed attempts, skips, rollbacks, red probes, rollback advice.

use super::{AdviceOut, IssueOut, ProbeOut, RollbackOut, StepOut, attempt_summary, dur, is_done};
use crate::core::run::RunState;

fn issue(
    at: &str,
    step: Option<&str>,
    kind: &'static str,
    detail: String,
    resolved: bool,
) -> IssueOut {
    IssueOut {
        at: at.to_string(),
        step: step.map(str::to_string),
        probe: None,
        kind,
        detail,
        resolved,
    }
}

fn step_issues(s: &StepOut, live: bool, out: &mut Vec<IssueOut>) {
    let done = is_done(s.state);
    let settled = match s.state {
        "succeeded" => s
            .attempts
            .last()
            .map(|a| format!("succeeded on attempt {}", a.n)),
        "skipped" => Some("then skipped".into()),
        "done" => Some("then marked done".into()),
        _ => None,
    };
    for a in &s.attempts {
        let kind = match a.outcome {
            Some("succeeded") => continue,
            None if live => continue,
            Some(o) => o,
            None => "interrupted",
        };
        let mut detail = attempt_summary(a, live);
        if let Some(how) = &settled {
            detail += &format!("; {how}");
        }
        out.push(issue(&a.started, Some(&s.id), kind, detail, done));
    }
    if let Some(k) = &s.skipped {
        let detail = format!("skipped by {}: {}", k.by, k.text);
        out.push(issue(&k.at, Some(&s.id), "skipped", detail, true));
    }
}

pub(super) fn issues(
    steps: &[StepOut],
    probes: &[ProbeOut],
    advice: &[AdviceOut],
    rollbacks: &[RollbackOut],
    run: &RunState,
    outcome: &str,
) -> Vec<IssueOut> {
    let live = outcome == "live";
    let mut out = Vec::new();
    for s in steps.iter().filter(|s| s.kind != "group") {
        step_issues(s, live, &mut out);
    }
    for r in rollbacks {
        let how = r.outcome.unwrap_or("did not finish");
        let detail = format!("rollback by {}: {} ({how})", r.by, r.command);
        out.push(issue(
            &r.at,
            Some(&r.step),
            "rollback",
            detail,
            r.outcome == Some("succeeded"),
        ));
    }
    for p in probes {
        for (i, c) in p.changes.iter().enumerate() {
            if c.to != "red" {
                continue;
            }
            let next = p.changes.get(i + 1);
            let mut detail = format!("probe {} turned red: {}", p.name, c.detail);
            detail += &match next {
                Some(n) => format!(
                    "; {} again after {}",
                    n.to,
                    dur(super::between_ms(&c.at, &n.at))
                ),
                None => "; still red when the record ends".into(),
            };
            let mut i = issue(&c.at, None, "probe_red", detail, next.is_some());
            i.probe = Some(p.name.clone());
            out.push(i);
        }
    }
    for a in advice {
        let mut detail = format!("ROLLBACK ADVISED: {}", a.detail);
        detail += &match &a.cleared {
            Some(_) => format!("; cleared after {}", dur(Some(a.active_ms))),
            None => "; still advised when the record ends".into(),
        };
        out.push(issue(
            &a.at,
            None,
            "rollback_advised",
            detail,
            a.cleared.is_some(),
        ));
    }
    let (kind, detail) = match outcome {
        "failed" => ("run_failed", "the run failed"),
        "aborted" => ("run_aborted", "the run was aborted"),
        "interrupted" => ("run_interrupted", "the run was interrupted by a signal"),
        "stopped" => (
            "run_stopped",
            "the run stopped at a step that needs a person",
        ),
        "unfinished" => (
            "run_unfinished",
            "the run never finished: its driver died and it was not resumed",
        ),
        _ => ("", ""),
    };
    if !kind.is_empty() {
        let at = run
            .finished
            .map(|f| f.0)
            .or(run.last_event)
            .map(super::ts)
            .unwrap_or_default();
        out.push(issue(&at, None, kind, detail.into(), false));
    }
    out.sort_by(|a, b| a.at.cmp(&b.at));
    out
}
