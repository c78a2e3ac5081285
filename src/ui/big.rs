//! Large type for the pair layout: text drawn with an 8×8 bitmap font, one quadrant block
//! character per 2×2 pixels, so each letter is 4 cells wide and 4 rows high — readable from the
//! next chair in a shared tmux session.

use font8x8::{BASIC_FONTS, LATIN_FONTS, UnicodeFonts};

/// Cells per character across and rows down.
pub const CHAR_W: usize = 4;
pub const ROWS: usize = 4;

/// Quadrant blocks indexed by (top-left, top-right, bottom-left, bottom-right) bits.
const QUADRANTS: [char; 16] = [
    ' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█',
];

fn glyph(c: char) -> [u8; 8] {
    if c == '…' {
        // Not in the font: three dots on the baseline.
        return [0, 0, 0, 0, 0, 0, 0b0100_1001, 0b0100_1001];
    }
    BASIC_FONTS
        .get(c)
        .or_else(|| LATIN_FONTS.get(c))
        .or_else(|| BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

/// The rows of `text` in large type: `ROWS` strings of `CHAR_W` cells per character.
pub fn render(text: &str) -> Vec<String> {
    let mut rows = vec![String::new(); ROWS];
    for c in text.chars() {
        let g = glyph(c);
        for (r, row) in rows.iter_mut().enumerate() {
            let (top, bottom) = (g[2 * r], g[2 * r + 1]);
            for x in 0..CHAR_W {
                // Bit 0 is the leftmost pixel.
                let bit = |byte: u8, dx: usize| (byte >> (2 * x + dx)) & 1;
                let index =
                    bit(top, 0) | bit(top, 1) << 1 | bit(bottom, 0) << 2 | bit(bottom, 1) << 3;
                row.push(QUADRANTS[usize::from(index)]);
            }
        }
    }
    rows
}

/// Splits `text` into lines of at most `per_line` characters at spaces (hard-cutting words
/// that are longer), at most `max_lines` of them, the last ending in `…` when cut.
pub fn lines(text: &str, per_line: usize, max_lines: usize) -> Vec<String> {
    if per_line == 0 || max_lines == 0 {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let len = cur.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= per_line {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                break;
            }
            if len > 0 {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            let rest = word.split_off(per_line.min(word.len()));
            out.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.len() > max_lines {
        out.truncate(max_lines);
        let last = &mut out[max_lines - 1];
        let mut chars: Vec<char> = last.chars().collect();
        chars.truncate(per_line.saturating_sub(1));
        chars.push('…');
        *last = chars.into_iter().collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_four_cells_by_four_rows() {
        let rows = render("HI");
        assert_eq!(rows.len(), ROWS);
        assert!(rows.iter().all(|r| r.chars().count() == 2 * CHAR_W));
        // An H has two full-height strokes: its left column is inked on every row.
        assert!(rows[..3].iter().all(|r| !r.starts_with(' ')), "{rows:#?}");
        assert_eq!(render(" ").concat().trim(), "");
    }

    #[test]
    fn lines_wrap_at_spaces_and_cut_with_an_ellipsis() {
        assert_eq!(lines("Roll out web 2.0", 9, 2), vec!["Roll out", "web 2.0"]);
        assert_eq!(
            lines("Roll out web 2.0 now", 9, 2),
            vec!["Roll out", "web 2.0…"]
        );
        assert_eq!(lines("abcdefghij", 4, 3), vec!["abcd", "efgh", "ij"]);
        assert!(lines("x", 0, 1).is_empty());
    }
}
