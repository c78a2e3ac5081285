//! `shipdeck run` with a screen: resolve layout and keymap up front, then hand over to the app.

use crate::app::{self, App};
use crate::cli::RunArgs;
use crate::config::diag::Diagnostic;
use crate::config::keymap::Keymap;
use crate::config::layout::{Layout, resolve_layout};
use crate::core::model::Model;
use crate::core::msg::Msg;
use crate::exec::Executor;
use crate::session::{Loaded, Session};
use crate::ui::theme::Theme;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

pub struct Prepared {
    pub layout: Layout,
    pub keymap: Keymap,
}

/// Where `--layout NAME` looks for `layouts/NAME.yaml`: here, beside the checklist, and above it.
fn search_dirs(checklist: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(dir) = checklist.parent().filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(dir.to_path_buf());
        if let Some(up) = dir.parent() {
            dirs.push(up.to_path_buf());
        }
    }
    dirs
}

pub fn prepare(loaded: &Loaded, args: &RunArgs) -> Result<Prepared, Vec<Diagnostic>> {
    prepare_with(loaded, args.layout.as_deref(), args.keymap.as_deref())
}

/// Resolves `--layout` and `--keymap` (or their defaults) for a cockpit on `loaded`.
pub fn prepare_with(
    loaded: &Loaded,
    layout: Option<&str>,
    keymap: Option<&Path>,
) -> Result<Prepared, Vec<Diagnostic>> {
    let layout = resolve_layout(layout, &search_dirs(&loaded.path));
    let keymap_path = keymap.map(Path::to_path_buf).or_else(|| {
        let home = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(home.join("shipdeck/keymap.yaml")).filter(|p| p.is_file())
    });
    let keymap = match keymap_path {
        None => Ok(Keymap::default()),
        Some(p) => Keymap::load_file(&p),
    };
    match (layout, keymap) {
        (Ok(layout), Ok(keymap)) => Ok(Prepared { layout, keymap }),
        (l, k) => Err(l.err().into_iter().chain(k.err()).flatten().collect()),
    }
}

pub async fn run(
    loaded: &Loaded,
    session: Session,
    prepared: Prepared,
    kube: Result<crate::sources::kube_client::Kube, String>,
) -> i32 {
    let (tx, rx) = mpsc::channel(1024);
    let mut model = Model::new(
        Arc::new(loaded.checklist.clone()),
        session.state.clone(),
        session.by.clone(),
        chrono::Utc::now(),
    );
    model.secrets = session.secrets.clone();
    if let Some(w) = session.warnings.first() {
        warn(&mut model, w);
    }
    let base_dir = loaded
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // Sign-offs and comments from `shipdeck watch` come in through the journal.
    let journal = session.journal;
    let tail = crate::sources::journal_tail::JournalTail::new(
        journal.path(),
        session.tail_from,
        Some(session.own.clone()),
    );
    crate::sources::journal_tail::spawn(tail, Default::default(), false, tx.clone());
    let exec = Executor::new(journal, tx.clone(), session.secrets, base_dir);
    let run_id = model.run_id.clone();
    match launch(loaded, model, exec, prepared, kube, (tx, rx)).await {
        Ok(code) => {
            // The screen that said so is gone: say it again where it stays.
            if let Some(why) = crate::exec::journal_failure() {
                let _ = writeln!(
                    std::io::stderr(),
                    "shipdeck: {why}\nshipdeck: the run was stopped so that nothing goes unrecorded; no further step started"
                );
            }
            // The terminal may be gone (SIGHUP): a failed write must not turn into a panic.
            let _ = writeln!(
                std::io::stderr(),
                "shipdeck: run {run_id} — resume with `shipdeck run {} --resume {run_id}`, record with `shipdeck report {run_id}`",
                loaded.path.display()
            );
            code
        }
        Err(code) => code,
    }
}

/// A warning the user must see, shown in the cockpit's flash line for a while.
pub fn warn(model: &mut Model, text: &str) {
    model.flash = Some(crate::core::model::Flash {
        text: text.to_string(),
        error: true,
        until: model.now + chrono::Duration::seconds(15),
    });
}

/// Starts the cluster and probe sources the checklist asks for and runs the screen until it
/// quits. Err carries the exit code when there is no terminal.
pub async fn launch(
    loaded: &Loaded,
    mut model: Model,
    mut exec: Executor,
    prepared: Prepared,
    kube: Result<crate::sources::kube_client::Kube, String>,
    (tx, rx): (mpsc::Sender<Msg>, mpsc::Receiver<Msg>),
) -> Result<i32, i32> {
    model.use_layout(&prepared.layout);
    model.keymap = prepared.keymap;
    // The cluster panes follow the checklist's `cluster:`; actions and waits use the client.
    if let Some(cluster) = &loaded.checklist.cluster {
        if let Some(cap) = cluster.logs.as_ref().and_then(|l| l.max_lines) {
            model.logs = crate::core::logs::LogBuffer::new(cap);
        }
        match &kube {
            Ok(k) => {
                model.kube.connection = crate::core::kube::Connection::Connecting;
                crate::sources::kube_watch::spawn_all(k, cluster, tx.clone());
            }
            Err(e) => model.kube.connection = crate::core::kube::Connection::Unavailable(e.clone()),
        }
    }
    match kube {
        Ok(k) => exec.kube = Some(k),
        Err(e) => exec.kube_error = Some(e),
    }
    crate::sources::probes::spawn(loaded.checklist.probes.clone(), tx.clone());
    spawn_history(&exec, &model, tx.clone());
    let app = App {
        model,
        layout: prepared.layout,
        theme: Theme::from_env(),
        exec,
        rx,
        tx,
        last_frame: Default::default(),
    };
    match app::run(app).await {
        Ok(code) => Ok(code),
        Err(e) => {
            crate::tui::restore();
            let _ = writeln!(
                std::io::stderr(),
                "shipdeck: the cockpit needs a terminal ({e}); use --headless to run without one"
            );
            Err(crate::headless::EXIT_USAGE)
        }
    }
}

/// Reads past runs of the checklist off the screen's path: expected durations and the ETA
/// appear a moment after the first frame instead of delaying it.
fn spawn_history(exec: &Executor, model: &Model, tx: mpsc::Sender<Msg>) {
    // RUNS_DIR/<slug>/<run-id>.jsonl
    let Some(runs_dir) = exec.journal.path().parent().and_then(Path::parent) else {
        return;
    };
    let runs_dir = runs_dir.to_path_buf();
    let (name, run_id) = (model.checklist.name.clone(), model.run_id.clone());
    tokio::task::spawn_blocking(move || {
        let stats = crate::history::load_stats(&runs_dir, &name, Some(&run_id));
        if !stats.is_empty() {
            let _ = tx.blocking_send(Msg::History(stats));
        }
    });
}
