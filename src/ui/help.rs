//! The help overlay: every bound key and what it does, generated from the keymap.

use super::modal::boxed;
use super::text::{fit, width};
use super::theme::Theme;
use crate::core::model::Model;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(frame: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let rows = m.keymap.help_rows();
    let key_w = rows.iter().map(|r| width(&r.0)).max().unwrap_or(1).min(14);
    let desc_w = rows.iter().map(|r| width(r.2)).max().unwrap_or(1);
    let col_w = key_w + 2 + desc_w;
    let avail = usize::from(area.height.saturating_sub(2)).max(1);
    // Two or more columns when the rows do not fit one under the other and the screen is wide.
    let mut cols = rows.len().div_ceil(avail).max(1);
    while cols > 1 && cols * (col_w + 3) + 1 > usize::from(area.width) {
        cols -= 1;
    }
    let per_col = rows.len().div_ceil(cols);
    let inner_w = (cols * col_w + (cols - 1) * 3).min(usize::from(area.width.saturating_sub(4)));
    let cell_w = if cols > 1 {
        (inner_w - (cols - 1) * 3) / cols
    } else {
        inner_w
    };
    let shown = per_col.min(avail);
    let mut lines: Vec<Line> = Vec::new();
    for r in 0..shown {
        let mut spans = Vec::new();
        for c in 0..cols {
            let Some((keys, _, desc)) = rows.get(c * per_col + r) else {
                continue;
            };
            if c > 0 {
                spans.push(Span::raw("   "));
            }
            let k = fit(keys, key_w);
            let d = fit(desc, cell_w.saturating_sub(key_w + 2));
            let pad = cell_w.saturating_sub(key_w + 2 + width(&d));
            spans.push(Span::styled(
                format!("{k:<key_w$}  ", key_w = key_w),
                t.key(),
            ));
            spans.push(Span::raw(format!(
                "{d}{}",
                " ".repeat(if c + 1 < cols { pad } else { 0 })
            )));
        }
        lines.push(Line::from(spans));
    }
    if shown < per_col
        && let Some(last) = lines.last_mut()
    {
        *last = Line::styled(
            fit(
                &format!(
                    "… {} more (make the terminal taller)",
                    rows.len() - (shown - 1) * cols
                ),
                inner_w,
            ),
            t.muted(),
        );
    }
    boxed(frame, area, " keys — any key closes ", lines, inner_w, t);
}
