//! Every seed checklist in ../shared/seeds imports, checks and dry-runs through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn seeds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seeds at {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "five seed checklists");
    files
}

fn count_steps(v: &serde_yaml::Value) -> usize {
    v.get("steps")
        .and_then(|s| s.as_sequence())
        .map_or(0, |steps| steps.iter().map(|s| 1 + count_steps(s)).sum())
}

fn checkboxes(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix(['-', '*', '+']).map_or(t, str::trim_start);
            t.starts_with("[ ]") || t.starts_with("[x]") || t.starts_with("[X]")
        })
        .count()
}

#[test]
fn every_seed_imports_checks_and_dry_runs() {
    let bin = env!("CARGO_BIN_EXE_shipdeck");
    let tmp = tempfile::tempdir().unwrap();
    let expected = [71, 53, 108, 37, 186];
    for (seed, want) in seeds().iter().zip(expected) {
        let source = std::fs::read_to_string(seed).unwrap();
        assert_eq!(checkboxes(&source), want, "{}", seed.display());
        let out_file = tmp.path().join("x.yaml");
        let out = Command::new(bin)
            .arg("import")
            .arg(seed)
            .arg("-o")
            .arg(&out_file)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "import {}: {}",
            seed.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = String::from_utf8_lossy(&out.stderr);
        assert!(summary.contains("steps"), "summary on stderr: {summary}");

        let check = Command::new(bin)
            .arg("check")
            .arg(&out_file)
            .output()
            .unwrap();
        assert_eq!(
            check.status.code(),
            Some(0),
            "check of import of {}: {}",
            seed.display(),
            String::from_utf8_lossy(&check.stderr)
        );

        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        let total: usize = yaml["phases"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(count_steps)
            .sum();
        assert!(
            total >= want,
            "{}: {total} steps < {want} checkboxes",
            seed.display()
        );

        // A dry run of the Markdown itself lists every step and runs nothing.
        let dry = Command::new(bin)
            .args([
                "--runs-dir",
                tmp.path().join("runs").to_str().unwrap(),
                "run",
            ])
            .arg(seed)
            .args(["--headless", "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(dry.status.code(), Some(0), "dry run of {}", seed.display());
        let listing = String::from_utf8_lossy(&dry.stdout);
        let listed = listing
            .lines()
            .filter(|l| l.trim_start().starts_with("- "))
            .count();
        assert_eq!(
            listed,
            total,
            "dry run of {} lists every step:\n{listing}",
            seed.display()
        );
        assert!(listing.contains(&format!("{total} steps")), "{listing}");
        assert!(
            !tmp.path().join("runs").exists(),
            "a dry run records nothing"
        );
    }
}
