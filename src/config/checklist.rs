//! The typed checklist (SPEC §2): what a loaded, validated checklist file means.

use super::diag::Pos;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    pub name: String,
    pub description: Option<String>,
    pub vars: Vec<Var>,
    pub cluster: Option<Cluster>,
    pub probes: Vec<Probe>,
    pub rollback_when: Vec<RollbackRule>,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    /// The resolved value (after `--var` and `from_env`); `None` only when checking
    /// a file whose environment variable is not set.
    pub value: Option<String>,
    pub from_env: Option<String>,
    pub secret: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        }
    }
}

/// `deployment/web`: a workload by kind and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: WorkloadKind,
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub watch: Vec<Target>,
    pub logs: Option<LogSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogSpec {
    pub selector: String,
    pub container: Option<String>,
    pub since: Option<Duration>,
    pub max_lines: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatusExpect {
    Code(u16),
    Codes(Vec<u16>),
    /// `2xx`: any code in that hundred.
    Class(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub status: StatusExpect,
    pub body_contains: Option<String>,
    pub headers: Vec<String>,
    pub cert_days_min: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub window: Duration,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    /// Percent, e.g. 1.0 for `1%`.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub name: String,
    pub url: String,
    pub method: String,
    pub request_headers: Vec<(String, String)>,
    pub every: Duration,
    pub timeout: Duration,
    pub expect: Expect,
    pub ca_file: Option<String>,
    pub insecure: bool,
    pub slo: Option<Slo>,
    pub pos: Pos,
    pub name_pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRule {
    pub probe: String,
    pub error_rate: Option<f64>,
    pub p95_ms: Option<u64>,
    pub for_: Duration,
    pub pos: Pos,
    pub probe_pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    pub estimate: Option<Duration>,
    pub notes: Option<String>,
    pub steps: Vec<Step>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    SetImage {
        container: Option<String>,
        image: String,
    },
    Restart,
    Scale {
        replicas: u32,
    },
    Undo {
        to_revision: Option<u64>,
    },
    Pause,
    Resume,
}

impl ActionKind {
    /// Whether applying it starts a rollout that can be waited on.
    pub fn starts_rollout(&self) -> bool {
        matches!(
            self,
            ActionKind::SetImage { .. }
                | ActionKind::Restart
                | ActionKind::Undo { .. }
                | ActionKind::Resume
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub target: Target,
}

impl Action {
    /// A one-line description, e.g. `set_image deployment/web web=registry/web:2.0`.
    pub fn describe(&self) -> String {
        match &self.kind {
            ActionKind::SetImage { container, image } => match container {
                Some(c) => format!("set_image {} {c}={image}", self.target),
                None => format!("set_image {} {image}", self.target),
            },
            ActionKind::Restart => format!("restart {}", self.target),
            ActionKind::Scale { replicas } => format!("scale {} to {replicas}", self.target),
            ActionKind::Undo { to_revision: None } => format!("undo {}", self.target),
            ActionKind::Undo {
                to_revision: Some(r),
            } => format!("undo {} to revision {r}", self.target),
            ActionKind::Pause => format!("pause {}", self.target),
            ActionKind::Resume => format!("resume {}", self.target),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitKind {
    Rollout(Target),
    Probe { name: String, healthy_for: Duration },
    PodsReady(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub kind: WaitKind,
    pub timeout: Option<Duration>,
    /// Where the waited-for target or probe is named.
    pub pos: Pos,
}

impl Wait {
    /// What is waited for, e.g. `rollout of deployment/web`, with its timeout.
    pub fn describe(&self) -> String {
        let what = self.what();
        match self.timeout {
            Some(t) => format!("{what}, timeout {}", super::units::format_duration_spec(t)),
            None => what,
        }
    }

    /// What is waited for, without the timeout (for the record).
    pub fn what(&self) -> String {
        match &self.kind {
            WaitKind::Rollout(t) => format!("rollout of {t}"),
            WaitKind::Probe { name, healthy_for } => format!(
                "probe {name} healthy for {}",
                super::units::format_duration_spec(*healthy_for)
            ),
            WaitKind::PodsReady(sel) => format!("pods ready ({sel})"),
        }
    }
}

/// What undoes a step: a shell command, or a built-in action (`rollback: { undo: deployment/web }`).
#[derive(Debug, Clone, PartialEq)]
pub enum Rollback {
    Command(String),
    Action(Action),
}

impl Rollback {
    pub fn describe(&self) -> String {
        match self {
            Rollback::Command(c) => c.clone(),
            Rollback::Action(a) => a.describe(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Run(String),
    Action(Action),
    Manual,
    /// A step that only waits (its `wait` is set).
    Wait,
    /// Only sub-steps: done when all of them are done.
    Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub kind: StepKind,
    pub wait: Option<Wait>,
    pub confirm: bool,
    pub interactive: bool,
    pub timeout: Option<Duration>,
    pub estimate: Option<Duration>,
    pub rollback: Option<Rollback>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub shell: Option<String>,
    pub signoff: bool,
    pub continue_on_error: bool,
    pub gate: Vec<String>,
    pub notes: Option<String>,
    pub steps: Vec<Step>,
    pub pos: Pos,
    /// Positions of `id` and of each gate probe name, for diagnostics.
    pub id_pos: Pos,
    pub gate_pos: Vec<Pos>,
}

impl Step {
    /// Whether this step (not counting sub-steps) needs the cluster or probes.
    pub fn needs_cluster(&self) -> bool {
        matches!(self.kind, StepKind::Action(_)) || self.wait.is_some()
    }
}

/// A step in execution order with where it sits in the tree.
#[derive(Debug, Clone, Copy)]
pub struct FlatStep<'a> {
    pub step: &'a Step,
    pub phase: usize,
    pub depth: usize,
    pub parent: Option<&'a str>,
}

impl Checklist {
    /// Every step, depth first, in document order (a parent before its children).
    pub fn flat_steps(&self) -> Vec<FlatStep<'_>> {
        fn walk<'a>(
            steps: &'a [Step],
            phase: usize,
            depth: usize,
            parent: Option<&'a str>,
            out: &mut Vec<FlatStep<'a>>,
        ) {
            for step in steps {
                out.push(FlatStep {
                    step,
                    phase,
                    depth,
                    parent,
                });
                walk(&step.steps, phase, depth + 1, Some(&step.id), out);
            }
        }
        let mut out = Vec::new();
        for (i, phase) in self.phases.iter().enumerate() {
            walk(&phase.steps, i, 0, None, &mut out);
        }
        out
    }

    /// The step with this id, at any depth. Called per row on every frame, so it searches
    /// the tree in place instead of flattening it.
    pub fn step(&self, id: &str) -> Option<&Step> {
        fn find<'a>(steps: &'a [Step], id: &str) -> Option<&'a Step> {
            steps.iter().find_map(|s| {
                if s.id == id {
                    Some(s)
                } else {
                    find(&s.steps, id)
                }
            })
        }
        self.phases.iter().find_map(|p| find(&p.steps, id))
    }

    /// Values of `secret: true` vars, to be masked in every record.
    pub fn secrets(&self) -> Vec<String> {
        self.vars
            .iter()
            .filter(|v| v.secret)
            .filter_map(|v| v.value.clone())
            .collect()
    }

    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }
}
