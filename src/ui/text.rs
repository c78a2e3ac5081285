//! Width-aware text helpers: truncation with `…`, padding, right alignment and word wrapping.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Cells a character takes on screen (control characters take none: they are never drawn).
fn char_width(c: char) -> usize {
    if c.is_control() {
        0
    } else {
        c.width().unwrap_or(0)
    }
}

/// Cells a string takes on screen, drawn as it is (control characters are not drawn).
/// For text that is not known to be clean, measure [`clean`]`(s)`.
pub fn width(s: &str) -> usize {
    if is_plain(s) {
        return s.len();
    }
    s.chars().map(char_width).sum()
}

/// Printable ASCII only: nothing to clean, a cell a byte.
fn is_plain(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Invisible characters that never reach the screen: bidi controls (which reorder what
/// follows), zero-width and other format characters (which hide text), variation selectors,
/// emoji modifiers and tags (whose width terminals disagree on, so that the text after them
/// would be drawn off by a cell or two — outside its pane), and line/paragraph separators.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}'
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Combining marks kept on one character; more ("Zalgo" text) are dropped.
const MAX_MARKS: usize = 4;

/// What one escape sequence turned out to be.
enum Escape {
    /// `ESC [ params m` with only digits, `;` and `:`: a colour, which step output may keep.
    Sgr(String),
    /// Anything else (cursor moves, erases, titles, clipboard, hyperlinks, device strings):
    /// dropped whole.
    Other,
}

/// The escape sequence that starts after its introducer `intro` (`[`, `]`, `P`, … for `ESC x`,
/// or the C1 control itself), consumed from `chars`.
fn escape(intro: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Escape {
    match intro {
        // CSI: parameter bytes, intermediate bytes, one final byte. Anything else ends it
        // early (a terminal would abort it too) and is read as text again.
        '[' | '\u{9B}' => {
            let mut params = String::new();
            let mut plain = true;
            while let Some(&c) = chars.peek() {
                match c {
                    '\x30'..='\x3f' => {
                        plain &= c.is_ascii_digit() || c == ';' || c == ':';
                        params.push(c);
                    }
                    '\x20'..='\x2f' => plain = false,
                    '\x40'..='\x7e' => {
                        chars.next();
                        return if c == 'm' && plain {
                            Escape::Sgr(params)
                        } else {
                            Escape::Other
                        };
                    }
                    _ => return Escape::Other,
                }
                chars.next();
            }
            Escape::Other
        }
        // OSC (titles, clipboard, hyperlinks) and the device strings DCS, SOS, PM and APC: up
        // to the string terminator (ESC \\, ST, or BEL), or to the end of the text.
        ']' | 'P' | 'X' | '^' | '_' | 'k' | '\u{9D}' | '\u{90}' | '\u{98}' | '\u{9E}'
        | '\u{9F}' => {
            while let Some(&c) = chars.peek() {
                if c == '\x1b' {
                    // ESC \\ ends the string; an ESC starting anything else ends it too, and
                    // is read again as the start of the next sequence.
                    let mut look = chars.clone();
                    look.next();
                    if look.peek() == Some(&'\\') {
                        chars.next();
                        chars.next();
                    }
                    break;
                }
                chars.next();
                if c == '\x07' || c == '\u{9C}' {
                    break;
                }
            }
            Escape::Other
        }
        // nF escapes (`ESC ( 0` line drawing, `ESC # 8` screen fill, `ESC % G`): intermediate
        // bytes, then a final byte.
        '\x20'..='\x2f' => {
            while chars.next_if(|c| ('\x20'..='\x2f').contains(c)).is_some() {}
            chars.next_if(|c| ('\x30'..='\x7e').contains(c));
            Escape::Other
        }
        // Two-character escapes (`ESC 7`, `ESC c` reset, `ESC M` reverse index…): the ESC that
        // makes them an escape goes; the character after it is read as text, as an older
        // `clean` did (the widths the panes precompute count it).
        _ => Escape::Other,
    }
}

/// What after an ESC starts a sequence longer than two characters: CSI, the strings (OSC,
/// DCS, SOS, PM, APC, and `ESC k` which names a tmux or screen window) and the nF escapes.
fn is_intro(c: char) -> bool {
    matches!(c, '[' | ']' | 'P' | 'X' | '^' | '_' | 'k' | '\x20'..='\x2f')
}

/// The characters of a text that are safe to draw, in order (see [`clean`]).
struct Cleaner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    /// Zero-width characters since the last one with a width.
    marks: usize,
}

impl<'a> Cleaner<'a> {
    fn new(s: &'a str) -> Self {
        Cleaner {
            chars: s.chars().peekable(),
            marks: 0,
        }
    }
}

impl Iterator for Cleaner<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            let c = self.chars.next()?;
            match c {
                '\t' => {
                    self.marks = 0;
                    return Some(' ');
                }
                '\x1b' => {
                    if let Some(intro) = self.chars.next_if(|c| is_intro(*c)) {
                        escape(intro, &mut self.chars);
                    }
                }
                '\u{9B}' | '\u{9D}' | '\u{90}' | '\u{98}' | '\u{9E}' | '\u{9F}' => {
                    escape(c, &mut self.chars);
                }
                c if c.is_control() || is_hidden(c) => {}
                c if char_width(c) == 0 => {
                    if self.marks < MAX_MARKS {
                        self.marks += 1;
                        return Some(c);
                    }
                }
                c => {
                    self.marks = 0;
                    return Some(c);
                }
            }
        }
    }
}

/// Text from files, processes and the cluster made safe to draw on one line: escape sequences
/// (CSI, OSC, DCS, APC, PM, SOS, `ESC k`, in their 7- and 8-bit forms) are dropped whole (a
/// two-character escape loses its ESC, its letter stays as text), tabs become
/// spaces, other control characters and the invisible ones of [`is_hidden`] go, and at most a
/// few combining marks stay on a character. Nothing left can move the cursor, set a title or
/// make the terminal disagree with the layout about where a character ends.
pub fn clean(s: &str) -> String {
    if is_plain(s) {
        return s.to_string();
    }
    Cleaner::new(s).collect()
}

/// Whether [`clean`] would leave `s` as it is.
pub fn is_clean(s: &str) -> bool {
    is_plain(s) || Cleaner::new(s).eq(s.chars())
}

/// A line of step or pod output made safe for [`crate::ui::ansi::parse_line`]: like [`clean`],
/// but colour and attribute sequences (SGR, `ESC [ … m`) stay, in their 7-bit form, and so do
/// tabs and carriage returns, which the parser lays out itself.
pub fn sanitize_output(s: &str) -> String {
    if is_plain(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut marks = 0;
    while let Some(c) = chars.next() {
        let sgr = match c {
            '\x1b' => match chars.next_if(|c| is_intro(*c)) {
                Some(intro) => escape(intro, &mut chars),
                None => Escape::Other,
            },
            '\u{9B}' | '\u{9D}' | '\u{90}' | '\u{98}' | '\u{9E}' | '\u{9F}' => {
                escape(c, &mut chars)
            }
            '\t' | '\r' => {
                marks = 0;
                out.push(c);
                continue;
            }
            c if c.is_control() || is_hidden(c) => continue,
            c if char_width(c) == 0 => {
                if marks < MAX_MARKS {
                    marks += 1;
                    out.push(c);
                }
                continue;
            }
            c => {
                marks = 0;
                out.push(c);
                continue;
            }
        };
        if let Escape::Sgr(params) = sgr {
            out.push_str("\x1b[");
            out.push_str(&params);
            out.push('m');
        }
    }
    out
}

/// `s` cut to at most `max` cells, ending in `…` when something was cut. The result is
/// [`clean`].
pub fn fit(s: &str, max: usize) -> String {
    let s = clean(s);
    if width(&s) <= max {
        return s;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Cells a list of spans takes.
pub fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// Spans [`clean`]ed: the last stop before the screen for text from outside that a pane put in
/// a span as it came (pod names, log lines, conditions).
pub fn clean_spans(mut spans: Vec<Span<'static>>) -> Vec<Span<'static>> {
    for span in &mut spans {
        if !is_clean(&span.content) {
            span.content = clean(&span.content).into();
        }
    }
    spans
}

/// Spans [`clean`]ed and cut to at most `max` cells; the `…` takes the style of the span that
/// was cut.
pub fn fit_spans(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
    let spans = clean_spans(spans);
    if spans_width(&spans) <= max {
        return spans;
    }
    let mut out = Vec::new();
    let mut left = max;
    for span in spans {
        let w = width(&span.content);
        if w < left {
            left -= w;
            out.push(span);
            continue;
        }
        let cut = fit(&span.content, left);
        if !cut.is_empty() {
            out.push(Span::styled(cut, span.style));
        }
        break;
    }
    out
}

/// A line of spans cut to `max` cells, keeping the line's own style.
pub fn fit_line(line: Line<'static>, max: usize) -> Line<'static> {
    let style = line.style;
    Line::from(fit_spans(line.spans, max)).style(style)
}

/// `left` and `right` on one line of `max` cells: right-aligned `right`, `left` truncated to make
/// room; `right` is dropped when there is not room for both and a few cells of `left`.
pub fn split_line(
    left: Vec<Span<'static>>,
    right: Vec<Span<'static>>,
    max: usize,
) -> Line<'static> {
    let rw = spans_width(&right);
    if rw == 0 || rw + 6 > max {
        return Line::from(fit_spans(left, max));
    }
    let mut spans = fit_spans(left, max - rw - 1);
    let gap = max - rw - spans_width(&spans);
    spans.push(Span::raw(" ".repeat(gap)));
    spans.extend(right);
    Line::from(spans)
}

/// Word-wraps a line to `max` cells; continuation lines start with `indent` spaces.
/// Words longer than a line are broken anywhere.
pub fn wrap(line: Line<'static>, max: usize, indent: usize) -> Vec<Line<'static>> {
    let max = max.max(1);
    let line = Line::from(clean_spans(line.spans)).style(line.style);
    if spans_width(&line.spans) <= max {
        return vec![line];
    }
    let indent = if indent * 2 > max { 0 } else { indent };
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < chars.len() {
        let room = if first { max } else { max - indent };
        let (mut end, mut used) = (start, 0);
        while end < chars.len() && used + char_width(chars[end].0) <= room {
            used += char_width(chars[end].0);
            end += 1;
        }
        if end == start {
            end = start + 1; // a character wider than the line: draw it anyway, it gets clipped
        }
        if end < chars.len() {
            // Break after the last space of the line when there is one.
            // Never inside the leading indentation, which would leave an empty line.
            let text_from = (start..end).find(|i| chars[*i].0 != ' ').unwrap_or(end);
            // A word too long for any line (a URL) is cut where the line ends instead.
            if let Some(sp) = (text_from + 1..end).rev().find(|i| chars[*i].0 == ' ') {
                let word: usize = chars[sp + 1..]
                    .iter()
                    .take_while(|(c, _)| *c != ' ')
                    .map(|(c, _)| char_width(*c))
                    .sum();
                if word <= max - indent {
                    end = sp + 1;
                }
            }
        }
        let mut spans = Vec::new();
        if !first && indent > 0 {
            spans.push(Span::raw(" ".repeat(indent)));
        }
        spans.extend(group(&chars[start..end]));
        out.push(Line::from(spans).style(line.style));
        start = end;
        while !first && start < chars.len() && chars[start].0 == ' ' && start + 1 < chars.len() {
            start += 1;
        }
        first = false;
    }
    out
}

/// Runs of equally styled characters back into spans.
pub fn group(chars: &[(char, Style)]) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for (c, s) in chars {
        if style.is_some_and(|st| st != *s) {
            out.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(*s);
        text.push(*c);
    }
    if !text.is_empty() {
        out.push(Span::styled(text, style.unwrap_or_default()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_truncates_by_cells() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("日本語テキスト", 6), "日本…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
    }

    #[test]
    fn clean_drops_every_escape_sequence_whole() {
        let cases = [
            ("\x1b[31mred\x1b[0m", "red"),
            ("a\x1b[2J\x1b[H\x1b[1;1Hb\x1b[5;10r\x1b[?1049h", "ab"),
            ("\x1b]0;pwned\x07title", "title"),
            ("\x1b]0;pwned\x1b\\title", "title"),
            ("\x1b]52;c;cm0gLXJmIH4=\x07clip", "clip"),
            ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),
            ("\x1bPq#0;2;0;0;0#0~~\x1b\\dcs", "dcs"),
            (
                "\x1b_Gf=100;AAAA\x1b\\apc\x1b^pm\x1b\\\x1bXsos\x1b\\",
                "apc",
            ),
            ("\u{9b}2J\u{9b}31mc1\u{9d}0;t\u{9c}", "c1"),
            ("\x1b(0lqk\x1b(B\x1b#8\x1b%G\x1b M|", "lqk|"),
            ("\x1b7\x1b8\x1bc\x1bM", "78cM"),
            ("\x1bkwindow name\x1b\\k", "k"),
            ("lone\x1b", "lone"),
            ("\x1b]0;unterminated title", ""),
            ("a\x08b\rc\x0bd\x0ce\0f\x7fg\th", "abcdefg h"),
            ("\u{202e}evil\u{202c} \u{2066}x\u{2069}", "evil x"),
            ("zero\u{200b}\u{200d}\u{feff}width", "zerowidth"),
            ("\u{2764}\u{fe0f}\u{1f44d}\u{1f3fd}", "\u{2764}\u{1f44d}"),
            ("a\u{2028}b", "ab"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean(raw), want, "{raw:?}");
            assert!(is_clean(want) && !is_clean(raw), "{raw:?}");
        }
        // An ESC inside a CSI or a string starts the next sequence.
        assert_eq!(clean("\x1b[1\x1b]0;t\x07x"), "x");
        assert_eq!(clean("\x1b]0;t\x1b[31mx"), "x");
        // Combining marks: a few stay, a pile is cut.
        let zalgo = format!("e{}", "\u{301}".repeat(50));
        assert_eq!(clean(&zalgo).chars().count(), 1 + MAX_MARKS);
        assert_eq!(clean("日本語 é"), "日本語 é");
        assert_eq!(fit("\x1b[31mhello world", 6), "hello…");
    }

    #[test]
    fn sanitize_output_keeps_colours_only() {
        assert_eq!(
            sanitize_output("\x1b[1;31merr\x1b[0m\x1b]0;t\x07 \x1b[2J\u{9b}33mx\ry\tz"),
            "\x1b[1;31merr\x1b[0m \x1b[33mx\ry\tz"
        );
        assert_eq!(sanitize_output("\x1b[?25l\x1b[>0mq"), "q");
        assert_eq!(sanitize_output("\x1b[38:2::1:2:3mq"), "\x1b[38:2::1:2:3mq");
        assert_eq!(sanitize_output("plain"), "plain");
    }

    #[test]
    fn split_line_right_aligns() {
        let l = split_line(
            vec![Span::raw("a long title here")],
            vec![Span::raw("4.2s/5m")],
            20,
        );
        let s: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(s, "a long titl… 4.2s/5m");
        assert_eq!(width(&s), 20);
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        let lines = wrap(Line::from("one two three four"), 9, 2);
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(text, vec!["one two ", "  three ", "  four"]);
        let lines = wrap(Line::from("GET https://example.com/health"), 12, 2);
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(text, vec!["GET https://", "  example.co", "  m/health"]);
    }
}
