//! `shipdeck demo --headless` end to end: the embedded demo cluster, the demo release, the record.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn demo(runs: &Path, state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .env("XDG_STATE_HOME", state)
        .env("NO_COLOR", "1")
        .env_remove("SHIPDECK_RUNS_DIR")
        .env_remove("KUBECONFIG")
        .arg("--runs-dir")
        .arg(runs)
        .arg("demo")
        .args(args)
        .output()
        .expect("run shipdeck demo")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn journal(runs: &Path) -> PathBuf {
    let dir = runs.join("demo-release");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files.pop().expect("a journal")
}

fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn demo_headless_rolls_web_to_2_0_and_the_record_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (runs, state) = (tmp.path().join("runs"), tmp.path().join("state"));
    let out = demo(&runs, &state, &["--headless"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("deployment/web: web:1.0 → web:2.0"),
        "{stdout}"
    );
    assert!(stdout.contains("successfully rolled out"), "{stdout}");
    assert!(stdout.contains("probe web: unknown → green"), "{stdout}");
    assert!(
        stdout.contains("✔ healthy  Health stays green for 15s on 2.0"),
        "{stdout}"
    );
    let j = journal(&runs);
    let report = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--runs-dir")
        .arg(&runs)
        .args(["report", j.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json report");
    assert_eq!(v["outcome"], "succeeded");
    let rollout = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "rollout")
        .expect("rollout step");
    let action = &rollout["actions"][0];
    assert_eq!(action["before"], "web:1.0", "{action}");
    assert_eq!(action["after"], "web:2.0", "{action}");
    let probe = &v["probes"][0];
    assert_eq!(probe["name"], "web", "{probe}");
    assert!(probe["requests"].as_u64().unwrap() >= 5, "{probe}");
    assert_eq!(probe["errors"], 0, "a good 2.0 serves no errors: {probe}");
    let wait = &rollout["waits"][0];
    assert_eq!(wait["outcome"], "satisfied", "{wait}");
    assert!(wait["duration_ms"].as_u64().unwrap() > 0, "{wait}");
    let md = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--runs-dir")
        .arg(&runs)
        .args(["report", j.to_str().unwrap()])
        .output()
        .unwrap();
    let md = text(&md.stdout);
    assert!(
        md.contains("set_image deployment/web web=web:2.0: web:1.0 → web:2.0"),
        "{md}"
    );
    assert!(
        md.contains("wait for rollout of deployment/web: satisfied after"),
        "{md}"
    );
}

#[test]
fn demo_bad_scenario_fails_and_rolls_back_to_1_0() {
    let tmp = tempfile::tempdir().unwrap();
    let (runs, state) = (tmp.path().join("runs"), tmp.path().join("state"));
    let out = demo(
        &runs,
        &state,
        &["--headless", "--scenario", "bad", "--rollback-on-failure"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let evs = events(&journal(&runs));
    let kinds: Vec<String> = evs
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["event"].as_str().unwrap(),
                e["step"].as_str().unwrap_or("")
            )
        })
        .collect();
    // 2.0 rolls out but fails its health: the probe turns red, rollback is advised, the
    // health wait is cut short, and the rollout step's rollback (undo) runs.
    let red = evs
        .iter()
        .position(|e| e["event"] == "probe_state_changed" && e["to"] == "red")
        .unwrap_or_else(|| panic!("the probe turns red: {kinds:?}"));
    let advised = kinds
        .iter()
        .position(|k| k.starts_with("rollback_advised"))
        .unwrap_or_else(|| panic!("rollback advised: {kinds:?}"));
    let detail = evs[advised]["detail"].as_str().unwrap();
    assert!(detail.contains("web error rate"), "{detail}");
    let failed = kinds
        .iter()
        .position(|k| k == "wait_failed:healthy")
        .unwrap_or_else(|| panic!("the health wait fails: {kinds:?}"));
    let undo = kinds
        .iter()
        .position(|k| k == "rollback_started:rollout")
        .expect("then the undo starts");
    assert!(
        red < advised && advised < failed && failed < undo,
        "{kinds:?}"
    );
    assert!(
        stdout.contains("ROLLBACK ADVISED: web error rate"),
        "{stdout}"
    );
    let undone = evs
        .iter()
        .rev()
        .find(|e| e["event"] == "action_applied" && e["step"] == "rollout")
        .expect("undo applied");
    assert_eq!(undone["after"], "web:1.0", "{undone}");
    let back = evs
        .iter()
        .rev()
        .find(|e| e["event"] == "wait_satisfied" && e["step"] == "rollout")
        .expect("1.0 available again");
    assert!(
        back["what"].as_str().unwrap().contains("deployment/web"),
        "{back}"
    );
    let fin = evs
        .iter()
        .rev()
        .find(|e| e["event"] == "rollback_finished" && e["step"] == "rollout")
        .unwrap();
    assert_eq!(fin["outcome"], "succeeded");
    assert_eq!(evs.last().unwrap()["outcome"], "failed");
    let md = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--runs-dir")
        .arg(&runs)
        .args(["report", journal(&runs).to_str().unwrap()])
        .output()
        .unwrap();
    let md = text(&md.stdout);
    assert!(md.contains("| Rollback | yes |"), "{md}");
    assert!(
        md.contains("## Health probes") && md.contains("| web |"),
        "{md}"
    );
    assert!(md.contains("ROLLBACK ADVISED: web error rate"), "{md}");
}

#[test]
fn serve_only_prints_a_kubeconfig_that_kubectl_can_use() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .env("XDG_STATE_HOME", tmp.path())
        .args(["demo", "--serve-only"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let kubeconfig = first.trim().to_string();
    assert!(
        Path::new(&kubeconfig).is_file(),
        "kubeconfig path on stdout: {first:?}"
    );
    let cache = tmp.path().join("kube-cache");
    let out = Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "--cache-dir",
            cache.to_str().unwrap(),
            "get",
            "pods,deploy,rs",
        ])
        .output()
        .expect("kubectl is installed");
    let listing = text(&out.stdout);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(out.status.success(), "{listing}\n{}", text(&out.stderr));
    assert!(
        listing.contains("deployment.apps/web") && listing.contains("pod/web-"),
        "{listing}"
    );
    assert_eq!(
        status.code(),
        Some(0),
        "Ctrl-C stops the demo cluster cleanly"
    );
}
