//! Rendering only: draws the model into a frame (header, panes by layout, footer, overlays); no IO.

pub mod ansi;
pub mod big;
pub mod clock;
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod lines;
pub mod markdown;
pub mod modal;
pub mod panes;
pub mod text;
pub mod theme;

pub use theme::Theme;

use crate::config::layout::{Layout, PaneId};
use crate::core::model::Model;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

/// Draws the whole cockpit. Never writes outside `frame.area()`, at any size.
pub fn render(frame: &mut Frame, m: &Model, layout: &Layout, theme: &Theme) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let (header, footer, body) = regions(area);
    header::draw(frame, header, m, theme);
    if footer.height > 0 {
        footer::draw(frame, footer, m, theme);
    }
    if body.height > 0 {
        draw_body(frame, body, m, layout, theme);
    }
    modal::draw(frame, area, m, theme);
}

/// The last frame [`render_reusing`] drew, and what it showed: the model's `version`, the
/// second on the clock and the size.
#[derive(Default)]
pub struct LastFrame {
    key: Option<(u64, i64, Rect)>,
    cells: Vec<ratatui::buffer::Cell>,
    /// Frames drawn by copying the last one and drawing the log pane again.
    pub reused: u64,
}

/// [`render`], except when only log lines came since the last frame (the usual frame while logs
/// flow: four a second): then the last frame is copied and the log pane alone is drawn again.
/// The result is the same cells as [`render`] would give.
pub fn render_reusing(
    frame: &mut Frame,
    m: &Model,
    layout: &Layout,
    theme: &Theme,
    last: &mut LastFrame,
) {
    let area = frame.area();
    let key = (m.version, m.now.timestamp(), area);
    // The key holds the size, so a kept frame has as many cells as this one.
    let same = last.key == Some(key)
        // Overlays cover the panes, and a running step's spinner turns with the time.
        && m.modal.is_none()
        && m.running.is_none();
    if same {
        last.reused += 1;
        frame.buffer_mut().content.clone_from_slice(&last.cells);
        let (_, _, body) = regions(area);
        for (pane, rect) in placed(m, layout, body) {
            if pane == PaneId::Logs {
                let rect = rect.intersection(body);
                let buf = frame.buffer_mut();
                for y in rect.top()..rect.bottom() {
                    for x in rect.left()..rect.right() {
                        buf[(x, y)].reset();
                    }
                }
                draw_pane(frame, pane, rect, body, m, theme);
            }
        }
    } else {
        render(frame, m, layout, theme);
    }
    last.key = Some(key);
    last.cells.clone_from(&frame.buffer_mut().content);
}

/// Header, footer and the body between them.
fn regions(area: Rect) -> (Rect, Rect, Rect) {
    let (header_h, footer_h) = match area.height {
        0..=3 => (1, 0),
        4..=11 => (1, 1),
        _ => (2, 1),
    };
    let header = Rect {
        height: header_h.min(area.height),
        ..area
    };
    let footer = Rect {
        y: area.bottom() - footer_h,
        height: footer_h,
        ..area
    };
    let body = Rect {
        y: area.y + header.height,
        height: area.height.saturating_sub(header.height + footer_h),
        ..area
    };
    (header, footer, body)
}

fn draw_body(frame: &mut Frame, body: Rect, m: &Model, layout: &Layout, theme: &Theme) {
    let panes = placed(m, layout, body);
    if panes.is_empty() {
        let text = text::fit(
            "terminal too small — make it larger",
            usize::from(body.width),
        );
        frame.render_widget(Paragraph::new(Line::styled(text, theme.muted())), body);
        return;
    }
    for (pane, rect) in panes {
        draw_pane(frame, pane, rect, body, m, theme);
    }
}

/// One pane: its border and title, then what it shows.
fn draw_pane(frame: &mut Frame, pane: PaneId, rect: Rect, body: Rect, m: &Model, theme: &Theme) {
    // The layout engine keeps panes inside the body; clamp anyway so a bad rect cannot panic.
    let rect = rect.intersection(body);
    if rect.width < 2 || rect.height < 2 {
        return;
    }
    let focused = m.focused() == pane;
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title(
            m,
            pane,
            focused,
            usize::from(rect.width.saturating_sub(2)),
            theme,
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut cx = panes::Ctx {
        frame,
        m,
        theme,
        focused,
    };
    panes::draw(&mut cx, pane, inner);
}

/// Where each pane goes. When the layout had to drop the focused pane for want of room, that
/// pane is shown alone instead (as if zoomed): the keys act on it, so it must be on screen.
pub fn placed(m: &Model, layout: &Layout, body: Rect) -> Vec<(PaneId, Rect)> {
    let focused = m.focused();
    let panes = layout::compute(layout, body, m.zoom.then_some(focused));
    if panes.iter().any(|(p, _)| *p == focused) || !layout.panes().contains(&focused) {
        return panes;
    }
    let alone = layout::compute(layout, body, Some(focused));
    if alone.is_empty() { panes } else { alone }
}

/// ` 2 output · tests #1 · FOLLOW `: the focus key, the pane name, then what it shows.
fn title(m: &Model, pane: PaneId, focused: bool, max: usize, theme: &Theme) -> Line<'static> {
    let number = m
        .panes
        .iter()
        .position(|p| *p == pane)
        .map(|i| format!("{} ", i + 1))
        .unwrap_or_default();
    let name_style = if focused {
        theme.border(true)
    } else {
        theme.bold()
    };
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(format!("{number}{}", pane.name()), name_style),
    ];
    let extra = panes::title_extra(pane, m);
    if !extra.is_empty() {
        spans.push(Span::styled(format!(" · {extra}"), theme.muted()));
    }
    spans.push(Span::raw(" "));
    if text::spans_width(&spans) > max {
        // Keep the number and name whole as long as possible; the extra gives way first.
        spans.truncate(2);
        spans.push(Span::raw(" "));
    }
    Line::from(text::fit_spans(spans, max))
}
