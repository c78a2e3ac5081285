//! The subcommands other than the cockpit: check, import, runs, report, completions, headless run.

use crate::cli::{Format, Global, RunArgs};
use crate::config::checklist::{Checklist, StepKind};
use crate::config::diag::Diagnostic;
use crate::config::load::{LoadOptions, load_checklist, read_source, source_text};
use crate::config::units::format_duration;
use crate::core::journal::Event;
use crate::core::report;
use crate::core::run::RunState;
use crate::headless::{self, EXIT_FAILED, EXIT_OK, EXIT_USAGE, HeadlessOpts};
use crate::journal_io::read_journal;
use crate::paths;
use crate::session::{Loaded, Session, is_markdown, load_any};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

pub fn print_diags(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// What `check` found in one input.
enum Checked {
    Checklist(Box<Checklist>),
    Layout(crate::config::layout::Layout),
}

fn check_one(
    name: &str,
    path: Option<&Path>,
    text: &str,
    opts: &LoadOptions,
) -> Result<Checked, Vec<Diagnostic>> {
    use crate::config::layout::{load_layout, looks_like_layout};
    if path.is_some_and(is_markdown) {
        let import = crate::config::markdown::import_markdown(text);
        return load_checklist(&import.yaml, &format!("{name} (imported)"), opts)
            .map(|c| Checked::Checklist(Box::new(c)));
    }
    if looks_like_layout(text) {
        return load_layout(text, name).map(Checked::Layout);
    }
    load_checklist(text, name, opts).map(|c| Checked::Checklist(Box::new(c)))
}

/// `check`: checklists (YAML or Markdown) and layouts; all errors of all files, exit 2 if any.
pub fn check(files: &[std::path::PathBuf], vars: &[(String, String)]) -> i32 {
    let opts = LoadOptions {
        overrides: vars.to_vec(),
        require_env: false,
    };
    let mut errors = 0;
    let mut stdin_read = false;
    for file in files {
        // Read as `run` reads a file (`read_source`): text that is not UTF-8 is an error.
        let (name, text) = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            if stdin_read {
                eprintln!("<stdin>: `-` is given twice; standard input can be read once");
                errors += 1;
                continue;
            }
            stdin_read = true;
            if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                eprintln!("<stdin>:1:1: cannot read: {e}");
                errors += 1;
                continue;
            }
            ("<stdin>".to_string(), source_text(bytes, "<stdin>"))
        } else {
            (file.display().to_string(), read_source(file))
        };
        let text = match text {
            Ok(text) => text,
            Err(d) => {
                print_diags(&[d]);
                errors += 1;
                continue;
            }
        };
        let path = (file.as_os_str() != "-").then_some(file.as_path());
        match check_one(&name, path, &text, &opts) {
            Ok(Checked::Checklist(c)) => {
                let steps = c.flat_steps().len();
                println!(
                    "{name}: ok — {} ({} phases, {steps} steps)",
                    c.name,
                    c.phases.len()
                );
            }
            Ok(Checked::Layout(l)) => {
                println!("{name}: ok — layout {} ({} panes)", l.name, l.panes().len())
            }
            Err(diags) => {
                print_diags(&diags);
                errors += diags.len();
            }
        }
    }
    if errors > 0 {
        eprintln!(
            "{errors} error{} found; nothing was run",
            if errors == 1 { "" } else { "s" }
        );
        EXIT_USAGE
    } else {
        EXIT_OK
    }
}

pub fn import(markdown: &Path, output: Option<&Path>) -> i32 {
    let text = match crate::config::load::read_source(markdown) {
        Ok(t) => t,
        Err(d) => {
            print_diags(&[d]);
            return EXIT_USAGE;
        }
    };
    let import = crate::config::markdown::import_markdown(&text);
    // The importer must produce a valid checklist; say so loudly if it ever does not.
    if let Err(diags) = load_checklist(&import.yaml, "<imported>", &LoadOptions::default()) {
        print_diags(&diags);
        eprintln!(
            "shipdeck: the import of {} is not a valid checklist (a bug in shipdeck)",
            markdown.display()
        );
        return EXIT_FAILED;
    }
    let written = match output {
        Some(out) => std::fs::write(out, &import.yaml)
            .map_err(|e| format!("cannot write {}: {e}", out.display())),
        None => {
            print!("{}", import.yaml);
            Ok(())
        }
    };
    if let Err(e) = written {
        eprintln!("shipdeck: {e}");
        return EXIT_FAILED;
    }
    eprintln!("{}: {}", markdown.display(), import.summary);
    EXIT_OK
}

pub fn runs(global: &Global, checklist: Option<&str>) -> i32 {
    let dir = paths::runs_dir(global.runs_dir.as_deref());
    let slug = checklist.map(|c| {
        let path = Path::new(c);
        match path
            .is_file()
            .then(|| load_any(path, &LoadOptions::default()).ok())
            .flatten()
        {
            Some(l) => paths::checklist_slug(&l.checklist.name),
            None => paths::checklist_slug(c),
        }
    });
    let journals = paths::all_journals(&dir, slug.as_deref());
    if journals.is_empty() {
        eprintln!("no runs in {}", dir.display());
        return EXIT_OK;
    }
    let mut rows = Vec::new();
    for j in journals {
        let Ok(read) = read_journal(&j) else { continue };
        let state = RunState::replay(&read.entries);
        let live = state.finished.is_none() && crate::lock::holder(&j).is_some();
        let outcome = match state.finished {
            Some((_, o)) => o.as_str().to_string(),
            None if live => "live".into(),
            None => "unfinished".into(),
        };
        let started = state
            .started
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let end = if live {
            chrono::Utc::now()
        } else {
            state.last_event.unwrap_or_else(chrono::Utc::now)
        };
        let duration = state
            .duration_ms(end)
            .map(|m| format_duration(Duration::from_millis(m)))
            .unwrap_or_default();
        let name = state
            .checklist
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        rows.push([state.run_id, name, started, duration, outcome]);
    }
    rows.sort_by(|a, b| b[0].cmp(&a[0]));
    let header = ["RUN", "CHECKLIST", "STARTED", "DURATION", "OUTCOME"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
                .min(40)
        })
        .collect();
    let print_row = |r: [&str; 5]| {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", truncate(c, *w), w = *w))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    };
    print_row(header);
    for r in &rows {
        print_row([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    EXIT_OK
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        s.chars().take(w.saturating_sub(1)).collect::<String>() + "…"
    }
}

pub fn report(global: &Global, run: &str, format: Format) -> i32 {
    let dir = paths::runs_dir(global.runs_dir.as_deref());
    let path = match paths::find_run(&dir, run) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let read = match read_journal(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("shipdeck: cannot read {}: {e}", path.display());
            return EXIT_FAILED;
        }
    };
    for w in &read.warnings {
        eprintln!("shipdeck: warning: {w}");
    }
    let state = RunState::replay(&read.entries);
    let checklist = recorded_checklist(&state);
    let live = state.finished.is_none() && crate::lock::holder(&path).is_some();
    let rep = report::build(checklist.as_ref(), &state, live, chrono::Utc::now());
    match format {
        Format::Json => match serde_json::to_string_pretty(&rep) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("shipdeck: {e}");
                return EXIT_FAILED;
            }
        },
        Format::Md => print!("{}", report::to_markdown(&rep)),
    }
    EXIT_OK
}

/// The checklist a run used, re-read from its recorded path (for titles, phases and estimates).
fn recorded_checklist(state: &RunState) -> Option<Checklist> {
    let rec = state.checklist.as_ref()?;
    let overrides = crate::session::recorded_overrides(state);
    let loaded = load_any(
        Path::new(&rec.path),
        &LoadOptions {
            overrides,
            require_env: false,
        },
    );
    match loaded {
        Ok(l) => {
            if l.sha256 != rec.sha256 {
                eprintln!(
                    "shipdeck: warning: {} changed since the run; titles and estimates are today's",
                    rec.path
                );
            }
            Some(l.checklist)
        }
        Err(_) => {
            eprintln!(
                "shipdeck: warning: {} is no longer readable; the record shows step ids only",
                rec.path
            );
            None
        }
    }
}

/// `run`: loads the checklist (errors before anything runs), then headless, dry-run or cockpit.
pub async fn run(global: &Global, args: &RunArgs) -> i32 {
    let opts = LoadOptions {
        overrides: args.vars.clone(),
        require_env: !args.dry_run,
    };
    let loaded = match load_any(&args.checklist, &opts) {
        Ok(l) => l,
        Err(diags) => {
            print_diags(&diags);
            eprintln!("nothing was run");
            return EXIT_USAGE;
        }
    };
    if let Some(summary) = &loaded.import_summary {
        eprintln!("{}: {summary}", args.checklist.display());
    }
    if args.dry_run {
        dry_run(&loaded.checklist);
        return EXIT_OK;
    }
    // Layout and keymap errors are reported before anything runs or the screen changes.
    let cockpit = if args.headless {
        None
    } else {
        match crate::cockpit::prepare(&loaded, args) {
            Ok(c) => Some(c),
            Err(diags) => {
                print_diags(&diags);
                eprintln!("nothing was run");
                return EXIT_USAGE;
            }
        }
    };
    let runs_dir = paths::runs_dir(global.runs_dir.as_deref());
    let (mode, layout) = match &cockpit {
        Some(c) => ("cockpit", Some(c.layout.name.as_str())),
        None => ("headless", None),
    };
    let kube = if needs_cluster(&loaded.checklist) {
        Some(crate::sources::kube_client::connect(&cluster_target(global, &loaded.checklist)).await)
    } else {
        None
    };
    let in_use = kube
        .as_ref()
        .and_then(|k| k.as_ref().ok())
        .map(|k| (k.context.clone(), k.namespace.clone(), k.kubeconfig.clone()));
    let mut session = match open_session(&loaded, &runs_dir, args, mode, layout, in_use) {
        Ok(s) => s,
        Err(e) => {
            // Not `eprintln!`: stderr may be a file on the very disk that is full.
            let _ = writeln!(std::io::stderr(), "shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let opts = HeadlessOpts {
        yes: args.yes,
        assume_manual_done: args.assume_manual_done,
        verbose: args.verbose,
        rerun_interrupted: args.rerun_interrupted,
        rollback_on_failure: args.rollback_on_failure,
        grace: Default::default(),
    };
    let kube = kube.unwrap_or_else(|| Err("this checklist has no `cluster:` section".into()));
    // Held until the run ends here: while it is, a second driver is refused.
    let lock = session.lock.take();
    let code = match cockpit {
        Some(c) => crate::cockpit::run(&loaded, session, c, kube).await,
        None => headless::run(&loaded, session, opts, kube).await,
    };
    drop(lock);
    code
}

/// Whether a run talks to a cluster: a `cluster:` section, or a step that acts or waits on one.
fn needs_cluster(c: &Checklist) -> bool {
    use crate::config::checklist::Rollback;
    c.cluster.is_some()
        || c.flat_steps()
            .iter()
            .any(|f| f.step.needs_cluster() || matches!(f.step.rollback, Some(Rollback::Action(_))))
}

/// kubectl's precedence: flags, then the checklist's `cluster:`, then the kubeconfig.
pub fn cluster_target(
    global: &Global,
    c: &Checklist,
) -> crate::sources::kube_client::ClusterTarget {
    let cluster = c.cluster.as_ref();
    crate::sources::kube_client::ClusterTarget {
        kubeconfig: global.kubeconfig.clone(),
        context: global
            .context
            .clone()
            .or_else(|| cluster.and_then(|c| c.context.clone())),
        namespace: global
            .namespace
            .clone()
            .or_else(|| cluster.and_then(|c| c.namespace.clone())),
    }
}

fn open_session(
    loaded: &Loaded,
    runs_dir: &Path,
    args: &RunArgs,
    mode: &str,
    layout: Option<&str>,
    in_use: Option<crate::session::InUse>,
) -> Result<Session, String> {
    let Some(resume) = &args.resume else {
        return Session::start(loaded, runs_dir, mode, layout, in_use).map_err(|e| {
            format!(
                "cannot start a run in {}: {e}\nnothing was run: a run that cannot be recorded does not start",
                runs_dir.display()
            )
        });
    };
    let journal = if resume.is_empty() {
        let slug = paths::checklist_slug(&loaded.checklist.name);
        paths::newest_unfinished(runs_dir, &slug).ok_or_else(|| {
            format!(
                "no unfinished run of `{}` in {} to resume (see `shipdeck runs`)",
                loaded.checklist.name,
                runs_dir.display()
            )
        })?
    } else {
        paths::find_run(runs_dir, resume)?
    };
    let read =
        read_journal(&journal).map_err(|e| format!("cannot read {}: {e}", journal.display()))?;
    if let Some(Event::RunFinished { outcome, .. }) = read.entries.last().map(|e| &e.event)
        && *outcome == crate::core::journal::RunOutcome::Succeeded
    {
        return Err(format!(
            "run {} already succeeded; start a new run instead of resuming it",
            journal.display()
        ));
    }
    Session::resume(loaded, &journal)
}

/// `--dry-run`: every step and what it would do; nothing runs and nothing is recorded.
fn dry_run(c: &Checklist) {
    println!("{} — dry run, nothing is executed", c.name);
    let flat = c.flat_steps();
    let mut phase = usize::MAX;
    for f in &flat {
        if f.phase != phase {
            phase = f.phase;
            println!("\n═ {}", c.phases[phase].name);
        }
        let s = f.step;
        let what = match &s.kind {
            StepKind::Run(cmd) => {
                let first = cmd
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .unwrap_or("");
                let more = cmd.lines().filter(|l| !l.trim().is_empty()).count() > 1;
                format!("run: {}{}", first.trim(), if more { " …" } else { "" })
            }
            StepKind::Action(a) => format!("action: {}", a.describe()),
            StepKind::Manual => "manual".into(),
            StepKind::Wait => String::new(),
            StepKind::Group => format!("group of {}", s.steps.len()),
        };
        let mut extra = Vec::new();
        if let Some(w) = &s.wait {
            extra.push(format!("wait: {}", w.describe()));
        }
        if s.confirm {
            extra.push("confirm".into());
        }
        if s.interactive {
            extra.push("interactive".into());
        }
        if s.signoff {
            extra.push("signoff".into());
        }
        if let Some(e) = s.estimate {
            extra.push(format!("est {}", format_duration(e)));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" [{}]", extra.join(", "))
        };
        println!(
            "{}- {}  {}  — {what}{extra}",
            "  ".repeat(f.depth + 1),
            s.id,
            s.title
        );
    }
    let runnable = flat
        .iter()
        .filter(|f| {
            matches!(
                f.step.kind,
                StepKind::Run(_) | StepKind::Action(_) | StepKind::Wait
            )
        })
        .count();
    println!(
        "\n{} phases, {} steps ({runnable} runnable)",
        c.phases.len(),
        flat.len()
    );
    let _ = is_markdown;
}
