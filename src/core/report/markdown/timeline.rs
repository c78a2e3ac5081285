//! The record's timeline: every journaled event of the run, in time order, one line each.

use super::{Clock, code, flat, revisions, state_text};
use crate::core::report::{Report, attempt_summary, dur};

pub(super) fn timeline(o: &mut String, r: &Report, clock: &Clock) {
    let live = r.live;
    let mut items: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &r.started {
        items.push((t, format!("run started by {} ({})", r.driver, r.mode)));
    }
    for m in &r.resumed {
        items.push((&m.at, format!("run resumed by {}", m.by)));
    }
    for s in &r.steps {
        let id = &s.id;
        for a in &s.attempts {
            let ran = match (&a.what, s.kind) {
                (Some(w), "run") => format!(", ran {}", code(w)),
                _ => String::new(),
            };
            items.push((
                &a.started,
                format!("`{id}` {} (by {}{ran})", attempt_summary(a, live), a.by),
            ));
        }
        if let Some(k) = &s.skipped {
            items.push((
                &k.at,
                format!("`{id}` skipped by {}: {}", k.by, flat(&k.text)),
            ));
        }
        if let Some(m) = &s.manual_done {
            items.push((&m.at, format!("`{id}` ticked done by {}", m.by)));
        }
        for m in &s.signoffs {
            items.push((&m.at, format!("`{id}` signed off by {}", m.by)));
        }
        for c in &s.comments {
            items.push((
                &c.at,
                format!("`{id}` comment by {}: {}", c.by, flat(&c.text)),
            ));
        }
        for a in &s.actions {
            let rollback = if a.during_rollback { "rollback: " } else { "" };
            let rev = revisions(a.revision_before, a.revision_after)
                .map(|r| format!(" (revision {r})"))
                .unwrap_or_default();
            items.push((
                &a.at,
                format!(
                    "`{id}` {rollback}{}: {} → {}{rev}",
                    flat(&a.action),
                    flat(&a.before),
                    flat(&a.after)
                ),
            ));
        }
        for w in &s.waits {
            let rollback = if w.during_rollback { "rollback: " } else { "" };
            let msg = if w.message.is_empty() {
                String::new()
            } else {
                format!(" — {}", flat(&w.message))
            };
            items.push((
                &w.at,
                format!(
                    "`{id}` {rollback}wait for {}: {} after {}{msg}",
                    w.what,
                    state_text(w.outcome),
                    dur(Some(w.duration_ms))
                ),
            ));
        }
    }
    for b in &r.rollbacks {
        items.push((
            &b.at,
            format!(
                "`{}` rollback by {}: {} ({})",
                b.step,
                b.by,
                code(&b.command),
                b.outcome.map_or("did not finish".into(), state_text)
            ),
        ));
    }
    for c in &r.comments {
        items.push((&c.at, format!("comment by {}: {}", c.by, flat(&c.text))));
    }
    for p in &r.probes {
        for c in &p.changes {
            items.push((
                &c.at,
                format!(
                    "probe `{}` {} → {}: {}",
                    p.name,
                    c.from,
                    c.to,
                    flat(&c.detail)
                ),
            ));
        }
    }
    for a in &r.rollback_advice {
        items.push((&a.at, format!("ROLLBACK ADVISED: {}", flat(&a.detail))));
        if let Some(c) = &a.cleared {
            items.push((c, format!("rollback advice cleared: {}", code(&a.rule))));
        }
    }
    if let Some(f) = &r.finished {
        items.push((
            f,
            format!("run finished: {} after {}", r.outcome, dur(r.duration_ms)),
        ));
    }
    if items.is_empty() {
        return;
    }
    items.sort_by(|a, b| a.0.cmp(b.0));
    *o += "\n## Timeline\n\n";
    for (at, text) in items {
        *o += &format!("- {} {text}\n", clock.at(at));
    }
}
