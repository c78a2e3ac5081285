//! The bench scripts run once in a small smoke mode, so that CI catches a script that broke
//! (no thresholds: the figures are not judged here, only that every row was measured).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");

fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench")
        .join(name)
}

fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("bash")
        .arg(script(name))
        .args(args)
        .env("SHIPDECK_BIN", BIN)
        .output()
        .expect("run bash");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// kill -9 at random moments of a headless run, five times: every journal parses and every
/// run finishes with each step succeeded once.
#[test]
fn chaos_kill_9_smoke() {
    let (ok, out, err) = run(
        "chaos.sh",
        &["--only", "kill9", "--kills", "5", "--skip-build"],
    );
    assert!(ok, "chaos.sh failed:\n{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("| kill -9"))
        .unwrap_or_else(|| panic!("no kill -9 row:\n{out}\n{err}"));
    assert!(
        row.contains("5 kills") && row.ends_with("| pass |"),
        "{row}"
    );
    assert!(row.contains(" 0 unparsable journals"), "{row}");
}

/// The demo cluster's API server restarted three times during a rollout followed by the real
/// cockpit in tmux: every restart survived, the rollout wait succeeded, no log line lost or
/// received twice.
#[test]
fn chaos_restarts_smoke() {
    let (ok, out, err) = run("chaos.sh", &["--only", "restarts", "--skip-build"]);
    assert!(ok, "chaos.sh failed:\n{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("| demo cluster restarted"))
        .unwrap_or_else(|| panic!("no restarts row:\n{out}\n{err}"));
    assert!(
        row.contains("3 restarts survived") && row.ends_with("| pass |"),
        "{row}"
    );
    assert!(
        row.contains(" 0 lost, 0 duplicated") && row.contains("rollout wait satisfied"),
        "{row}"
    );
    assert!(!out.contains("| kill -9"), "--only runs one case");
}

/// bench/compare.sh --quick with the debug binary and no kdash: every row has a figure.
#[test]
fn compare_quick_smoke() {
    let (ok, out, err) = run(
        "compare.sh",
        &["--quick", "--skip-build", "--no-kdash", "--soak", "12"],
    );
    assert!(ok, "compare.sh failed:\n{out}\n{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
    for metric in [
        "first frame",
        "pods pane complete",
        "RSS, ",
        "steady CPU",
        "without following",
        "log burst",
        "keys answered during the burst",
        "inside the cockpit",
        "RSS soak",
    ] {
        let row = rows
            .iter()
            .find(|r| r.contains(metric))
            .unwrap_or_else(|| panic!("no row for {metric}:\n{out}\n{err}"));
        let shipdeck = row.split('|').nth(2).unwrap_or("").trim();
        assert!(
            shipdeck.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "{metric}: no figure in {row}\n{err}"
        );
    }
}

/// The row of `chaos.sh --only CASE --quick --skip-build` that starts with `start`; panics
/// with the script's output when the script failed or printed no such row.
fn chaos_row(case: &str, start: &str) -> String {
    let (ok, out, err) = run("chaos.sh", &["--only", case, "--quick", "--skip-build"]);
    let row = out
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {case} row:\n{out}\n{err}"))
        .to_string();
    assert!(ok && row.ends_with("| pass |"), "{row}\n{err}");
    row
}

/// Probe targets that refuse, hang, reset mid-response, answer late or slower than the
/// interval, or flap: each probe's failure is named, one request in flight per probe.
#[test]
fn chaos_probes_smoke() {
    let row = chaos_row("probes", "| probe targets");
    for figure in [
        "red \"3 failures in a row: connection refused\"",
        "hang: ",
        "red \"3 failures in a row: timeout\"",
        "reset: ",
        "red \"3 failures in a row: error\"",
        "max 1 in flight), 0 errors, green",
        "answers 503 (one verdict a sample)",
    ] {
        assert!(row.contains(figure), "{figure:?} missing: {row}");
    }
    assert!(!row.contains("max 2 in flight"), "{row}");
}

/// SIGHUP, SIGTERM and a panic in the cockpit: exit codes, the step's process group gone,
/// the journal ended, the terminal restored.
#[test]
fn chaos_signals_smoke() {
    let row = chaos_row("signals", "| SIGHUP, SIGTERM, panic");
    for figure in [
        "SIGHUP (pane killed): exit 3 ",
        "SIGTERM: exit 3 ",
        "panic in the TUI: exit 101 ",
        "\"step_finished nap interrupted → run_finished interrupted\"",
        "\"step_finished nap interrupted → run_finished aborted\"",
        "terminal restored (icanon echo, alternate screen off), panic message",
    ] {
        assert!(row.contains(figure), "{figure:?} missing: {row}");
    }
}

/// A full disk at the start, between steps and while a step runs, and a read-only runs dir:
/// refused or stopped with the file and the reason, nothing run that was not recorded.
#[test]
fn chaos_disk_smoke() {
    let row = chaos_row("disk", "| disk full");
    for figure in [
        "full at the start (`ulimit -f 0`): exit 2, no step ran, no journal left",
        "full after the lock (`prlimit --fsize=150`): exit 2, no step ran, no journal left",
        "full between steps: exit 1",
        "full while a step runs (next event a probe's change): exit 1",
        "its group gone: yes",
        "`--resume` with room: exit 0",
    ] {
        assert!(row.contains(figure), "{figure:?} missing: {row}");
    }
}

/// Log streams cut by EOF and hung (idle limit 3 s under --quick): every cut detected, each
/// hung stream resumed after the idle limit, no log line lost or received twice.
#[test]
fn chaos_logstreams_smoke() {
    let (ok, out, err) = run(
        "chaos.sh",
        &["--only", "logstreams", "--quick", "--skip-build"],
    );
    assert!(ok, "chaos.sh failed:\n{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("| log streams cut by EOF and hung"))
        .unwrap_or_else(|| panic!("no logstreams row:\n{out}\n{err}"));
    assert!(row.ends_with("| pass |"), "{row}");
    assert!(
        row.contains("2 EOF cuts") && row.contains("detected by 3, 3 of 3 pods"),
        "{row}"
    );
    assert!(row.contains("hang→resume ") && !row.contains('?'), "{row}");
    assert!(row.contains(" 0 lost, 0 duplicated"), "{row}");
    assert!(!out.contains("| kill -9"), "--only runs one case");
}

/// A paced log flood (100,000 lines in 4 s under --quick) followed by the cockpit in tmux:
/// every line received, keys answered, peak RSS under the cap.
#[test]
fn chaos_flood_smoke() {
    let (ok, out, err) = run("chaos.sh", &["--only", "flood", "--quick", "--skip-build"]);
    assert!(ok, "chaos.sh failed:\n{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("| log flood"))
        .unwrap_or_else(|| panic!("no flood row:\n{out}\n{err}"));
    assert!(row.ends_with("| pass |"), "{row}");
    for figure in [
        "100000 lines received in ",
        "peak RSS ",
        " dropped on the last screen",
        "keys through tmux",
        "inside the cockpit",
    ] {
        assert!(row.contains(figure), "no {figure:?} in {row}");
    }
    assert!(!row.contains("NA"), "{row}");
}
