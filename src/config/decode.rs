//! Field-by-field decoding helpers that record every problem instead of stopping at the first.

use super::diag::{Diags, Pos, suggest};
use super::units::{DURATION_HINT, PERCENT_HINT, parse_duration, parse_percent};
use super::yaml::{Node, Value};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::time::Duration;

/// Decoding state: the diagnostics so far and the variables for `${NAME}` expansion.
pub struct Decoder {
    pub diags: Diags,
    /// Variable name -> value; `None` when the value is not known (checking without its env var).
    pub vars: BTreeMap<String, Option<String>>,
    /// The source text, to point at `${VAR}`s exactly (block scalars, escapes, later lines).
    pub source: String,
    /// Values of `secret: true` vars: masked in what is only shown (titles, names, notes).
    pub secrets: Vec<String>,
    /// Byte offsets where the lines of `source` start, once a position is looked up in it.
    line_starts: OnceCell<Vec<usize>>,
}

/// Where the `${`s of one scalar are in the source, found left to right: the nth `${` of the
/// scalar's text is the nth `${` of the source from the scalar's position (whatever the quoting,
/// folding or indentation). Each lookup goes on from the last, so a scalar is scanned once.
#[derive(Default)]
struct Dollars {
    /// `${`s in the text before byte `text_at`.
    text_seen: usize,
    text_at: usize,
    /// `${`s found in the source so far, the last at `last`; `None` before the first lookup.
    source_seen: usize,
    source_at: Option<usize>,
    last: Option<usize>,
}

impl Decoder {
    pub fn new(file: &str) -> Self {
        Decoder {
            diags: Diags::new(file),
            vars: BTreeMap::new(),
            source: String::new(),
            secrets: Vec::new(),
            line_starts: OnceCell::new(),
        }
    }

    /// A string shown to people (title, name, notes), expanded, with secret values masked.
    pub fn shown(&mut self, node: &Node, field: &str) -> Option<String> {
        let text = self.string(node, field)?;
        Some(crate::core::redact::redact(&text, &self.secrets).into_owned())
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.error(pos, message, hint);
    }

    /// Checks that `node` is a mapping and that every key is one of `allowed`.
    /// Returns the entries (empty when it is not a mapping).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> &'n [(Node, Node)] {
        let Some(entries) = node.as_map() else {
            self.error(
                node.pos,
                format!("{what} must be a mapping, found {}", node.kind_name()),
                format!("fields of {what}: {}", allowed.join(", ")),
            );
            return &[];
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Some(k) = key.as_str() else {
                self.error(key.pos, format!("keys of {what} must be names"), "");
                continue;
            };
            if seen.contains(&k) {
                self.error(
                    key.pos,
                    format!("field `{k}` appears twice in {what}"),
                    "keep one of them",
                );
            }
            seen.push(k);
            if !allowed.contains(&k) {
                let hint = match suggest(k, allowed) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("fields of {what}: {}", allowed.join(", ")),
                };
                self.error(key.pos, format!("unknown field `{k}` in {what}"), hint);
            }
        }
        entries
    }

    /// A scalar as text, with `${VAR}` expanded.
    pub fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        let raw = self.raw_string(node, field)?;
        Some(self.expand(&raw, node))
    }

    /// A scalar as text, without expansion.
    pub fn raw_string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("`{field}` must be text, found {}", node.kind_name()),
                    format!("write `{field}: some text` (quote it if it starts with a special character)"),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, field: &str) -> bool {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } if text == "true" => true,
            Value::Scalar {
                text,
                quoted: false,
            } if text == "false" => false,
            _ => {
                self.error(
                    node.pos,
                    format!("`{field}` must be true or false"),
                    format!("write `{field}: true` or leave it out"),
                );
                false
            }
        }
    }

    pub fn unsigned(&mut self, node: &Node, field: &str) -> Option<u64> {
        let parsed = node.as_str().and_then(|s| s.trim().parse::<u64>().ok());
        if parsed.is_none() {
            self.error(
                node.pos,
                format!("`{field}` must be a whole number"),
                format!("e.g. `{field}: 3`"),
            );
        }
        parsed
    }

    pub fn duration(&mut self, node: &Node, field: &str) -> Option<Duration> {
        let text = self.string(node, field)?;
        let parsed = parse_duration(&text);
        if parsed.is_none() {
            self.error(
                node.pos,
                format!("bad duration `{text}` for `{field}`"),
                DURATION_HINT,
            );
        }
        parsed
    }

    pub fn percent(&mut self, node: &Node, field: &str) -> Option<f64> {
        let text = self.string(node, field)?;
        let parsed = parse_percent(&text);
        if parsed.is_none() {
            self.error(
                node.pos,
                format!("bad percentage `{text}` for `{field}`"),
                PERCENT_HINT,
            );
        }
        parsed
    }

    /// A list of scalars (a single scalar is accepted as a list of one).
    pub fn string_list(&mut self, node: &Node, field: &str) -> Vec<(String, Pos)> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|n| self.string(n, field).map(|s| (s, n.pos)))
                .collect(),
            _ => self
                .string(node, field)
                .map(|s| vec![(s, node.pos)])
                .unwrap_or_default(),
        }
    }

    /// Expands `${NAME}`; `$${` stands for a literal `${`. Unknown names are errors.
    pub fn expand(&mut self, text: &str, node: &Node) -> String {
        if !text.contains("${") {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut dollars = Dollars::default();
        let mut i = 0;
        while let Some(found) = text[i..].find('$') {
            let at = i + found;
            out.push_str(&text[i..at]);
            let after = &text[at..];
            if after.starts_with("$${") {
                out.push_str("${");
                i = at + 3;
                continue;
            }
            let Some(body) = after.strip_prefix("${") else {
                out.push('$');
                i = at + 1;
                continue;
            };
            let Some(end) = body.find('}') else {
                let pos = self.source_pos(node, text, at, &mut dollars);
                self.error(
                    pos,
                    format!(
                        "unclosed `{}`",
                        after.split_whitespace().next().unwrap_or(after)
                    ),
                    "write `${NAME}`, or `$${` for a literal `${`",
                );
                out.push_str(after);
                return out;
            };
            let name = &body[..end];
            let token = &after[..end + 3];
            match self.vars.get(name) {
                Some(Some(value)) => out.push_str(value),
                Some(None) => out.push_str(token),
                None => {
                    let names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                    let hint = match suggest(name, &names) {
                        Some(s) => format!("did you mean `${{{s}}}`?"),
                        None => format!(
                            "define it under `vars:` or pass --var {name}=VALUE (write $${{ for a literal ${{)"
                        ),
                    };
                    let pos = self.source_pos(node, text, at, &mut dollars);
                    self.error(pos, format!("undefined variable `{token}`"), hint);
                    out.push_str(token);
                }
            }
            i = at + end + 3;
        }
        out.push_str(&text[i..]);
        out
    }

    /// Where the `${` at byte `at` of a scalar's text stands in the source (the scalar's own
    /// position when it cannot be found, e.g. written with escapes).
    fn source_pos(&self, node: &Node, text: &str, at: usize, d: &mut Dollars) -> Pos {
        d.text_seen += text[d.text_at..at].matches("${").count();
        d.text_at = at;
        let mut from = *d.source_at.get_or_insert_with(|| self.byte_index(node.pos));
        while d.source_seen <= d.text_seen {
            let Some(i) = self.source.get(from..).and_then(|rest| rest.find("${")) else {
                return node.pos;
            };
            d.last = Some(from + i);
            d.source_seen += 1;
            from += i + 2;
        }
        d.source_at = Some(from);
        d.last.map_or(node.pos, |idx| self.pos_of(idx))
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let bytes = self.source.as_bytes();
            let mut starts = vec![0];
            for (i, b) in bytes.iter().enumerate() {
                // Lines end as YAML ends them: `\r\n`, `\r` or `\n`.
                if *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                    starts.push(i + 1);
                }
            }
            starts
        })
    }

    /// The byte index of a position in the source (the end of its line when past it).
    fn byte_index(&self, pos: Pos) -> usize {
        let starts = self.line_starts();
        let Some(&start) = starts.get(pos.line.saturating_sub(1)) else {
            return self.source.len();
        };
        let end = starts.get(pos.line).copied().unwrap_or(self.source.len());
        let line = &self.source[start..end];
        start
            + line
                .char_indices()
                .nth(pos.col.saturating_sub(1))
                .map_or(line.len(), |(i, _)| i)
    }

    /// The position of byte `idx` of the source.
    fn pos_of(&self, idx: usize) -> Pos {
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s <= idx).max(1);
        let col = self.source[starts[line - 1]..idx].chars().count() + 1;
        Pos::new(line, col)
    }
}
