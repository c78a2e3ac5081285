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
        log_burst_rate: args.log_burst_rate,
        dir: dir.clone(),
        ledger: args.log_ledger.clone().map(sim::ledger::To::File),
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
            "shipdeck: demo cluster on http://{}, demo web app on {} — try `kubectl --kubeconfig {} get pods`; Ctrl-C stops it, `kill -USR1 {}` restarts its API server",
            sim.addr,
            sim.web_url,
            sim.kubeconfig.display(),
            std::process::id()
        );
        let code = serve(&sim, args.restart_downtime).await;
        sim.stop().await;
        return code;
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

/// Serves until SIGINT or SIGTERM; each SIGUSR1 restarts the API server (down for `down`),
/// said on stderr as it goes down and comes back.
async fn serve(sim: &sim::Sim, down: std::time::Duration) -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut usr1)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::user_defined1()),
    ) else {
        eprintln!("shipdeck: cannot install signal handlers");
        return 1;
    };
    loop {
        tokio::select! {
            _ = int.recv() => return 0,
            _ = term.recv() => return 0,
            _ = usr1.recv() => {}
        }
        eprintln!(
            "shipdeck: restarting the API server: connections cut, down for {:.1}s",
            down.as_secs_f64()
        );
        let restarted = tokio::select! {
            r = sim.restart_api(down) => r,
            _ = int.recv() => return 0,
            _ = term.recv() => return 0,
        };
        match restarted {
            Ok(r) => eprintln!(
                "shipdeck: API server listening again on http://{} ({} connections were cut; down {} ms)",
                sim.addr,
                r.connections_cut,
                (r.up_at - r.down_at).num_milliseconds()
            ),
            Err(e) => {
                eprintln!("shipdeck: the API server could not come back: {e}");
                return 1;
            }
        }
    }
}
