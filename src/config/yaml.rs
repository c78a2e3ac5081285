//! A YAML tree that remembers where every node came from, for positioned errors.

use super::diag::Pos;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of lists and mappings accepted: far beyond any checklist, and shallow
/// enough that the tree is built, decoded and dropped without running out of stack.
pub const MAX_DEPTH: usize = 100;

/// Most nodes that aliases (`*name`) may copy in, so a few lines of nested aliases (a
/// "billion laughs") are an error rather than gigabytes of tree.
pub const MAX_ALIAS_NODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `quoted` is false for plain scalars, which may be null/bool/number.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false } if text.is_empty() || text == "~" || text == "null")
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } if self.is_null() => "nothing",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// The position just after `text` (lines ended as YAML ends them).
pub fn end_pos(text: &str) -> Pos {
    let Lines(lens) = Lines::new(text);
    Pos::new(lens.len(), lens.last().map_or(1, |len| len + 1))
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Line lengths in chars, lines ended as YAML ends them (`\r\n`, `\r`, `\n`).
#[derive(Default)]
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut lens = vec![0];
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\r' | '\n' => lens.push(0),
                _ => {
                    if let Some(len) = lens.last_mut() {
                        *len += 1;
                    }
                }
            }
        }
        Lines(lens)
    }

    /// A marker's 1-based position, kept inside the text: at the end of a text without a final
    /// newline yaml-rust2 points one line further down, past the end.
    fn pos(&self, m: &Marker) -> Pos {
        // yaml-rust2 lines are 1-based and columns 0-based.
        let line = m.line().max(1);
        match self.0.get(line - 1) {
            Some(len) => Pos::new(line, (m.col() + 1).min(len + 1)),
            None => Pos::new(self.0.len(), self.0.last().map_or(1, |len| len + 1)),
        }
    }
}

#[derive(Default)]
struct Builder {
    lines: Lines,
    /// Open collections: the node, its pending key, and `nodes` when it opened.
    stack: Vec<(Node, Option<Node>, usize)>,
    /// Anchor id -> the anchored node and how many nodes it holds.
    anchors: HashMap<usize, (Node, usize)>,
    pending_anchor: Vec<usize>,
    root: Option<Node>,
    docs: usize,
    /// Nodes built so far, those copied in by aliases included.
    nodes: usize,
    /// Nodes copied in by aliases.
    alias_nodes: usize,
    error: Option<SyntaxError>,
    /// Set by an error that makes going on pointless (too deep, too many alias copies).
    stop: bool,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, key, _)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        let mut node = node;
                        // An empty value is marked at the next token; point at its key instead.
                        if node.is_null() && node.as_str() == Some("") {
                            node.pos = k.pos;
                        }
                        entries.push((k, node))
                    }
                },
                Value::Scalar { .. } => {}
            },
        }
    }

    fn fail(&mut self, at: Pos, message: String, stop: bool) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { pos: at, message });
        }
        self.stop |= stop;
    }

    fn open_collection(&mut self, value: Value, anchor: usize, at: Pos) {
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("lists and mappings nested more than {MAX_DEPTH} levels deep");
            self.fail(at, message, true);
            return;
        }
        self.nodes += 1;
        self.pending_anchor.push(anchor);
        self.stack
            .push((Node { value, pos: at }, None, self.nodes - 1));
    }

    fn finish_collection(&mut self) {
        if let Some((mut node, _, opened)) = self.stack.pop() {
            // A block mapping is reported where its first key starts, not after it.
            if let Value::Map(entries) = &node.value
                && let Some((k, _)) = entries.first()
            {
                node.pos = node.pos.min(k.pos);
            }
            if let Some(id) = self.pending_anchor.pop()
                && id > 0
            {
                self.anchors.insert(id, (node.clone(), self.nodes - opened));
            }
            self.push_value(node);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.stop {
            return;
        }
        let at = self.lines.pos(&mark);
        match ev {
            Event::DocumentStart => {
                self.docs += 1;
                if self.docs > 1 {
                    self.fail(at, "more than one YAML document in this file".into(), false);
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                let node = Node {
                    value: Value::Scalar {
                        text,
                        quoted: !matches!(style, TScalarStyle::Plain),
                    },
                    pos: at,
                };
                self.nodes += 1;
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.open_collection(Value::Seq(Vec::new()), anchor, at)
            }
            Event::MappingStart(anchor, _) => {
                self.open_collection(Value::Map(Vec::new()), anchor, at)
            }
            Event::SequenceEnd | Event::MappingEnd => self.finish_collection(),
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, size)) if self.alias_nodes + size > MAX_ALIAS_NODES => {
                    let message = format!(
                        "aliases copy in more than {MAX_ALIAS_NODES} nodes (nested `*alias`es)"
                    );
                    self.fail(at, message, true);
                }
                Some((node, size)) => {
                    let mut node = node.clone();
                    node.pos = at;
                    self.alias_nodes += size;
                    self.nodes += size;
                    self.push_value(node);
                }
                // The anchor names a collection still open: the alias is inside it.
                None => self.fail(
                    at,
                    "an alias refers to a node that contains it".into(),
                    true,
                ),
            },
            _ => {}
        }
    }
}

/// Parses one YAML document into a positioned tree. An empty document is a null scalar.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    // A byte order mark starts the stream, not the first key (yaml-rust2 keeps it in the key).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = Builder {
        lines: Lines::new(text),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    // Events are pulled one by one rather than through `Parser::load`, which recurses once per
    // nesting level (and would overflow the stack before the depth limit could tell).
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((ev, mark)) => builder.on_event(ev, mark),
            Err(e) => {
                return Err(SyntaxError {
                    pos: builder.lines.pos(e.marker()),
                    message: e.info().to_string(),
                });
            }
        }
        if builder.stop {
            break;
        }
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Scalar {
            text: String::new(),
            quoted: false,
        },
        pos: Pos::new(1, 1),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let n = parse("name: x\nphases:\n  - name: a\n").unwrap();
        let phases = n.get("phases").unwrap();
        assert_eq!(phases.pos, Pos::new(3, 3));
        let first = &phases.as_seq().unwrap()[0];
        assert_eq!(first.get("name").unwrap().pos, Pos::new(3, 11));
        assert_eq!(n.get("name").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("name: [a, b\nx: 1\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
    }

    #[test]
    fn second_document_is_an_error() {
        let e = parse("name: a\n---\nname: b\n").unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 1));
    }

    #[test]
    fn empty_value_points_at_its_key() {
        let n = parse("a:\n  title:\n  run: x\n").unwrap();
        assert_eq!(
            n.get("a").unwrap().get("title").unwrap().pos,
            Pos::new(2, 3)
        );
    }

    #[test]
    fn positions_at_the_end_stay_inside_the_text() {
        let e = parse("a:\n  - [x").unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 7));
        let e = parse("{").unwrap_err();
        assert_eq!(e.pos, Pos::new(1, 2));
        let n = parse("- a\r\n- b\r-").unwrap();
        let items = n.as_seq().unwrap();
        assert_eq!(
            (items[1].pos, items[2].pos),
            (Pos::new(2, 3), Pos::new(3, 2))
        );
    }

    #[test]
    fn byte_order_mark_is_not_part_of_the_first_key() {
        let n = parse("\u{feff}name: x\n").unwrap();
        assert_eq!(n.get("name").unwrap().pos, Pos::new(1, 7));
    }

    #[test]
    fn aliases_resolve() {
        let n = parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }
}
