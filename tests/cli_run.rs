//! End-to-end tests of the `shipdeck` binary: headless runs, journal, resume, records.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.env_remove("SHIPDECK_RUNS_DIR").env("NO_COLOR", "1");
    c
}

fn run_in(runs: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--runs-dir")
        .arg(runs)
        .args(args)
        .output()
        .expect("spawn shipdeck")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn journals(runs: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(runs).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "jsonl") {
                out.push(f.path());
            }
        }
    }
    out
}

fn events(journal: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn count(evs: &[serde_json::Value], event: &str, step: &str) -> usize {
    evs.iter()
        .filter(|e| e["event"] == event && e["step"] == step)
        .count()
}

fn hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checklists/hello.yaml")
}

#[test]
fn hello_runs_headless_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = run_in(
        &runs,
        &[
            "run",
            hello().to_str().unwrap(),
            "--headless",
            "--assume-manual-done",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    for id in [
        "workspace",
        "build",
        "checksum",
        "lint-warnings",
        "review",
        "publish",
    ] {
        assert!(
            stdout.contains(id),
            "event line for {id} missing:\n{stdout}"
        );
    }
    // Journal: 0600, starts with run_started, ends with run_finished succeeded.
    let j = journals(&runs);
    assert_eq!(j.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&j[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let evs = events(&j[0]);
    assert_eq!(evs[0]["event"], "run_started");
    assert_eq!(evs.last().unwrap()["event"], "run_finished");
    assert_eq!(evs.last().unwrap()["outcome"], "succeeded");
    assert_eq!(count(&evs, "manual_done", "review"), 1);
    let log = j[0].with_extension("").join("build.1.log");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("release 1.0.0 built"),
        "step log"
    );
    let run_id = j[0].file_stem().unwrap().to_string_lossy().into_owned();

    let listed = run_in(&runs, &["runs"]);
    assert_eq!(listed.status.code(), Some(0));
    let listed = text(&listed.stdout);
    assert!(
        listed.contains(&run_id)
            && listed.contains("Hello shipdeck")
            && listed.contains("succeeded"),
        "{listed}"
    );

    let md = run_in(&runs, &["report", &run_id[..18]]);
    assert_eq!(md.status.code(), Some(0), "{}", text(&md.stderr));
    let md = text(&md.stdout);
    assert!(md.contains("| Outcome | **succeeded** |"), "{md}");
    assert!(
        md.contains("| ✔ | `publish` Publish 1.0.0 | succeeded |"),
        "{md}"
    );

    let json = run_in(&runs, &["report", &run_id, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("report json is valid");
    assert_eq!(v["outcome"], "succeeded");
    assert_eq!(v["rollback"], false);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 6);
    for s in steps {
        assert!(s["started"].is_string(), "every step has a start: {s}");
    }
    let lint = steps.iter().find(|s| s["id"] == "lint-warnings").unwrap();
    assert_eq!(lint["state"], "failed");
    assert_eq!(lint["attempts"][0]["exit_code"], 1);
    assert!(
        steps.iter().find(|s| s["id"] == "publish").unwrap()["duration_ms"]
            .as_u64()
            .unwrap()
            >= 1000
    );
    // The journal path works as a RUN argument too.
    assert_eq!(
        run_in(&runs, &["report", j[0].to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

/// Polls the runs dir until `pred` holds for the single journal's events.
fn wait_for(runs: &Path, pred: impl Fn(&[serde_json::Value]) -> bool) -> PathBuf {
    let start = Instant::now();
    loop {
        if let Some(j) = journals(runs).first()
            && pred(&events(j))
        {
            return j.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for the journal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const NAP: &str = r#"
name: Nap
phases:
  - name: Only
    steps:
      - { id: first, title: First, run: "echo once >> marker" , cwd: "." }
      - { id: nap, title: Nap, run: "sleep 30 & sleep 30; echo woke", cwd: "." }
      - { id: last, title: Last, run: "echo last", cwd: "." }
"#;

#[test]
fn kill_9_mid_step_then_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let file = write(tmp.path(), "nap.yaml", NAP);
    let mut child = bin()
        .arg("--runs-dir")
        .arg(&runs)
        .args(["run", file.to_str().unwrap(), "--headless"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let journal = wait_for(&runs, |e| count(e, "step_spawned", "nap") == 1);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    // Tear the last line as a crash mid-write would.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(b"{\"ts\":\"2026-")
        .unwrap();

    let report = run_in(
        &runs,
        &["report", journal.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(report.status.code(), Some(0));
    assert!(
        text(&report.stderr).contains("torn last line"),
        "{}",
        text(&report.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(v["outcome"], "unfinished");

    // The killed run's step processes still run: a resume refuses to start it again.
    let evs = events(&journal);
    let pgid = evs
        .iter()
        .find(|e| e["event"] == "step_spawned" && e["step"] == "nap")
        .and_then(|e| e["pgid"].as_i64())
        .expect("the step's process group is journaled") as i32;
    let out = run_in(
        &runs,
        &[
            "run",
            file.to_str().unwrap(),
            "--headless",
            "--resume",
            "--rerun-interrupted",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let se = text(&out.stderr);
    assert!(
        se.contains("still run") && se.contains(&format!("kill -TERM -- -{pgid}")),
        "{se}"
    );
    assert!(se.contains("sleep"), "names the leftover processes: {se}");
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
    std::thread::sleep(Duration::from_millis(300));

    // Without --rerun-interrupted the run stops at the interrupted step and says why.
    let out = run_in(
        &runs,
        &["run", file.to_str().unwrap(), "--headless", "--resume"],
    );
    assert_eq!(out.status.code(), Some(1));
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert!(so.contains("⚠ nap"), "{so}");
    assert!(se.contains("--rerun-interrupted"), "{se}");
    let evs = events(&journal);
    assert_eq!(count(&evs, "step_interrupted", "nap"), 1);

    // Shorten the nap for the re-run: the checklist may change, steps match by id.
    std::fs::write(&file, NAP.replace("sleep 30 & sleep 30", "sleep 0.2")).unwrap();
    let out = run_in(
        &runs,
        &[
            "run",
            file.to_str().unwrap(),
            "--headless",
            "--resume",
            "--rerun-interrupted",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("checklist changed"),
        "{}",
        text(&out.stderr)
    );
    let evs = events(&journal);
    assert_eq!(
        count(&evs, "step_started", "first"),
        1,
        "finished steps are not re-run"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("marker")).unwrap(),
        "once\n"
    );
    assert_eq!(count(&evs, "step_started", "nap"), 2);
    assert_eq!(count(&evs, "step_finished", "last"), 1);
    assert_eq!(evs.last().unwrap()["outcome"], "succeeded");
    let md = text(&run_in(&runs, &["report", journal.to_str().unwrap()]).stdout);
    assert!(md.contains("`nap` attempt 1 interrupted"), "{md}");
}

#[test]
fn sigterm_interrupts_the_step_and_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let file = write(tmp.path(), "nap.yaml", NAP);
    let child = bin()
        .arg("--runs-dir")
        .arg(&runs)
        .args(["run", file.to_str().unwrap(), "--headless"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let journal = wait_for(&runs, |e| count(e, "step_spawned", "nap") == 1);
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let evs = events(&journal);
    let fin = evs
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "nap")
        .expect("nap finished");
    assert_eq!(fin["outcome"], "interrupted");
    assert_eq!(evs.last().unwrap()["outcome"], "interrupted");
    // No `sleep 30` of the step is left behind.
    let leftover = std::process::Command::new("pgrep")
        .args(["-f", "sleep 30"])
        .output()
        .unwrap();
    let pids: Vec<String> = text(&leftover.stdout).lines().map(String::from).collect();
    let live: Vec<&String> = pids
        .iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| !s.contains(") Z "))
                && std::fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|c| c == tmp.path())
        })
        .collect();
    assert!(live.is_empty(), "orphaned step processes: {live:?}");
}

#[test]
fn manual_confirm_and_cluster_steps_stop_headless_runs_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let manual = write(
        tmp.path(),
        "m.yaml",
        "name: M\nphases:\n  - name: P\n    steps:\n      - { id: look, title: Look at the graphs, manual: true }\n",
    );
    let out = run_in(&runs, &["run", manual.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("manual step `look`"),
        "{}",
        text(&out.stderr)
    );

    let confirm = write(
        tmp.path(),
        "c.yaml",
        "name: C\nphases:\n  - name: P\n    steps:\n      - { id: drop, title: Drop cache, run: 'true', confirm: true }\n",
    );
    let out = run_in(&runs, &["run", confirm.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    let out = run_in(
        &runs,
        &["run", confirm.to_str().unwrap(), "--headless", "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let action = write(
        tmp.path(),
        "a.yaml",
        "name: A\nphases:\n  - name: P\n    steps:\n      - { id: roll, title: Roll, action: { restart: deployment/web } }\n",
    );
    // A kubeconfig that does not exist: the step fails and says why.
    let out = bin()
        .arg("--runs-dir")
        .arg(&runs)
        .args([
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "run",
            action.to_str().unwrap(),
            "--headless",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout)
            .contains("needs a cluster connection: cannot read kubeconfig /nonexistent/kubeconfig"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn invalid_checklist_runs_nothing_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let bad = write(
        tmp.path(),
        "bad.yaml",
        "name: B\nphases:\n  - name: P\n    steps:\n      - { title: T, run: 'touch ran', timeout: 5 minutes }\n",
    );
    let out = run_in(&runs, &["run", bad.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.yaml:5:"),
        "{}",
        text(&out.stderr)
    );
    assert!(!runs.exists(), "no journal for a run that never started");
}

#[test]
fn secrets_never_reach_journal_or_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let file = write(
        tmp.path(),
        "s.yaml",
        "name: S\nvars:\n  TOKEN: { from_env: SD_TEST_TOKEN, secret: true }\nphases:\n  - name: P\n    steps:\n      - { title: \"Use ${TOKEN}\", run: 'echo token=${TOKEN}; curl_hdr=\"Authorization: Bearer abcdefgh123\"; echo $curl_hdr' }\n",
    );
    let out = bin()
        .arg("--runs-dir")
        .arg(&runs)
        .args(["run", file.to_str().unwrap(), "--headless", "--verbose"])
        .env("SD_TEST_TOKEN", "s3cr3t-value-42")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j = &journals(&runs)[0];
    let journal = std::fs::read_to_string(j).unwrap();
    // The title names the secret: shown masked, and the id made from it too.
    let log = std::fs::read_to_string(j.with_extension("").join("use.1.log")).unwrap();
    let report = run_in(&runs, &["report", j.to_str().unwrap()]);
    for (what, body) in [
        ("journal", &journal),
        ("log", &log),
        ("stdout", &text(&out.stdout)),
        ("report", &text(&report.stdout)),
    ] {
        assert!(
            !body.contains("s3cr3t-value-42"),
            "secret leaked into {what}: {body}"
        );
        assert!(
            !body.contains("abcdefgh123"),
            "bearer token leaked into {what}: {body}"
        );
    }
    assert!(log.contains("token=••••"), "{log}");
    assert!(journal.contains("\"TOKEN\":\"••••\""), "{journal}");
    // Without the env var the run refuses to start, naming the var.
    let out = run_in(&runs, &["run", file.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("SD_TEST_TOKEN is not set"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rollback_on_failure_runs_rollbacks_in_reverse() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let file = write(
        tmp.path(),
        "r.yaml",
        r#"name: R
phases:
  - name: P
    steps:
      - { id: a, title: A, run: "true", rollback: "echo undo-a >> order", cwd: "." }
      - { id: b, title: B, run: "true", rollback: "echo undo-b >> order", cwd: "." }
      - { id: c, title: C, run: "exit 4", rollback: "echo undo-c >> order", cwd: "." }
      - { id: d, title: D, run: "echo never >> order", cwd: "." }
"#,
    );
    let out = run_in(
        &runs,
        &[
            "run",
            file.to_str().unwrap(),
            "--headless",
            "--rollback-on-failure",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("order")).unwrap(),
        "undo-c\nundo-b\nundo-a\n"
    );
    let evs = events(&journals(&runs)[0]);
    assert_eq!(
        evs.iter()
            .filter(|e| e["event"] == "rollback_finished")
            .count(),
        3
    );
    let v: serde_json::Value = serde_json::from_slice(
        &run_in(
            &runs,
            &[
                "report",
                journals(&runs)[0].to_str().unwrap(),
                "--format",
                "json",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(v["rollback"], true);
    assert_eq!(v["outcome"], "failed");
}

#[test]
fn completions_and_help() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(text(&out.stdout).contains("shipdeck"));
    let out = bin().arg("--help").output().unwrap();
    let help = text(&out.stdout);
    for sub in ["run", "check", "import", "runs", "report", "completions"] {
        assert!(
            help.contains(&format!("  {sub} ")),
            "--help lists {sub}: {help}"
        );
    }
}

/// A keymap file that is not UTF-8 is reported where its first bad byte is, as checklists and
/// layouts are (it was reported at 1:1), before anything runs or the screen changes.
#[test]
fn a_keymap_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let keymap = tmp.path().join("keymap.yaml");
    std::fs::write(&keymap, b"\"n\": move-down\n\"\xe9\": quit\n").unwrap();
    let out = run_in(
        &runs,
        &[
            "run",
            hello().to_str().unwrap(),
            "--keymap",
            keymap.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.lines().next(),
        Some(format!("{}:2:2: not UTF-8 text: byte 0xe9 here", keymap.display()).as_str()),
        "{stderr}"
    );
    assert!(!runs.exists(), "nothing was run");
}
