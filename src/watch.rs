//! `shipdeck watch [RUN]`: follow a live run read-only from another terminal (SPEC §6). The
//! run's state comes from its journal, replayed and then tailed; the cluster, log and probe
//! panes are this process's own, from the run's recorded checklist, vars, context and namespace.
//! It never runs a step: it appends only its sign-offs and comments, as whole lines.

use crate::cli::{Global, WatchArgs};
use crate::config::load::LoadOptions;
use crate::core::model::Model;
use crate::core::run::RunState;
use crate::exec::Executor;
use crate::headless::{EXIT_OK, EXIT_USAGE};
use crate::journal_io::{JournalWriter, parse_journal};
use crate::paths;
use crate::session::load_any;
use crate::sources::journal_tail::{self, JournalTail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A run whose driver is alive, for choosing what to follow.
struct Live {
    journal: PathBuf,
    state: RunState,
    holder: crate::lock::Holder,
}

/// Runs with a live driver (a held lock), newest first.
fn live_runs(runs: &Path) -> Vec<Live> {
    let mut out: Vec<Live> = paths::all_journals(runs, None)
        .into_iter()
        .filter_map(|journal| {
            let holder = crate::lock::holder(&journal)?;
            let read = crate::journal_io::read_journal(&journal).ok()?;
            let state = RunState::replay(&read.entries);
            Some(Live {
                journal,
                state,
                holder,
            })
        })
        .collect();
    out.sort_by(|a, b| b.state.run_id.cmp(&a.state.run_id));
    out
}

fn pick(runs: &Path, arg: Option<&str>) -> Result<PathBuf, String> {
    if let Some(arg) = arg {
        return paths::find_run(runs, arg);
    }
    let live = live_runs(runs);
    match live.len() {
        0 => Err(format!(
            "no live run in {} — `shipdeck watch RUN` follows a given one (see `shipdeck runs`)",
            runs.display()
        )),
        1 => Ok(live[0].journal.clone()),
        n => {
            let mut msg = format!("{n} runs are live; name the one to follow:\n");
            for l in &live {
                let name = l.state.checklist.as_ref().map_or("", |c| c.name.as_str());
                msg.push_str(&format!(
                    "  shipdeck watch {}    # {name}, driven by {} (pid {})\n",
                    l.state.run_id,
                    l.holder.by(),
                    l.holder.pid
                ));
            }
            Err(msg.trim_end().to_string())
        }
    }
}

pub async fn run(global: &Global, args: &WatchArgs) -> i32 {
    let runs = paths::runs_dir(global.runs_dir.as_deref());
    let journal = match pick(&runs, args.run.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let bytes = match std::fs::read(&journal) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("shipdeck: cannot read {}: {e}", journal.display());
            return EXIT_USAGE;
        }
    };
    // Only whole lines are replayed; the tail takes over from the end of the last one.
    let offset = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let read = parse_journal(&bytes[..offset], &journal.display().to_string());
    let state = RunState::replay(&read.entries);
    let Some(recorded) = state.checklist.clone().filter(|_| !state.run_id.is_empty()) else {
        eprintln!(
            "shipdeck: {} has no run_started event: not a shipdeck journal",
            journal.display()
        );
        return EXIT_USAGE;
    };
    // The run's own vars (secrets are masked in the journal: pass them with --var if a probe
    // needs one), then the command line's.
    let mut overrides = crate::session::recorded_overrides(&state);
    overrides.extend(args.vars.iter().cloned());
    let opts = LoadOptions {
        overrides,
        require_env: false,
    };
    let loaded = match load_any(Path::new(&recorded.path), &opts) {
        Ok(l) => l,
        Err(diags) => {
            crate::commands::print_diags(&diags);
            eprintln!(
                "shipdeck: cannot load the checklist of run {} ({})",
                state.run_id, recorded.path
            );
            return EXIT_USAGE;
        }
    };
    let mut warnings: Vec<String> = read.warnings;
    if loaded.sha256 != recorded.sha256 {
        warnings.push(format!(
            "{} changed since run {} started: titles and steps are today's, matched by id",
            recorded.path, state.run_id
        ));
    }
    if let Some((_, outcome)) = state.finished {
        warnings.push(format!(
            "run {} has ended ({}); showing its final state",
            state.run_id,
            outcome.as_str()
        ));
    } else if crate::lock::holder(&journal).is_none() {
        warnings.push(format!(
            "nobody drives run {} now (its driver is gone); resume it with `shipdeck run {} --resume {}`",
            state.run_id, recorded.path, state.run_id
        ));
    }
    let prepared =
        match crate::cockpit::prepare_with(&loaded, args.layout.as_deref(), args.keymap.as_deref())
        {
            Ok(p) => p,
            Err(diags) => {
                crate::commands::print_diags(&diags);
                return EXIT_USAGE;
            }
        };
    let mut writer = match JournalWriter::open_shared(&journal) {
        Ok(w) => w,
        Err(e) => {
            eprintln!(
                "shipdeck: cannot open {} to record sign-offs: {e}",
                journal.display()
            );
            return EXIT_USAGE;
        }
    };
    // The recorded context and namespace, unless the command line says otherwise.
    let kube = if loaded.checklist.cluster.is_some() {
        let mut target = crate::commands::cluster_target(global, &loaded.checklist);
        if global.context.is_none() && state.context.is_some() {
            target.context = state.context.clone();
        }
        if global.namespace.is_none() && state.namespace.is_some() {
            target.namespace = state.namespace.clone();
        }
        // The driver's kubeconfig when it named one and this user can read it (the demo's,
        // say): it is the file that has the recorded context.
        if global.kubeconfig.is_none()
            && let Some(k) = state.kubeconfig.as_ref().filter(|k| Path::new(k).is_file())
        {
            target.kubeconfig = Some(PathBuf::from(k));
        }
        crate::sources::kube_client::connect(&target).await
    } else {
        Err("this checklist has no `cluster:` section".into())
    };
    let (tx, rx) = mpsc::channel(1024);
    let (user, host) = paths::identity();
    let run_id = state.run_id.clone();
    let mut model = Model::new(
        Arc::new(loaded.checklist.clone()),
        state,
        format!("{user}@{host}"),
        chrono::Utc::now(),
    );
    crate::core::follow::become_watcher(&mut model);
    // The tail follows the output of whatever the replay says runs now.
    let follow = journal_tail::Following {
        running: model
            .running
            .as_ref()
            .map(|r| (r.step.clone(), r.attempt, r.rollback)),
        rollbacks: model
            .run
            .steps
            .iter()
            .map(|(id, r)| (id.clone(), r.rollbacks.len() as u32))
            .collect(),
    };
    let tail = JournalTail::new(&journal, offset as u64, Some(writer.track_own()));
    journal_tail::spawn(tail, follow, true, tx.clone());
    // Secrets reach this process through the environment or --var: masked on screen too.
    model.secrets = loaded.checklist.secrets();
    model.driven_by = crate::lock::holder(&journal).map(|h| h.by());
    if let Some(w) = warnings.first() {
        crate::cockpit::warn(&mut model, w);
    }
    let exec = Executor::follower(writer, tx.clone());
    match crate::cockpit::launch(&loaded, model, exec, prepared, kube, (tx, rx)).await {
        Ok(_) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("shipdeck: stopped watching run {run_id}\n").as_bytes(),
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}
