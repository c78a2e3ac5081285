//! `shipdeck history CHECKLIST`: per-step timing statistics over the past runs of a checklist,
//! read from the runs dir, and [`load_stats`] for the cockpit's expected durations and ETA.

use crate::cli::{Format, Global};
use crate::config::checklist::Checklist;
use crate::config::load::LoadOptions;
use crate::config::units::format_duration;
use crate::core::history::{StepStats, step_stats};
use crate::core::run::RunState;
use crate::headless::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::journal_io::read_journal;
use crate::paths;
use crate::session::load_any;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const SCHEMA: &str = "shipdeck.history/1";

/// Past runs of a checklist slug, oldest first: every journal but live runs (still being
/// written) and `exclude_run` (the run the cockpit is driving, when resumed).
pub fn past_runs(runs_dir: &Path, slug: &str, exclude_run: Option<&str>) -> (Vec<RunState>, usize) {
    let mut runs = Vec::new();
    let mut live = 0;
    for j in paths::all_journals(runs_dir, Some(slug)) {
        let Ok(read) = read_journal(&j) else { continue };
        let state = RunState::replay(&read.entries);
        let id = j.file_stem().map(|s| s.to_string_lossy().into_owned());
        if exclude_run.is_some_and(|x| id.as_deref() == Some(x) || state.run_id == x) {
            continue;
        }
        if state.finished.is_none() && crate::lock::holder(&j).is_some() {
            live += 1;
            continue;
        }
        runs.push(state);
    }
    (runs, live)
}

/// Step statistics of the past runs of the checklist named `checklist_name` (its `name:`, not
/// a path), leaving out live runs and `exclude_run`. Empty when there are none.
pub fn load_stats(
    runs_dir: &Path,
    checklist_name: &str,
    exclude_run: Option<&str>,
) -> BTreeMap<String, StepStats> {
    let slug = paths::checklist_slug(checklist_name);
    step_stats(&past_runs(runs_dir, &slug, exclude_run).0)
}

/// What the CHECKLIST argument names: a file, or the name of a checklist with recorded runs.
struct Target {
    name: String,
    slug: String,
    checklist: Option<Checklist>,
}

fn resolve(runs_dir: &Path, arg: &str) -> Result<Target, String> {
    let path = Path::new(arg);
    let opts = LoadOptions {
        overrides: vec![],
        require_env: false,
    };
    if path.is_file() {
        let loaded = load_any(path, &opts).map_err(|diags| {
            let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
            format!("{}\n{arg} is not a valid checklist", lines.join("\n"))
        })?;
        let name = loaded.checklist.name.clone();
        return Ok(Target {
            slug: paths::checklist_slug(&name),
            name,
            checklist: Some(loaded.checklist),
        });
    }
    let slug = paths::checklist_slug(arg);
    let journals = paths::all_journals(runs_dir, Some(&slug));
    if slug.is_empty() || !runs_dir.join(&slug).is_dir() {
        return Err(format!(
            "unknown checklist `{arg}`: no such file, and no runs of a checklist by that name in {} (see `shipdeck runs`)",
            runs_dir.display()
        ));
    }
    // By name: titles and order come from the file the newest run recorded, when still there.
    let recorded = journals.iter().rev().find_map(|j| {
        let read = read_journal(j).ok()?;
        RunState::replay(&read.entries).checklist
    });
    let checklist = recorded
        .as_ref()
        .and_then(|r| load_any(Path::new(&r.path), &opts).ok())
        .map(|l| l.checklist)
        .filter(|c| paths::checklist_slug(&c.name) == slug);
    let name = checklist
        .as_ref()
        .map(|c| c.name.clone())
        .or(recorded.map(|r| r.name))
        .unwrap_or_else(|| arg.to_string());
    Ok(Target {
        name,
        slug,
        checklist,
    })
}

/// One row of the table (and of the JSON `steps`).
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    title: Option<String>,
    runs: usize,
    median_ms: Option<u64>,
    p90_ms: Option<u64>,
    last_ms: Option<u64>,
    failed_runs: usize,
    failure_rate: f64,
    estimate_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Report {
    schema: &'static str,
    checklist: String,
    slug: String,
    runs: usize,
    steps: Vec<Row>,
}

/// Leaf steps in checklist order (steps that never ran too), then steps that ran in the past
/// but are no longer in the checklist, by id.
fn rows(checklist: Option<&Checklist>, stats: &BTreeMap<String, StepStats>) -> Vec<Row> {
    let row = |id: &str, title: Option<String>, estimate: Option<Duration>| {
        let s = stats.get(id).cloned().unwrap_or_default();
        Row {
            id: id.to_string(),
            title,
            runs: s.runs,
            median_ms: s.median_ms,
            p90_ms: s.p90_ms,
            last_ms: s.last_ms,
            failed_runs: s.failed_runs,
            failure_rate: s.failure_rate(),
            estimate_ms: estimate.map(|e| u64::try_from(e.as_millis()).unwrap_or(u64::MAX)),
        }
    };
    let mut out = Vec::new();
    if let Some(c) = checklist {
        for f in c.flat_steps() {
            if f.step.steps.is_empty() {
                out.push(row(&f.step.id, Some(f.step.title.clone()), f.step.estimate));
            }
        }
    }
    for id in stats.keys() {
        if !out.iter().any(|r| &r.id == id) {
            out.push(row(id, None, None));
        }
    }
    out
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "—".into(), |m| format_duration(Duration::from_millis(m)))
}

fn failures(r: &Row) -> String {
    if r.runs == 0 {
        return "—".into();
    }
    format!(
        "{}/{} ({:.0}%)",
        r.failed_runs,
        r.runs,
        r.failure_rate * 100.0
    )
}

/// Aligned text columns; the title (free length) comes last.
fn table(rows: &[Row]) -> String {
    let header = [
        "STEP", "RUNS", "MEDIAN", "P90", "LAST", "FAILURES", "ESTIMATE", "TITLE",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.runs.to_string(),
                ms(r.median_ms),
                ms(r.p90_ms),
                ms(r.last_ms),
                failures(r),
                ms(r.estimate_ms),
                r.title.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: Vec<&str>| -> String {
        let padded: Vec<String> = cols
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = w.saturating_sub(c.chars().count());
                // Numbers line up on the right, words on the left.
                if (1..=6).contains(&i) {
                    format!("{}{c}", " ".repeat(pad))
                } else {
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for c in &cells {
        out += &line(c.iter().map(String::as_str).collect());
    }
    out
}

pub fn print(global: &Global, checklist: &str, format: Format) -> i32 {
    let dir = paths::runs_dir(global.runs_dir.as_deref());
    let target = match resolve(&dir, checklist) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let (runs, live) = past_runs(&dir, &target.slug, None);
    if live > 0 {
        eprintln!(
            "shipdeck: left out {live} live run{} of `{}`",
            if live == 1 { "" } else { "s" },
            target.name
        );
    }
    if runs.is_empty() {
        eprintln!(
            "no past runs of `{}` in {} — run it first (`shipdeck run CHECKLIST`)",
            target.name,
            dir.display()
        );
        return EXIT_OK;
    }
    let stats = step_stats(&runs);
    let report = Report {
        schema: SCHEMA,
        checklist: target.name.clone(),
        slug: target.slug.clone(),
        runs: runs.len(),
        steps: rows(target.checklist.as_ref(), &stats),
    };
    match format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("shipdeck: {e}");
                return EXIT_FAILED;
            }
        },
        Format::Md => {
            let span = match (runs.first(), runs.last()) {
                (Some(a), Some(b)) if runs.len() > 1 => format!(" ({} … {})", a.run_id, b.run_id),
                (Some(a), _) => format!(" ({})", a.run_id),
                _ => String::new(),
            };
            println!(
                "{} — {} past run{}{span}\n",
                report.checklist,
                report.runs,
                if report.runs == 1 { "" } else { "s" }
            );
            print!("{}", table(&report.steps));
            println!(
                "\nmedian and p90 over successful attempts (failed ones for a step that never succeeded; manual steps from the step before to the tick); failures: runs with a failed, timed-out or aborted attempt"
            );
        }
    }
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(runs: usize, durations: &[u64], failed: usize) -> StepStats {
        StepStats {
            runs,
            durations_ms: durations.to_vec(),
            median_ms: crate::core::history::nearest_rank(durations, 50),
            p90_ms: crate::core::history::nearest_rank(durations, 90),
            last_ms: durations.last().copied(),
            failed_runs: failed,
        }
    }

    #[test]
    fn rows_follow_the_checklist_then_add_steps_it_lost() {
        let c = crate::config::load::load_checklist(
            "name: X\nphases:\n  - name: P\n    steps:\n      - { id: b, title: Bee, run: 'true', estimate: 2s }\n      - id: g\n        title: Group\n        steps:\n          - { id: a, title: Ay, run: 'true' }\n",
            "x.yaml",
            &LoadOptions::default(),
        )
        .unwrap();
        let mut s = BTreeMap::new();
        s.insert("a".to_string(), stats(3, &[1_000, 3_000, 2_000], 1));
        s.insert("old".to_string(), stats(1, &[], 1));
        let r = rows(Some(&c), &s);
        let ids: Vec<&str> = r.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "old"], "group rows are left out");
        assert_eq!((r[0].runs, r[0].estimate_ms), (0, Some(2_000)));
        assert_eq!(r[1].median_ms, Some(2_000));
        let text = table(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STEP  RUNS  MEDIAN"), "{text}");
        assert!(lines[1].starts_with("b        0       —"), "{text}");
        assert!(
            lines[2].contains("1/3 (33%)") && lines[2].ends_with("Ay"),
            "{text}"
        );
        assert!(lines[3].contains("1/1 (100%)"), "{text}");
        // RUNS is right-aligned under its header.
        assert_eq!(
            lines[0].find("RUNS").unwrap() + 3,
            lines[1].find('0').unwrap()
        );
    }
}
