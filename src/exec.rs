//! Carries out the core's effects: journal appends, step processes, aborts, log reads.

use crate::core::effect::{Command, Effect};
use crate::core::journal::{Entry, Event, StepOutcome};
use crate::core::model::OUTPUT_CAP;
use crate::core::msg::{Finished, Msg};
use crate::journal_io::JournalWriter;
use crate::paths::step_log_path;
use crate::sources::runner::{self, Grace, Outcome, RunnerEvent, StepResult, StepSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::sync::{mpsc, watch};

/// What the panic hook needs to leave a truthful journal and no orphan behind.
#[derive(Debug, Clone, Default)]
pub struct Crash {
    pub journal: Option<PathBuf>,
    /// (step, attempt, process group) of the step running now.
    pub running: Option<(String, u32, Option<i32>)>,
}

pub static CRASH: Mutex<Crash> = Mutex::new(Crash {
    journal: None,
    running: None,
});

/// Why this process's journal could not be written, once that happened: the cockpit says it
/// again after the screen is gone.
static JOURNAL_FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// The first failed journal append of this process, as a sentence naming the file.
pub fn journal_failure() -> Option<String> {
    JOURNAL_FAILURE.lock().ok().and_then(|f| f.clone())
}

/// The process no longer drives a run (its lock is released): a later panic records nothing.
pub fn forget_journal() {
    if let Ok(mut c) = CRASH.lock() {
        c.journal = None;
        c.running = None;
    }
}

/// Called from the panic hook: kill the running step's group and record how the run ended.
/// Only a panic of the app loop (the main thread) ends the run: a background task that
/// panics dies alone, and the cockpit goes on.
pub fn on_panic() {
    if std::thread::current().name() != Some("main") {
        return;
    }
    let Ok(crash) = CRASH.lock() else { return };
    let Some(path) = &crash.journal else { return };
    let Ok(mut journal) = JournalWriter::open_append(path) else {
        return;
    };
    let now = chrono::Utc::now();
    if let Some((step, attempt, pgid)) = &crash.running {
        if let Some(pgid) = pgid {
            let group = nix::unistd::Pid::from_raw(*pgid);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
            std::thread::sleep(std::time::Duration::from_millis(300));
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        let event = Event::StepFinished {
            step: step.clone(),
            attempt: *attempt,
            outcome: StepOutcome::Interrupted,
            exit_code: None,
            signal: None,
            duration_ms: 0,
            message: Some("shipdeck crashed (panic) while the step ran".into()),
        };
        let _ = journal.append(&Entry::new(now, event));
    }
    let end = Event::RunFinished {
        outcome: crate::core::journal::RunOutcome::Aborted,
        duration_ms: 0,
    };
    let _ = journal.append(&Entry::new(now, end));
}

pub struct Executor {
    pub journal: JournalWriter,
    tx: mpsc::Sender<Msg>,
    aborts: HashMap<String, watch::Sender<bool>>,
    secrets: Vec<String>,
    /// Relative `cwd`s are relative to the checklist's directory.
    base_dir: PathBuf,
    pub grace: Grace,
    /// The cluster connection, when the checklist has one.
    pub kube: Option<crate::sources::kube_client::Kube>,
    /// Why there is no connection, for the steps that needed one.
    pub kube_error: Option<String>,
    /// Set once an append failed: from then on nothing is started that could not be recorded.
    pub journal_failed: Option<String>,
}

/// What the app loop must do itself after an effect.
pub enum Next {
    Continue,
    /// An interactive step needs the real terminal: the app suspends the screen and runs it.
    Interactive(StepSpec, String, u32),
    Quit(i32),
}

impl Executor {
    pub fn new(
        journal: JournalWriter,
        tx: mpsc::Sender<Msg>,
        secrets: Vec<String>,
        base_dir: PathBuf,
    ) -> Self {
        if let Ok(mut c) = CRASH.lock() {
            c.journal = Some(journal.path().to_path_buf());
        }
        Executor {
            journal,
            tx,
            aborts: HashMap::new(),
            secrets,
            base_dir,
            grace: Grace::default(),
            kube: None,
            kube_error: None,
            journal_failed: None,
        }
    }

    /// An executor for `shipdeck watch`: it appends only sign-offs and comments to a journal
    /// another process drives, so a crash of the watcher records nothing in it.
    pub fn follower(journal: JournalWriter, tx: mpsc::Sender<Msg>) -> Self {
        Executor {
            journal,
            tx,
            aborts: HashMap::new(),
            secrets: Vec::new(),
            // It never runs a command: no directory to run one in.
            base_dir: PathBuf::new(),
            grace: Grace::default(),
            kube: None,
            kube_error: None,
            journal_failed: None,
        }
    }

    pub fn sender(&self) -> mpsc::Sender<Msg> {
        self.tx.clone()
    }

    fn no_cluster(&self) -> String {
        match &self.kube_error {
            Some(e) => format!("needs a cluster connection: {e}"),
            None => crate::core::update::NO_CLUSTER.to_string(),
        }
    }

    pub fn apply(&mut self, effect: Effect) -> Next {
        match effect {
            Effect::Journal(entry) => {
                let entry =
                    crate::core::redact::redact_entry(&entry, &self.secrets).unwrap_or(entry);
                self.track(&entry);
                if let Err(e) = self.journal.append(&entry) {
                    self.journal_error(&e);
                }
            }
            // What cannot be recorded must not happen: the step, rollback, action or wait ends
            // at once as not started, and the core stops the run (it got `JournalFailed`).
            Effect::RunStep { step, attempt, .. } if self.journal_failed.is_some() => {
                let done = self.not_started();
                self.notify(Msg::StepDone {
                    step,
                    attempt,
                    done,
                });
            }
            Effect::RunRollback { step, .. } if self.journal_failed.is_some() => {
                let done = self.not_started();
                self.notify(Msg::RollbackDone { step, done });
            }
            Effect::Apply {
                step,
                attempt,
                rollback,
                ..
            } if self.journal_failed.is_some() => {
                let result = Err(self.not_started().message.unwrap_or_default());
                self.notify(action_done(step, attempt, rollback, result));
            }
            Effect::Wait { step, attempt, .. } if self.journal_failed.is_some() => {
                let detail = self.not_started().message.unwrap_or_default();
                let result = crate::core::msg::WaitResult::Failed {
                    detail,
                    duration_ms: 0,
                };
                self.notify(Msg::WaitDone {
                    step,
                    attempt,
                    result,
                });
            }
            Effect::RunStep {
                step,
                attempt,
                command,
            } => {
                let spec = self.spec(&step, attempt, &command);
                if command.interactive {
                    return Next::Interactive(spec, step, attempt);
                }
                self.spawn(step, attempt, spec, false);
            }
            Effect::RunRollback {
                step,
                attempt,
                command,
            } => {
                let spec = self.spec(&format!("{step}.rollback"), attempt, &command);
                self.spawn(step, attempt, spec, true);
            }
            Effect::Abort { step } => {
                if let Some(tx) = self.aborts.get(&step) {
                    let _ = tx.send(true);
                }
            }
            Effect::LoadLog { step, attempt } => {
                let path = step_log_path(self.journal.path(), &step, attempt);
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let lines = tail_lines(&path, OUTPUT_CAP);
                    let _ = tx.blocking_send(Msg::LogLoaded {
                        step,
                        attempt,
                        lines,
                    });
                });
            }
            Effect::Apply {
                step,
                attempt,
                action,
                rollback,
            } => {
                let tx = self.tx.clone();
                let kube = self.kube.clone();
                let no_cluster = self.no_cluster();
                tokio::spawn(async move {
                    let result = match kube {
                        Some(k) => crate::sources::kube_actions::apply(&k, &action).await,
                        None => Err(no_cluster),
                    };
                    let _ = tx.send(action_done(step, attempt, rollback, result)).await;
                });
            }
            Effect::Wait {
                step,
                attempt,
                wait,
            } => {
                let (abort_tx, abort_rx) = watch::channel(false);
                self.aborts.insert(step.clone(), abort_tx);
                let tx = self.tx.clone();
                let kube = self.kube.clone();
                let no_cluster = self.no_cluster();
                tokio::spawn(async move {
                    let result = match kube {
                        Some(k) => crate::sources::kube_wait::wait(&k, &wait, abort_rx).await,
                        None => crate::core::msg::WaitResult::Failed {
                            detail: no_cluster,
                            duration_ms: 0,
                        },
                    };
                    let _ = tx
                        .send(Msg::WaitDone {
                            step,
                            attempt,
                            result,
                        })
                        .await;
                });
            }
            Effect::Quit { code } => return Next::Quit(code),
        }
        Next::Continue
    }

    /// The first failed append stops the run: the core is told (it stops what runs and quits),
    /// and nothing is started from now on. Later failures only repeat the first.
    fn journal_error(&mut self, e: &std::io::Error) {
        if self.journal_failed.is_some() {
            return;
        }
        let why = format!(
            "cannot write the journal {}: {e}",
            self.journal.path().display()
        );
        if let Ok(mut f) = JOURNAL_FAILURE.lock() {
            f.get_or_insert_with(|| why.clone());
        }
        self.journal_failed = Some(why);
        self.notify(Msg::JournalFailed(e.to_string()));
    }

    /// How a step that was refused because the journal cannot be written ends.
    fn not_started(&self) -> Finished {
        Finished {
            outcome: StepOutcome::Failed,
            exit_code: None,
            signal: None,
            duration_ms: 0,
            message: Some("not started: the journal cannot be written".into()),
        }
    }

    /// Sends `msg` to the app loop without waiting; a full queue gets it a moment later, in
    /// order after what was already queued.
    fn notify(&self, msg: Msg) {
        if let Err(mpsc::error::TrySendError::Full(msg)) = self.tx.try_send(msg) {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(msg).await;
            });
        }
    }

    /// Keeps the crash record in step with the journal.
    fn track(&self, entry: &Entry) {
        let Ok(mut c) = CRASH.lock() else { return };
        match &entry.event {
            Event::StepStarted { step, attempt, .. } => {
                c.running = Some((step.clone(), *attempt, None))
            }
            Event::StepSpawned { pgid, .. } => {
                if let Some(r) = c.running.as_mut() {
                    r.2 = Some(*pgid);
                }
            }
            Event::StepFinished { .. } => c.running = None,
            // The run is closed: a later panic has nothing left to record.
            Event::RunFinished { .. } => c.journal = None,
            _ => {}
        }
    }

    fn spec(&self, log_name: &str, attempt: u32, c: &Command) -> StepSpec {
        StepSpec {
            command: c.command.clone(),
            shell: c.shell.clone(),
            env: c.env.clone(),
            cwd: c.cwd.as_ref().map(|d| {
                let p = Path::new(d);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    self.base_dir.join(p)
                }
            }),
            timeout: c.timeout,
            log_path: step_log_path(self.journal.path(), log_name, attempt),
            interactive: c.interactive,
            redact: self.secrets.clone(),
        }
    }

    fn spawn(&mut self, step: String, attempt: u32, spec: StepSpec, rollback: bool) {
        let (abort_tx, abort_rx) = watch::channel(false);
        self.aborts.insert(step.clone(), abort_tx);
        let tx = self.tx.clone();
        let grace = self.grace;
        tokio::spawn(async move {
            let (ev_tx, mut ev_rx) = mpsc::channel::<RunnerEvent>(256);
            let forward = {
                let (tx, step) = (tx.clone(), step.clone());
                tokio::spawn(async move {
                    while let Some(ev) = ev_rx.recv().await {
                        let msg = match ev {
                            RunnerEvent::Started { pid } if !rollback => Msg::StepSpawned {
                                step: step.clone(),
                                attempt,
                                pgid: pid as i32,
                            },
                            RunnerEvent::Started { .. } => continue,
                            RunnerEvent::Line { text, .. } => Msg::StepLine {
                                step: step.clone(),
                                attempt: if rollback { u32::MAX } else { attempt },
                                line: text,
                            },
                        };
                        if tx.send(msg).await.is_err() {
                            break;
                        }
                    }
                })
            };
            let result = runner::run_step(spec, grace, ev_tx, abort_rx).await;
            let _ = forward.await;
            let done = finished(&result);
            let msg = if rollback {
                Msg::RollbackDone { step, done }
            } else {
                Msg::StepDone {
                    step,
                    attempt,
                    done,
                }
            };
            let _ = tx.send(msg).await;
        });
    }
}

pub fn finished(r: &StepResult) -> Finished {
    let (outcome, message) = match &r.outcome {
        Outcome::Succeeded => (StepOutcome::Succeeded, None),
        Outcome::Failed => (StepOutcome::Failed, None),
        Outcome::TimedOut => (StepOutcome::TimedOut, Some("timed out".to_string())),
        Outcome::Aborted => (StepOutcome::Aborted, None),
        Outcome::SpawnFailed(m) => (StepOutcome::Failed, Some(m.clone())),
    };
    Finished {
        outcome,
        exit_code: r.exit_code,
        signal: r.signal,
        duration_ms: r.duration.as_millis() as u64,
        message,
    }
}

/// The last `cap` lines of a log file (empty when it is missing).
fn tail_lines(path: &Path, cap: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    // The log keeps what the step wrote; the screen gets it without anything that could
    // steer the terminal, as when it was live.
    lines[lines.len().saturating_sub(cap)..]
        .iter()
        .map(|l| crate::ui::text::sanitize_output(l))
        .collect()
}

/// The message that ends a built-in action: of a step's attempt, or of its rollback.
fn action_done(
    step: String,
    attempt: u32,
    rollback: bool,
    result: Result<crate::core::msg::ActionRecord, String>,
) -> Msg {
    if rollback {
        Msg::RollbackActionDone { step, result }
    } else {
        Msg::ActionDone {
            step,
            attempt,
            result,
        }
    }
}
