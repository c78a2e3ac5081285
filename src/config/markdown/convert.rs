//! Walks the block tree into phases and steps by SPEC §3's import rules.

use std::ops::Range;

use super::Origin;
use super::inline::{plain, split_estimate, split_item};
use super::shell;
use super::tree::{Kind, Lines, Node};

const DEFAULT_NAME: &str = "Imported checklist";
const PATH_SEPARATOR: &str = " › ";
/// Sub-step levels kept: task items nested deeper are all sub-steps of their ancestor on the last
/// level, in document order. Keeps the YAML within the nesting a checklist may have
/// (`yaml::MAX_DEPTH`) and the import within its stack, however deep the Markdown nests.
const MAX_STEP_DEPTH: usize = 32;

pub(super) struct Doc {
    pub name: String,
    pub description: Option<String>,
    pub phases: Vec<Phase>,
}

pub(super) struct Phase {
    pub name: String,
    pub estimate: Option<String>,
    pub notes: Option<String>,
    pub steps: Vec<Step>,
}

pub(super) struct Step {
    pub title: String,
    pub run: Option<String>,
    pub manual: bool,
    pub interactive: bool,
    pub confirm: bool,
    pub notes: Option<String>,
    pub steps: Vec<Step>,
    pub origin: Origin,
    /// 1-based source line.
    pub line: usize,
}

pub(super) fn convert(src: &str, roots: &[Node]) -> Doc {
    let title = roots.iter().position(|n| n.kind == Kind::Heading(1));
    let name = title
        .map(|i| plain(&roots[i].segs))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| DEFAULT_NAME.to_string());
    let mut c = Converter {
        src,
        lines: Lines::new(src),
        name,
        description: Vec::new(),
        headings: Vec::new(),
        section: Section::default(),
        carried: Vec::new(),
        phases: Vec::new(),
    };
    for (i, node) in roots.iter().enumerate() {
        if Some(i) == title {
            c.flush();
            c.headings.clear();
            c.section = Section::default();
        } else {
            c.block(node);
        }
    }
    c.flush();
    let description = join(c.description);
    Doc {
        name: c.name,
        description,
        phases: c.phases,
    }
}

/// The text between two headings. `name: None` is the part before the first phase.
#[derive(Default)]
struct Section {
    name: Option<String>,
    estimate: Option<String>,
    notes: Vec<String>,
    steps: Vec<Step>,
}

struct Converter<'a> {
    src: &'a str,
    lines: Lines<'a>,
    name: String,
    description: Vec<String>,
    headings: Vec<(u8, String)>,
    section: Section,
    /// Estimates of headings that only group subheadings: (heading path, note).
    carried: Vec<(String, String)>,
    phases: Vec<Phase>,
}

/// What a step carries while its item is read.
struct Draft<'n> {
    /// Of the step being read: 0 for a phase's own steps.
    depth: usize,
    notes: Vec<String>,
    steps: Vec<Step>,
    /// Task items below the last level kept, read by `item_step` without recursing.
    deeper: Vec<&'n Node>,
    /// Command blocks under the item: (lang, content, source range).
    code: Vec<(String, String, Range<usize>)>,
}

impl Converter<'_> {
    fn block(&mut self, node: &Node) {
        match &node.kind {
            Kind::Heading(level) => self.heading(*level, node),
            Kind::Rule => {}
            Kind::List { ordered } => self.list(node, *ordered),
            Kind::Code { lang } => match self.code_step(node, lang) {
                Some(step) => self.section.steps.push(step),
                None => self.note(node),
            },
            Kind::Paragraph | Kind::Item | Kind::Other => self.note(node),
        }
    }

    /// A block quote may still hold task items; they become steps, the rest stays a note.
    fn note(&mut self, node: &Node) {
        let mut taken = Vec::new();
        for task in nested_tasks(node) {
            let step = self.item_step(task, Origin::Checkbox, 0);
            self.section.steps.push(step);
            taken.push(task.range.clone());
        }
        if let Some(text) = self.verbatim(&node.range, &taken) {
            self.section.notes.push(text);
        }
    }

    fn heading(&mut self, level: u8, node: &Node) {
        self.flush();
        let (name, estimate) = split_estimate(&plain(&node.segs));
        while self.headings.last().is_some_and(|(l, _)| *l >= level) {
            self.headings.pop();
        }
        self.headings.push((level, name));
        let path: Vec<&str> = self
            .headings
            .iter()
            .map(|(_, n)| n.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        let path = match path.join(PATH_SEPARATOR) {
            p if p.is_empty() => "Untitled section".to_string(),
            p => p,
        };
        self.carried
            .retain(|(parent, _)| path.starts_with(&format!("{parent}{PATH_SEPARATOR}")));
        self.section = Section {
            name: Some(path),
            estimate,
            notes: Vec::new(),
            steps: Vec::new(),
        };
    }

    fn flush(&mut self) {
        let section = std::mem::take(&mut self.section);
        let Some(name) = section.name else {
            self.description.extend(section.notes);
            if !section.steps.is_empty() {
                self.phases.push(Phase {
                    name: self.name.clone(),
                    estimate: None,
                    notes: None,
                    steps: section.steps,
                });
            }
            return;
        };
        if section.steps.is_empty() && section.notes.is_empty() {
            // Not a phase of its own, but its planned duration is still worth reading.
            if let Some(estimate) = section.estimate {
                let own = self
                    .headings
                    .last()
                    .map_or(name.as_str(), |(_, n)| n.as_str());
                let note = format!("Estimate for the whole \"{own}\" section: {estimate}");
                self.carried.push((name.clone(), note));
            }
            return;
        }
        let mut notes: Vec<String> = Vec::new();
        self.carried.retain(|(parent, note)| {
            let inherited = name.starts_with(&format!("{parent}{PATH_SEPARATOR}"));
            if inherited {
                notes.push(note.clone());
            }
            !inherited
        });
        notes.extend(section.notes);
        self.phases.push(Phase {
            name,
            estimate: section.estimate,
            notes: join(notes),
            steps: section.steps,
        });
    }

    fn risky_phase(&self) -> bool {
        self.section
            .name
            .as_deref()
            .is_some_and(shell::is_risky_phase)
    }

    /// Task items and numbered items are steps; plain bullets are notes, but any task
    /// items nested in them are still steps.
    fn list(&mut self, list: &Node, ordered: bool) {
        let mut taken = Vec::new();
        for item in &list.children {
            if item.task.is_some() {
                let step = self.item_step(item, Origin::Checkbox, 0);
                self.section.steps.push(step);
                taken.push(item.range.clone());
            } else if ordered {
                let step = self.item_step(item, Origin::Numbered, 0);
                self.section.steps.push(step);
                taken.push(item.range.clone());
            } else {
                for task in nested_tasks(item) {
                    let step = self.item_step(task, Origin::Checkbox, 0);
                    self.section.steps.push(step);
                    taken.push(task.range.clone());
                }
            }
        }
        if let Some(text) = self.verbatim(&list.range, &taken) {
            self.section.notes.push(text);
        }
    }

    fn item_step(&self, item: &Node, origin: Origin, depth: usize) -> Step {
        let (mut step, deeper) = self.read_item(item, origin, depth);
        // Pre-order, with a stack of its own: these may nest as deep as the input does.
        let mut pending: Vec<&Node> = deeper.into_iter().rev().collect();
        while let Some(task) = pending.pop() {
            let (sub, deeper) = self.read_item(task, Origin::Checkbox, depth + 1);
            pending.extend(deeper.into_iter().rev());
            step.steps.push(sub);
        }
        step
    }

    /// An item as a step, with the task items nested in it too deep to be read here.
    fn read_item<'n>(&self, item: &'n Node, origin: Origin, depth: usize) -> (Step, Vec<&'n Node>) {
        let line = self.lines.line_of(item.range.start) + 1;
        let title_para = if item.segs.is_empty() {
            item.children.first().filter(|c| c.kind == Kind::Paragraph)
        } else {
            None
        };
        let segs = title_para.map_or(&item.segs, |p| &p.segs);
        let text = split_item(segs, self.src);
        let mut draft = Draft {
            depth,
            notes: text.notes.into_iter().collect(),
            steps: Vec::new(),
            deeper: Vec::new(),
            code: Vec::new(),
        };
        let rest = if title_para.is_some() {
            &item.children[1..]
        } else {
            &item.children[..]
        };
        for child in rest {
            self.item_child(child, &mut draft);
        }
        // Items deeper than the last level kept are sub-steps of the item on that level only.
        let group = !draft.steps.is_empty() || (depth < MAX_STEP_DEPTH && !draft.deeper.is_empty());
        let mut run = text.run;
        let mut interactive = false;
        // A lone command block under a leaf item is how that item gets done.
        if run.is_none()
            && !group
            && draft.code.len() == 1
            && let Some((lang, block, _)) = draft.code.pop()
        {
            interactive = shell::is_interactive(&block);
            run = Some(shell::runnable(&lang, &block));
        }
        for (_, _, range) in draft.code.drain(..) {
            draft.notes.extend(self.verbatim(&range, &[]));
        }
        if group && let Some(cmd) = run.take() {
            // A group runs nothing itself; the command stays readable in its notes.
            draft.notes.insert(0, format!("Command: `{cmd}`"));
        }
        if let Some(cmd) = &run {
            interactive |= shell::is_interactive(cmd);
        }
        let confirm = run
            .as_deref()
            .is_some_and(|cmd| self.risky_phase() || shell::is_risky_command(cmd));
        // "Verify the following:" introduces what sits below it; the colon adds nothing to a title.
        let title = text.title.trim_end_matches(':').trim_end();
        let title = if title.is_empty() {
            format!("Untitled item (line {line})")
        } else {
            title.to_string()
        };
        let step = Step {
            title,
            manual: run.is_none() && !group,
            run,
            interactive,
            confirm,
            notes: join(draft.notes),
            steps: draft.steps,
            origin,
            line,
        };
        (step, draft.deeper)
    }

    fn item_child<'n>(&self, child: &'n Node, draft: &mut Draft<'n>) {
        match &child.kind {
            Kind::Code { lang }
                if shell::is_shell_lang(lang) && shell::looks_like_commands(&child.code) =>
            {
                draft
                    .code
                    .push((lang.clone(), child.code.clone(), child.range.clone()));
            }
            Kind::Rule => {}
            _ => {
                let mut taken = Vec::new();
                for task in nested_tasks(child) {
                    if draft.depth + 1 < MAX_STEP_DEPTH {
                        let step = self.item_step(task, Origin::Checkbox, draft.depth + 1);
                        draft.steps.push(step);
                    } else {
                        draft.deeper.push(task);
                    }
                    taken.push(task.range.clone());
                }
                draft.notes.extend(self.verbatim(&child.range, &taken));
            }
        }
    }

    fn code_step(&self, node: &Node, lang: &str) -> Option<Step> {
        if !shell::is_shell_lang(lang) || !shell::looks_like_commands(&node.code) {
            return None;
        }
        let run = shell::runnable(lang, &node.code);
        Some(Step {
            title: shell::code_title(&run),
            interactive: shell::is_interactive(&run),
            confirm: self.risky_phase() || shell::is_risky_command(&run),
            manual: false,
            notes: None,
            steps: Vec::new(),
            origin: Origin::CodeBlock,
            line: self.lines.line_of(node.range.start) + 1,
            run: Some(run),
        })
    }

    /// Source lines of `range` minus those of `taken`, dedented; `None` if only blanks.
    fn verbatim(&self, range: &Range<usize>, taken: &[Range<usize>]) -> Option<String> {
        let taken: Vec<Range<usize>> = taken.iter().map(|r| self.lines.span(r)).collect();
        let kept: Vec<&str> = self
            .lines
            .span(range)
            .filter(|i| !taken.iter().any(|t| t.contains(i)))
            .map(|i| self.lines.line(i).trim_end())
            .collect();
        let indent = kept
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
            .min()?;
        // Blank lines may be shorter than the indent; the indent itself is ASCII.
        let lines: Vec<&str> = kept.iter().map(|l| l.get(indent..).unwrap_or("")).collect();
        let text = lines.join("\n");
        let text = text.trim_matches('\n');
        (!text.trim().is_empty()).then(|| text.to_string())
    }
}

/// Task items inside a plain item, however deep, not descending into the tasks found.
fn nested_tasks(node: &Node) -> Vec<&Node> {
    let mut found = Vec::new();
    // A stack rather than recursion: plain lists may nest thousands deep.
    let mut stack: Vec<&Node> = node.children.iter().rev().collect();
    while let Some(child) = stack.pop() {
        if child.kind == Kind::Item && child.task.is_some() {
            found.push(child);
        } else {
            stack.extend(child.children.iter().rev());
        }
    }
    found
}

fn join(parts: Vec<String>) -> Option<String> {
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}
