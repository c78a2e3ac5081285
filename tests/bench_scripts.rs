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
