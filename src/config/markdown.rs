//! Markdown checklist import (SPEC §3): seed-style Markdown in, checklist YAML out.

mod convert;
mod inline;
mod shell;
mod tree;
mod yaml;

use std::fmt;

/// The result of importing one Markdown checklist.
#[derive(Debug, Clone)]
pub struct Import {
    /// Checklist YAML in the format of SPEC §2.
    pub yaml: String,
    pub summary: Summary,
    /// Every emitted step in document order (parents before their sub-steps).
    pub steps: Vec<StepOrigin>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub phases: usize,
    pub steps: usize,
    pub runnable: usize,
    pub manual: usize,
    pub checkbox_steps: usize,
    pub numbered_steps: usize,
    pub code_steps: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {}, {} ({} from checkboxes, {} numbered, {}): {} runnable, {} manual",
            plural(self.phases, "phase"),
            plural(self.steps, "step"),
            self.checkbox_steps,
            self.numbered_steps,
            plural(self.code_steps, "code block"),
            self.runnable,
            self.manual,
        )?;
        let groups = self.steps.saturating_sub(self.runnable + self.manual);
        if groups > 0 {
            write!(f, ", {}", plural(groups, "group"))?;
        }
        Ok(())
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Where an imported step came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    Checkbox,
    Numbered,
    CodeBlock,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOrigin {
    pub origin: Origin,
    /// 1-based source line of the list item or the opening fence.
    pub line: usize,
    pub title: String,
    /// 0 for a phase's own steps, 1 for their sub-steps, and so on.
    pub depth: usize,
}

/// Converts a Markdown checklist. Never fails: whatever is not a step lands in notes.
pub fn import_markdown(text: &str) -> Import {
    // A leading byte order mark is not text (as in the YAML loader): read into the first line, it
    // would hide a `# Title`. Lines are counted from the text without it, so they stay the file's.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let roots = tree::parse(text);
    let doc = convert::convert(text, &roots);
    let mut summary = Summary {
        phases: doc.phases.len(),
        ..Summary::default()
    };
    let mut steps = Vec::new();
    for phase in &doc.phases {
        tally(&phase.steps, 0, &mut summary, &mut steps);
    }
    Import {
        yaml: yaml::emit(&doc),
        summary,
        steps,
    }
}

fn tally(steps: &[convert::Step], depth: usize, summary: &mut Summary, out: &mut Vec<StepOrigin>) {
    for step in steps {
        summary.steps += 1;
        summary.runnable += usize::from(step.run.is_some());
        summary.manual += usize::from(step.manual);
        match step.origin {
            Origin::Checkbox => summary.checkbox_steps += 1,
            Origin::Numbered => summary.numbered_steps += 1,
            Origin::CodeBlock => summary.code_steps += 1,
        }
        out.push(StepOrigin {
            origin: step.origin,
            line: step.line,
            title: step.title.clone(),
            depth,
        });
        tally(&step.steps, depth + 1, summary, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_reads_well() {
        let s = Summary {
            phases: 14,
            steps: 108,
            runnable: 31,
            manual: 77,
            checkbox_steps: 71,
            numbered_steps: 6,
            code_steps: 31,
        };
        assert_eq!(
            s.to_string(),
            "imported 14 phases, 108 steps (71 from checkboxes, 6 numbered, 31 code blocks): 31 runnable, 77 manual"
        );
        let one = Summary {
            phases: 1,
            steps: 2,
            runnable: 0,
            manual: 1,
            checkbox_steps: 2,
            ..Summary::default()
        };
        assert_eq!(
            one.to_string(),
            "imported 1 phase, 2 steps (2 from checkboxes, 0 numbered, 0 code blocks): 0 runnable, 1 manual, 1 group"
        );
    }

    #[test]
    fn parent_heading_estimate_is_kept_in_the_first_subphase() {
        let md =
            "# T\n\n## Deploy (30 minutes)\n\n### Build\n\n- [ ] build\n\n### Ship\n\n- [ ] ship\n";
        let import = import_markdown(md);
        assert_eq!(import.summary.phases, 2);
        assert!(import.yaml.contains(
            "- name: Deploy › Build\n  notes: 'Estimate for the whole \"Deploy\" section: 30m'"
        ));
        assert_eq!(import.yaml.matches("Estimate for").count(), 1);
    }

    #[test]
    fn crlf_input_imports_like_lf() {
        let lf = "# T\n\n## A\n\nSome prose.\n\n- [ ] one: `make it`\n  - detail\n";
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(import_markdown(lf).yaml, import_markdown(&crlf).yaml);
    }

    #[test]
    fn minimal_document() {
        let import = import_markdown("- [ ] only step\n");
        assert_eq!(import.summary.steps, 1);
        assert!(import.yaml.contains("name: Imported checklist"));
        assert!(import.yaml.contains("title: only step"));
    }
}
