//! A YAML tree that remembers where every node came from, for positioned errors.

use super::diag::Pos;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

fn pos(m: &Marker) -> Pos {
    // yaml-rust2 lines are 1-based and columns 0-based.
    Pos::new(m.line(), m.col() + 1)
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Node, Option<Node>)>,
    anchors: Vec<(usize, Node)>,
    pending_anchor: Vec<usize>,
    root: Option<Node>,
    docs: usize,
    error: Option<SyntaxError>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, key)) => match &mut parent.value {
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

    fn finish_collection(&mut self) {
        if let Some((mut node, _)) = self.stack.pop() {
            // A block mapping is reported where its first key starts, not after it.
            if let Value::Map(entries) = &node.value
                && let Some((k, _)) = entries.first()
            {
                node.pos = node.pos.min(k.pos);
            }
            if let Some(id) = self.pending_anchor.pop()
                && id > 0
            {
                self.anchors.push((id, node.clone()));
            }
            self.push_value(node);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = pos(&mark);
        match ev {
            Event::DocumentStart => {
                self.docs += 1;
                if self.docs > 1 && self.error.is_none() {
                    self.error = Some(SyntaxError {
                        pos: at,
                        message: "more than one YAML document in this file".into(),
                    });
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
                if anchor > 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.pending_anchor.push(anchor);
                self.stack.push((
                    Node {
                        value: Value::Seq(Vec::new()),
                        pos: at,
                    },
                    None,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.pending_anchor.push(anchor);
                self.stack.push((
                    Node {
                        value: Value::Map(Vec::new()),
                        pos: at,
                    },
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => self.finish_collection(),
            Event::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, _)| *a == id);
                if let Some((_, node)) = found {
                    let mut node = node.clone();
                    node.pos = at;
                    self.push_value(node);
                }
            }
            _ => {}
        }
    }
}

/// Parses one YAML document into a positioned tree. An empty document is a null scalar.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(SyntaxError {
            pos: pos(e.marker()),
            message: e.info().to_string(),
        });
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
    fn aliases_resolve() {
        let n = parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }
}
