//! Diagnostics for checklist and layout errors: `file:line:col: what is wrong` plus a hint.

use std::fmt;

/// A 1-based position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(line: usize, col: usize) -> Self {
        Pos { line, col }
    }
}

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.col, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects every problem in a file so that all of them are reported at once.
#[derive(Debug, Default)]
pub struct Diags {
    pub file: String,
    pub list: Vec<Diagnostic>,
}

impl Diags {
    pub fn new(file: &str) -> Self {
        Diags {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        let hint = hint.into();
        self.list.push(Diagnostic {
            file: self.file.clone(),
            pos,
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sorted by position, so the report reads top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by_key(|d| d.pos);
        self.list
    }
}

/// Edit distance, for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance, if any.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("tilte", &["title", "run", "notes"]), Some("title"));
        assert_eq!(
            suggest("estimte", &["estimate", "timeout"]),
            Some("estimate")
        );
        assert_eq!(suggest("banana", &["title", "run"]), None);
    }

    #[test]
    fn display_has_position_and_hint() {
        let mut d = Diags::new("a.yaml");
        d.error(Pos::new(3, 5), "unknown field `x`", "remove it");
        let s = d.list[0].to_string();
        assert_eq!(s, "a.yaml:3:5: unknown field `x`\n  hint: remove it");
    }
}
