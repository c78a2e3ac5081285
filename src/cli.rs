//! The command line (SPEC §1): subcommands and flags, with kubectl's names where they overlap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    version,
    about = "A terminal cockpit for driving a production release",
    long_about = "shipdeck runs a release checklist step by step, records every start, end, exit code and \
sign-off in an append-only journal, and builds the deployment record from it.\n\n\
Start with:  shipdeck run checklists/hello.yaml --headless --assume-manual-done\n\
Then:        shipdeck runs        shipdeck report <RUN>",
    after_help = "Exit codes: 0 every step succeeded or was skipped, 1 a step failed or the run stopped, \
2 usage or checklist error (nothing ran), 3 interrupted by a signal."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Where run journals and step logs live [default: $XDG_STATE_HOME/shipdeck/runs]
    #[arg(long, global = true, value_name = "DIR", env = "SHIPDECK_RUNS_DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use [default: the checklist's, then the current context]
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace [default: the checklist's]
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a checklist (.yaml, or a Markdown .md/.txt checklist imported on the fly)
    Run(RunArgs),
    /// Validate checklists: every error with file:line:col and a hint; exit 2 if any
    Check {
        /// Checklist files (`-` reads one from stdin)
        #[arg(required = true, value_name = "CHECKLIST")]
        files: Vec<PathBuf>,
        /// Set a variable (repeatable), as for `run`
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// Convert a Markdown checklist to checklist YAML (summary on stderr)
    Import {
        /// The Markdown checklist
        markdown: PathBuf,
        /// Write the YAML here instead of stdout
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// List past runs: id, checklist, start, duration, outcome (newest first)
    Runs {
        /// Only runs of this checklist (a file, or its name)
        checklist: Option<String>,
    },
    /// Print the deployment record of a run
    Report {
        /// A run id, a unique prefix of one, or a journal path
        run: String,
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
    },
    /// Start the embedded demo cluster and open the cockpit on the demo release
    Demo(DemoArgs),
    /// Follow a live run from another terminal (read-only; S signs off, c comments)
    Watch(WatchArgs),
    /// Per-step duration statistics across past runs of a checklist
    History {
        /// The checklist (a file, or its name)
        checklist: String,
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// web 2.0 rolls out fine
    Good,
    /// web 2.0 answers 20% errors: its probe turns red, rollback is advised, `undo` recovers
    Bad,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, value_enum, default_value_t = ScenarioArg::Good)]
    pub scenario: ScenarioArg,
    /// Run the demo release without a screen (manual steps assumed done, confirmations given)
    #[arg(long)]
    pub headless: bool,
    /// Only serve the demo cluster: print its kubeconfig path and serve until interrupted
    #[arg(long)]
    pub serve_only: bool,
    /// Extra pods spread over several deployments (scale tests)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub pods: usize,
    /// Log lines per second per pod
    #[arg(long, default_value_t = 2.0, value_name = "L")]
    pub log_rate: f64,
    /// Burst mode: every followed log stream first serves LINES lines as fast as the client reads
    #[arg(long, default_value_t = 0, value_name = "LINES")]
    pub log_burst: usize,
    /// Burst pacing: lines per second per stream (0: as fast as the client reads)
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub log_burst_rate: f64,
    /// Port to serve on [default: a free one]
    #[arg(long)]
    pub port: Option<u16>,
    /// With --serve-only: how long the API server stays down when restarted with SIGUSR1
    /// (`kill -USR1 PID`: open connections cut, connections refused, then the same port again
    /// with the watch history forgotten; the cluster's objects, pods and logs go on)
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_downtime)]
    pub restart_downtime: std::time::Duration,
    /// Record every log line the pods write, each log follow stream's start and end, and each
    /// API server restart to FILE (tab-separated; for checking what a client received)
    #[arg(long, value_name = "FILE")]
    pub log_ledger: Option<PathBuf>,
    /// Headless: on failure run the failed step's rollback, then completed steps' rollbacks
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Headless: stream each step's output
    #[arg(long, short)]
    pub verbose: bool,
    /// Cockpit layout
    #[arg(long, value_name = "NAME|FILE")]
    pub layout: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// A run id, a unique prefix of one, or a journal path [default: the newest live run]
    pub run: Option<String>,
    /// Set a variable for the probes and panes (secret values are not in the journal)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Cockpit layout: default, compact (80×24), pair, wide, a name from ./layouts, or a file
    #[arg(long, value_name = "NAME|FILE")]
    pub layout: Option<String>,
    /// Cockpit keymap file [default: ~/.config/shipdeck/keymap.yaml when it exists]
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The checklist: .yaml/.yml, or .md/.txt (imported in memory)
    pub checklist: PathBuf,
    /// No screen: run the steps in order, one line per event on stdout
    #[arg(long)]
    pub headless: bool,
    /// Show what each step would do and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Set a variable (repeatable); overrides the checklist's value
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Continue a run: the newest unfinished run of this checklist, or RUN
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Headless: treat `confirm: true` steps as confirmed
    #[arg(long)]
    pub yes: bool,
    /// Headless: tick manual steps instead of stopping at them (recorded as assumed)
    #[arg(long)]
    pub assume_manual_done: bool,
    /// Headless: stream each step's output
    #[arg(long, short)]
    pub verbose: bool,
    /// Headless, with --resume: run again the steps that were interrupted
    #[arg(long)]
    pub rerun_interrupted: bool,
    /// Headless: on failure run the failed step's rollback, then completed steps' rollbacks in reverse
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Cockpit layout: default, compact (80×24), pair, wide, a name from ./layouts, or a file
    #[arg(long, value_name = "NAME|FILE")]
    pub layout: Option<String>,
    /// Cockpit keymap file [default: ~/.config/shipdeck/keymap.yaml when it exists]
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<std::path::PathBuf>,
}

fn parse_downtime(s: &str) -> Result<std::time::Duration, String> {
    crate::config::units::parse_duration(s)
        .filter(|d| *d <= std::time::Duration::from_secs(3600))
        .ok_or_else(|| format!("`{s}` is not a duration of at most 1h (e.g. 2s, 500ms)"))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}
