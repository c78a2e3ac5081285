//! `shipdeck demo`: the embedded demo cluster, and the demo release run against it.

use crate::cli::{DemoArgs, Global, RunArgs, ScenarioArg};
use crate::sim::{self, Scenario, SimOptions};
use std::io::Write;

/// The demo checklist, compiled in so `shipdeck demo` works from any directory.
pub const DEMO_CHECKLIST: &str = include_str!("../checklists/demo.yaml");

fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

pub async fn run(global: &Global, args: &DemoArgs) -> i32 {
    let dir = crate::paths::state_dir().join("demo");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("shipdeck: cannot create {}: {e}", dir.display());
        return 1;
    }
    let opts = SimOptions {
        port: args.port,
        scenario: match args.scenario {
            ScenarioArg::Good => Scenario::Good,
            ScenarioArg::Bad => Scenario::Bad,
        },
        pods: args.pods,
        log_rate: args.log_rate,
        log_burst: args.log_burst,
        dir: dir.clone(),
        ..SimOptions::default()
    };
    let sim = match sim::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shipdeck: cannot start the demo cluster: {e}");
            return 1;
        }
    };
    if args.serve_only {
        say(&sim.kubeconfig.display().to_string());
        eprintln!(
            "shipdeck: demo cluster on http://{}, demo web app on {} — try `kubectl --kubeconfig {} get pods`; Ctrl-C stops it",
            sim.addr,
            sim.web_url,
            sim.kubeconfig.display()
        );
        wait_for_stop().await;
        sim.stop().await;
        return 0;
    }
    // The checklist is written next to the kubeconfig so reports can read it back later.
    let checklist = dir.join("demo.yaml");
    if let Err(e) = std::fs::write(&checklist, DEMO_CHECKLIST) {
        eprintln!("shipdeck: cannot write {}: {e}", checklist.display());
        return 1;
    }
    let run = RunArgs {
        checklist,
        headless: args.headless,
        dry_run: false,
        vars: vec![("WEB_URL".to_string(), sim.web_url.clone())],
        resume: None,
        // Unattended: the demo's confirmations and its one manual step are taken as given.
        yes: args.headless,
        assume_manual_done: args.headless,
        verbose: args.verbose,
        rerun_interrupted: false,
        rollback_on_failure: args.rollback_on_failure,
        layout: args.layout.clone(),
        keymap: None,
    };
    let demo_global = Global {
        runs_dir: global.runs_dir.clone(),
        kubeconfig: Some(sim.kubeconfig.clone()),
        context: None,
        namespace: None,
    };
    let code = crate::commands::run(&demo_global, &run).await;
    sim.stop().await;
    code
}

async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
