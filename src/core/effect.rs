//! What `update` asks the executor to do; the only way the core reaches the world.

use super::journal::Entry;
use crate::config::checklist::{Action, Wait};

/// A step's command as the runner needs it (variables already expanded).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub command: String,
    pub shell: String,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub timeout: Option<std::time::Duration>,
    pub interactive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the journal (the model already applied it).
    Journal(Entry),
    RunStep {
        step: String,
        attempt: u32,
        command: Command,
    },
    RunRollback {
        step: String,
        attempt: u32,
        command: Command,
    },
    /// Escalate SIGINT → SIGTERM → SIGKILL on the running step's process group.
    Abort {
        step: String,
    },
    LoadLog {
        step: String,
        attempt: u32,
    },
    /// Apply a built-in action through the Kubernetes API (`rollback`: it is a step's rollback).
    Apply {
        step: String,
        attempt: u32,
        action: Action,
        rollback: bool,
    },
    /// Wait for a rollout, pods or a probe; `Abort { step }` cancels it.
    Wait {
        step: String,
        attempt: u32,
        wait: Wait,
    },
    Quit {
        code: i32,
    },
}
