//! The layout corpus and `--layout` resolution: every invalid fixture is rejected with exactly
//! the errors its header announces, every valid fixture and built-in loads, and names, files
//! and the fallback to the built-in default resolve as SPEC §5 says.
//!
//! An invalid fixture starts with comment lines, one per expected error:
//!
//! ```text
//! # expect: LINE:COL: substring of the message
//! # hint: substring of that error's hint        (optional, applies to the expect above)
//! ```

use shipdeck::config::diag::Diagnostic;
use shipdeck::config::layout::{
    Layout, PaneId, builtin, builtin_names, load_layout, looks_like_layout, resolve_layout,
};
use std::path::{Path, PathBuf};

const INVALID: &str = "tests/fixtures/layouts/invalid";
const VALID: &str = "tests/fixtures/layouts/valid";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

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

struct Expect {
    line: usize,
    col: usize,
    message: String,
    hint: Option<String>,
}

fn expectations(file: &str, text: &str) -> Vec<Expect> {
    let mut out: Vec<Expect> = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let mut parts = rest.splitn(3, ':');
            let mut num = || -> usize {
                parts.next().unwrap().trim().parse().unwrap_or_else(|_| {
                    panic!("{file}: bad expect line `{line}`");
                })
            };
            let (l, c) = (num(), num());
            let message = parts.next().unwrap_or("").trim().to_string();
            out.push(Expect {
                line: l,
                col: c,
                message,
                hint: None,
            });
        } else if let Some(hint) = line.strip_prefix("# hint: ") {
            let last = out
                .last_mut()
                .unwrap_or_else(|| panic!("{file}: hint before expect"));
            last.hint = Some(hint.trim().to_string());
        }
    }
    out
}

fn matches(e: &Expect, d: &Diagnostic) -> bool {
    (d.pos.line, d.pos.col) == (e.line, e.col)
        && d.message.contains(&e.message)
        && e.hint
            .as_ref()
            .is_none_or(|h| d.hint.as_deref().is_some_and(|dh| dh.contains(h)))
}

#[test]
fn invalid_layouts_report_exactly_the_expected_errors() {
    let files = yaml_files(INVALID);
    assert!(files.len() >= 8, "only {} invalid fixtures", files.len());
    for file in files {
        let text = read(&file);
        let expects = expectations(&file, &text);
        assert!(!expects.is_empty(), "{file}: no `# expect:` lines");
        let errs = match load_layout(&text, &file) {
            Ok(_) => panic!("{file}: loaded, but should fail"),
            Err(errs) => errs,
        };
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            errs.len(),
            expects.len(),
            "{file}: got\n{}",
            shown.join("\n")
        );
        let mut unmatched: Vec<&Diagnostic> = errs.iter().collect();
        for e in &expects {
            let found = unmatched.iter().position(|d| matches(e, d));
            let i = found.unwrap_or_else(|| {
                panic!(
                    "{file}: no error {}:{}: {} (hint {:?}); got\n{}",
                    e.line,
                    e.col,
                    e.message,
                    e.hint,
                    shown.join("\n")
                )
            });
            unmatched.remove(i);
        }
        for d in &errs {
            assert_eq!(d.file, file);
            assert!(d.hint.is_some(), "{file}: no hint for {d}");
        }
    }
}

#[test]
fn valid_layouts_and_builtins_load() {
    for file in yaml_files(VALID) {
        let text = read(&file);
        let layout = load_layout(&text, &file).unwrap_or_else(|errs| {
            let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
            panic!("{file}:\n{}", shown.join("\n"))
        });
        assert!(!layout.panes().is_empty(), "{file}");
        assert!(looks_like_layout(&text), "{file}");
    }
    for name in ["default", "compact", "pair", "wide"] {
        assert!(builtin_names().contains(&name));
        let layout = builtin(name).unwrap_or_else(|| panic!("built-in `{name}` does not load"));
        assert_eq!(layout.name, name);
        // The shipped files are the built-ins.
        let file = format!("layouts/{name}.yaml");
        assert_eq!(load_layout(&read(&file), &file).unwrap().root, layout.root);
    }
    assert!(builtin("nope").is_none());
}

#[test]
fn builtins_place_the_panes_they_promise() {
    use PaneId::*;
    let panes = |name: &str| {
        let mut p = builtin(name).unwrap().panes();
        p.sort();
        p
    };
    assert_eq!(panes("pair"), vec![Output, Details, Rollout, Probes]);
    assert!(
        builtin("pair").unwrap().large,
        "the pair layout asks for large type"
    );
    assert!(!builtin("default").unwrap().large);
    assert_eq!(panes("compact"), vec![Checklist, Output, Details]);
    assert_eq!(
        panes("default"),
        vec![Checklist, Output, Details, Rollout, Pods, Logs, Probes]
    );
    assert_eq!(panes("wide").len(), 9);
}

#[test]
fn checklists_do_not_look_like_layouts() {
    assert!(!looks_like_layout(&read("checklists/hello.yaml")));
    assert!(!looks_like_layout("split: [unclosed"));
    assert!(!looks_like_layout("- pane: logs\n"));
}

fn temp_with_layout(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("layouts")).unwrap();
    std::fs::write(
        dir.path().join("layouts").join(format!("{name}.yaml")),
        text,
    )
    .unwrap();
    dir
}

const MINE: &str = "name: mine\npane: logs\n";

fn name_of(r: Result<Layout, Vec<Diagnostic>>) -> String {
    match r {
        Ok(l) => l.name,
        Err(errs) => panic!("{errs:?}"),
    }
}

#[test]
fn resolve_by_name_searches_dirs_in_order_then_builtins() {
    let first = temp_with_layout("mine", MINE);
    let second = temp_with_layout("mine", "name: second\npane: output\n");
    let empty = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = vec![
        empty.path().into(),
        first.path().into(),
        second.path().into(),
    ];
    assert_eq!(name_of(resolve_layout(Some("mine"), &dirs)), "mine");
    // A built-in name not overridden on disk still resolves.
    assert_eq!(name_of(resolve_layout(Some("pair"), &dirs)), "pair");
    // A file in layouts/ overrides the built-in of the same name.
    let over = temp_with_layout("compact", "name: my compact\npane: checklist\n");
    assert_eq!(
        name_of(resolve_layout(Some("compact"), &[over.path().into()])),
        "my compact"
    );
}

#[test]
fn resolve_by_file_path() {
    let dir = temp_with_layout("mine", MINE);
    let path = dir.path().join("layouts/mine.yaml");
    assert_eq!(
        name_of(resolve_layout(Some(path.to_str().unwrap()), &[])),
        "mine"
    );
    // Errors in the file come back positioned in that file.
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "name: bad\npane: lgos\n").unwrap();
    let errs = resolve_layout(Some(bad.to_str().unwrap()), &[]).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, bad.display().to_string());
    assert_eq!((errs[0].pos.line, errs[0].pos.col), (2, 7));
    assert!(
        errs[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("did you mean `logs`?")
    );
    // A missing file is reported at 1:1 of that file.
    let missing = dir.path().join("nope.yaml");
    let errs = resolve_layout(Some(missing.to_str().unwrap()), &[]).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, missing.display().to_string());
    assert_eq!((errs[0].pos.line, errs[0].pos.col), (1, 1));
    assert!(
        errs[0].message.contains("cannot read the file"),
        "{}",
        errs[0]
    );
}

#[test]
fn resolve_unknown_name_lists_builtins_and_dirs() {
    let dir = temp_with_layout("mine", MINE);
    let errs = resolve_layout(Some("mnie"), &[dir.path().into()]).unwrap_err();
    assert_eq!(errs.len(), 1);
    let d = &errs[0];
    assert_eq!(d.file, "--layout");
    assert_eq!((d.pos.line, d.pos.col), (1, 1));
    assert_eq!(d.message, "unknown layout `mnie`");
    let hint = d.hint.as_deref().unwrap();
    assert!(hint.contains("did you mean `mine`?"), "{hint}");
    assert!(hint.contains("default, compact, pair, wide"), "{hint}");
    assert!(
        hint.contains(&dir.path().join("layouts").display().to_string()),
        "{hint}"
    );
}

#[test]
fn resolve_without_flag_prefers_a_layouts_dir_then_the_builtin_default() {
    let none = tempfile::tempdir().unwrap();
    let layout = resolve_layout(None, &[none.path().into()]).unwrap();
    assert_eq!(layout, builtin("default").unwrap());
    assert_eq!(
        resolve_layout(None, &[]).unwrap(),
        builtin("default").unwrap()
    );
    let mine = temp_with_layout("default", "name: team default\npane: output\n");
    let dirs: Vec<PathBuf> = vec![none.path().into(), mine.path().into()];
    assert_eq!(name_of(resolve_layout(None, &dirs)), "team default");
    // An invalid default on disk is an error, not a silent fallback.
    let broken = temp_with_layout("default", "name: x\nsplit: diagonal\nchildren: []\n");
    assert!(resolve_layout(None, &[broken.path().into()]).is_err());
}
