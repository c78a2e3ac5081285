//! Serialises an imported checklist as SPEC §2 YAML, escaping `${` for the expander.

use serde::Serialize;

use super::convert::{Doc, Phase, Step};

#[derive(Serialize)]
struct ChecklistOut {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    phases: Vec<PhaseOut>,
}

#[derive(Serialize)]
struct PhaseOut {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepOut>,
}

#[derive(Serialize)]
struct StepOut {
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    manual: bool,
    #[serde(skip_serializing_if = "is_false")]
    interactive: bool,
    #[serde(skip_serializing_if = "is_false")]
    confirm: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepOut>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// shipdeck expands `${NAME}` in every checklist string; imported text means it literally.
/// Unicode line and paragraph separators and NEL become newlines: serde_yaml's emitter (YAML 1.1)
/// breaks lines at them, which the checklist parser (YAML 1.2) does not, and then misreads the
/// indentation of block scalars.
fn esc(s: &str) -> String {
    s.replace("${", "$${")
        .replace(['\u{2028}', '\u{2029}', '\u{85}'], "\n")
}

fn esc_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(esc)
}

fn phase(p: &Phase) -> PhaseOut {
    PhaseOut {
        name: esc(&p.name),
        estimate: p.estimate.clone(),
        notes: esc_opt(&p.notes),
        steps: p.steps.iter().map(step).collect(),
    }
}

fn step(s: &Step) -> StepOut {
    StepOut {
        title: esc(&s.title),
        run: esc_opt(&s.run),
        manual: s.manual,
        interactive: s.interactive,
        confirm: s.confirm,
        notes: esc_opt(&s.notes),
        steps: s.steps.iter().map(step).collect(),
    }
}

pub(super) fn emit(doc: &Doc) -> String {
    let out = ChecklistOut {
        name: esc(&doc.name),
        description: esc_opt(&doc.description),
        phases: doc.phases.iter().map(phase).collect(),
    };
    // Only strings, bools and sequences: serde_yaml has nothing here it could reject.
    serde_yaml::to_string(&out)
        .unwrap_or_else(|e| format!("# shipdeck import: cannot write YAML: {e}\n"))
}
