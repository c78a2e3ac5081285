//! Field-by-field decoding helpers that record every problem instead of stopping at the first.

use super::diag::{Diags, Pos, suggest};
use super::units::{DURATION_HINT, PERCENT_HINT, parse_duration, parse_percent};
use super::yaml::{Node, Value};
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
}

impl Decoder {
    pub fn new(file: &str) -> Self {
        Decoder {
            diags: Diags::new(file),
            vars: BTreeMap::new(),
            source: String::new(),
            secrets: Vec::new(),
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
                let pos = self.source_pos(node, text, at, after);
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
                    let pos = self.source_pos(node, text, at, token);
                    self.error(pos, format!("undefined variable `{token}`"), hint);
                    out.push_str(token);
                }
            }
            i = at + end + 3;
        }
        out.push_str(&text[i..]);
        out
    }

    /// Where the `token` found at byte `at` of a scalar's text stands in the source: the same
    /// occurrence of it, searched from the scalar's position (exact whatever the quoting).
    fn source_pos(&self, node: &Node, text: &str, at: usize, token: &str) -> Pos {
        let nth = text[..at].matches(token).count();
        let start = byte_index(&self.source, node.pos);
        let found = self
            .source
            .get(start..)
            .and_then(|rest| rest.match_indices(token).nth(nth))
            .map(|(i, _)| start + i);
        match found {
            Some(idx) => pos_of(&self.source, idx),
            None => offset_pos(node, text, at),
        }
    }
}

fn byte_index(source: &str, pos: Pos) -> usize {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(pos.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line = source.get(line_start..).unwrap_or("");
    line_start
        + line
            .char_indices()
            .nth(pos.col.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i)
}

fn pos_of(source: &str, idx: usize) -> Pos {
    let before = &source[..idx];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Pos::new(line, col)
}

/// Best-effort position of byte `offset` of a scalar's text: exact for one-line plain scalars.
fn offset_pos(node: &Node, text: &str, offset: usize) -> Pos {
    let quoted = matches!(node.value, Value::Scalar { quoted: true, .. });
    if text[..offset].contains('\n') {
        return node.pos;
    }
    let chars = text[..offset].chars().count();
    Pos::new(node.pos.line, node.pos.col + chars + usize::from(quoted))
}
