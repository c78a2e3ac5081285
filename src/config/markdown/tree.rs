//! Folds pulldown-cmark events into a small block tree that keeps source ranges.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Heading(u8),
    Paragraph,
    List {
        ordered: bool,
    },
    Item,
    /// A code block; `lang` is the first word of the fence info, lowercased ("" if none).
    Code {
        lang: String,
    },
    Rule,
    /// Tables, block quotes, HTML: only ever kept verbatim, so their insides don't matter.
    Other,
}

/// One piece of inline text. Emphasis is flattened away; `strong` survives because
/// `**Label:** rest` items are split on it.
#[derive(Debug, Clone)]
pub(super) struct Seg {
    pub text: String,
    pub code: bool,
    pub strong: bool,
    pub link: bool,
    pub range: Range<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: Kind,
    pub range: Range<usize>,
    pub children: Vec<Node>,
    /// Inline text of headings, paragraphs and tight list items.
    pub segs: Vec<Seg>,
    /// `Some(checked)` for task-list items.
    pub task: Option<bool>,
    /// Literal content of code blocks.
    pub code: String,
}

impl Drop for Node {
    /// Without recursion: block quotes and lists may nest tens of thousands deep (`> > > …`).
    fn drop(&mut self) {
        let mut nodes = std::mem::take(&mut self.children);
        while let Some(mut node) = nodes.pop() {
            nodes.append(&mut node.children);
        }
    }
}

impl Node {
    fn new(kind: Kind, range: Range<usize>) -> Self {
        Node {
            kind,
            range,
            children: Vec::new(),
            segs: Vec::new(),
            task: None,
            code: String::new(),
        }
    }
}

pub(super) fn parse(text: &str) -> Vec<Node> {
    let options =
        Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut builder = Builder::default();
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        builder.event(event, range);
    }
    builder.finish()
}

#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    roots: Vec<Node>,
    strong: usize,
    link: usize,
    /// Ranges of open inline tags, so a piece can be stretched over closing `**` or `](url)`.
    spans: Vec<Range<usize>>,
    /// Start of inline tags opened since the last piece, so it can take in `**` or `[`.
    opened_at: Option<usize>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(tag) => self.start(tag, range),
            Event::End(end) => self.end(end),
            Event::Text(t) => match self.stack.last_mut() {
                Some(top) if matches!(top.kind, Kind::Code { .. }) => top.code.push_str(&t),
                _ => self.seg(t.to_string(), false, range),
            },
            Event::Code(t) => self.seg(t.to_string(), true, range),
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::InlineHtml(t) => {
                self.seg(t.to_string(), false, range)
            }
            Event::FootnoteReference(t) => self.seg(format!("[^{t}]"), false, range),
            Event::SoftBreak | Event::HardBreak => self.seg(" ".to_string(), false, range),
            Event::Rule => self.attach(Node::new(Kind::Rule, range)),
            Event::TaskListMarker(checked) => {
                if let Some(item) = self.stack.iter_mut().rev().find(|n| n.kind == Kind::Item) {
                    item.task = Some(checked);
                }
            }
            // Block HTML is kept verbatim through its range.
            Event::Html(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: Range<usize>) {
        let kind = match tag {
            Tag::Strong => {
                self.strong += 1;
                self.open_span(range);
                return;
            }
            Tag::Link { .. } | Tag::Image { .. } => {
                self.link += 1;
                self.open_span(range);
                return;
            }
            Tag::Emphasis | Tag::Strikethrough | Tag::Superscript | Tag::Subscript => {
                self.open_span(range);
                return;
            }
            Tag::TableHead | Tag::TableRow | Tag::TableCell => return,
            Tag::Heading { level, .. } => Kind::Heading(level as u8),
            Tag::Paragraph => Kind::Paragraph,
            Tag::List(start) => Kind::List {
                ordered: start.is_some(),
            },
            Tag::Item => Kind::Item,
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => Kind::Code {
                lang: fence_lang(&info),
            },
            Tag::CodeBlock(CodeBlockKind::Indented) => Kind::Code {
                lang: String::new(),
            },
            _ => Kind::Other,
        };
        self.stack.push(Node::new(kind, range));
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Strong => {
                self.strong = self.strong.saturating_sub(1);
                self.close_span();
            }
            TagEnd::Link | TagEnd::Image => {
                self.link = self.link.saturating_sub(1);
                self.close_span();
            }
            TagEnd::Emphasis | TagEnd::Strikethrough | TagEnd::Superscript | TagEnd::Subscript => {
                self.close_span()
            }
            TagEnd::TableHead | TagEnd::TableRow | TagEnd::TableCell => {}
            _ => {
                if let Some(node) = self.stack.pop() {
                    self.attach(node);
                }
            }
        }
    }

    fn open_span(&mut self, range: Range<usize>) {
        self.opened_at.get_or_insert(range.start);
        self.spans.push(range);
    }

    fn close_span(&mut self) {
        let Some(span) = self.spans.pop() else { return };
        if let Some(last) = self.stack.last_mut().and_then(|n| n.segs.last_mut())
            && span.contains(&last.range.start)
        {
            last.range.end = last.range.end.max(span.end);
        }
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.roots.push(node),
        }
    }

    fn seg(&mut self, text: String, code: bool, mut range: Range<usize>) {
        let (strong, link) = (self.strong > 0, self.link > 0);
        if let Some(start) = self.opened_at.take() {
            range.start = range.start.min(start);
        }
        if let Some(top) = self.stack.last_mut()
            && matches!(top.kind, Kind::Heading(_) | Kind::Paragraph | Kind::Item)
        {
            top.segs.push(Seg {
                text,
                code,
                strong,
                link,
                range,
            });
        }
    }

    fn finish(mut self) -> Vec<Node> {
        while let Some(node) = self.stack.pop() {
            self.attach(node);
        }
        self.roots
    }
}

/// `bash title="x"` -> `bash`; `{.sh}` -> `sh`.
fn fence_lang(info: &str) -> String {
    let word = info.split_whitespace().next().unwrap_or("");
    word.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Maps byte offsets to lines and hands out source lines. Lines end as in CommonMark: `\n`,
/// `\r\n` or a lone `\r`.
pub(super) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
                .map(|(i, _)| i + 1)
                .filter(|&i| i < text.len()),
        );
        Lines { text, starts }
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// 0-based lines touched by a byte range, as a half-open range.
    pub fn span(&self, range: &Range<usize>) -> Range<usize> {
        let first = self.line_of(range.start);
        let last = if range.end > range.start {
            self.line_of(range.end - 1)
        } else {
            first
        };
        first..last + 1
    }

    pub fn line(&self, i: usize) -> &'a str {
        let Some(&start) = self.starts.get(i) else {
            return "";
        };
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        let line = &self.text[start..end];
        let line = line.strip_suffix('\n').unwrap_or(line);
        line.strip_suffix('\r').unwrap_or(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_items_nest_and_carry_their_marker() {
        let roots = parse("- [ ] a\n  - [x] b\n  - plain\n");
        let list = &roots[0];
        let item = &list.children[0];
        assert_eq!(item.task, Some(false));
        let nested = &item.children[0];
        assert_eq!(nested.children[0].task, Some(true));
        assert_eq!(nested.children[1].task, None);
    }

    #[test]
    fn fence_language_is_normalised() {
        assert_eq!(fence_lang("Bash title=x"), "bash");
        assert_eq!(fence_lang("{.sh}"), "sh");
        assert_eq!(fence_lang(""), "");
    }

    #[test]
    fn lines_map_offsets() {
        let lines = Lines::new("ab\ncd\n\nef");
        assert_eq!(lines.line_of(0), 0);
        assert_eq!(lines.line_of(3), 1);
        assert_eq!(lines.line_of(7), 3);
        assert_eq!(lines.span(&(0..6)), 0..2);
        assert_eq!(lines.line(1), "cd");
        assert_eq!(lines.line(3), "ef");
        let lines = Lines::new("ab\rcd\r\nef\r");
        assert_eq!(lines.line_of(3), 1);
        assert_eq!(
            (lines.line(0), lines.line(1), lines.line(2)),
            ("ab", "cd", "ef")
        );
    }
}
