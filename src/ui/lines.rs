//! [`Lines`]: what `Paragraph::new(lines)` draws (left-aligned lines from the top of the area,
//! each cut at the area's width, no wrapping), without segmenting plain ASCII into graphemes.
//! Most of a frame's text is ASCII (pod names, counts, log lines), and a frame is drawn 4–30
//! times a second: per-grapheme work was a third of a frame's cost.

use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::{Alignment, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

/// Lines drawn from the top-left of an area, cell for cell the same as `Paragraph::new(lines)`.
pub struct Lines<'a>(pub Vec<Line<'a>>);

impl<'a> Lines<'a> {
    pub fn new(lines: impl Into<Vec<Line<'a>>>) -> Self {
        Lines(lines.into())
    }
}

impl<'a> From<Line<'a>> for Lines<'a> {
    fn from(line: Line<'a>) -> Self {
        Lines(vec![line])
    }
}

impl Widget for Lines<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        for (y, line) in (area.top()..area.bottom()).zip(self.0) {
            let row = Rect::new(area.x, y, area.width, 1);
            if line.alignment.is_some_and(|a| a != Alignment::Left) {
                Paragraph::new(line).render(row, buf);
            } else {
                put_line(buf, row, &line);
            }
        }
    }
}

/// One left-aligned line, as ratatui's `LineTruncator` and `render_line` would draw it: graphemes
/// wider than the row are skipped, the line stops at the first that does not fit, zero-width
/// ones take no cell, control characters are dropped.
fn put_line(buf: &mut Buffer, row: Rect, line: &Line) {
    let max = row.width;
    let mut used: u16 = 0;
    for span in &line.spans {
        let style = line.style.patch(span.style);
        let text: &str = &span.content;
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            for b in text.bytes() {
                if used >= max {
                    return;
                }
                buf[(row.x + used, row.y)]
                    .set_char(char::from(b))
                    .set_style(style);
                used += 1;
            }
            continue;
        }
        for g in span.styled_graphemes(line.style) {
            let w = g.symbol.cell_width();
            if w > max {
                continue;
            }
            if used + w > max {
                return;
            }
            if w == 0 {
                continue;
            }
            let symbol = if g.symbol.is_empty() { " " } else { g.symbol };
            buf[(row.x + used, row.y)]
                .set_symbol(symbol)
                .set_style(g.style);
            used += w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier, Style};
    use ratatui::text::Span;

    /// Both widgets into buffers of the same size: every cell must be the same.
    fn same(lines: Vec<Line<'static>>, width: u16, height: u16) {
        let area = Rect::new(0, 0, width, height);
        let mut want = Buffer::empty(area);
        Paragraph::new(lines.clone()).render(area, &mut want);
        let mut got = Buffer::empty(area);
        Lines::new(lines.clone()).render(area, &mut got);
        assert_eq!(got, want, "{lines:?} at {width}×{height}");
        // And inside a larger buffer, away from its origin.
        let outer = Rect::new(0, 0, width + 7, height + 3);
        let inner = Rect::new(3, 2, width, height);
        let mut want = Buffer::empty(outer);
        Paragraph::new(lines.clone()).render(inner, &mut want);
        let mut got = Buffer::empty(outer);
        Lines::new(lines.clone()).render(inner, &mut got);
        assert_eq!(got, want, "{lines:?} at {inner:?}");
    }

    #[test]
    fn draws_what_a_paragraph_draws() {
        let red = Style::new().fg(Color::Red);
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let texts = [
            "web-7c9f8d6b5-x2x9q   1/1   Running",
            "",
            "naïve café — ✓ done",
            "宽字符 wide 字",
            "e\u{301}\u{301} combining",
            "tab\there\u{7}bell\u{1b}[2Jesc",
            "zero\u{200b}width \u{202e}bidi",
            "🚀 rocket 👩‍👩‍👧 family",
            "ﾃﾞｰﾀ halfwidth",
            "\u{9b}c1 csi",
        ];
        for width in [0, 1, 2, 3, 5, 12, 40] {
            for height in [1, 3] {
                for t in texts {
                    same(vec![Line::raw(t)], width, height);
                    same(
                        vec![
                            Line::from(vec![
                                Span::styled(t.to_string(), red),
                                Span::raw(" | "),
                                Span::styled(t.to_string(), bold),
                            ])
                            .style(Style::new().bg(Color::Blue)),
                        ],
                        width,
                        height,
                    );
                }
                same(texts.iter().map(|t| Line::raw(*t)).collect(), width, height);
                same(
                    vec![
                        Line::raw("right").right_aligned(),
                        Line::raw("centre").centered(),
                        Line::raw("left").left_aligned(),
                    ],
                    width,
                    height,
                );
            }
        }
    }
}
