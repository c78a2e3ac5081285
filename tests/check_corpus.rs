//! The `shipdeck check` corpus: every invalid fixture is rejected with exactly the errors its
//! header announces (position, message, hint), every valid fixture passes, through both the
//! real binary and the library.
//!
//! An invalid fixture starts with comment lines, one per expected error:
//!
//! ```text
//! # expect: LINE:COL: substring of the message
//! # hint: substring of that error's hint        (optional, applies to the expect above)
//! ```
//!
//! Only `*.yaml` files directly in `invalid/` are the corpus. `invalid/pending/` holds fixtures
//! for known loader bugs (each says what is wrong in `# bug:` lines); move one up into
//! `invalid/` once its bug is fixed.

use shipdeck::config::checklist::{
    ActionKind, Checklist, StatusExpect, StepKind, Target, WaitKind, WorkloadKind,
};
use shipdeck::config::load::{LoadOptions, load_checklist};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const INVALID: &str = "tests/fixtures/checklists/invalid";
const VALID: &str = "tests/fixtures/checklists/valid";

/// The exit code of `check` when any checklist has an error.
const EXIT_CHECKLIST_ERROR: i32 = 2;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `*.yaml` files directly in `dir` (relative to the crate), sorted, as relative paths.
fn yaml_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn shipdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run shipdeck")
}

fn shipdeck_stdin(args: &[&str], input: impl AsRef<[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shipdeck");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_ref())
        .unwrap();
    child.wait_with_output().expect("wait for shipdeck")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Expectations in fixture headers, and errors as reported

#[derive(Debug, Clone)]
struct Expected {
    line: usize,
    col: usize,
    message: String,
    hints: Vec<String>,
}

/// The `# expect:` / `# hint:` directives of the leading comment block.
fn expectations(file: &str, source: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for line in source.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let mut parts = rest.splitn(3, ':');
            let mut number = |what: &str| -> usize {
                parts
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or_else(|| panic!("{file}: bad {what} in `{line}`"))
            };
            let (line_no, col) = (number("LINE"), number("COL"));
            let message = parts
                .next()
                .and_then(|m| m.strip_prefix(' '))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| panic!("{file}: `{line}` is not `# expect: LINE:COL: text`"));
            out.push(Expected {
                line: line_no,
                col,
                message: message.to_string(),
                hints: Vec::new(),
            });
        } else if let Some(hint) = line.strip_prefix("# hint: ") {
            out.last_mut()
                .unwrap_or_else(|| panic!("{file}: `# hint:` before any `# expect:`"))
                .hints
                .push(hint.to_string());
        }
    }
    assert!(!out.is_empty(), "{file}: no `# expect:` line in its header");
    out
}

#[derive(Debug, Clone, PartialEq)]
struct Reported {
    file: String,
    line: usize,
    col: usize,
    message: String,
    hint: Option<String>,
}

/// `file:line:col: message`, with a file name that holds no `:`.
fn parse_error_line(line: &str) -> Option<Reported> {
    let mut parts = line.splitn(4, ':');
    let file = parts.next().filter(|f| !f.is_empty())?;
    let line_no = parts.next()?.parse().ok()?;
    let col = parts.next()?.parse().ok()?;
    let message = parts.next()?.strip_prefix(' ').filter(|m| !m.is_empty())?;
    Some(Reported {
        file: file.to_string(),
        line: line_no,
        col,
        message: message.to_string(),
        hint: None,
    })
}

/// `N error(s) found; nothing was run`
fn parse_summary(line: &str) -> Option<usize> {
    let (n, rest) = line.split_once(' ')?;
    matches!(
        rest,
        "error found; nothing was run" | "errors found; nothing was run"
    )
    .then(|| n.parse().ok())
    .flatten()
}

/// Splits `check`'s stderr into errors (each with its hint) and the closing count. Every line
/// must be an error in the `path:line:col: ` shape, its `  hint: ` line, or the count.
fn parse_stderr(stderr: &str) -> Result<(Vec<Reported>, Option<usize>), String> {
    let mut errors: Vec<Reported> = Vec::new();
    let mut summary = None;
    for line in stderr.lines() {
        if summary.is_some() {
            return Err(format!("a line after the error count: `{line}`"));
        }
        if let Some(hint) = line.strip_prefix("  hint: ") {
            let last = errors
                .last_mut()
                .ok_or_else(|| format!("a hint before any error: `{line}`"))?;
            if last.hint.is_some() {
                return Err(format!("two hints for one error: `{line}`"));
            }
            last.hint = Some(hint.to_string());
        } else if let Some(n) = parse_summary(line) {
            summary = Some(n);
        } else if let Some(e) = parse_error_line(line) {
            errors.push(e);
        } else {
            return Err(format!("not a `path:line:col: message` line: `{line}`"));
        }
    }
    Ok((errors, summary))
}

fn listing(reported: &[Reported]) -> String {
    reported
        .iter()
        .map(|r| {
            format!(
                "    {}:{}:{}: {}\n      hint: {}",
                r.file,
                r.line,
                r.col,
                r.message,
                r.hint.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every expectation matches its own reported error (same file and position, message and hints
/// containing the substrings), and nothing else was reported.
fn match_expectations(
    file: &str,
    expected: &[Expected],
    reported: &[Reported],
) -> Result<(), String> {
    let mine: Vec<&Reported> = reported.iter().filter(|r| r.file == file).collect();
    let mut used = vec![false; mine.len()];
    let mut problems = Vec::new();
    for e in expected {
        let found = mine.iter().enumerate().position(|(i, r)| {
            !used[i]
                && r.line == e.line
                && r.col == e.col
                && r.message.contains(&e.message)
                && e.hints
                    .iter()
                    .all(|h| r.hint.as_deref().is_some_and(|rh| rh.contains(h.as_str())))
        });
        match found {
            Some(i) => used[i] = true,
            None => problems.push(format!(
                "  missing {file}:{}:{}: …{}…{}",
                e.line,
                e.col,
                e.message,
                e.hints
                    .iter()
                    .map(|h| format!(" (hint: …{h}…)"))
                    .collect::<String>()
            )),
        }
    }
    if mine.len() != expected.len() {
        problems.push(format!(
            "  {} errors reported for {file}, {} expected",
            mine.len(),
            expected.len()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  reported:\n{}",
            problems.join("\n"),
            listing(reported)
        ))
    }
}

/// Runs `check` on the files and checks the whole output against their headers.
fn check_rejects(files: &[&str], extra_args: &[&str]) -> Result<(), String> {
    let mut args = vec!["check"];
    args.extend_from_slice(extra_args);
    args.extend_from_slice(files);
    let out = shipdeck(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let context = format!("`shipdeck {}`", args.join(" "));
    if out.status.code() != Some(EXIT_CHECKLIST_ERROR) {
        return Err(format!(
            "{context}: exit {:?}, expected {EXIT_CHECKLIST_ERROR}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status.code()
        ));
    }
    if stdout.contains("ok") {
        return Err(format!("{context}: stdout says ok:\n{stdout}"));
    }
    let (reported, summary) = parse_stderr(&stderr).map_err(|e| format!("{context}: {e}"))?;
    if let Some(bare) = reported.iter().find(|r| r.hint.is_none()) {
        return Err(format!("{context}: an error without a hint: {bare:?}"));
    }
    let mut total = 0;
    for file in files {
        let expected = expectations(file, &read(file));
        total += expected.len();
        match_expectations(file, &expected, &reported).map_err(|e| format!("{context}:\n{e}"))?;
    }
    if reported.len() != total {
        return Err(format!(
            "{context}: {} errors reported, {total} expected:\n{}",
            reported.len(),
            listing(&reported)
        ));
    }
    if summary != Some(total) {
        return Err(format!(
            "{context}: the closing count says {summary:?}, expected {total}"
        ));
    }
    Ok(())
}

fn library_errors(file: &str, source: &str, opts: &LoadOptions) -> Vec<Reported> {
    match load_checklist(source, file, opts) {
        Ok(c) => panic!("{file}: loaded as `{}`, expected errors", c.name),
        Err(diags) => diags
            .into_iter()
            .map(|d| Reported {
                file: d.file,
                line: d.pos.line,
                col: d.pos.col,
                message: d.message,
                hint: d.hint,
            })
            .collect(),
    }
}

fn load_valid(name: &str) -> Checklist {
    load_valid_with(name, &LoadOptions::default())
}

fn load_valid_with(name: &str, opts: &LoadOptions) -> Checklist {
    let file = format!("{VALID}/{name}");
    load_checklist(&read(&file), &file, opts).unwrap_or_else(|diags| {
        let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
        panic!("{file} should load:\n{}", all.join("\n"))
    })
}

// ---------------------------------------------------------------------------------------------
// The invalid corpus

#[test]
fn the_invalid_corpus_is_big_enough_and_well_formed() {
    let files = yaml_files(INVALID);
    assert!(
        files.len() >= 20,
        "only {} invalid fixtures: {files:?}",
        files.len()
    );
    for file in &files {
        let source = read(file);
        assert!(
            source.starts_with("# expect: "),
            "{file}: must start with `# expect:`"
        );
        let expected = expectations(file, &source);
        for e in &expected {
            let lines = source.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= lines && e.col >= 1,
                "{file}: {}:{} is outside the file",
                e.line,
                e.col
            );
        }
    }
    // Some fixtures hold several problems, to prove that all of them are reported at once.
    let multi = files
        .iter()
        .filter(|f| expectations(f, &read(f)).len() >= 3)
        .count();
    assert!(multi >= 2, "want at least two fixtures with 3+ errors");
}

#[test]
fn every_invalid_fixture_fails_check_with_exactly_its_expected_errors() {
    let failures: Vec<String> = yaml_files(INVALID)
        .iter()
        .filter_map(|file| check_rejects(&[file.as_str()], &[]).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixtures failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_invalid_fixture_fails_to_load_through_the_library_at_the_same_positions() {
    let mut failures = Vec::new();
    for file in yaml_files(INVALID) {
        let source = read(&file);
        let reported = library_errors(&file, &source, &LoadOptions::default());
        if let Err(e) = match_expectations(&file, &expectations(&file, &source), &reported) {
            failures.push(format!("{file}:\n{e}"));
        }
        if let Some(bare) = reported.iter().find(|r| r.hint.is_none()) {
            failures.push(format!("{file}: an error without a hint: {bare:?}"));
        }
        let mut sorted = reported.clone();
        sorted.sort_by_key(|r| (r.line, r.col));
        if sorted != reported {
            failures.push(format!(
                "{file}: errors are not in file order:\n{}",
                listing(&reported)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn several_invalid_files_are_all_reported_in_one_check() {
    let a = format!("{INVALID}/three_errors.yaml");
    let b = format!("{INVALID}/undefined_var.yaml");
    let c = format!("{INVALID}/yaml_syntax.yaml");
    check_rejects(&[&a, &b, &c], &[]).unwrap();
}

#[test]
fn a_valid_file_beside_an_invalid_one_is_ok_but_the_check_still_fails() {
    let good = format!("{VALID}/local_groups.yaml");
    let bad = format!("{INVALID}/bool_yes.yaml");
    let out = shipdeck(&["check", &good, &bad]);
    assert_eq!(out.status.code(), Some(EXIT_CHECKLIST_ERROR));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{good}: ok")), "stdout: {stdout}");
    let (reported, summary) = parse_stderr(&text(&out.stderr)).unwrap();
    let expected = expectations(&bad, &read(&bad));
    match_expectations(&bad, &expected, &reported).unwrap();
    assert_eq!(reported.len(), 1);
    assert_eq!(summary, Some(1));
}

#[test]
fn an_unreadable_file_is_an_error_with_a_position() {
    let missing = format!("{INVALID}/does-not-exist.yaml");
    let out = shipdeck(&["check", &missing]);
    assert_eq!(out.status.code(), Some(EXIT_CHECKLIST_ERROR));
    let (reported, summary) = parse_stderr(&text(&out.stderr)).unwrap();
    assert_eq!(reported.len(), 1, "{reported:?}");
    let r = &reported[0];
    assert_eq!((r.file.as_str(), r.line, r.col), (missing.as_str(), 1, 1));
    assert!(r.message.contains("cannot read"), "{r:?}");
    assert!(r.hint.is_some(), "{r:?}");
    assert_eq!(summary, Some(1));
}

/// `check` and `run` read a file the same way: a checklist that is not UTF-8 is rejected by
/// both, with the same error at its first bad byte (`check` once read it lossily and passed it).
#[test]
fn check_and_run_reject_a_file_that_is_not_utf8_at_its_first_bad_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("latin1.yaml");
    std::fs::write(
        &bad,
        b"name: a\nphases:\n  - name: caf\xe9\n    steps: [{title: t, run: 'true'}]\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let want = format!("{bad}:3:14: not UTF-8 text: byte 0xe9 here");
    let check = shipdeck(&["check", bad]);
    assert_eq!(
        check.status.code(),
        Some(EXIT_CHECKLIST_ERROR),
        "check passed a file that is not UTF-8: {}",
        text(&check.stdout)
    );
    let (reported, summary) = parse_stderr(&text(&check.stderr)).unwrap();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(text(&check.stderr).lines().next(), Some(want.as_str()));
    assert_eq!(reported[0].hint.as_deref(), Some("save the file as UTF-8"));
    assert_eq!(summary, Some(1));
    let runs = tmp.path().join("runs");
    let run = shipdeck(&[
        "--runs-dir",
        runs.to_str().unwrap(),
        "run",
        bad,
        "--headless",
    ]);
    assert_eq!(run.status.code(), Some(EXIT_CHECKLIST_ERROR));
    assert_eq!(text(&run.stderr).lines().next(), Some(want.as_str()));
    assert!(!runs.exists(), "nothing was run");
}

/// The same for a Markdown checklist, which both import in memory.
#[test]
fn check_rejects_markdown_that_is_not_utf8_at_its_first_bad_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("latin1.md");
    std::fs::write(&bad, b"# Release\n\n- [ ] one\n- [ ] d\xe9ploy\n").unwrap();
    let bad = bad.to_str().unwrap();
    let out = shipdeck(&["check", bad]);
    assert_eq!(
        out.status.code(),
        Some(EXIT_CHECKLIST_ERROR),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr).lines().next(),
        Some(format!("{bad}:4:8: not UTF-8 text: byte 0xe9 here").as_str())
    );
}

/// `run FILE.md` rejects it alike (its reading lives in `session::load_any`).
#[test]
fn run_rejects_markdown_that_is_not_utf8_as_check_does() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("latin1.md");
    std::fs::write(&bad, b"# Release\n\n- [ ] one\n- [ ] d\xe9ploy\n").unwrap();
    let bad = bad.to_str().unwrap();
    let check = shipdeck(&["check", bad]);
    let runs = tmp.path().join("runs");
    let run = shipdeck(&[
        "--runs-dir",
        runs.to_str().unwrap(),
        "run",
        bad,
        "--headless",
        "--assume-manual-done",
    ]);
    assert_eq!(run.status.code(), Some(EXIT_CHECKLIST_ERROR));
    assert_eq!(
        text(&run.stderr).lines().next(),
        text(&check.stderr).lines().next()
    );
    assert!(!runs.exists(), "nothing was run");
    // `import` reads it alike and writes nothing.
    let out = tmp.path().join("out.yaml");
    let import = shipdeck(&["import", bad, "-o", out.to_str().unwrap()]);
    assert_ne!(import.status.code(), Some(0));
    assert_eq!(
        text(&import.stderr).lines().next(),
        text(&check.stderr).lines().next()
    );
    assert!(!out.exists(), "nothing was written");
}

// ---------------------------------------------------------------------------------------------
// stdin

#[test]
fn check_reads_a_valid_checklist_from_stdin() {
    let out = shipdeck_stdin(&["check", "-"], read(&format!("{VALID}/full_release.yaml")));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ok"), "stdout: {stdout}");
    assert!(stdout.contains("Web release 2.0"), "stdout: {stdout}");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn check_reports_an_invalid_checklist_from_stdin_as_stdin() {
    let fixture = format!("{INVALID}/three_errors.yaml");
    let source = read(&fixture);
    let out = shipdeck_stdin(&["check", "-"], &source);
    assert_eq!(out.status.code(), Some(EXIT_CHECKLIST_ERROR));
    assert!(!text(&out.stdout).contains("ok"));
    let (reported, summary) = parse_stderr(&text(&out.stderr)).unwrap();
    let expected = expectations(&fixture, &source);
    match_expectations("<stdin>", &expected, &reported).unwrap();
    assert!(reported.iter().all(|r| r.file == "<stdin>"), "{reported:?}");
    assert_eq!(summary, Some(expected.len()));
}

/// Standard input that is not UTF-8 is reported where its first bad byte is, as a file is.
#[test]
fn check_reports_stdin_that_is_not_utf8_at_its_first_bad_byte() {
    let out = shipdeck_stdin(&["check", "-"], b"name: a\r\nphases: \xff\r\n");
    assert_eq!(out.status.code(), Some(EXIT_CHECKLIST_ERROR));
    let (reported, summary) = parse_stderr(&text(&out.stderr)).unwrap();
    assert_eq!(reported.len(), 1, "{reported:?}");
    let r = &reported[0];
    assert_eq!((r.file.as_str(), r.line, r.col), ("<stdin>", 2, 9), "{r:?}");
    assert_eq!(r.message, "not UTF-8 text: byte 0xff here");
    assert_eq!(summary, Some(1));
}

// ---------------------------------------------------------------------------------------------
// --var

#[test]
fn a_var_the_checklist_does_not_declare_is_an_error_with_a_suggestion() {
    let file = format!("{VALID}/full_release.yaml");
    let out = shipdeck(&["check", "--var", "VERSOIN=3.0", &file]);
    assert_eq!(out.status.code(), Some(EXIT_CHECKLIST_ERROR));
    assert!(!text(&out.stdout).contains("ok"));
    let (reported, summary) = parse_stderr(&text(&out.stderr)).unwrap();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(summary, Some(1));
    let r = &reported[0];
    assert_eq!(r.file, file);
    assert!(
        r.message.contains("--var VERSOIN") && r.message.contains("not a var"),
        "{r:?}"
    );
    assert!(
        r.hint
            .as_deref()
            .is_some_and(|h| h.contains("did you mean --var VERSION=")),
        "{r:?}"
    );
    // It points into the file's `vars:` block (its first entry).
    let vars_line = read(&file)
        .lines()
        .position(|l| l == "vars:")
        .expect("full_release.yaml has `vars:`")
        + 1;
    assert_eq!((r.line, r.col), (vars_line + 1, 3), "{r:?}");
}

#[test]
fn a_var_for_a_checklist_without_vars_says_so() {
    let source =
        "name: No vars\nphases:\n  - name: P\n    steps:\n      - title: T\n        run: echo\n";
    let opts = LoadOptions {
        overrides: vec![("VERSION".into(), "1".into())],
        require_env: false,
    };
    let errors = library_errors("novars.yaml", source, &opts);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("--var VERSION"), "{errors:?}");
    assert!(
        errors[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("declares no vars")),
        "{errors:?}"
    );
}

#[test]
fn a_declared_var_overrides_the_file() {
    let file = format!("{VALID}/full_release.yaml");
    let out = shipdeck(&["check", "--var", "VERSION=9.9", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Web release 9.9"));

    let opts = LoadOptions {
        overrides: vec![("VERSION".into(), "9.9".into())],
        require_env: false,
    };
    let c = load_valid_with("full_release.yaml", &opts);
    let step = c
        .step("roll-out-web-9-9")
        .expect("id derived from the new title");
    match &step.kind {
        StepKind::Action(a) => assert_eq!(
            a.kind,
            ActionKind::SetImage {
                container: Some("web".into()),
                image: "registry.example.com/shop/web:9.9".into()
            }
        ),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The valid corpus

#[test]
fn every_valid_fixture_passes_check() {
    let files = yaml_files(VALID);
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        let out = shipdeck(&["check", file]);
        assert_eq!(out.status.code(), Some(0), "{file}:\n{}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with(&format!("{file}: ok")),
            "{file}: {}",
            text(&out.stdout)
        );
        assert_eq!(text(&out.stderr), "", "{file}");
    }
    // All at once, too.
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = shipdeck(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), files.len());
}

#[test]
fn every_valid_fixture_has_unique_step_ids() {
    for file in yaml_files(VALID) {
        let c = load_checklist(&read(&file), &file, &LoadOptions::default()).unwrap();
        let ids: Vec<&str> = c.flat_steps().iter().map(|f| f.step.id.as_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{file}: {ids:?}");
        assert!(ids.iter().all(|id| !id.is_empty()), "{file}: {ids:?}");
    }
}

fn deployment(name: &str) -> Target {
    Target {
        kind: WorkloadKind::Deployment,
        name: name.into(),
    }
}

#[test]
fn full_release_vars_cluster_probes_and_rules() {
    let c = load_valid("full_release.yaml");
    assert_eq!(c.name, "Web release 2.0");
    assert!(c.description.as_deref().unwrap().contains("redacted"));

    let var = |name: &str| c.vars.iter().find(|v| v.name == name).unwrap();
    assert_eq!(var("VERSION").value.as_deref(), Some("2.0"));
    assert!(!var("VERSION").secret);
    assert_eq!(
        var("REGISTRY").value.as_deref(),
        Some("registry.example.com/shop")
    );
    assert_eq!(var("REPLICAS").value.as_deref(), Some("4"));

    // from_env with a default: the environment wins, else the default; a secret either way.
    let db = var("DB_PASSWORD");
    let db_value = std::env::var("SHIPDECK_CORPUS_DB_PASSWORD")
        .unwrap_or_else(|_| "not-the-real-one".to_string());
    assert_eq!(db.from_env.as_deref(), Some("SHIPDECK_CORPUS_DB_PASSWORD"));
    assert!(db.secret);
    assert_eq!(db.value.as_deref(), Some(db_value.as_str()));
    assert!(c.secrets().contains(&db_value));
    // from_env without a default: unknown while checking, and left unexpanded.
    let token = var("API_TOKEN");
    assert!(token.secret);
    assert_eq!(
        token.value,
        std::env::var("SHIPDECK_CORPUS_API_TOKEN_UNSET").ok()
    );

    let cluster = c.cluster.as_ref().unwrap();
    assert_eq!(cluster.context.as_deref(), Some("prod"));
    assert_eq!(cluster.namespace.as_deref(), Some("shop"));
    assert_eq!(
        cluster.watch,
        vec![
            deployment("web"),
            Target {
                kind: WorkloadKind::StatefulSet,
                name: "db".into()
            },
            Target {
                kind: WorkloadKind::DaemonSet,
                name: "agent".into()
            },
        ]
    );
    let logs = cluster.logs.as_ref().unwrap();
    assert_eq!(logs.selector, "app=web");
    assert_eq!(logs.container.as_deref(), Some("web"));
    assert_eq!(logs.since, Some(Duration::from_secs(300)));
    assert_eq!(logs.max_lines, Some(2000));

    assert_eq!(c.probes.len(), 3);
    let web = c.probe("web").unwrap();
    assert_eq!(web.url, "https://shop.example.com/health");
    assert_eq!(web.every, Duration::from_secs(2));
    assert_eq!(web.timeout, Duration::from_secs(1));
    assert_eq!(web.expect.status, StatusExpect::Code(200));
    assert_eq!(web.expect.body_contains.as_deref(), Some("ok"));
    assert_eq!(web.expect.headers, vec!["strict-transport-security"]);
    assert_eq!(web.expect.cert_days_min, 14);
    let slo = web.slo.as_ref().unwrap();
    assert_eq!(slo.window, Duration::from_secs(60));
    assert_eq!(
        (slo.p50_ms, slo.p95_ms, slo.p99_ms),
        (Some(120), Some(500), Some(900))
    );
    assert_eq!(slo.error_rate, Some(1.0));
    assert!(!web.insecure);

    let api = c.probe("api").unwrap();
    assert_eq!(api.method, "HEAD");
    let bearer = match &token.value {
        Some(t) => format!("Bearer {t}"),
        None => "Bearer ${API_TOKEN}".to_string(),
    };
    assert_eq!(
        api.request_headers,
        vec![
            ("Authorization".to_string(), bearer),
            ("X-Release".to_string(), "2.0".to_string()),
        ]
    );
    assert_eq!(api.expect.status, StatusExpect::Codes(vec![200, 204]));
    assert_eq!(api.expect.headers, vec!["x-request-id"]);
    assert_eq!(api.ca_file.as_deref(), Some("./ca.pem"));

    let staging = c.probe("staging").unwrap();
    assert!(staging.insecure);
    assert_eq!(staging.expect.status, StatusExpect::Class(2));

    let rules = &c.rollback_when;
    assert_eq!(rules.len(), 3);
    assert_eq!(
        (rules[0].probe.as_str(), rules[0].error_rate, rules[0].for_),
        ("web", Some(5.0), Duration::from_secs(30))
    );
    assert_eq!(
        (rules[1].p95_ms, rules[1].error_rate, rules[1].for_),
        (Some(1500), None, Duration::from_secs(60))
    );
    assert_eq!(
        (rules[2].probe.as_str(), rules[2].error_rate, rules[2].for_),
        ("api", Some(0.5), Duration::from_secs(90))
    );
}

#[test]
fn full_release_steps() {
    let c = load_valid("full_release.yaml");
    let ids: Vec<&str> = c.flat_steps().iter().map(|f| f.step.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tests",
            "database-backup",
            "qa-sign-off-received",
            "roll-out-web-2-0",
            "health-stays-green-for-30s",
            "run-migrations",
        ]
    );
    assert_eq!(c.phases[0].estimate, Some(Duration::from_secs(600)));

    let tests = c.step("tests").unwrap();
    assert_eq!(tests.kind, StepKind::Run("cargo test --quiet".into()));
    assert_eq!(tests.estimate, Some(Duration::from_secs(5 * 60)));
    assert_eq!(tests.timeout, Some(Duration::from_secs(20 * 60)));

    let backup = c.step("database-backup").unwrap();
    assert!(backup.confirm);
    assert_eq!(
        backup.rollback,
        Some(shipdeck::config::checklist::Rollback::Command(
            "./scripts/restore.sh --latest".into()
        ))
    );
    let db_value = std::env::var("SHIPDECK_CORPUS_DB_PASSWORD")
        .unwrap_or_else(|_| "not-the-real-one".to_string());
    assert_eq!(
        backup.kind,
        StepKind::Run(format!("PGPASSWORD=\"{db_value}\" ./scripts/backup.sh"))
    );

    let qa = c.step("qa-sign-off-received").unwrap();
    assert_eq!(qa.kind, StepKind::Manual);
    assert!(qa.signoff);

    let roll = c.step("roll-out-web-2-0").unwrap();
    assert_eq!(roll.title, "Roll out web 2.0");
    match &roll.kind {
        StepKind::Action(a) => {
            assert_eq!(a.target, deployment("web"));
            assert_eq!(
                a.kind,
                ActionKind::SetImage {
                    container: Some("web".into()),
                    image: "registry.example.com/shop/web:2.0".into()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    let wait = roll.wait.as_ref().unwrap();
    assert_eq!(wait.kind, WaitKind::Rollout(deployment("web")));
    assert_eq!(wait.timeout, Some(Duration::from_secs(300)));

    let green = c.step("health-stays-green-for-30s").unwrap();
    assert_eq!(green.kind, StepKind::Wait);
    let wait = green.wait.as_ref().unwrap();
    assert_eq!(
        wait.kind,
        WaitKind::Probe {
            name: "web".into(),
            healthy_for: Duration::from_secs(30)
        }
    );
    assert_eq!(wait.timeout, Some(Duration::from_secs(180)));

    let migrate = c.step("run-migrations").unwrap();
    assert!(migrate.interactive);
    assert_eq!(
        migrate.kind,
        StepKind::Run("kubectl exec -it deploy/web -n shop -- ./migrate".into())
    );
}

#[test]
fn full_release_needs_its_env_vars_for_a_run() {
    if std::env::var_os("SHIPDECK_CORPUS_API_TOKEN_UNSET").is_some() {
        return; // someone set it; the point of this test is an unset variable
    }
    let file = format!("{VALID}/full_release.yaml");
    let strict = LoadOptions {
        overrides: Vec::new(),
        require_env: true,
    };
    let errors = library_errors(&file, &read(&file), &strict);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("SHIPDECK_CORPUS_API_TOKEN_UNSET is not set"),
        "{errors:?}"
    );

    let given = LoadOptions {
        overrides: vec![("API_TOKEN".into(), "tok-123".into())],
        require_env: true,
    };
    let c = load_valid_with("full_release.yaml", &given);
    assert!(c.secrets().contains(&"tok-123".to_string()));
    assert_eq!(
        c.probe("api").unwrap().request_headers[0].1,
        "Bearer tok-123"
    );
}

#[test]
fn actions_and_waits_every_kind() {
    let c = load_valid("actions_and_waits.yaml");
    let sts = |n: &str| Target {
        kind: WorkloadKind::StatefulSet,
        name: n.into(),
    };
    let ds = |n: &str| Target {
        kind: WorkloadKind::DaemonSet,
        name: n.into(),
    };
    let actions: Vec<(&str, ActionKind, Target)> = c
        .flat_steps()
        .iter()
        .filter_map(|f| match &f.step.kind {
            StepKind::Action(a) => Some((f.step.id.as_str(), a.kind.clone(), a.target.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("pause", ActionKind::Pause, deployment("web")),
            (
                "image",
                ActionKind::SetImage {
                    container: None,
                    image: "registry/web:3.1.4".into()
                },
                deployment("web")
            ),
            ("resume", ActionKind::Resume, deployment("web")),
            ("restart-db", ActionKind::Restart, sts("db")),
            ("restart-agent", ActionKind::Restart, ds("agent")),
            (
                "scale",
                ActionKind::Scale { replicas: 6 },
                deployment("web")
            ),
            (
                "undo",
                ActionKind::Undo { to_revision: None },
                deployment("web")
            ),
            (
                "undo-to",
                ActionKind::Undo {
                    to_revision: Some(41)
                },
                deployment("web")
            ),
        ]
    );
    assert_eq!(c.step("pause").unwrap().title, "Pause the rollout of web");

    let waits: Vec<(&str, WaitKind, Option<Duration>)> = c
        .flat_steps()
        .iter()
        .filter_map(|f| {
            let w = f.step.wait.as_ref()?;
            Some((f.step.id.as_str(), w.kind.clone(), w.timeout))
        })
        .collect();
    let mins = |m: u64| Some(Duration::from_secs(m * 60));
    assert_eq!(
        waits,
        vec![
            ("resume", WaitKind::Rollout(deployment("web")), mins(10)),
            ("restart-db", WaitKind::Rollout(sts("db")), mins(15)),
            ("scale", WaitKind::PodsReady("app=web".into()), mins(2)),
            (
                "soak",
                WaitKind::Probe {
                    name: "checkout".into(),
                    healthy_for: Duration::from_secs(120)
                },
                mins(10)
            ),
            (
                "pods",
                WaitKind::PodsReady("app=web,tier=frontend".into()),
                None
            ),
        ]
    );
    assert_eq!(c.step("soak").unwrap().kind, StepKind::Wait);
    assert_eq!(c.step("pods").unwrap().kind, StepKind::Wait);

    assert_eq!(c.step("image").unwrap().gate, vec!["web", "checkout"]);
    assert_eq!(c.step("restart-agent").unwrap().gate, vec!["web"]);
    assert!(c.step("restart-db").unwrap().confirm);
    let undo = c.step("undo").unwrap();
    assert!(undo.confirm && undo.continue_on_error);
    assert!(c.step("undo-to").unwrap().signoff);
    assert!(c.phases[2].notes.as_deref().unwrap().contains("undo"));
    assert_eq!(c.cluster.as_ref().unwrap().watch, vec![deployment("web")]);
}

#[test]
fn local_groups_nesting_env_and_literal_dollar_braces() {
    let c = load_valid("local_groups.yaml");
    assert_eq!(c.phases.len(), 2);
    assert!(c.phases[0].steps.is_empty());
    assert!(c.phases[0].notes.as_deref().unwrap().contains("runbook"));
    assert_eq!(c.phases[1].estimate, Some(Duration::from_secs(120)));

    let tree: Vec<(&str, usize, Option<&str>)> = c
        .flat_steps()
        .iter()
        .map(|f| (f.step.id.as_str(), f.depth, f.parent))
        .collect();
    assert_eq!(
        tree,
        vec![
            ("prepare", 0, None),
            ("make-the-workspace", 1, Some("prepare")),
            ("write-the-settings", 1, Some("prepare")),
            ("nested-group", 1, Some("prepare")),
            ("bash-only", 2, Some("nested-group")),
            ("allowed-to-fail", 2, Some("nested-group")),
            ("prepare-2", 0, None),
            ("literal-not-a-var-in-a-title", 0, None),
        ]
    );
    let prepare = c.step("prepare").unwrap();
    assert_eq!(prepare.kind, StepKind::Group);
    assert!(prepare.notes.is_some());
    assert_eq!(c.step("nested-group").unwrap().kind, StepKind::Group);

    let settings = c.step("write-the-settings").unwrap();
    assert_eq!(
        settings.kind,
        StepKind::Run("echo \"greeting=$GREETING home=${HOME}\" > settings.txt".into())
    );
    assert_eq!(settings.cwd.as_deref(), Some("/tmp/shipdeck-corpus"));
    assert_eq!(
        settings.env,
        vec![
            ("GREETING".to_string(), "hello".to_string()),
            ("RUST_LOG".to_string(), "info".to_string()),
            ("_UNDERSCORE_OK".to_string(), "1".to_string()),
        ]
    );
    assert_eq!(c.step("bash-only").unwrap().shell.as_deref(), Some("bash"));
    assert!(c.step("allowed-to-fail").unwrap().continue_on_error);

    let literal = c.step("literal-not-a-var-in-a-title").unwrap();
    assert_eq!(literal.title, "Literal ${NOT_A_VAR} in a title");
    assert_eq!(literal.kind, StepKind::Run("echo '${ALSO_LITERAL}'".into()));
    assert_eq!(literal.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(literal.estimate, Some(Duration::from_millis(500)));
}
