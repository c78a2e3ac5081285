//! Step notes from Markdown into styled lines: headings bold, bullets, checkboxes, `code`, **bold**.
//!
//! Line by line on purpose: notes imported from checklists hold tables and sign-off blocks that
//! read best in a terminal exactly as written, so structure is kept and only decorated.

use super::theme::Theme;
use ratatui::text::{Line, Span};

pub fn render(md: &str, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut blank = false;
    for raw in md.lines() {
        let line = super::text::clean(raw.trim_end());
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push(Line::styled(format!("  {line}"), t.code()));
            blank = false;
            continue;
        }
        if trimmed.is_empty() {
            if !blank && !out.is_empty() {
                out.push(Line::default());
            }
            blank = true;
            continue;
        }
        blank = false;
        let indent = &line[..line.len() - trimmed.len()];
        if let Some(h) = heading(trimmed) {
            out.push(Line::from(inline(h, t)).style(t.bold()));
        } else if let Some(q) = trimmed.strip_prefix('>') {
            out.push(Line::styled(format!("│ {}", q.trim_start()), t.muted()));
        } else if let Some((mark, rest)) = bullet(trimmed) {
            let mut spans = vec![Span::raw(format!("{indent}{mark} "))];
            spans.extend(inline(rest, t));
            out.push(Line::from(spans));
        } else {
            let mut spans = vec![Span::raw(indent.to_string())];
            spans.extend(inline(trimmed, t));
            out.push(Line::from(spans));
        }
    }
    while out.last().is_some_and(|l| l.spans.is_empty()) {
        out.pop();
    }
    out
}

fn heading(s: &str) -> Option<&str> {
    let hashes = s.chars().take_while(|c| *c == '#').count();
    (1..=6)
        .contains(&hashes)
        .then(|| &s[hashes..])
        .and_then(|r| r.strip_prefix(' '))
        .map(str::trim)
}

/// `- [ ] x` → (☐, x); `- [x] x` → (☑, x); `- x` / `* x` / `+ x` → (•, x).
fn bullet(s: &str) -> Option<(&'static str, &str)> {
    let rest = s
        .strip_prefix("- ")
        .or_else(|| s.strip_prefix("* "))
        .or_else(|| s.strip_prefix("+ "))?;
    if let Some(r) = rest.strip_prefix("[ ] ") {
        return Some(("☐", r));
    }
    if let Some(r) = rest
        .strip_prefix("[x] ")
        .or_else(|| rest.strip_prefix("[X] "))
    {
        return Some(("☑", r));
    }
    Some(("•", rest))
}

/// `code` spans and **bold** runs; anything unbalanced stays as written.
fn inline(s: &str, t: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let tick = rest.find('`');
        let star = rest.find("**");
        let (at, marker, style) = match (tick, star) {
            (Some(a), Some(b)) if b < a => (b, "**", t.bold()),
            (Some(a), _) => (a, "`", t.code()),
            (None, Some(b)) => (b, "**", t.bold()),
            (None, None) => break,
        };
        let after = &rest[at + marker.len()..];
        let Some(close) = after.find(marker) else {
            break;
        };
        if at > 0 {
            spans.push(Span::raw(rest[..at].to_string()));
        }
        spans.push(Span::styled(after[..close].to_string(), style));
        rest = &after[close + marker.len()..];
    }
    if !rest.is_empty() {
        spans.push(Span::raw(rest.to_string()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(md: &str) -> Vec<String> {
        render(md, &Theme { color: false })
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn decorates_structure() {
        let md = "## Before\n\n- [ ] check `kubectl get pods`\n  - nested **now**\n\n\n```sh\necho hi\n```\n| a | b |";
        assert_eq!(
            texts(md),
            vec![
                "Before",
                "",
                "☐ check kubectl get pods",
                "  • nested now",
                "",
                "  echo hi",
                "| a | b |"
            ]
        );
    }
}
