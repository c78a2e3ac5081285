//! `shipdeck history` end to end: real headless runs of the binary into a temporary runs dir,
//! then the per-step statistics as a table and as JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.env_remove("SHIPDECK_RUNS_DIR")
        .env_remove("HISTORY_FAIL")
        .env("NO_COLOR", "1");
    c
}

fn shipdeck(runs: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.arg("--runs-dir").arg(runs).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("spawn shipdeck")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Runs `checklist` headless, expecting `code`.
fn run(runs: &Path, checklist: &str, vars: &[&str], env: &[(&str, &str)], code: i32) {
    let mut args = vec!["run", checklist, "--headless", "--assume-manual-done"];
    for v in vars {
        args.extend(["--var", v]);
    }
    let out = shipdeck(runs, &args, env);
    assert_eq!(out.status.code(), Some(code), "{}", show(&out));
}

/// The table row of step `id`, split on whitespace (FAILURES `1/3 (33%)` is two cells).
fn table_row(table: &str, id: &str) -> Vec<String> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("no row for {id}:\n{table}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn hello_three_times(tmp: &Path) -> PathBuf {
    let runs = tmp.join("runs");
    let workdir = format!("WORKDIR={}", tmp.join("work").display());
    for _ in 0..3 {
        run(&runs, &repo("checklists/hello.yaml"), &[&workdir], &[], 0);
    }
    runs
}

#[test]
fn hello_after_three_runs_shows_medians() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = hello_three_times(tmp.path());

    let out = shipdeck(&runs, &["history", &repo("checklists/hello.yaml")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let table = text(&out.stdout);
    assert!(table.contains("Hello shipdeck — 3 past runs"), "{table}");
    let header = table_row(&table, "STEP");
    assert_eq!(
        header,
        [
            "STEP", "RUNS", "MEDIAN", "P90", "LAST", "FAILURES", "ESTIMATE", "TITLE"
        ]
    );
    // Every step that runs a command: three runs, a median, no failure, its estimate.
    for (id, estimate) in [
        ("workspace", "2.0s"),
        ("build", "3.0s"),
        ("checksum", "1.0s"),
        ("publish", "2.0s"),
    ] {
        let r = table_row(&table, id);
        assert_eq!(r[1], "3", "{id}: {table}");
        for cell in &r[2..5] {
            assert!(
                cell.ends_with("ms") || cell.ends_with('s'),
                "{id}: median, p90 and last are durations: {table}"
            );
        }
        assert_eq!((r[5].as_str(), r[6].as_str()), ("0/3", "(0%)"), "{table}");
        assert_eq!(r[7], estimate, "{table}");
    }
    // `publish` sleeps a second: its median says so.
    let publish = table_row(&table, "publish");
    assert!(
        publish[2].starts_with("1.") && publish[2].ends_with('s'),
        "{table}"
    );
    // The step allowed to fail failed every time: its failed attempts give the times.
    let lint = table_row(&table, "lint-warnings");
    assert_eq!(&lint[1..2], ["3"]);
    assert_eq!(&lint[5..7], ["3/3", "(100%)"]);
    assert!(lint[2..5].iter().all(|c| c.ends_with("ms")), "{table}");
    // The manual step is timed from the step before it to its tick.
    let review = table_row(&table, "review");
    assert_eq!(review[1], "3", "{table}");
    assert!(
        review[2].ends_with("ms") || review[2].ends_with('s'),
        "{table}"
    );
    // Checklist order, titles with variables expanded.
    let order: Vec<usize> = ["workspace", "build", "checksum", "lint-warnings", "review"]
        .iter()
        .map(|id| table.find(&format!("\n{id} ")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{table}");
    assert!(table.contains("Publish 1.0.0"), "{table}");
}

#[test]
fn json_has_the_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = hello_three_times(tmp.path());
    // By name this time: the same runs, the same numbers.
    for arg in [repo("checklists/hello.yaml"), "Hello shipdeck".into()] {
        let out = shipdeck(&runs, &["history", &arg, "--format", "json"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        assert_eq!(v["schema"], "shipdeck.history/1");
        assert_eq!(v["checklist"], "Hello shipdeck");
        assert_eq!(v["runs"], 3);
        let steps = v["steps"].as_array().unwrap();
        let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "workspace",
                "build",
                "checksum",
                "lint-warnings",
                "review",
                "publish"
            ]
        );
        let step = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap();
        let publish = step("publish");
        assert_eq!(publish["title"], "Publish 1.0.0");
        assert_eq!(publish["runs"], 3);
        let median = publish["median_ms"].as_u64().unwrap();
        let p90 = publish["p90_ms"].as_u64().unwrap();
        assert!(median >= 1_000 && p90 >= median, "{publish}");
        assert!(publish["last_ms"].as_u64().unwrap() >= 1_000);
        assert_eq!(publish["failed_runs"], 0);
        assert_eq!(publish["failure_rate"], 0.0);
        assert_eq!(publish["estimate_ms"], 2_000);
        let lint = step("lint-warnings");
        assert_eq!(
            (&lint["runs"], &lint["failed_runs"]),
            (&3.into(), &3.into())
        );
        assert!(lint["median_ms"].is_u64(), "{lint}");
        assert_eq!(lint["failure_rate"], 1.0);
        assert_eq!(step("review")["runs"], 3);
    }
}

#[test]
fn a_failing_step_counts_in_failures_not_in_durations() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let flaky = repo("tests/fixtures/history/flaky.yaml");
    run(&runs, &flaky, &[], &[], 0);
    run(&runs, &flaky, &[], &[("HISTORY_FAIL", "1")], 1);
    run(&runs, &flaky, &[], &[], 0);

    let out = shipdeck(&runs, &["history", &flaky], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let table = text(&out.stdout);
    let r = table_row(&table, "flaky");
    assert_eq!(r[1], "3", "{table}");
    assert_ne!(r[2], "—", "two successful runs give a median: {table}");
    assert_eq!((r[5].as_str(), r[6].as_str()), ("1/3", "(33%)"), "{table}");
    assert_eq!(&table_row(&table, "prepare")[5..7], ["0/3", "(0%)"]);

    let out = shipdeck(&runs, &["history", &flaky, "--format", "json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["steps"][1];
    assert_eq!(
        (&s["id"], &s["runs"], &s["failed_runs"]),
        (&"flaky".into(), &3.into(), &1.into())
    );
    let rate = s["failure_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{s}");
}

#[test]
fn live_runs_are_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let flaky = repo("tests/fixtures/history/flaky.yaml");
    run(&runs, &flaky, &[], &[], 0);
    // A copy of that run, still going: unfinished and driven by a live process (this test).
    let dir = runs.join("history-flaky");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let mut live = String::new();
    for line in std::fs::read_to_string(&journal).unwrap().lines() {
        let mut ev: serde_json::Value = serde_json::from_str(line).unwrap();
        match ev["event"].as_str() {
            Some("run_finished") => continue,
            Some("run_started") => {
                ev["pid"] = std::process::id().into();
                ev["run"] = "29991231T000000Z-0000".into();
            }
            _ => {}
        }
        live += &format!("{ev}\n");
    }
    std::fs::write(dir.join("29991231T000000Z-0000.jsonl"), live).unwrap();
    // Its driver holds the run's lock (SPEC §6): this test process.
    let _lock = shipdeck::lock::RunLock::acquire(&dir.join("29991231T000000Z-0000.jsonl")).unwrap();

    let out = shipdeck(&runs, &["history", &flaky, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"], 1, "{}", show(&out));
    assert!(
        text(&out.stderr).contains("left out 1 live run"),
        "{}",
        show(&out)
    );

    // The cockpit's view leaves out the run it drives as well.
    let all = shipdeck::history::load_stats(&runs, "History flaky", None);
    assert_eq!(all["flaky"].runs, 1);
    let run_id = journal.file_stem().unwrap().to_string_lossy().into_owned();
    assert!(shipdeck::history::load_stats(&runs, "History flaky", Some(&run_id)).is_empty());
}

#[test]
fn no_runs_and_unknown_checklists() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = shipdeck(&runs, &["history", &repo("checklists/hello.yaml")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("no past runs of `Hello shipdeck`"),
        "{}",
        show(&out)
    );

    let out = shipdeck(&runs, &["history", "No such release"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("unknown checklist `No such release`"),
        "{}",
        show(&out)
    );

    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: Bad\nphases: 3\n").unwrap();
    let out = shipdeck(&runs, &["history", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("bad.yaml"), "{}", show(&out));
}
