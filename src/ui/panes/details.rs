//! The details pane: the selected step's command, flags, notes, attempts, sign-offs and comments.

use super::Ctx;
use crate::config::checklist::{Step, StepKind, WaitKind};
use crate::config::units::format_duration_spec;
use crate::core::model::{Model, Phase};
use crate::core::redact::redact;
use crate::core::run::{Attempt, Mark, StepRecord, StepState};
use crate::ui::clock::{hms, millis, since};
use crate::ui::lines::Lines;
use crate::ui::text::{clean, wrap};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn title_extra(m: &Model) -> String {
    m.selected_id().unwrap_or_default().to_string()
}

pub fn draw(cx: &mut Ctx, area: Rect) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    let Some(step) = cx.m.selected_step() else {
        cx.frame.render_widget(
            Lines::from(Line::styled("no step selected", cx.theme.muted())),
            area,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut content = content(cx.m, step, cx.theme);
    // Large type (pair layout): the title, big, in the colour of the step's state.
    let big_fits =
        width >= 6 * crate::ui::big::CHAR_W && usize::from(area.height) >= crate::ui::big::ROWS + 4;
    if cx.m.large_type && big_fits {
        let rows = crate::ui::big::ROWS;
        let max = if usize::from(area.height) >= 2 * rows + 6 {
            2
        } else {
            1
        };
        let state = super::checklist::shown_state(cx.m, step);
        let style = cx.theme.state(state);
        for text in crate::ui::big::lines(&clean(&step.title), width / crate::ui::big::CHAR_W, max)
        {
            for row in crate::ui::big::render(&text) {
                lines.push(Line::styled(row, style));
            }
        }
        content.remove(0);
    }
    lines.extend(content.into_iter().flat_map(|l| wrap(l, width, 2)));
    // `G` asks for the bottom with a huge offset: stop at the last page.
    let max = lines.len().saturating_sub(usize::from(area.height));
    let scroll = usize::from(cx.m.details_scroll).min(max);
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(usize::from(area.height))
        .collect();
    cx.frame.render_widget(Lines::new(visible), area);
}

fn kv(t: &Theme, key: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{key} "), t.muted()),
        Span::raw(value),
    ])
}

fn content(m: &Model, step: &Step, t: &Theme) -> Vec<Line<'static>> {
    let rec = m.run.step(&step.id);
    let state = super::checklist::shown_state(m, step);
    let mut out = vec![Line::styled(clean(&step.title), t.bold())];
    let kind = match &step.kind {
        StepKind::Run(_) => "run",
        StepKind::Action(_) => "action",
        StepKind::Manual => "manual",
        StepKind::Wait => "wait",
        StepKind::Group => "group",
    };
    let word = match state {
        StepState::Pending if matches!(step.kind, StepKind::Manual) => "☐ to do".to_string(),
        StepState::Pending => "pending".to_string(),
        s => format!("{} {}", super::checklist::glyph(m, step, s), s.as_str()),
    };
    let mut spans = vec![
        Span::styled(format!("{} · {kind} · ", step.id), t.muted()),
        Span::styled(word, t.state(state)),
    ];
    if let Some(more) = summary(m, step, &rec, state) {
        spans.push(Span::raw(format!(" {more}")));
    }
    out.push(Line::from(spans));
    match &step.kind {
        StepKind::Run(cmd) => {
            for (i, l) in redact(cmd, &m.secrets).lines().enumerate() {
                let prefix = if i == 0 { "$ " } else { "  " };
                out.push(Line::styled(format!("{prefix}{}", clean(l)), t.code()));
            }
        }
        StepKind::Action(a) => out.push(kv(t, "action", a.describe())),
        StepKind::Manual => out.push(kv(
            t,
            "manual",
            "a person does this, then ticks it with Enter".into(),
        )),
        StepKind::Group => out.push(kv(
            t,
            "group",
            format!("{} sub-steps; done when all are", step.steps.len()),
        )),
        StepKind::Wait => {}
    }
    if let Some(w) = &step.wait {
        out.push(kv(t, "wait", w.describe()));
    }
    let flags: Vec<&str> = [
        (step.confirm, "confirm"),
        (step.interactive, "interactive"),
        (step.signoff, "signoff"),
        (step.continue_on_error, "continue_on_error"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let mut facts: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    if let Some(d) = step.timeout {
        facts.push(format!("timeout {}", format_duration_spec(d)));
    }
    if let Some(d) = step.estimate {
        facts.push(format!("estimate {}", format_duration_spec(d)));
    }
    // What past runs say: the number the ETA uses.
    if let Some(s) = m.history.get(&step.id).filter(|s| s.median_ms.is_some()) {
        let ms = |v: Option<u64>| {
            crate::config::units::format_duration(std::time::Duration::from_millis(v.unwrap_or(0)))
        };
        facts.push(format!(
            "past runs: median {} · p90 {} · {} run{}",
            ms(s.median_ms),
            ms(s.p90_ms),
            s.runs,
            if s.runs == 1 { "" } else { "s" }
        ));
    }
    if let Some(cwd) = &step.cwd {
        facts.push(format!("cwd {}", clean(cwd)));
    }
    if let Some(sh) = &step.shell {
        facts.push(format!("shell {sh}"));
    }
    if !facts.is_empty() {
        out.push(Line::from(facts.join(" · ")));
    }
    if !step.env.is_empty() {
        // Names only: values may be secrets.
        let names: Vec<&str> = step.env.iter().map(|(k, _)| k.as_str()).collect();
        out.push(kv(t, "env", names.join(", ")));
    }
    if !step.gate.is_empty() {
        out.push(kv(t, "gate", format!("probes {}", step.gate.join(", "))));
    }
    if let Some(rb) = &step.rollback {
        let rb = rb.describe();
        let rb = redact(&rb, &m.secrets);
        let mut lines = rb.lines();
        let first = lines.next().unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled("rollback ", t.muted()),
            Span::styled(format!("$ {}", clean(first)), t.code()),
        ]));
        out.extend(lines.map(|l| Line::styled(format!("           {}", clean(l)), t.code())));
    }
    if let Some(notes) = step.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        out.push(Line::default());
        out.push(Line::styled("Notes", t.bold()));
        out.extend(crate::ui::markdown::render(notes, t));
    }
    history(m, &step.id, &rec, t, &mut out);
    out
}

/// `applying…` / `waiting for rollout of deployment/web…` while the step's action or wait runs.
pub fn phase_text(m: &Model, step: &Step) -> Option<String> {
    let r = m.running.as_ref().filter(|r| r.step == step.id)?;
    match r.phase {
        Phase::Command => None,
        Phase::Action => Some("applying…".into()),
        Phase::Waiting => Some(match step.wait.as_ref().map(|w| &w.kind) {
            Some(WaitKind::Rollout(t)) => format!("waiting for rollout of {t}…"),
            Some(WaitKind::Probe { name, .. }) => format!("waiting for probe {name}…"),
            Some(WaitKind::PodsReady(sel)) => format!("waiting for pods {sel} to be ready…"),
            None => "waiting…".into(),
        }),
    }
}

/// The latest word on the step, next to its state, so a short pane still says what happened.
fn summary(m: &Model, step: &Step, rec: &StepRecord, state: StepState) -> Option<String> {
    let last = rec.attempts.last();
    let n = last.map_or(String::new(), |a| format!("#{} ", a.n));
    match state {
        StepState::Running => {
            let since_ = m
                .running
                .as_ref()
                .filter(|r| r.step == step.id)
                .map(|r| r.since)?;
            let phase = phase_text(m, step).map_or(String::new(), |p| format!(" · {p}"));
            Some(format!("{n}for {}{phase}", since(since_, m.now)))
        }
        StepState::Failed | StepState::TimedOut | StepState::Aborted => {
            let a = last?;
            let why = match (a.exit_code, a.signal) {
                (_, Some(s)) => format!("(signal {s}) "),
                (Some(c), None) => format!("(exit {c}) "),
                _ => String::new(),
            };
            Some(format!(
                "{n}{why}after {}",
                millis(a.duration_ms.unwrap_or(0))
            ))
        }
        StepState::Interrupted => Some(format!("{n}was cut off — Enter: run again or mark done")),
        StepState::Succeeded => last
            .and_then(|a| a.duration_ms)
            .map(|ms| format!("{n}in {}", millis(ms))),
        StepState::Skipped => rec
            .skipped
            .as_ref()
            .map(|s| format!("by {}: {}", s.by, clean(&s.text))),
        StepState::ManualDone => rec
            .manual_done
            .as_ref()
            .map(|d| format!("by {} at {}", d.by, hms(d.at))),
        StepState::Pending => None,
    }
}

/// Attempts, skip, tick, sign-offs, comments and rollbacks: what happened to the step.
fn history(m: &Model, id: &str, rec: &StepRecord, t: &Theme, out: &mut Vec<Line<'static>>) {
    let any = !rec.attempts.is_empty()
        || rec.skipped.is_some()
        || rec.manual_done.is_some()
        || !rec.signoffs.is_empty()
        || !rec.comments.is_empty()
        || !rec.rollbacks.is_empty();
    if !any {
        return;
    }
    out.push(Line::default());
    if !rec.attempts.is_empty() {
        out.push(Line::styled("Attempts", t.bold()));
        for a in &rec.attempts {
            out.extend(attempt(m, id, a, t));
        }
    }
    if let Some(s) = &rec.skipped {
        out.push(mark(t, "↷ skipped", s, t.muted()));
    }
    if let Some(d) = &rec.manual_done {
        out.push(mark(t, "☑ ticked done", d, t.ok()));
    }
    for s in &rec.signoffs {
        out.push(mark(t, "✍ signed off", s, t.ok()));
    }
    for c in &rec.comments {
        out.push(mark(t, "comment", c, t.muted()));
    }
    for r in &rec.rollbacks {
        out.push(mark(t, "↶ rollback", r, t.warn()));
    }
}

fn mark(t: &Theme, what: &str, mk: &Mark, style: ratatui::style::Style) -> Line<'static> {
    let mut spans = vec![
        Span::styled(what.to_string(), style),
        Span::styled(format!(" by {} at {}", mk.by, hms(mk.at)), t.muted()),
    ];
    if !mk.text.is_empty() {
        spans.push(Span::raw(format!(": {}", clean(&mk.text))));
    }
    Line::from(spans)
}

/// `#2 started 12:00:10 by ana@box — failed (exit 1) in 4.2s`, then its message.
fn attempt(m: &Model, id: &str, a: &Attempt, t: &Theme) -> Vec<Line<'static>> {
    let head = Span::styled(
        format!("#{} started {} by {} — ", a.n, hms(a.started), a.by),
        t.muted(),
    );
    let live = m
        .running
        .as_ref()
        .is_some_and(|r| r.step == id && !r.rollback && r.attempt == a.n && a.finished.is_none());
    let tail = match a.outcome {
        None if live => Span::styled(
            format!("running for {}", since(a.started, m.now)),
            t.running(),
        ),
        None => Span::styled("did not finish".to_string(), t.warn()),
        Some(o) => {
            let mut why: Vec<String> = Vec::new();
            match (a.exit_code, a.signal) {
                (_, Some(s)) => why.push(format!("signal {s}")),
                (Some(c), None) if c != 0 => why.push(format!("exit {c}")),
                _ => {}
            }
            let mut text = o.as_str().to_string();
            if !why.is_empty() {
                text += &format!(" ({})", why.join(", "));
            }
            if let Some(ms) = a.duration_ms {
                text += &format!(" in {}", millis(ms));
            }
            let style = match o {
                crate::core::journal::StepOutcome::Succeeded => t.ok(),
                crate::core::journal::StepOutcome::Interrupted => t.warn(),
                _ => t.failed(),
            };
            Span::styled(text, style)
        }
    };
    let mut lines = vec![Line::from(vec![head, tail])];
    if let Some(msg) = &a.message {
        lines.push(Line::raw(format!("   {}", clean(msg))));
    }
    lines
}
