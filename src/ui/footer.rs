//! The footer: the keys that apply to the focused pane (from the keymap), or the flash message.

use super::text::{fit, fit_spans};
use super::theme::Theme;
use crate::config::checklist::StepKind;
use crate::config::keymap::Command;
use crate::config::layout::PaneId;
use crate::core::model::{ConfirmWhat, Modal, Model};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    if let Some(f) = &m.flash {
        let text = fit(&format!(" {}", super::text::clean(&f.text)), width);
        frame.render_widget(
            Paragraph::new(Line::raw(text)).style(t.flash(f.error)),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    for (keys, label) in items(m) {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", t.muted()));
        }
        spans.push(Span::styled(keys, t.key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    spans.insert(0, Span::raw(" "));
    frame.render_widget(Paragraph::new(Line::from(fit_spans(spans, width))), area);
}

/// The first key bound to a command (`enter`), if any.
fn key(m: &Model, cmd: Command) -> Option<String> {
    m.keymap
        .bindings
        .iter()
        .find(|(_, c)| *c == cmd)
        .map(|(k, _)| k.to_string())
}

/// `j/k` for a pair of commands, or whichever of them is bound.
fn pair(m: &Model, a: Command, b: Command) -> Option<String> {
    match (key(m, a), key(m, b)) {
        (Some(a), Some(b)) => Some(format!("{a}/{b}")),
        (a, b) => a.or(b),
    }
}

/// (keys, what they do) for the footer, most useful first.
pub fn items(m: &Model) -> Vec<(String, String)> {
    let mut out: Vec<(Option<String>, &str)> = Vec::new();
    match &m.modal {
        Some(Modal::Help) => return vec![("any key".into(), "closes the help".into())],
        Some(Modal::Confirm {
            what: ConfirmWhat::Interrupted,
            ..
        }) => {
            return vec![
                ("r".into(), "run again".into()),
                ("d".into(), "mark done".into()),
                ("any other key".into(), "cancel".into()),
            ];
        }
        Some(Modal::Confirm { .. }) => {
            return vec![
                ("y".into(), "yes".into()),
                ("any other key".into(), "no".into()),
            ];
        }
        Some(Modal::Input { .. }) => {
            return vec![
                ("enter".into(), "save".into()),
                ("esc".into(), "cancel".into()),
                ("ctrl-u".into(), "clear".into()),
            ];
        }
        None => {}
    }
    match m.focused() {
        PaneId::Checklist => {
            let step = m.selected_step();
            let manual = step.is_some_and(|s| matches!(s.kind, StepKind::Manual));
            out.push((key(m, Command::Run), if manual { "tick" } else { "run" }));
            out.push((key(m, Command::Retry), "retry"));
            out.push((key(m, Command::Skip), "skip"));
            out.push((key(m, Command::Abort), "abort"));
            if step.is_some_and(|s| s.rollback.is_some()) {
                out.push((key(m, Command::Rollback), "rollback"));
            }
            out.push((key(m, Command::Comment), "comment"));
            out.push((key(m, Command::SignOff), "sign off"));
        }
        PaneId::Output => {
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "scroll"));
            out.push((key(m, Command::Follow), "follow"));
            out.push((pair(m, Command::Top, Command::Bottom), "top/bottom"));
        }
        PaneId::Details => {
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "scroll"));
            out.push((pair(m, Command::Top, Command::Bottom), "top/bottom"));
        }
        _ => {}
    }
    out.push((key(m, Command::Help), "help"));
    out.push((key(m, Command::Quit), "quit"));
    out.push((key(m, Command::FocusNext), "next pane"));
    out.push((
        key(m, Command::Zoom),
        if m.zoom { "unzoom" } else { "zoom" },
    ));
    out.into_iter()
        .filter_map(|(k, l)| k.map(|k| (k, l.to_string())))
        .collect()
}
