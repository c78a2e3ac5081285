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

/// Cells a string takes on screen.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Text from files and processes made safe to draw: tabs become spaces, other controls go.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// `s` cut to at most `max` cells, ending in `…` when something was cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
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

/// Spans cut to at most `max` cells; the `…` takes the style of the span that was cut.
pub fn fit_spans(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
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
