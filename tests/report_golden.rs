//! Golden deployment records (insta), built in-process from hand-written journals and a
//! checklist under `tests/fixtures/report/`, and the `report` subcommand run on a copy of one.

use chrono::{DateTime, TimeZone, Utc};
use shipdeck::config::checklist::Checklist;
use shipdeck::config::load::{LoadOptions, load_file};
use shipdeck::core::report::{Report, build, to_markdown};
use shipdeck::core::run::RunState;
use shipdeck::journal_io::read_journal;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

fn checklist() -> Checklist {
    load_file(&fixture("release.yaml"), &LoadOptions::default())
        .expect("the fixture checklist loads")
        .0
}

fn state(journal: &str) -> RunState {
    let read = read_journal(&fixture(journal)).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    RunState::replay(&read.entries)
}

fn record(journal: &str, now: DateTime<Utc>) -> Report {
    build(Some(&checklist()), &state(journal), false, now)
}

/// Long after the fixtures' runs: a finished run's record must not depend on it.
fn later() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 4, 5, 6, 7).unwrap()
}

fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap()
}

/// Every table row has as many cells as its header (a `|` in text is escaped as `\|`).
fn tables_are_regular(md: &str) {
    let cells = |line: &str| line.replace("\\|", "").matches('|').count();
    let mut header = None;
    for line in md.lines() {
        match (line.starts_with('|'), header) {
            (true, None) => header = Some(cells(line)),
            (true, Some(n)) => assert_eq!(cells(line), n, "ragged table row: {line}"),
            (false, _) => header = None,
        }
    }
}

fn no_secret(text: &str) {
    assert!(!text.contains("s3cr3t"), "a secret leaked:\n{text}");
}

#[test]
fn finished_run_with_retry_skip_signoff_actions_comments_and_probes() {
    let r = record("succeeded.jsonl", later());
    let md = to_markdown(&r);
    let js = json(&r);
    no_secret(&md);
    no_secret(&js);
    tables_are_regular(&md);
    insta::assert_snapshot!("succeeded_md", md);
    insta::assert_snapshot!("succeeded_json", js);
}

#[test]
fn failed_run_resumed_timed_out_and_rolled_back() {
    let r = record("rolled_back.jsonl", later());
    let md = to_markdown(&r);
    let js = json(&r);
    no_secret(&md);
    no_secret(&js);
    tables_are_regular(&md);
    insta::assert_snapshot!("rolled_back_md", md);
    insta::assert_snapshot!("rolled_back_json", js);
}

#[test]
fn a_finished_record_ignores_now() {
    for j in ["succeeded.jsonl", "rolled_back.jsonl"] {
        let a = record(j, later());
        let b = record(j, Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(json(&a), json(&b), "{j}");
        assert_eq!(to_markdown(&a), to_markdown(&b), "{j}");
    }
}

#[test]
fn without_the_checklist_the_record_lists_the_journals_steps() {
    let r = build(None, &state("rolled_back.jsonl"), false, later());
    assert_eq!(r.outcome, "failed");
    assert!(r.steps.iter().all(|s| s.kind == "unknown"));
    assert!(
        r.steps
            .iter()
            .any(|s| s.id == "rollout" && s.state == "timed_out")
    );
    let md = to_markdown(&r);
    assert!(md.contains("### (not in the checklist)"), "{md}");
    assert!(md.contains("| Rollback | yes |"), "{md}");
}

#[test]
fn a_dead_run_that_never_finished_shows_its_running_step_interrupted() {
    let read = read_journal(&fixture("succeeded.jsonl")).unwrap();
    // Cut the journal while `rollout` runs: its driver died mid-step.
    let cut: Vec<_> = read
        .entries
        .iter()
        .take_while(|e| e.ts < Utc.with_ymd_and_hms(2026, 11, 21, 12, 6, 0).unwrap())
        .cloned()
        .collect();
    let s = RunState::replay(&cut);
    let r = build(Some(&checklist()), &s, false, later());
    assert_eq!(r.outcome, "unfinished");
    let rollout = r.steps.iter().find(|s| s.id == "rollout").unwrap();
    assert_eq!(rollout.state, "interrupted");
    assert!(
        r.issues
            .iter()
            .any(|i| i.kind == "interrupted" && i.step.as_deref() == Some("rollout"))
    );
    assert!(r.issues.iter().any(|i| i.kind == "run_unfinished"));
    assert_eq!(
        r.duration_ms,
        Some(321_900),
        "to the last event, not to now"
    );
    let md = to_markdown(&r);
    assert!(
        md.contains("| Finished | — (never finished; last event 2026-11-21 12:05:21 UTC) |"),
        "{md}"
    );
    // While its driver lives, the same journal is a live run measured to now.
    let live = build(Some(&checklist()), &s, true, later());
    assert_eq!(live.outcome, "live");
    assert_eq!(
        live.steps.iter().find(|s| s.id == "rollout").unwrap().state,
        "running"
    );
    assert!(live.issues.iter().all(|i| i.kind != "interrupted"));
}

/// The deployment-record fields a release manager looks for, by name.
const FIELDS: &[&str] = &[
    "| Outcome |",
    "| Version |",
    "| Date |",
    "| Deployed by |",
    "| Started |",
    "| Finished |",
    "| Duration |",
    "| Rollback |",
    "| Steps |",
    "| Issues |",
    "| Checklist |",
    "| Checklist sha256 |",
    "## Variables",
    "## Issues",
    "## Steps",
    "| Start (UTC) | Duration | Estimate | vs estimate | Attempts |",
    "## Changes applied",
    "## Sign-offs and manual checks",
    "## Comments",
    "## Health probes",
    "## Rollback advice",
    "## Rollbacks",
    "## Timeline",
];

#[test]
fn the_report_command_prints_the_record_as_json_and_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let dir = runs.join("shop-release-2-4-0");
    std::fs::create_dir_all(&dir).unwrap();
    let list = tmp.path().join("release.yaml");
    std::fs::copy(fixture("release.yaml"), &list).unwrap();
    // The journal records where its checklist was; point it at the copy.
    let journal = std::fs::read_to_string(fixture("rolled_back.jsonl"))
        .unwrap()
        .replace(
            "\"path\":\"tests/fixtures/report/release.yaml\"",
            &format!("\"path\":{}", serde_json::to_string(&list).unwrap()),
        );
    let path = dir.join("20261122T090000Z-c3d4.jsonl");
    std::fs::write(&path, journal).unwrap();
    let report = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
            .env_remove("SHIPDECK_RUNS_DIR")
            .env("NO_COLOR", "1")
            .arg("--runs-dir")
            .arg(&runs)
            .arg("report")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("no longer readable"), "{stderr}");
        String::from_utf8(out.stdout).unwrap()
    };

    let js = report(&[path.to_str().unwrap(), "--format", "json"]);
    no_secret(&js);
    let v: serde_json::Value = serde_json::from_str(&js).expect("the JSON record parses");
    assert_eq!(v["schema"], "shipdeck.report/1");
    assert_eq!(v["run"], "20261122T090000Z-c3d4");
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["rollback"], true);
    assert_eq!(v["driver"], "carol@ops");
    assert_eq!(v["date"], "2026-11-22");
    assert_eq!(v["version"]["VERSION"], "2.4.0");
    assert_eq!(v["vars"]["DEPLOY_TOKEN"], "••••");
    assert_eq!(v["duration_ms"], 765_000);
    let steps = v["steps"].as_array().unwrap();
    let step = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap();
    assert_eq!(
        step("rollout")["title"],
        "Roll out web 2.4.0",
        "titles come from the checklist"
    );
    assert_eq!(step("rollout")["state"], "timed_out");
    assert_eq!(step("rollout")["actions"][1]["during_rollback"], true);
    assert_eq!(step("backup")["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(
        step("cdn-purge")["skipped"]["text"],
        "purged by hand from the CDN console"
    );
    assert_eq!(step("qa-signoff")["signoffs"][0]["by"], "dan@qa");
    assert_eq!(v["rollbacks"][1]["outcome"], "failed");
    assert_eq!(v["probes"][0]["slo_met"], false);
    assert!(v["issues"].as_array().unwrap().len() >= 5);

    // A run id prefix works as well as the path.
    let md = report(&["20261122T0900"]);
    no_secret(&md);
    for field in FIELDS {
        assert!(md.contains(field), "no {field:?} in:\n{md}");
    }
    assert!(md.contains("| Outcome | **failed** |"), "{md}");
    assert!(md.contains("| Rollback | yes |"), "{md}");
    assert!(md.contains("Tell the release bot (token ••••)"), "{md}");
}
