//! Headless event lines: local time, glyph, step id, title, detail — one per journal event.

use crate::config::checklist::{Checklist, Step};
use crate::config::units::format_duration;
use crate::core::journal::{Entry, Event, StepOutcome};
use crate::core::model::Model;
use chrono::Local;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Writes a line; a closed stdout (a dropped SSH session, `| head`) must not stop the run
/// half-way through a step, so write errors are ignored.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn say_err(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

pub struct Printer {
    checklist: Arc<Checklist>,
    color: bool,
    verbose: bool,
    /// The phase last announced, so each phase gets a heading once.
    phase: std::cell::Cell<Option<usize>>,
    /// For pointing at step logs.
    journal: PathBuf,
}

impl Printer {
    pub fn new(checklist: Arc<Checklist>, verbose: bool, journal: PathBuf) -> Self {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            checklist,
            color,
            verbose,
            phase: std::cell::Cell::new(None),
            journal,
        }
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

    fn announce_phase(&self, step: &str) {
        let Some(f) = self
            .checklist
            .flat_steps()
            .into_iter()
            .find(|f| f.step.id == step)
        else {
            return;
        };
        if self.phase.get() != Some(f.phase) {
            self.phase.set(Some(f.phase));
            say(&format!(
                "{} {}",
                Self::now(),
                self.paint(
                    "1;34",
                    &format!("═ {}", self.checklist.phases[f.phase].name)
                )
            ));
        }
    }

    pub fn line(&self, glyph: &str, step: &Step, detail: &str) {
        self.announce_phase(&step.id);
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
        say(&format!(
            "{} {} {}  {}{}",
            Self::now(),
            self.paint(code, glyph),
            self.paint("1", &step.id),
            step.title,
            detail
        ));
    }

    fn sub(&self, text: &str) {
        say(&format!("{}   ↳ {}", Self::now(), text));
    }

    pub fn info(&self, text: &str) {
        say(&format!("{} {}", Self::now(), text));
    }

    pub fn warn(&self, text: &str) {
        say_err(&format!("shipdeck: warning: {text}"));
    }

    pub fn error(&self, text: &str) {
        say_err(&format!("shipdeck: {text}"));
    }

    pub fn output(&self, line: &str) {
        if self.verbose {
            say(&format!("  │ {line}"));
        }
    }

    /// One line for each journal event worth a line.
    pub fn event(&self, entry: &Entry, m: &Model) {
        let step_of = |id: &str| m.step(id).cloned();
        match &entry.event {
            Event::StepStarted { step, .. } => {
                if let Some(s) = step_of(step) {
                    self.line("▶", &s, "");
                }
            }
            Event::StepFinished {
                step,
                attempt,
                outcome,
                exit_code,
                signal,
                duration_ms,
                message,
            } => {
                let Some(s) = step_of(step) else { return };
                let mut detail = format_duration(Duration::from_millis(*duration_ms));
                if let Some(est) = s.estimate {
                    detail += &format!(" (est {})", format_duration(est));
                }
                if *outcome != StepOutcome::Succeeded {
                    let why = match (exit_code, signal, message) {
                        (_, _, Some(msg)) => msg.clone(),
                        (Some(c), _, _) => format!("exit {c}"),
                        (_, Some(sig), _) => format!("signal {sig}"),
                        _ => outcome.as_str().into(),
                    };
                    detail = format!("{why} after {detail}");
                    if matches!(s.kind, crate::config::checklist::StepKind::Run(_)) {
                        let log = crate::paths::step_log_path(&self.journal, step, *attempt);
                        detail += &format!(" — log {}", log.display());
                    }
                }
                if let (StepOutcome::Succeeded, Some(msg)) = (outcome, message) {
                    detail += &format!(" — {msg}");
                }
                let glyph = if *outcome == StepOutcome::Succeeded {
                    "✔"
                } else {
                    "✘"
                };
                self.line(glyph, &s, &detail);
            }
            Event::StepSkipped { step, reason, .. } => {
                if let Some(s) = step_of(step) {
                    self.line("↷", &s, &format!("skipped: {reason}"));
                }
            }
            Event::ManualDone { step, .. } => {
                if let Some(s) = step_of(step) {
                    self.line("☑", &s, "assumed done");
                }
            }
            Event::ActionApplied {
                target,
                before,
                after,
                revision_before,
                revision_after,
                ..
            } => {
                let rev = match (revision_before, revision_after) {
                    (Some(b), Some(a)) => format!(" (revision {b} → {a})"),
                    _ => String::new(),
                };
                self.sub(&format!("{target}: {before} → {after}{rev}"));
            }
            Event::WaitSatisfied {
                what, duration_ms, ..
            } => {
                self.sub(&format!(
                    "{what}: done in {}",
                    format_duration(Duration::from_millis(*duration_ms))
                ));
            }
            Event::WaitTimedOut { what, message, .. } => {
                self.sub(&format!("{what}: timed out — {message}"))
            }
            Event::WaitFailed { what, message, .. } => {
                self.sub(&format!("{what}: failed — {message}"))
            }
            Event::RollbackStarted { step, command, .. } => {
                if let Some(s) = step_of(step) {
                    self.line("↶", &s, &format!("rolling back: {command}"));
                }
            }
            Event::ProbeStateChanged {
                probe,
                from,
                to,
                detail,
            } => {
                let code = match to.as_str() {
                    "green" => "32",
                    "amber" => "33",
                    "red" => "31",
                    _ => "2",
                };
                let dot = self.paint(code, "●");
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(" — {detail}")
                };
                say(&format!(
                    "{} {dot} probe {probe}: {from} → {to}{detail}",
                    Self::now()
                ));
            }
            Event::RollbackAdvised { detail, .. } => {
                let banner = self.paint("1;41;97", &format!(" ROLLBACK ADVISED: {detail} "));
                say(&format!("{} {banner}", Self::now()));
            }
            Event::RollbackAdviceCleared { rule } => {
                say(&format!(
                    "{} rollback advice cleared: {rule} no longer holds",
                    Self::now()
                ));
            }
            Event::RollbackFinished { step, outcome, .. } => {
                if let Some(s) = step_of(step) {
                    let glyph = if *outcome == StepOutcome::Succeeded {
                        "✔"
                    } else {
                        "✘"
                    };
                    self.line(glyph, &s, &format!("rollback {}", outcome.as_str()));
                }
            }
            _ => {}
        }
    }
}
