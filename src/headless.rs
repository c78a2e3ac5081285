//! Headless runs: the same core and executor as the cockpit, driven by a policy instead of
//! keys (run each step in order; `--yes`, `--assume-manual-done`, `--rerun-interrupted`,
//! `--rollback-on-failure`), printing one line per journal event.

use crate::config::checklist::{Step, StepKind};
use crate::core::effect::Effect;
use crate::core::journal::RunOutcome;
use crate::core::model::Model;
use crate::core::msg::Msg;
use crate::core::run::StepState;
use crate::core::update::update;
use crate::exec::{Executor, Next};
use crate::session::{Loaded, Session};
use crate::sources::kube_client::Kube;
use crate::sources::runner::Grace;
use printer::Printer;
use std::sync::Arc;
use tokio::sync::mpsc;

mod printer;

pub use crate::core::update::NO_CLUSTER;

#[derive(Debug, Clone, Default)]
pub struct HeadlessOpts {
    pub yes: bool,
    pub assume_manual_done: bool,
    pub verbose: bool,
    pub rerun_interrupted: bool,
    pub rollback_on_failure: bool,
    pub grace: Grace,
}

/// Exit codes of SPEC §1.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 3;

/// Steps in the order a headless run takes them: sub-steps before their parent, groups skipped.
fn plan(steps: &[Step], out: &mut Vec<String>) {
    for s in steps {
        plan(&s.steps, out);
        if !matches!(s.kind, StepKind::Group) {
            out.push(s.id.clone());
        }
    }
}

struct Driver {
    model: Model,
    exec: Executor,
    rx: mpsc::Receiver<Msg>,
    out: Printer,
    opts: HeadlessOpts,
    plan: Vec<String>,
    next: usize,
    /// Steps this run started, whose end decides what happens next.
    started: Option<String>,
    /// Steps that succeeded in this run, newest last, for `--rollback-on-failure`.
    completed: Vec<String>,
    /// Rollbacks still to run after a failure.
    rollbacks: Option<Vec<String>>,
    /// When the next step's gate was first found closed, and whether that was printed.
    gate_since: Option<chrono::DateTime<chrono::Utc>>,
    gate_told: bool,
    /// Rollback advice already acted on (`--rollback-on-failure`).
    advice_acted: bool,
    /// When the rollbacks ended and we began waiting for probes to recover.
    recovery_since: Option<chrono::DateTime<chrono::Utc>>,
    recovery_told: bool,
}

/// Runs the checklist to the end (or to the first stop) and returns the exit code.
pub async fn run(
    loaded: &Loaded,
    session: Session,
    opts: HeadlessOpts,
    kube: Result<Kube, String>,
) -> i32 {
    let (tx, rx) = mpsc::channel(1024);
    let journal = session.journal_path().to_path_buf();
    let out = Printer::new(Arc::new(loaded.checklist.clone()), opts.verbose, journal);
    for w in &session.warnings {
        out.warn(w);
    }
    out.info(&format!(
        "run {} of {} — journal {}",
        session.run_id,
        loaded.checklist.name,
        session.journal_path().display()
    ));
    let mut model = Model::new(
        Arc::new(loaded.checklist.clone()),
        session.state.clone(),
        session.by.clone(),
        chrono::Utc::now(),
    );
    model.secrets = session.secrets.clone();
    let base_dir = loaded
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut exec = Executor::new(session.journal, tx.clone(), session.secrets, base_dir);
    exec.grace = opts.grace;
    match kube {
        Ok(k) => exec.kube = Some(k),
        Err(e) => exec.kube_error = Some(e),
    }
    crate::sources::signals::spawn(tx.clone());
    crate::sources::probes::spawn(loaded.checklist.probes.clone(), tx.clone());
    let mut plan_ids = Vec::new();
    for phase in &loaded.checklist.phases {
        plan(&phase.steps, &mut plan_ids);
    }
    let mut d = Driver {
        model,
        exec,
        rx,
        out,
        opts,
        plan: plan_ids,
        next: 0,
        started: None,
        completed: Vec::new(),
        rollbacks: None,
        gate_since: None,
        gate_told: false,
        advice_acted: false,
        recovery_since: None,
        recovery_told: false,
    };
    let started = std::time::Instant::now();
    let code = d.drive().await;
    let outcome = d.model.run.finished.map_or("ended", |(_, o)| o.as_str());
    d.out.info(&format!(
        "run {} {outcome} in {}",
        d.model.run_id,
        crate::config::units::format_duration(started.elapsed())
    ));
    if code != EXIT_OK {
        let when = if d.exec.journal_failed.is_some() {
            "once the journal can be written again (free space), "
        } else {
            ""
        };
        d.out.info(&format!(
            "{when}resume with: shipdeck run {} --resume {}",
            shell_quote(&loaded.path.display().to_string()),
            d.model.run_id
        ));
    }
    code
}

impl Driver {
    async fn drive(&mut self) -> i32 {
        loop {
            if self.model.quit.is_none()
                && let Some(msg) = self.on_advice()
            {
                if let Some(code) = self.feed(msg) {
                    return code;
                }
                continue;
            }
            if self.model.running.is_none()
                && self.model.quit.is_none()
                && let Some(msg) = self.decide()
            {
                if let Some(code) = self.feed(msg) {
                    return code;
                }
                continue;
            }
            let Some(msg) = self.rx.recv().await else {
                return EXIT_FAILED;
            };
            if let Some(code) = self.feed(msg) {
                return code;
            }
        }
    }

    /// Updates the model, prints what was journaled, and carries out the effects.
    fn feed(&mut self, msg: Msg) -> Option<i32> {
        if let Msg::StepLine { line, .. } = &msg {
            self.out.output(line);
        }
        if let Msg::JournalFailed(e) = &msg {
            let path = self.exec.journal.path().display().to_string();
            let running = match &self.model.running {
                Some(r) if r.pgid.is_some() => {
                    format!(
                        "; stopping `{}` (its processes are not left running)",
                        r.step
                    )
                }
                Some(r) => format!("; `{}` was not started", r.step),
                None => String::new(),
            };
            self.out.error(&format!(
                "cannot write the journal {path}: {e}. Stopping the run so that nothing goes unrecorded{running}; no further step starts"
            ));
        }
        // Time enters the core as a tick: probe windows slide, minutes close, waits time out.
        let mut effects = update(&mut self.model, Msg::Tick(chrono::Utc::now()));
        effects.extend(update(&mut self.model, msg));
        for effect in effects {
            if let Effect::Journal(entry) = effect {
                // Only what is on record is reported as having happened.
                self.exec.apply(Effect::Journal(entry.clone()));
                if self.exec.journal_failed.is_none() {
                    self.out.event(&entry, &self.model);
                }
                continue;
            }
            match self.exec.apply(effect) {
                Next::Continue => {}
                Next::Quit(code) => return Some(code),
                // A headless run has no screen to suspend: the step simply gets the terminal.
                Next::Interactive(spec, step, attempt) => {
                    let tx = self.exec.sender();
                    tokio::spawn(async move {
                        let (ev_tx, mut ev_rx) = mpsc::channel(16);
                        let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
                        let drain =
                            tokio::spawn(async move { while ev_rx.recv().await.is_some() {} });
                        let result = crate::sources::runner::run_step(
                            spec,
                            Grace::default(),
                            ev_tx,
                            abort_rx,
                        )
                        .await;
                        let _ = drain.await;
                        let done = crate::exec::finished(&result);
                        let _ = tx
                            .send(Msg::StepDone {
                                step,
                                attempt,
                                done,
                            })
                            .await;
                    });
                }
            }
        }
        None
    }

    fn end(&mut self, outcome: RunOutcome) -> Option<Msg> {
        Some(Msg::EndRun { outcome })
    }

    /// After the rollbacks: a rolled-back release is only back when its probes are green
    /// again, so wait for that (bounded) before closing the run as failed.
    fn after_rollback(&mut self) -> Option<Msg> {
        use crate::core::probes::Health;
        let names: Vec<String> = self
            .model
            .checklist
            .probes
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let not_green: Vec<&String> = names
            .iter()
            .filter(|n| self.model.probes.health(n) != Health::Green)
            .collect();
        let since = *self.recovery_since.get_or_insert(self.model.now);
        let waited = (self.model.now - since).to_std().unwrap_or_default();
        if !not_green.is_empty() && waited < std::time::Duration::from_secs(120) {
            if !self.recovery_told {
                let list: Vec<&str> = not_green.iter().map(|s| s.as_str()).collect();
                self.out.info(&format!(
                    "  rolled back; waiting for probe {} to turn green again",
                    list.join(", ")
                ));
                self.recovery_told = true;
            }
            return None;
        }
        if not_green.is_empty() && self.recovery_told {
            self.out.info("  probes green again after the rollback");
        }
        self.end(RunOutcome::Failed)
    }

    /// `--rollback-on-failure` and ROLLBACK ADVISED: stop what runs and take the rollback path.
    fn on_advice(&mut self) -> Option<Msg> {
        if !self.opts.rollback_on_failure || self.advice_acted || self.rollbacks.is_some() {
            return None;
        }
        let (_, detail, _) = self.model.probes.advice()?;
        self.advice_acted = true;
        self.out.error(&format!(
            "rollback advised ({detail}): taking the rollback path (--rollback-on-failure)"
        ));
        if self.model.running.is_some() {
            return Some(Msg::Abort);
        }
        self.started = None;
        self.fail(None)
    }

    /// The policy: what a person pressing keys would do, as the flags allow.
    fn decide(&mut self) -> Option<Msg> {
        if let Some(list) = self.rollbacks.as_mut() {
            return match list.pop() {
                Some(step) => Some(Msg::Rollback { step }),
                None => self.after_rollback(),
            };
        }
        if let Some(id) = self.started.take() {
            let state = self.model.run.state_of(&id);
            let tolerated = self.model.step(&id).is_some_and(|s| s.continue_on_error);
            match state {
                StepState::Succeeded => self.completed.push(id),
                StepState::Interrupted => return None,
                s if s.is_failure() && tolerated => self
                    .out
                    .info(&format!("  continuing: `{id}` has continue_on_error")),
                s if s.is_failure() => return self.fail(Some(&id)),
                _ => {}
            }
        }
        let Some(id) = self.plan.get(self.next).cloned() else {
            return match self.model.run.finished {
                Some(_) => Some(Msg::EndRun {
                    outcome: RunOutcome::Succeeded,
                }),
                None => self.end(RunOutcome::Succeeded),
            };
        };
        let step = self.model.step(&id).cloned()?;
        if let Some(why) = crate::core::steps::gate_closed(&self.model, &step) {
            // A red probe closes the gate: wait for it to clear (the wait has the step's
            // timeout, or 5 minutes), like a deployer watching the probes pane would.
            let since = *self.gate_since.get_or_insert(self.model.now);
            let limit = step.timeout.unwrap_or(std::time::Duration::from_secs(300));
            if (self.model.now - since).to_std().unwrap_or_default() < limit {
                if !self.gate_told {
                    self.out.info(&format!("  {why}"));
                    self.gate_told = true;
                }
                return None;
            }
            self.out.error(&format!(
                "{why}; gave up after {}",
                crate::config::units::format_duration(limit)
            ));
            return self.end(RunOutcome::Failed);
        }
        self.gate_since = None;
        self.gate_told = false;
        let state = self.model.run.state_of(&id);
        if state.is_done() {
            self.out
                .line(state.glyph(), &step, &format!("already {}", state.as_str()));
            self.next += 1;
            return self.decide();
        }
        if state == StepState::Interrupted {
            if let Some((pgid, left)) = self.leftovers(&id) {
                self.out.line(
                    StepState::Interrupted.glyph(),
                    &step,
                    "its processes are still running",
                );
                self.out.error(&format!(
                    "step `{id}` was cut off but its processes still run ({}). Wait for them, or stop them with `kill -TERM -- -{pgid}`, then resume",
                    left.join(", ")
                ));
                return self.end(RunOutcome::Stopped);
            }
            if !self.opts.rerun_interrupted {
                self.out.line(
                    StepState::Interrupted.glyph(),
                    &step,
                    "was interrupted when the previous run died",
                );
                self.out.error(&format!(
                    "step `{id}` was running when the run was cut off, so it may have half-happened. Check it, then pass --rerun-interrupted to run it again (or mark it done in the cockpit)"
                ));
                return self.end(RunOutcome::Stopped);
            }
        }
        if matches!(step.kind, StepKind::Manual) {
            if !self.opts.assume_manual_done {
                self.out.line("☐", &step, "manual step");
                self.out.error(&format!(
                    "stopped at manual step `{id}` ({}): a person must do and tick it. Tick it in the cockpit, or pass --assume-manual-done",
                    step.title
                ));
                return self.end(RunOutcome::Stopped);
            }
            self.next += 1;
            let by = format!("{} (--assume-manual-done)", self.model.driver);
            return Some(Msg::MarkDone { step: id, by });
        }
        if step.confirm && !self.opts.yes {
            self.out.line("?", &step, "needs confirmation");
            self.out.error(&format!("step `{id}` asks for confirmation before it runs; pass --yes to confirm it in a headless run"));
            return self.end(RunOutcome::Stopped);
        }
        self.next += 1;
        self.started = Some(id.clone());
        Some(Msg::Start { step: id })
    }

    /// A step failed: roll back if asked (the failed step first, then completed ones newest
    /// first), else end the run as failed.
    fn fail(&mut self, id: Option<&str>) -> Option<Msg> {
        if !self.opts.rollback_on_failure {
            return self.end(RunOutcome::Failed);
        }
        let has = |m: &Model, s: &str| m.step(s).is_some_and(|s| s.rollback.is_some());
        // `rollbacks` is popped from the end: oldest completed first in the vec, failed step last.
        let mut list: Vec<String> = self
            .completed
            .iter()
            .filter(|s| has(&self.model, s))
            .cloned()
            .collect();
        if let Some(id) = id.filter(|id| has(&self.model, id)) {
            list.push(id.to_string());
        }
        self.rollbacks = Some(list);
        self.decide()
    }

    /// Live processes left by the last attempt of an interrupted step: (pgid, descriptions).
    fn leftovers(&self, id: &str) -> Option<(i32, Vec<String>)> {
        let last = self.model.run.steps.get(id)?.attempts.last()?;
        let pgid = last.pgid?;
        let left = crate::sources::pgroup::leftovers(pgid, last.started);
        (!left.is_empty()).then_some((pgid, left))
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
