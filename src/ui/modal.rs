//! Overlays over the panes: the y/N confirmations and the one-line text prompts (help is in help.rs).

use super::text::{clean, fit, width, wrap};
use super::theme::Theme;
use crate::config::checklist::StepKind;
use crate::core::model::{ConfirmWhat, InputWhat, Modal, Model};
use crate::core::redact::redact;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph};

/// Widest a confirm or prompt box grows; wider screens keep it readable in the middle.
const MAX_W: usize = 72;

pub fn draw(frame: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    match &m.modal {
        None => {}
        Some(Modal::Help) => super::help::draw(frame, area, m, t),
        Some(Modal::Confirm { step, what }) => {
            let inner = usize::from(area.width.saturating_sub(4)).min(MAX_W);
            boxed(
                frame,
                area,
                " confirm ",
                confirm_lines(m, step, *what, t, inner),
                inner,
                t,
            );
        }
        Some(Modal::Input { step, what, text }) => {
            let inner = usize::from(area.width.saturating_sub(4)).min(MAX_W);
            boxed(
                frame,
                area,
                " input ",
                input_lines(m, step, *what, text, t, inner),
                inner,
                t,
            );
        }
    }
}

fn title_of(m: &Model, id: &str) -> String {
    clean(m.step(id).map_or(id, |s| s.title.as_str()))
}

fn confirm_lines(
    m: &Model,
    id: &str,
    what: ConfirmWhat,
    t: &Theme,
    w: usize,
) -> Vec<Line<'static>> {
    let title = title_of(m, id);
    let step = m.step(id);
    let mut lines = Vec::new();
    let command = |cmd: &str| {
        let cmd = redact(cmd, &m.secrets).into_owned();
        let mut it = cmd.lines();
        let first = clean(it.next().unwrap_or_default());
        let more = it.count();
        let mut spans = vec![Span::styled(format!("$ {first}"), t.code())];
        if more > 0 {
            spans.push(Span::styled(
                format!(" (+{more} more line{})", if more == 1 { "" } else { "s" }),
                t.muted(),
            ));
        }
        Line::from(spans)
    };
    match what {
        ConfirmWhat::Run => {
            lines.push(Line::styled(format!("Run \"{title}\"?"), t.bold()));
            match step.map(|s| &s.kind) {
                Some(StepKind::Run(cmd)) => lines.push(command(cmd)),
                Some(StepKind::Action(a)) => lines.push(Line::styled(a.describe(), t.code())),
                _ => {}
            }
            let state = m.run.state_of(id);
            if state.is_done() {
                lines.push(Line::styled(
                    format!("It already {}; this runs it again.", state.as_str()),
                    t.warn(),
                ));
            }
        }
        ConfirmWhat::Rollback => {
            lines.push(Line::styled(
                format!("Run the rollback of \"{title}\"?"),
                t.bold(),
            ));
            if let Some(rb) = step.and_then(|s| s.rollback.as_ref()) {
                lines.push(command(&rb.describe()));
            }
        }
        ConfirmWhat::SignOff => {
            lines.push(Line::styled(format!("Sign off \"{title}\"?"), t.bold()));
            lines.push(Line::styled(
                format!("Recorded in the run's journal as {}.", m.driver),
                t.muted(),
            ));
        }
        ConfirmWhat::QuitWhileRunning => {
            lines.push(Line::styled(
                format!("\"{title}\" is still running. Abort it and quit?"),
                t.bold(),
            ));
            lines.push(Line::styled(
                "Its process group gets SIGINT, then SIGTERM, then SIGKILL.",
                t.muted(),
            ));
        }
        ConfirmWhat::Interrupted => {
            lines.push(Line::styled(
                format!("\"{title}\" was cut off when the last run died."),
                t.bold(),
            ));
            lines.push(Line::styled(
                "It may have half-happened: check, then decide.",
                t.warn(),
            ));
            lines.push(Line::from(vec![
                Span::styled("[r]", t.key()),
                Span::raw(" run it again  "),
                Span::styled("[d]", t.key()),
                Span::raw(" mark it done  "),
                Span::styled("[esc]", t.key()),
                Span::raw(" cancel"),
            ]));
            return lines.into_iter().flat_map(|l| wrap(l, w, 2)).collect();
        }
    }
    lines.push(Line::from(vec![Span::styled("[y/N]", t.key())]));
    lines.into_iter().flat_map(|l| wrap(l, w, 2)).collect()
}

fn input_lines(
    m: &Model,
    id: &str,
    what: InputWhat,
    text: &str,
    t: &Theme,
    w: usize,
) -> Vec<Line<'static>> {
    let title = title_of(m, id);
    let prompt = match what {
        InputWhat::SkipReason => format!("Reason for skipping \"{title}\":"),
        InputWhat::Comment => format!("Comment on \"{title}\":"),
        InputWhat::SignOffName => format!("Reviewer who signs off \"{title}\":"),
        InputWhat::LogFilter => "Show log lines containing (empty shows all):".to_string(),
    };
    let mut lines: Vec<Line> = wrap(Line::styled(prompt, t.bold()), w, 2);
    // The end of the text stays in view while typing; the start gives way to `…`.
    let text = clean(text);
    let room = w.saturating_sub(3);
    let shown = if width(&text) <= room {
        text
    } else {
        let tail: String = text
            .chars()
            .rev()
            .scan(0, |used, c| {
                *used += width(&c.to_string());
                (*used < room).then_some(c)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    };
    lines.push(Line::from(vec![
        Span::styled("> ", t.key()),
        Span::raw(shown),
        Span::raw("█"),
    ]));
    lines.push(Line::styled(fit("enter saves · esc cancels", w), t.muted()));
    lines
}

/// Draws `lines` in a bordered box centred in `area`, clearing what is under it.
pub fn boxed(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    inner_w: usize,
    t: &Theme,
) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let content_w = lines
        .iter()
        .map(|l| super::text::spans_width(&l.spans))
        .max()
        .unwrap_or(0);
    let content_w = inner_w.min(content_w.max(width(title) + 2));
    // A space either side of the text when the screen has it.
    let pad = usize::from(content_w + 4 <= usize::from(area.width));
    let w = (content_w + 2 + 2 * pad).min(usize::from(area.width)) as u16;
    let h = (lines.len() + 2).min(usize::from(area.height)) as u16;
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let inner_w = usize::from(w.saturating_sub(2)) - 2 * pad;
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| super::text::fit_line(l, inner_w))
        .collect();
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.border(true))
        .padding(Padding::horizontal(pad as u16))
        .title(Span::styled(fit(title, inner_w + 2 * pad), t.bold()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).style(Style::new()), rect);
}
