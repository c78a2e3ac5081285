//! Loads a checklist file: YAML -> typed [`Checklist`], with every problem reported at once.

use super::checklist::*;
use super::decode::Decoder;
use super::diag::{Diagnostic, Pos, suggest};
use super::yaml::{self, Node};
use std::collections::{BTreeMap, HashMap};

const TOP_FIELDS: &[&str] = &[
    "name",
    "description",
    "vars",
    "cluster",
    "probes",
    "rollback_when",
    "phases",
];
const PHASE_FIELDS: &[&str] = &["name", "estimate", "notes", "steps"];
const STEP_FIELDS: &[&str] = &[
    "id",
    "title",
    "run",
    "action",
    "manual",
    "wait",
    "confirm",
    "interactive",
    "timeout",
    "estimate",
    "rollback",
    "env",
    "cwd",
    "shell",
    "signoff",
    "continue_on_error",
    "gate",
    "notes",
    "steps",
];
const VAR_FIELDS: &[&str] = &["value", "from_env", "default", "secret"];

/// How variables get their values.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var KEY=VALUE`, applied over the file's values.
    pub overrides: Vec<(String, String)>,
    /// Read `from_env` vars from the environment, and fail when one is unset (true for runs;
    /// `check` leaves such values unknown so a checklist can be validated without its secrets).
    pub require_env: bool,
}

/// Parses and validates checklist YAML text. `file` names the source in diagnostics.
pub fn load_checklist(
    text: &str,
    file: &str,
    opts: &LoadOptions,
) -> Result<Checklist, Vec<Diagnostic>> {
    let mut dec = Decoder::new(file);
    // As the parser reads it: positions on the first line do not count a byte order mark.
    dec.source = text.strip_prefix('\u{feff}').unwrap_or(text).to_string();
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            dec.error(
                e.pos,
                format!("YAML syntax error: {}", e.message),
                "check indentation, quotes and brackets near here",
            );
            return Err(dec.diags.into_sorted());
        }
    };
    let checklist = decode_checklist(&mut dec, &root, opts);
    if dec.diags.is_empty() {
        Ok(checklist)
    } else {
        Err(dec.diags.into_sorted())
    }
}

fn decode_checklist(dec: &mut Decoder, root: &Node, opts: &LoadOptions) -> Checklist {
    let mut c = Checklist {
        name: String::new(),
        description: None,
        vars: Vec::new(),
        cluster: None,
        probes: Vec::new(),
        rollback_when: Vec::new(),
        phases: Vec::new(),
    };
    if root.as_map().is_none() {
        dec.error(
            root.pos,
            "a checklist must be a mapping with `name` and `phases`",
            "see checklists/hello.yaml for a small example",
        );
        return c;
    }
    // Vars first: every other string may refer to them.
    if let Some(vars) = root.get("vars") {
        c.vars = decode_vars(dec, vars, opts);
    }
    apply_overrides(dec, root, &mut c.vars, opts);
    // A var's value may use the vars defined above it.
    let var_nodes = root.get("vars").and_then(Node::as_map).unwrap_or(&[]);
    for var in &mut c.vars {
        let overridden = opts.overrides.iter().any(|(n, _)| *n == var.name);
        let node = var_nodes
            .iter()
            .find(|(k, _)| k.as_str() == Some(var.name.as_str()))
            .map(|(_, v)| v);
        let node = node.map(|n| n.get("value").or(n.get("default")).unwrap_or(n));
        if let (None, false, Some(value), Some(node)) =
            (&var.from_env, overridden, var.value.clone(), node)
        {
            var.value = Some(dec.expand(&value, node));
        }
        dec.vars.insert(var.name.clone(), var.value.clone());
    }
    dec.secrets = c.secrets();

    let mut phases_node = None;
    for (k, v) in dec.fields(root, "the checklist", TOP_FIELDS) {
        match k.as_str().unwrap_or("") {
            "name" => c.name = dec.shown(v, "name").unwrap_or_default(),
            "description" => c.description = dec.shown(v, "description"),
            "cluster" => c.cluster = Some(dec.cluster(v)),
            "probes" => {
                c.probes = seq(dec, v, "probes")
                    .iter()
                    .filter_map(|n| dec.probe(n))
                    .collect()
            }
            "rollback_when" => {
                c.rollback_when = seq(dec, v, "rollback_when")
                    .iter()
                    .filter_map(|n| dec.rollback_rule(n))
                    .collect()
            }
            "phases" => phases_node = Some(v),
            _ => {}
        }
    }
    match root.get("name") {
        None => dec.error(
            root.pos,
            "the checklist has no `name`",
            "add `name: Web release` at the top",
        ),
        Some(n) if c.name.trim().is_empty() && n.as_str().is_some() && !n.is_null() => dec.error(
            n.pos,
            "the checklist `name` is empty",
            "name the release, e.g. `name: Web release`",
        ),
        _ => {}
    }
    match phases_node {
        None => dec.error(
            root.pos,
            "the checklist has no `phases`",
            "add `phases:` with at least one phase of steps",
        ),
        Some(node) => {
            for p in seq(dec, node, "phases") {
                c.phases.push(decode_phase(dec, p));
            }
            if c.phases.is_empty() && (node.is_null() || node.as_seq().is_some()) {
                dec.error(
                    node.pos,
                    "`phases` is empty",
                    "add at least one phase with steps",
                );
            }
        }
    }
    assign_ids(dec, &mut c.phases);
    check_references(dec, &c);
    c
}

fn seq<'n>(dec: &mut Decoder, node: &'n Node, field: &str) -> Vec<&'n Node> {
    match node.as_seq() {
        Some(items) => items.iter().collect(),
        None if node.is_null() => Vec::new(),
        None => {
            dec.error(
                node.pos,
                format!("`{field}` must be a list, found {}", node.kind_name()),
                format!("write each item of `{field}` on a line starting with `- `"),
            );
            Vec::new()
        }
    }
}

fn decode_vars(dec: &mut Decoder, node: &Node, opts: &LoadOptions) -> Vec<Var> {
    let Some(entries) = node.as_map() else {
        dec.error(
            node.pos,
            "`vars` must be a mapping of NAME: value",
            "e.g. `vars: { VERSION: \"2.0\" }`",
        );
        return Vec::new();
    };
    let mut out: Vec<Var> = Vec::new();
    for (k, v) in entries {
        let Some(name) = k.as_str() else { continue };
        if let Some(first) = out.iter().find(|o| o.name == name) {
            dec.error(
                k.pos,
                format!("var `{name}` is defined twice"),
                format!("first defined at line {}; keep one", first.pos.line),
            );
            continue;
        }
        if !is_var_name(name) {
            dec.error(
                k.pos,
                format!("`{name}` is not a valid variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
            continue;
        }
        let mut var = Var {
            name: name.to_string(),
            value: None,
            from_env: None,
            secret: false,
            pos: k.pos,
        };
        if v.as_map().is_some() {
            let mut default = None;
            for (fk, fv) in dec.fields(v, &format!("var `{name}`"), VAR_FIELDS) {
                match fk.as_str().unwrap_or("") {
                    "value" => var.value = dec.raw_string(fv, "value"),
                    "from_env" => var.from_env = dec.raw_string(fv, "from_env"),
                    "default" => default = dec.raw_string(fv, "default"),
                    "secret" => var.secret = dec.boolean(fv, "secret"),
                    _ => {}
                }
            }
            if let Some(env) = &var.from_env {
                var.value = std::env::var(env).ok().or(default).or(var.value.take());
                if var.value.is_none()
                    && opts.require_env
                    && !opts.overrides.iter().any(|(n, _)| n == name)
                {
                    dec.error(
                        v.pos,
                        format!("var `{name}`: environment variable {env} is not set"),
                        format!("export {env}=… before the run, or pass --var {name}=…"),
                    );
                }
            } else if var.value.is_none() {
                var.value = default;
            }
        } else {
            var.value = dec.raw_string(v, name);
        }
        out.push(var);
    }
    out
}

fn apply_overrides(dec: &mut Decoder, root: &Node, vars: &mut [Var], opts: &LoadOptions) {
    for (name, value) in &opts.overrides {
        if let Some(var) = vars.iter_mut().find(|v| &v.name == name) {
            var.value = Some(value.clone());
            continue;
        }
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        let hint = match suggest(name, &names) {
            Some(s) => format!("did you mean --var {s}=…?"),
            None if names.is_empty() => "this checklist declares no vars".to_string(),
            None => format!("its vars are: {}", names.join(", ")),
        };
        let pos = root.get("vars").map(|n| n.pos).unwrap_or(root.pos);
        dec.error(
            pos,
            format!("--var {name}: not a var of this checklist"),
            hint,
        );
    }
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn decode_phase(dec: &mut Decoder, node: &Node) -> Phase {
    let mut phase = Phase {
        name: String::new(),
        estimate: None,
        notes: None,
        steps: Vec::new(),
        pos: node.pos,
    };
    for (k, v) in dec.fields(node, "phase", PHASE_FIELDS) {
        match k.as_str().unwrap_or("") {
            "name" => phase.name = dec.shown(v, "name").unwrap_or_default(),
            "estimate" => phase.estimate = dec.duration(v, "estimate"),
            "notes" => phase.notes = dec.shown(v, "notes"),
            "steps" => {
                phase.steps = seq(dec, v, "steps")
                    .into_iter()
                    .map(|s| decode_step(dec, s))
                    .collect()
            }
            _ => {}
        }
    }
    if node.as_map().is_some() {
        if phase.name.trim().is_empty() {
            dec.error(
                node.pos,
                "phase has no `name`",
                "e.g. `- name: Pre-deployment`",
            );
        }
        if phase.steps.is_empty() && phase.notes.is_none() {
            dec.error(
                node.pos,
                format!("phase `{}` is empty", phase.name),
                "give it `steps:` (or `notes:` for a reading-only section), or remove it",
            );
        }
    }
    phase
}

fn decode_step(dec: &mut Decoder, node: &Node) -> Step {
    let mut s = Step {
        id: String::new(),
        title: String::new(),
        kind: StepKind::Group,
        wait: None,
        confirm: false,
        interactive: false,
        timeout: None,
        estimate: None,
        rollback: None,
        env: Vec::new(),
        cwd: None,
        shell: None,
        signoff: false,
        continue_on_error: false,
        gate: Vec::new(),
        notes: None,
        steps: Vec::new(),
        pos: node.pos,
        id_pos: node.pos,
        gate_pos: Vec::new(),
    };
    let (mut run, mut action, mut manual) = (None, None, None);
    for (k, v) in dec.fields(node, "step", STEP_FIELDS) {
        match k.as_str().unwrap_or("") {
            "id" => {
                s.id_pos = v.pos;
                if let Some(id) = dec.string(v, "id") {
                    if !is_step_id(&id) {
                        dec.error(v.pos, format!("step id `{id}` is not usable"), "ids are letters, digits, `-`, `_` and `.`, not starting with `.` or `-`");
                    }
                    s.id = id;
                }
            }
            "title" => s.title = dec.shown(v, "title").unwrap_or_default(),
            "run" => run = dec.string(v, "run").map(|r| (r, k.pos)),
            "action" => action = Some((dec.action(v), k.pos)),
            "manual" => manual = dec.boolean(v, "manual").then_some(k.pos),
            "wait" => s.wait = dec.wait(v),
            "confirm" => s.confirm = dec.boolean(v, "confirm"),
            "interactive" => s.interactive = dec.boolean(v, "interactive"),
            "timeout" => {
                s.timeout = dec.duration(v, "timeout");
                if s.timeout.is_some_and(|t| t.is_zero()) {
                    dec.error(
                        v.pos,
                        "a `timeout` of zero would stop the step at once",
                        "give it time, e.g. `timeout: 10m`, or leave it out",
                    );
                }
            }
            "estimate" => s.estimate = dec.duration(v, "estimate"),
            "rollback" => {
                s.rollback = if v.as_map().is_some() {
                    dec.action(v).map(Rollback::Action)
                } else {
                    dec.string(v, "rollback").map(Rollback::Command)
                }
            }
            "env" => s.env = decode_env(dec, v),
            "cwd" => s.cwd = dec.string(v, "cwd"),
            "shell" => s.shell = dec.string(v, "shell"),
            "signoff" => s.signoff = dec.boolean(v, "signoff"),
            "continue_on_error" => s.continue_on_error = dec.boolean(v, "continue_on_error"),
            "gate" => {
                for (gk, gv) in dec.fields(v, "gate", &["probes"]) {
                    if gk.as_str() == Some("probes") {
                        let list = dec.string_list(gv, "probes");
                        if list.is_empty() {
                            dec.error(
                                gv.pos,
                                "the gate names no probes",
                                "e.g. `gate: { probes: [web] }`, or remove `gate`",
                            );
                        }
                        (s.gate, s.gate_pos) = list.into_iter().unzip();
                    }
                }
            }
            "notes" => s.notes = dec.shown(v, "notes"),
            "steps" => {
                s.steps = seq(dec, v, "steps")
                    .into_iter()
                    .map(|c| decode_step(dec, c))
                    .collect()
            }
            _ => {}
        }
    }
    if node.as_map().is_none() {
        return s;
    }
    match node.get("title") {
        None => dec.error(
            node.pos,
            "step has no `title`",
            "every step needs a `title:` that says what it does",
        ),
        Some(t) if t.as_str().is_some() && !t.is_null() && s.title.trim().is_empty() => dec.error(
            t.pos,
            "the step `title` is empty",
            "say what the step does, e.g. `title: Run migrations`",
        ),
        _ => {}
    }
    let given: Vec<(&str, Pos)> = [
        ("run", run.as_ref().map(|r| r.1)),
        ("action", action.as_ref().map(|a| a.1)),
        ("manual", manual),
    ]
    .into_iter()
    .filter_map(|(n, p)| Some((n, p?)))
    .collect();
    if given.len() > 1 {
        let names: Vec<&str> = given.iter().map(|g| g.0).collect();
        dec.error(
            given[1].1,
            format!("step `{}` has both {}", s.title, names.join(" and ")),
            "a step does one thing: split it into two steps",
        );
    }
    s.kind = match (run, action, manual) {
        (Some((cmd, _)), _, _) => StepKind::Run(cmd),
        (None, Some((Some(a), _)), _) => StepKind::Action(a),
        (None, Some((None, _)), _) => StepKind::Manual, // already reported
        (None, None, Some(_)) => StepKind::Manual,
        (None, None, None) if s.wait.is_some() => StepKind::Wait,
        (None, None, None) if !s.steps.is_empty() => StepKind::Group,
        (None, None, None) => {
            if node.get("wait").is_none() {
                dec.error(
                    node.pos,
                    format!("step `{}` has nothing to do", s.title),
                    "give it `run:`, `action:`, `manual: true`, a `wait:` or sub-`steps:`",
                );
            }
            StepKind::Manual
        }
    };
    if s.interactive && !matches!(s.kind, StepKind::Run(_)) {
        let at = node
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("interactive")));
        dec.error(
            at.map_or(node.pos, |(k, _)| k.pos),
            "`interactive` applies only to a `run` step",
            "remove `interactive: true`",
        );
    }
    s
}

fn decode_env(dec: &mut Decoder, node: &Node) -> Vec<(String, String)> {
    let Some(entries) = node.as_map() else {
        dec.error(
            node.pos,
            "`env` must be a mapping of NAME: value",
            "e.g. `env: { RUST_LOG: info }`",
        );
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in entries {
        let name = k.as_str().unwrap_or("");
        if out.iter().any(|(n, _)| n == name) {
            dec.error(
                k.pos,
                format!("env `{name}` is set twice"),
                "keep one of them",
            );
            continue;
        }
        if !is_var_name(name) {
            dec.error(
                k.pos,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`",
            );
        }
        if let Some(value) = dec.string(v, name) {
            out.push((name.to_string(), value));
        }
    }
    out
}

fn is_step_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with(['.', '-'])
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A title as an id: lowercase words joined by `-`, at most 48 characters.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word: String = word
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() && out.len() + 1 + word.len() > 48 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word[..word.len().min(48)]);
    }
    if out.is_empty() { "step".into() } else { out }
}

/// Reports duplicate explicit ids, then gives every other step a unique slug id.
fn assign_ids(dec: &mut Decoder, phases: &mut [Phase]) {
    let mut explicit: HashMap<String, Pos> = HashMap::new();
    visit(phases, &mut |s| {
        if s.id.is_empty() {
            return;
        }
        if let Some(first) = explicit.get(&s.id) {
            dec.error(
                s.id_pos,
                format!("duplicate step id `{}`", s.id),
                format!("first used at line {}; ids must be unique", first.line),
            );
        } else {
            explicit.insert(s.id.clone(), s.id_pos);
        }
    });
    let mut used: BTreeMap<String, ()> = explicit.keys().map(|k| (k.clone(), ())).collect();
    // The next suffix to try for each slug, so that many equal titles take linear time.
    let mut next: HashMap<String, usize> = HashMap::new();
    visit(phases, &mut |s| {
        if !s.id.is_empty() {
            return;
        }
        let base = slug(&s.title);
        let mut id = base.clone();
        let n = next.entry(base.clone()).or_insert(2);
        while used.contains_key(&id) {
            id = format!("{base}-{n}");
            *n += 1;
        }
        used.insert(id.clone(), ());
        s.id = id;
    });
}

fn visit(phases: &mut [Phase], f: &mut dyn FnMut(&mut Step)) {
    fn rec(steps: &mut [Step], f: &mut dyn FnMut(&mut Step)) {
        for s in steps {
            f(s);
            rec(&mut s.steps, f);
        }
    }
    for p in phases {
        rec(&mut p.steps, f);
    }
}

fn check_references(dec: &mut Decoder, c: &Checklist) {
    let names: Vec<&str> = c.probes.iter().map(|p| p.name.as_str()).collect();
    for (i, p) in c.probes.iter().enumerate() {
        if names[..i].contains(&p.name.as_str()) && !p.name.is_empty() {
            dec.error(
                p.name_pos,
                format!("duplicate probe name `{}`", p.name),
                "probe names must be unique",
            );
        }
    }
    let unknown = |dec: &mut Decoder, name: &str, pos: Pos, what: &str| {
        if names.contains(&name) || name.contains("${") {
            return;
        }
        let hint = match suggest(name, &names) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => "this checklist defines no `probes:`".into(),
            None => format!("defined probes: {}", names.join(", ")),
        };
        dec.error(pos, format!("unknown probe `{name}` in {what}"), hint);
    };
    for r in &c.rollback_when {
        unknown(dec, &r.probe, r.probe_pos, "rollback_when");
    }
    for f in c.flat_steps() {
        if let Some(Wait {
            kind: WaitKind::Probe { name, .. },
            pos,
            ..
        }) = &f.step.wait
        {
            unknown(
                dec,
                name,
                *pos,
                &format!("the wait of step `{}`", f.step.id),
            );
        }
        for (g, pos) in f.step.gate.iter().zip(&f.step.gate_pos) {
            unknown(dec, g, *pos, &format!("the gate of step `{}`", f.step.id));
        }
    }
}

/// Reads and loads a checklist file; an unreadable file is reported like any other error.
pub fn load_file(
    path: &std::path::Path,
    opts: &LoadOptions,
) -> Result<(Checklist, String), Vec<Diagnostic>> {
    let text = read_source(path).map_err(|d| vec![d])?;
    load_checklist(&text, &path.display().to_string(), opts).map(|c| (c, text))
}

/// Reads a checklist, layout or keymap file, as `check` and `run` both do. An unreadable file is
/// reported at 1:1, one that is not UTF-8 text where its first bad byte is.
pub fn read_source(path: &std::path::Path) -> Result<String, Diagnostic> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Diagnostic {
        file: file.clone(),
        pos: Pos::new(1, 1),
        message: format!("cannot read the file: {e}"),
        hint: Some("check the path and its permissions".into()),
    })?;
    source_text(bytes, &file)
}

/// The text of a source read as bytes (a file, standard input); `file` names it in the error.
/// Text that is not UTF-8 is an error at its first bad byte, not read lossily.
pub fn source_text(bytes: Vec<u8>, file: &str) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|e| {
        let (bytes, valid) = (e.as_bytes(), e.utf8_error().valid_up_to());
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        // Columns as the parsers count them: a byte order mark is not one.
        let before = before.strip_prefix('\u{feff}').unwrap_or(before);
        Diagnostic {
            file: file.to_string(),
            pos: yaml::end_pos(before),
            message: format!("not UTF-8 text: byte 0x{:02x} here", bytes[valid]),
            hint: Some("save the file as UTF-8".into()),
        }
    })
}
