//! Headless runs: steps in order, one line per event on stdout, the journal as the record.

use crate::config::checklist::{Step, StepKind};
use crate::config::units::format_duration;
use crate::core::journal::{Event, RunOutcome, StepOutcome};
use crate::core::redact::redact;
use crate::core::run::StepState;
use crate::paths::step_log_path;
use crate::session::{Loaded, Session};
use crate::sources::runner::{self, Grace, Outcome, RunnerEvent, StepSpec};
use chrono::Local;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Prints a line; a closed stdout (a dropped SSH session, `| head`) must not stop the run
/// half-way through a step, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

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

/// Why the walk over the steps stopped early.
enum Stop {
    Failed,
    Interrupted,
    /// A person is needed (manual step, confirmation, interrupted step).
    NeedsPerson,
}

struct Driver<'a> {
    loaded: &'a Loaded,
    session: Session,
    opts: HeadlessOpts,
    out: Printer,
    interrupted: Arc<AtomicBool>,
    abort_rx: watch::Receiver<bool>,
    /// Steps whose command ran and succeeded, for `--rollback-on-failure`.
    completed: Vec<&'a Step>,
}

/// Runs the checklist to the end (or to the first stop) and returns the exit code.
pub async fn run(loaded: &Loaded, session: Session, opts: HeadlessOpts) -> i32 {
    let (abort_tx, abort_rx) = watch::channel(false);
    let interrupted = Arc::new(AtomicBool::new(false));
    spawn_signal_watch(abort_tx, interrupted.clone());
    let out = Printer::new();
    for w in &session.warnings {
        out.warn(w);
    }
    let mut d = Driver {
        loaded,
        session,
        opts,
        out,
        interrupted,
        abort_rx,
        completed: Vec::new(),
    };
    d.out.info(&format!(
        "run {} of {} — journal {}",
        d.session.run_id,
        loaded.checklist.name,
        d.session.journal_path().display()
    ));
    let started = std::time::Instant::now();
    let mut result = Ok(());
    for phase in &loaded.checklist.phases {
        if phase.steps.is_empty() {
            continue;
        }
        d.out.phase(&phase.name);
        for step in &phase.steps {
            result = d.walk(step).await;
            if result.is_err() {
                break;
            }
        }
        if result.is_err() {
            break;
        }
    }
    let (outcome, code) = match result {
        Ok(()) => (RunOutcome::Succeeded, EXIT_OK),
        Err(Stop::Failed) => {
            if d.opts.rollback_on_failure {
                d.roll_back().await;
            }
            (RunOutcome::Failed, EXIT_FAILED)
        }
        Err(Stop::Interrupted) => (RunOutcome::Interrupted, EXIT_INTERRUPTED),
        Err(Stop::NeedsPerson) => (RunOutcome::Stopped, EXIT_FAILED),
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    if let Err(e) = d.session.record(Event::RunFinished {
        outcome,
        duration_ms,
    }) {
        d.out
            .warn(&format!("could not record the end of the run: {e}"));
    }
    d.out.info(&format!(
        "run {} {} in {}",
        d.session.run_id,
        outcome.as_str(),
        format_duration(Duration::from_millis(duration_ms))
    ));
    if code != EXIT_OK {
        d.out.info(&format!(
            "resume with: shipdeck run {} --resume {}",
            shell_quote(&loaded.path.display().to_string()),
            d.session.run_id
        ));
    }
    code
}

fn spawn_signal_watch(abort_tx: watch::Sender<bool>, interrupted: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        interrupted.store(true, Ordering::SeqCst);
        let _ = abort_tx.send(true);
        // Keep the sender alive so the abort stays visible to every later step.
        std::future::pending::<()>().await;
    });
}

impl<'a> Driver<'a> {
    fn record(&mut self, event: Event) -> Result<(), Stop> {
        self.session.record(event).map_err(|e| {
            self.out.error(&format!(
                "cannot write the journal: {e}; stopping so nothing goes unrecorded"
            ));
            Stop::Failed
        })
    }

    /// Sub-steps first, then the step itself (a pure group is done when its children are).
    fn walk(
        &mut self,
        step: &'a Step,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Stop>> + '_>> {
        Box::pin(async move {
            if !step.steps.is_empty() {
                self.out.group(step);
                for child in &step.steps {
                    self.walk(child).await?;
                }
            }
            if matches!(step.kind, StepKind::Group) {
                return Ok(());
            }
            self.execute(step).await
        })
    }

    async fn execute(&mut self, step: &'a Step) -> Result<(), Stop> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(Stop::Interrupted);
        }
        let state = self.session.state.state_of(&step.id);
        if state.is_done() {
            self.out
                .line(state.glyph(), step, &format!("already {}", state.as_str()));
            return Ok(());
        }
        if state == StepState::Interrupted
            && let Some(left) = self.leftovers(step)
        {
            self.out.line(
                StepState::Interrupted.glyph(),
                step,
                "its processes are still running",
            );
            self.out.error(&format!(
                "step `{}` was cut off but its processes still run ({}). Wait for them, or stop them with `kill -TERM -- -{}`, then resume",
                step.id, left.1.join(", "), left.0
            ));
            return Err(Stop::NeedsPerson);
        }
        if state == StepState::Interrupted && !self.opts.rerun_interrupted {
            self.out.line(
                StepState::Interrupted.glyph(),
                step,
                "was interrupted when the previous run died",
            );
            self.out.error(&format!(
                "step `{}` was running when the run was cut off, so it may have half-happened. Check it, then pass --rerun-interrupted to run it again (or mark it done in the cockpit)",
                step.id
            ));
            return Err(Stop::NeedsPerson);
        }
        match &step.kind {
            StepKind::Manual => return self.manual(step),
            StepKind::Group => return Ok(()),
            _ => {}
        }
        if step.confirm && !self.opts.yes {
            self.out.line("?", step, "needs confirmation");
            self.out.error(&format!("step `{}` asks for confirmation before it runs; pass --yes to confirm it in a headless run", step.id));
            return Err(Stop::NeedsPerson);
        }
        let ok = match &step.kind {
            StepKind::Run(cmd) if step.wait.is_none() => self.run_command(step, cmd).await?,
            _ => self.fail_without_cluster(step)?,
        };
        if ok {
            self.completed.push(step);
            return Ok(());
        }
        if step.continue_on_error {
            self.out.info(&format!(
                "  continuing: `{}` has continue_on_error",
                step.id
            ));
            return Ok(());
        }
        Err(Stop::Failed)
    }

    /// Live processes left by the last attempt of an interrupted step: (pgid, descriptions).
    fn leftovers(&self, step: &Step) -> Option<(i32, Vec<String>)> {
        let rec = self.session.state.steps.get(&step.id)?;
        let last = rec.attempts.last()?;
        let pgid = last.pgid?;
        let left = crate::sources::pgroup::leftovers(pgid, last.started);
        (!left.is_empty()).then_some((pgid, left))
    }

    fn manual(&mut self, step: &Step) -> Result<(), Stop> {
        if !self.opts.assume_manual_done {
            self.out.line("☐", step, "manual step");
            self.out.error(&format!(
                "stopped at manual step `{}` ({}): a person must do and tick it. Tick it in the cockpit, or pass --assume-manual-done",
                step.id, step.title
            ));
            return Err(Stop::NeedsPerson);
        }
        let by = format!("{} (--assume-manual-done)", self.session.by);
        self.record(Event::ManualDone {
            step: step.id.clone(),
            by,
        })?;
        self.out.line("☑", step, "assumed done");
        Ok(())
    }

    fn next_attempt(&self, step: &Step) -> u32 {
        self.session
            .state
            .steps
            .get(&step.id)
            .map_or(0, |r| r.attempts.iter().map(|a| a.n).max().unwrap_or(0))
            + 1
    }

    fn fail_without_cluster(&mut self, step: &Step) -> Result<bool, Stop> {
        let attempt = self.next_attempt(step);
        let what = match (&step.kind, &step.wait) {
            (StepKind::Action(a), _) => a.describe(),
            (StepKind::Run(cmd), Some(w)) => format!(
                "{} then wait for {}",
                redact(cmd, &self.session.secrets),
                w.describe()
            ),
            (_, Some(w)) => format!("wait for {}", w.describe()),
            _ => String::new(),
        };
        self.record(Event::StepStarted {
            step: step.id.clone(),
            attempt,
            by: self.session.by.clone(),
            what: Some(what),
        })?;
        self.record(Event::StepFinished {
            step: step.id.clone(),
            attempt,
            outcome: StepOutcome::Failed,
            exit_code: None,
            signal: None,
            duration_ms: 0,
            message: Some(NO_CLUSTER.into()),
        })?;
        self.out.line("✘", step, NO_CLUSTER);
        Ok(false)
    }

    async fn run_command(&mut self, step: &Step, cmd: &str) -> Result<bool, Stop> {
        let attempt = self.next_attempt(step);
        let what = redact(cmd, &self.session.secrets).into_owned();
        self.record(Event::StepStarted {
            step: step.id.clone(),
            attempt,
            by: self.session.by.clone(),
            what: Some(what),
        })?;
        self.out.line("▶", step, "");
        let log_path = step_log_path(self.session.journal_path(), &step.id, attempt);
        let result = self.spawn(step, Some(attempt), cmd, log_path).await;
        let interrupted = self.interrupted.load(Ordering::SeqCst);
        let (outcome, message) = match &result.outcome {
            Outcome::Succeeded => (StepOutcome::Succeeded, None),
            Outcome::Failed => (StepOutcome::Failed, None),
            Outcome::TimedOut => (StepOutcome::TimedOut, Some("timed out".to_string())),
            Outcome::Aborted if interrupted => (
                StepOutcome::Interrupted,
                Some("shipdeck was stopped by a signal".into()),
            ),
            Outcome::Aborted => (StepOutcome::Aborted, None),
            Outcome::SpawnFailed(m) => (StepOutcome::Failed, Some(m.clone())),
        };
        let duration_ms = result.duration.as_millis() as u64;
        self.record(Event::StepFinished {
            step: step.id.clone(),
            attempt,
            outcome,
            exit_code: result.exit_code,
            signal: result.signal,
            duration_ms,
            message: message.clone(),
        })?;
        let mut detail = format_duration(result.duration);
        if let Some(est) = step.estimate {
            detail += &format!(" (est {})", format_duration(est));
        }
        if outcome != StepOutcome::Succeeded {
            let why = match (result.exit_code, result.signal, &message) {
                (_, _, Some(m)) => m.clone(),
                (Some(c), _, _) => format!("exit {c}"),
                (_, Some(s), _) => format!("signal {s}"),
                _ => outcome.as_str().into(),
            };
            detail = format!(
                "{why} after {detail} — log {}",
                step_log_path(self.session.journal_path(), &step.id, attempt).display()
            );
        }
        let glyph = if outcome == StepOutcome::Succeeded {
            "✔"
        } else {
            "✘"
        };
        self.out.line(glyph, step, &detail);
        if outcome == StepOutcome::Interrupted {
            return Err(Stop::Interrupted);
        }
        Ok(outcome == StepOutcome::Succeeded)
    }

    async fn spawn(
        &mut self,
        step: &Step,
        attempt: Option<u32>,
        cmd: &str,
        log_path: std::path::PathBuf,
    ) -> runner::StepResult {
        let spec = StepSpec {
            command: cmd.to_string(),
            shell: step.shell.clone().unwrap_or_else(|| "sh".into()),
            env: step.env.clone(),
            cwd: step.cwd.as_ref().map(|c| self.resolve_cwd(c)),
            timeout: step.timeout,
            log_path,
            interactive: step.interactive,
            redact: self.session.secrets.clone(),
        };
        let (tx, mut rx) = mpsc::channel::<RunnerEvent>(256);
        let run = runner::run_step(spec, self.opts.grace, tx, self.abort_rx.clone());
        tokio::pin!(run);
        let mut events_open = true;
        loop {
            tokio::select! {
                result = &mut run => {
                    while let Ok(ev) = rx.try_recv() {
                        self.on_runner_event(step, attempt, ev);
                    }
                    return result;
                }
                ev = rx.recv(), if events_open => match ev {
                    Some(ev) => self.on_runner_event(step, attempt, ev),
                    None => events_open = false,
                },
            }
        }
    }

    /// `attempt` is `None` for rollbacks, whose processes are not the step's.
    fn on_runner_event(&mut self, step: &Step, attempt: Option<u32>, ev: RunnerEvent) {
        match ev {
            RunnerEvent::Started { pid } => {
                let Some(attempt) = attempt else { return };
                let spawned = Event::StepSpawned {
                    step: step.id.clone(),
                    attempt,
                    pgid: pid as i32,
                };
                if let Err(e) = self.session.record(spawned) {
                    self.out.warn(&format!("cannot write the journal: {e}"));
                }
            }
            RunnerEvent::Line { text, .. } if self.opts.verbose => say!("  │ {text}"),
            RunnerEvent::Line { .. } => {}
        }
    }

    /// A relative `cwd` is relative to the checklist's directory, wherever shipdeck is started.
    fn resolve_cwd(&self, cwd: &str) -> std::path::PathBuf {
        let p = std::path::Path::new(cwd);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        self.loaded
            .path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(p)
    }

    /// `--rollback-on-failure`: the failed step's rollback, then those of completed steps, newest first.
    async fn roll_back(&mut self) {
        let failed = self.last_failed();
        let mut order: Vec<&'a Step> = failed.into_iter().collect();
        order.extend(self.completed.iter().rev().copied());
        for step in order {
            let Some(crate::config::checklist::Rollback::Command(cmd)) = &step.rollback else {
                continue;
            };
            let by = self.session.by.clone();
            let command = redact(cmd, &self.session.secrets).into_owned();
            if self
                .record(Event::RollbackStarted {
                    step: step.id.clone(),
                    by,
                    command,
                })
                .is_err()
            {
                return;
            }
            self.out.line("↶", step, "rolling back");
            let log = step_log_path(
                self.session.journal_path(),
                &format!("{}.rollback", step.id),
                self.next_attempt(step),
            );
            let result = self.spawn(step, None, cmd, log).await;
            let outcome = if matches!(result.outcome, Outcome::Succeeded) {
                StepOutcome::Succeeded
            } else {
                StepOutcome::Failed
            };
            let _ = self.record(Event::RollbackFinished {
                step: step.id.clone(),
                outcome,
                exit_code: result.exit_code,
                duration_ms: result.duration.as_millis() as u64,
            });
            self.out.line(
                if outcome == StepOutcome::Succeeded {
                    "✔"
                } else {
                    "✘"
                },
                step,
                &format!("rollback {}", outcome.as_str()),
            );
        }
    }

    fn last_failed(&self) -> Option<&'a Step> {
        self.loaded
            .checklist
            .flat_steps()
            .into_iter()
            .map(|f| f.step)
            .find(|s| self.session.state.state_of(&s.id).is_failure() && !s.continue_on_error)
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

/// Event lines: local time, glyph, step id, title, detail. Colour only on a terminal without NO_COLOR.
struct Printer {
    color: bool,
}

impl Printer {
    fn new() -> Self {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer { color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn now() -> String {
        Local::now().format("%H:%M:%S").to_string()
    }

    fn line(&self, glyph: &str, step: &Step, detail: &str) {
        let code = match glyph {
            "✔" | "☑" => "32",
            "✘" => "31",
            "⚠" | "?" | "☐" => "33",
            _ => "36",
        };
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!("  {}", self.paint("2", detail))
        };
        say!(
            "{} {} {}  {}{}",
            Self::now(),
            self.paint(code, glyph),
            self.paint("1", &step.id),
            step.title,
            detail
        );
    }

    fn phase(&self, name: &str) {
        say!(
            "{} {}",
            Self::now(),
            self.paint("1;34", &format!("═ {name}"))
        );
    }

    fn group(&self, step: &Step) {
        say!(
            "{} {} {}  {}",
            Self::now(),
            self.paint("34", "▸"),
            self.paint("1", &step.id),
            step.title
        );
    }

    fn info(&self, text: &str) {
        say!("{} {}", Self::now(), text);
    }

    fn warn(&self, text: &str) {
        say_err!("shipdeck: warning: {text}");
    }

    fn error(&self, text: &str) {
        say_err!("shipdeck: {text}");
    }
}
