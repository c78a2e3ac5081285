//! ANSI SGR colours of step output into styled spans; other escapes and `\r` overwrites are dropped.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Parses one output line. With `color` false, colours are dropped and text attributes kept.
/// Carriage returns overwrite: only the text after the last one is kept (progress bars).
pub fn parse_line(line: &str, color: bool) -> Line<'static> {
    // Whatever is not colour goes first, whole (OSC, DCS, 8-bit forms, invisible characters):
    // a log line from the cluster must not be able to steer the terminal.
    let sanitized;
    let line = if line.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        line
    } else {
        sanitized = crate::ui::text::sanitize_output(line);
        &sanitized
    };
    let line = line.trim_end_matches(['\r', '\n']);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = Style::new();
    let mut col = 0usize;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                let next = chars.next();
                match next {
                    Some('[') => {
                        let mut params = String::new();
                        let mut fin = None;
                        for p in chars.by_ref() {
                            if ('\x40'..='\x7e').contains(&p) {
                                fin = Some(p);
                                break;
                            }
                            params.push(p);
                        }
                        if fin == Some('m') {
                            let new = sgr(style, &params, color);
                            if new != style {
                                flush(&mut spans, &mut text, style);
                                style = new;
                            }
                        }
                    }
                    // OSC (titles, hyperlinks): up to BEL or ST.
                    Some(']') => {
                        while let Some(p) = chars.next() {
                            if p == '\x07' || (p == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                                break;
                            }
                        }
                    }
                    // Two-character escapes (charset selection etc.).
                    Some('(' | ')' | '#' | '%') => {
                        chars.next();
                    }
                    _ => {}
                }
            }
            '\r' => {
                spans.clear();
                text.clear();
                col = 0;
            }
            '\t' => {
                let n = 8 - col % 8;
                text.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if c.is_control() => {}
            c => {
                text.push(c);
                col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            }
        }
    }
    flush(&mut spans, &mut text, style);
    Line::from(spans)
}

fn flush(spans: &mut Vec<Span<'static>>, text: &mut String, style: Style) {
    if !text.is_empty() {
        spans.push(Span::styled(std::mem::take(text), style));
    }
}

/// Applies one SGR parameter list (`1;31`, `38;5;208`, `38:2:255:0:0`) to a style.
fn sgr(mut style: Style, params: &str, color: bool) -> Style {
    if params.is_empty() {
        return Style::new();
    }
    let groups: Vec<&str> = params.split(';').collect();
    let mut i = 0;
    while i < groups.len() {
        let g = groups[i];
        i += 1;
        if g.contains(':') {
            // ITU form: the whole extended colour sits in one group.
            let sub: Vec<u16> = g.split(':').map(|s| s.parse().unwrap_or(0)).collect();
            let c = match sub.as_slice() {
                [_, 5, n, ..] => Some(Color::Indexed(*n as u8)),
                [_, 2, _, r, g, b] | [_, 2, r, g, b] => {
                    Some(Color::Rgb(*r as u8, *g as u8, *b as u8))
                }
                _ => None,
            };
            if let (Some(c), true) = (c, color) {
                style = match sub[0] {
                    38 => style.fg(c),
                    48 => style.bg(c),
                    _ => style,
                };
            }
            continue;
        }
        let n: u16 = g.parse().unwrap_or(0);
        match n {
            0 => style = Style::new(),
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            7 => style = style.add_modifier(Modifier::REVERSED),
            9 => style = style.add_modifier(Modifier::CROSSED_OUT),
            21 | 22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            29 => style = style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 | 90..=97 | 40..=47 | 100..=107 if color => {
                let (base, bright) = match n {
                    30..=37 => (n - 30, false),
                    90..=97 => (n - 90, true),
                    40..=47 => (n - 40, false),
                    _ => (n - 100, true),
                };
                let c = basic(base as u8, bright);
                style = if n < 40 || (90..=97).contains(&n) {
                    style.fg(c)
                } else {
                    style.bg(c)
                };
            }
            38 | 48 => {
                let c = match groups.get(i).copied() {
                    Some("5") => {
                        let c = groups
                            .get(i + 1)
                            .and_then(|v| v.parse::<u8>().ok())
                            .map(Color::Indexed);
                        i += 2;
                        c
                    }
                    Some("2") => {
                        let v: Vec<u8> = groups
                            .iter()
                            .skip(i + 1)
                            .take(3)
                            .map(|v| v.parse().unwrap_or(0))
                            .collect();
                        i += 4;
                        (v.len() == 3).then(|| Color::Rgb(v[0], v[1], v[2]))
                    }
                    _ => None,
                };
                if let (Some(c), true) = (c, color) {
                    style = if n == 38 { style.fg(c) } else { style.bg(c) };
                }
            }
            39 if color => style.fg = None,
            49 if color => style.bg = None,
            _ => {}
        }
    }
    style
}

fn basic(n: u8, bright: bool) -> Color {
    const NORMAL: [Color; 8] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
    ];
    const BRIGHT: [Color; 8] = [
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    if bright {
        BRIGHT[usize::from(n & 7)]
    } else {
        NORMAL[usize::from(n & 7)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn colours_and_resets() {
        let l = parse_line(
            "\x1b[1;31merror\x1b[0m: \x1b[38;5;208mwarn\x1b[38;2;1;2;3m rgb\x1b[39m end",
            true,
        );
        assert_eq!(text(&l), "error: warn rgb end");
        assert_eq!(
            l.spans[0].style,
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        );
        assert_eq!(l.spans[1].style, Style::new());
        assert_eq!(l.spans[2].style.fg, Some(Color::Indexed(208)));
        assert_eq!(l.spans[3].style.fg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(l.spans[4].style.fg, None);
    }

    #[test]
    fn strips_other_escapes_and_overwrites() {
        let l = parse_line(
            "\x1b[2K\x1b[1Gdownloading 10%\rdownloading 100%\x1b]0;title\x07 done\r\n",
            true,
        );
        assert_eq!(text(&l), "downloading 100% done");
        let l = parse_line("a\tb\x1b[32mc", false);
        assert_eq!(text(&l), "a       bc");
        assert_eq!(l.spans.len(), 1);
        let l = parse_line("\x1b[38:2::10:20:30mx\x1b[4my", true);
        assert_eq!(l.spans[0].style.fg, Some(Color::Rgb(10, 20, 30)));
        assert!(l.spans[1].style.add_modifier.contains(Modifier::UNDERLINED));
    }
}
