//! Markdown import against the five seed checklists and small edge-case fixtures.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml::Value;
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::config::markdown::{Import, Origin, import_markdown};

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seeds");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/markdown");

fn seeds() -> Vec<(PathBuf, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(SEEDS)
        .expect("seed directory ../shared/seeds")
        .map(|e| e.expect("seed entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("seed is UTF-8 text");
            (p, text)
        })
        .collect()
}

fn seed(prefix: &str) -> String {
    seeds()
        .into_iter()
        .find(|(p, _)| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .map(|(_, text)| text)
        .expect("seed present")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture present")
}

/// 1-based lines that start a task-list item, by a plain text scan independent of the parser.
fn checkbox_lines(text: &str) -> BTreeSet<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let t = line.trim_start();
            let t = t.strip_prefix(['-', '*', '+']).map_or(t, str::trim_start);
            t.starts_with("[ ]") || t.starts_with("[x]") || t.starts_with("[X]")
        })
        .map(|(i, _)| i + 1)
        .collect()
}

fn parse(import: &Import) -> Value {
    serde_yaml::from_str(&import.yaml).expect("emitted YAML parses")
}

fn seq(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default()
}

fn count_steps(steps: &[Value]) -> usize {
    steps
        .iter()
        .map(|s| 1 + count_steps(&seq(s, "steps")))
        .sum()
}

fn all_steps(steps: &[Value], out: &mut Vec<Value>) {
    for s in steps {
        out.push(s.clone());
        all_steps(&seq(s, "steps"), out);
    }
}

fn phase(doc: &Value, name: &str) -> Value {
    seq(doc, "phases")
        .into_iter()
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no phase named {name:?}"))
}

fn phase_ending(doc: &Value, suffix: &str) -> Value {
    seq(doc, "phases")
        .into_iter()
        .find(|p| p["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no phase ending with {suffix:?}"))
}

fn step(steps: &[Value], title: &str) -> Value {
    let mut flat = Vec::new();
    all_steps(steps, &mut flat);
    flat.into_iter()
        .find(|s| s["title"].as_str() == Some(title))
        .unwrap_or_else(|| panic!("no step titled {title:?}"))
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn every_seed_checkbox_is_exactly_one_step() {
    let seeds = seeds();
    let counts: Vec<usize> = seeds
        .iter()
        .map(|(_, text)| checkbox_lines(text).len())
        .collect();
    assert_eq!(counts, [71, 53, 108, 37, 186]);
    for (path, text) in &seeds {
        let import = import_markdown(text);
        let lines: Vec<usize> = import
            .steps
            .iter()
            .filter(|s| s.origin == Origin::Checkbox)
            .map(|s| s.line)
            .collect();
        let set: BTreeSet<usize> = lines.iter().copied().collect();
        assert_eq!(
            lines.len(),
            set.len(),
            "{}: a checkbox imported twice",
            path.display()
        );
        assert_eq!(set, checkbox_lines(text), "{}", path.display());
        assert_eq!(import.summary.checkbox_steps, set.len());
    }
}

#[test]
fn seed_yaml_parses_and_step_counts_agree() {
    for (path, text) in seeds() {
        let import = import_markdown(&text);
        let doc = parse(&import);
        let phases = seq(&doc, "phases");
        let in_yaml: usize = phases.iter().map(|p| count_steps(&seq(p, "steps"))).sum();
        assert_eq!(in_yaml, import.summary.steps, "{}", path.display());
        assert_eq!(in_yaml, import.steps.len(), "{}", path.display());
        assert_eq!(phases.len(), import.summary.phases);
        let s = import.summary;
        assert_eq!(s.checkbox_steps + s.numbered_steps + s.code_steps, s.steps);
        assert!(!import.yaml.contains("id:"), "ids are left to the loader");
        eprintln!(
            "{}: {}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            s
        );
    }
}

#[test]
fn imported_seeds_pass_checklist_validation() {
    for (path, text) in seeds() {
        let import = import_markdown(&text);
        if let Err(diags) = load_checklist(&import.yaml, "imported.yaml", &LoadOptions::default()) {
            let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
            panic!("{}:\n{}", path.display(), all.join("\n"));
        }
    }
}

#[test]
fn seed_001_numbered_deploy_steps_run_their_scripts() {
    let import = import_markdown(&seed("001_"));
    let doc = parse(&import);
    let execution = phase_ending(&doc, "› Deployment Execution");
    let steps = seq(&execution, "steps");
    let titles: Vec<&str> = steps.iter().map(|s| str_of(s, "title")).collect();
    assert_eq!(
        titles,
        [
            "Execute deploy script",
            "Monitor deployment",
            "Run health checks",
            "Execute smoke tests",
            "Verify SSL/CDN"
        ]
    );
    assert_eq!(
        str_of(&steps[0], "run"),
        "./deployment/production/deploy_production.sh"
    );
    assert_eq!(
        str_of(&steps[2], "run"),
        "python deployment/production/health_verify.py"
    );
    assert_eq!(
        str_of(&steps[3], "run"),
        "python deployment/production/smoke_tests.py"
    );
    assert!(flag(&steps[1], "manual"));
    assert_eq!(str_of(&steps[1], "notes"), "Watch logs and metrics");
    assert_eq!(import.summary.numbered_steps, 15);

    let rollback = phase_ending(&doc, "› Rollback Steps");
    let script = step(&seq(&rollback, "steps"), "Execute rollback script");
    assert!(
        flag(&script, "confirm"),
        "commands in a rollback phase ask first"
    );

    let contacts = phase_ending(&doc, "Emergency Contacts 📞");
    assert!(str_of(&contacts, "notes").contains("| DevOps Lead | [contact] | [backup] |"));
}

#[test]
fn seed_002_inline_commands_and_rollback_blocks() {
    let import = import_markdown(&seed("002_"));
    let doc = parse(&import);
    let db = phase(&doc, "Pre-Deployment › 3. Database");
    assert_eq!(
        str_of(&step(&seq(&db, "steps"), "Run migrations"), "run"),
        "alembic upgrade head"
    );
    let security = phase(&doc, "Pre-Deployment › 2. Security");
    assert_eq!(
        str_of(
            &step(&seq(&security, "steps"), "Generate new SECRET_KEY"),
            "run"
        ),
        "openssl rand -hex 32"
    );

    // A URL in backticks is something to open, not to run.
    let verification = phase(&doc, "Post-Deployment › 1. Verification");
    let docs = step(
        &seq(&verification, "steps"),
        "API documentation accessible: https://api.your-domain.com/docs",
    );
    assert!(flag(&docs, "manual"));
    let health = step(&seq(&verification, "steps"), "Health endpoints responding");
    assert!(
        str_of(&health, "notes").contains("- Backend: `curl https://api.your-domain.com/health`")
    );

    let compose = seq(
        &phase(
            &doc,
            "Deployment Steps › Option A: Docker Compose (Small Scale)",
        ),
        "steps",
    );
    assert_eq!(compose.len(), 1);
    assert_eq!(str_of(&compose[0], "title"), "Run: git pull origin main");
    assert!(
        str_of(&compose[0], "run").starts_with("# 1. Pull latest code\ngit pull origin main\n")
    );
    assert!(!flag(&compose[0], "confirm"));

    for name in [
        "Rollback Plan › Quick Rollback (Docker Compose)",
        "Rollback Plan › Quick Rollback (Kubernetes)",
        "Rollback Plan › Database Rollback",
    ] {
        let steps = seq(&phase(&doc, name), "steps");
        assert_eq!(steps.len(), 1, "{name}");
        assert!(flag(&steps[0], "confirm"), "{name}");
    }
    let kube = seq(
        &phase(
            &doc,
            "Deployment Steps › Option B: Kubernetes (Enterprise Scale)",
        ),
        "steps",
    );
    assert!(
        flag(&kube[0], "interactive"),
        "kubectl run -i --tty needs the terminal"
    );

    assert_eq!(
        str_of(&phase(&doc, "Rollback Plan"), "notes"),
        "If issues occur:"
    );
    let signoff = phase(&doc, "Sign-Off");
    assert!(str_of(&signoff, "notes").contains("**Deployed By**: _______________"));
}

#[test]
fn seed_004_blocks_interactive_templates_and_rollback() {
    let import = import_markdown(&seed("004_"));
    let doc = parse(&import);
    let migration = seq(&phase_ending(&doc, "Step 3: Database Migration"), "steps");
    assert!(str_of(&migration[0], "run").contains("psql -U taskflow_user -d taskflow\n"));
    assert!(flag(&migration[0], "interactive"));
    assert_eq!(
        phase_ending(&doc, "Step 3: Database Migration")["estimate"].as_str(),
        Some("15m")
    );

    let monitoring = seq(&phase_ending(&doc, "Step 6: Enable Monitoring"), "steps");
    assert!(
        flag(&monitoring[0], "interactive"),
        "port-forward and `# Open http://…`"
    );

    let backup = seq(
        &phase_ending(&doc, "Step 2: Pre-Deployment Backup"),
        "steps",
    );
    assert!(flag(&backup[0], "confirm"), "sudo asks first");

    let announcement = phase_ending(&doc, "Go-Live Announcement › Internal Communication");
    assert!(
        str_of(&announcement, "notes")
            .contains("Subject: TaskFlow Production Deployment - COMPLETE")
    );
    let mut flat = Vec::new();
    all_steps(&seq(&announcement, "steps"), &mut flat);
    assert!(
        flat.iter().all(|s| !str_of(s, "title").starts_with("Run:")),
        "a mail template is not a command"
    );
    assert_eq!(flat.len(), 4);

    let rollback = phase_ending(&doc, "Rollback Procedure › Rollback Steps");
    assert_eq!(rollback["estimate"].as_str(), Some("15m"));
    let block = &seq(&rollback, "steps")[0];
    assert!(str_of(block, "run").contains("kubectl rollout undo deployment/backend -n taskflow"));
    assert!(flag(block, "confirm"));

    let tests = seq(&phase_ending(&doc, "1. Code Quality & Testing"), "steps");
    assert_eq!(
        str_of(&step(&tests, "All unit tests passing"), "run"),
        "npm test"
    );
    assert_eq!(
        str_of(&step(&tests, "Frontend tests passing"), "run"),
        "cd app/frontend && npm test"
    );

    let record = phase_ending(&doc, "Deployment Record › Sign-Off");
    assert!(str_of(&record, "notes").contains("| **Tech Lead** | | | |"));
    assert!(
        doc["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("TaskFlow Production Deployment Checklist"))
    );
    assert!(str_of(&doc, "description").contains("**Version:** 1.0"));
}

#[test]
fn seed_000_bold_labels_become_titles_and_groups() {
    let import = import_markdown(&seed("000_"));
    let doc = parse(&import);
    let pre = seq(&phase(&doc, "Phase 1: Pre-Deployment"), "steps");
    let freeze = step(&pre, "Code Freeze");
    assert_eq!(
        str_of(&freeze, "notes"),
        "Announce and enforce code freeze for the release branch/tag."
    );
    assert!(flag(&freeze, "manual"));
    let testing = step(&pre, "Final Testing");
    assert_eq!(seq(&testing, "steps").len(), 4);
    assert!(
        testing.get("manual").is_none() && testing.get("run").is_none(),
        "a group is neither"
    );
    assert!(str_of(&doc, "description").contains("**Deployment Target:** Production Environment"));
    let depths: Vec<usize> = import.steps.iter().take(3).map(|s| s.depth).collect();
    assert_eq!(depths, [0, 0, 1]);
}

#[test]
fn edge_cases_fixture() {
    let text = fixture("edge_cases.md");
    let import = import_markdown(&text);
    let doc = parse(&import);
    assert_eq!(doc["name"].as_str(), Some("Edge case release"));
    assert_eq!(
        str_of(&doc, "description"),
        "Intro prose that mentions $${HOME} literally."
    );

    let names: Vec<String> = seq(&doc, "phases")
        .iter()
        .map(|p| str_of(p, "name").to_string())
        .collect();
    assert_eq!(
        names,
        ["Empty parent › Prepare", "Reference", "Release"],
        "empty headings are not phases"
    );

    let prepare = phase(&doc, "Empty parent › Prepare");
    assert_eq!(prepare["estimate"].as_str(), Some("45m"));
    let steps = seq(&prepare, "steps");
    assert_eq!(steps.len(), 4);
    let top = step(&steps, "Top level");
    let second = seq(&top, "steps");
    assert_eq!(second.len(), 2);
    assert_eq!(str_of(&second[1], "title"), "Second sibling, checked");
    let third = seq(&second[0], "steps");
    assert_eq!(str_of(&third[0], "title"), "Third level");
    assert_eq!(
        str_of(&third[0], "notes"),
        "- plain note under the third level"
    );
    assert!(flag(&third[0], "manual"));

    let copy = step(&steps, "Copy config");
    assert_eq!(str_of(&copy, "run"), "cp app.yaml $${HOME}/.app/");
    let api = step(&steps, "API docs reachable: https://api.example.com/docs");
    assert!(flag(&api, "manual"));
    step(&steps, "Plus bullet item");

    let reference = phase(&doc, "Reference");
    assert!(reference.get("steps").is_none());
    assert!(str_of(&reference, "notes").contains("| a1   | web  |"));

    let release = seq(&phase(&doc, "Release"), "steps");
    assert_eq!(str_of(&release[0], "title"), "Tag release");
    assert_eq!(str_of(&release[0], "run"), "make tag");
    assert_eq!(str_of(&release[1], "notes"), "- mention the on-call");
    assert_eq!(str_of(&release[2], "title"), "Wait (about an hour)");

    let checkbox: BTreeSet<usize> = import
        .steps
        .iter()
        .filter(|s| s.origin == Origin::Checkbox)
        .map(|s| s.line)
        .collect();
    assert_eq!(checkbox, checkbox_lines(&text));
    let depths: Vec<usize> = import.steps.iter().map(|s| s.depth).collect();
    assert_eq!(depths, [0, 1, 2, 1, 0, 0, 0, 0, 0, 0]);
    assert!(!import.yaml.contains("- ---"), "rules are decoration");
}

#[test]
fn commands_fixture() {
    let import = import_markdown(&fixture("commands.md"));
    let doc = parse(&import);
    let deploy = phase(&doc, "Deploy");
    assert_eq!(deploy["estimate"].as_str(), Some("1h"));
    let steps = seq(&deploy, "steps");
    let titles: Vec<&str> = steps.iter().map(|s| str_of(s, "title")).collect();
    assert_eq!(
        titles,
        [
            "Run: kubectl apply -f app.yaml",
            "Drain the old node",
            "Open a database shell",
            "Bundle uploaded"
        ]
    );
    assert_eq!(
        str_of(&steps[1], "run"),
        "kubectl drain node-1 --ignore-daemonsets\n"
    );
    assert_eq!(str_of(&steps[2], "run"), "psql -U app");
    assert!(flag(&steps[2], "interactive"));
    assert!(!flag(&steps[0], "confirm") && !flag(&steps[0], "interactive"));
    let notes = str_of(&deploy, "notes");
    assert!(
        notes.contains("```yaml\nreplicas: 3\n```"),
        "other languages are notes"
    );
    assert!(
        notes.contains("Hello team,\nthe release is out."),
        "prose blocks are notes"
    );
    assert!(notes.contains("- Frontend"));
    assert!(
        !notes.contains("Bundle uploaded"),
        "a nested task is a step, not a note"
    );

    let restore = seq(&phase(&doc, "Emergency restore"), "steps");
    assert_eq!(restore.len(), 2);
    assert!(restore.iter().all(|s| flag(s, "confirm")));
    assert_eq!(str_of(&restore[1], "run"), "redis-cli\n");
    assert!(flag(&restore[1], "interactive"));

    let code_lines: Vec<usize> = import
        .steps
        .iter()
        .filter(|s| s.origin == Origin::CodeBlock)
        .map(|s| s.line)
        .collect();
    assert_eq!(code_lines, [5, 31, 35], "the opening fence's line");
    let s = import.summary;
    assert_eq!((s.phases, s.steps, s.runnable, s.manual), (2, 6, 5, 1));
    assert_eq!(
        (s.checkbox_steps, s.numbered_steps, s.code_steps),
        (3, 0, 3)
    );
    assert_eq!(
        s.to_string(),
        "imported 2 phases, 6 steps (3 from checkboxes, 0 numbered, 3 code blocks): 5 runnable, 1 manual"
    );
}

#[test]
fn document_without_headings() {
    let import = import_markdown("Just prose.\n\n- [ ] one\n- [x] two\n");
    let doc = parse(&import);
    assert_eq!(doc["name"].as_str(), Some("Imported checklist"));
    assert_eq!(str_of(&doc, "description"), "Just prose.");
    let phases = seq(&doc, "phases");
    assert_eq!(phases.len(), 1);
    assert_eq!(seq(&phases[0], "steps").len(), 2);
}

/// A UTF-8 byte order mark before `# Title` was read as part of the first line: the heading
/// became prose and the checklist lost its title. The lines steps come from stay the file's.
#[test]
fn a_leading_byte_order_mark_keeps_the_title_and_the_lines() {
    let md = "# Web release\n\n## Deploy\n\n- [ ] roll out\n- [ ]\n";
    let plain = import_markdown(md);
    let bom = import_markdown(&format!("\u{feff}{md}"));
    assert_eq!(parse(&bom)["name"].as_str(), Some("Web release"));
    assert_eq!(bom.yaml, plain.yaml);
    assert_eq!(bom.steps, plain.steps);
    let lines: Vec<usize> = bom.steps.iter().map(|s| s.line).collect();
    assert_eq!(lines, [5, 6]);
    assert!(bom.yaml.contains("Untitled item (line 6)"), "{}", bom.yaml);
    // As `check` and `import` read a file.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("release.md");
    std::fs::write(&file, format!("\u{feff}{md}")).unwrap();
    let shipdeck = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
            .args(args)
            .arg(&file)
            .env("NO_COLOR", "1")
            .output()
            .expect("run shipdeck")
    };
    let check = shipdeck(&["check"]);
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        format!("{}: ok — Web release (1 phases, 2 steps)\n", file.display())
    );
    let import = shipdeck(&["import"]);
    assert!(import.status.success());
    assert_eq!(String::from_utf8_lossy(&import.stdout), plain.yaml);
}
