//! The footer: the keys that apply to the focused pane (from the keymap), or the flash message.
//!
//! Keys carry a priority: when the line is too narrow the least useful give way first and a
//! `…` says so (`?` lists them all), so `? help` and `q quit` survive at 80 columns.

use super::text::{fit, fit_spans, width};
use super::theme::Theme;
use crate::config::checklist::StepKind;
use crate::config::keymap::Command;
use crate::config::layout::PaneId;
use crate::core::model::{ConfirmWhat, Modal, Model};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// One footer entry: keys, what they do, and how important (0 = always shown).
pub struct Item {
    pub keys: String,
    pub label: String,
    pub prio: u8,
}

pub fn draw(frame: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let max = usize::from(area.width);
    if max == 0 || area.height == 0 {
        return;
    }
    // While a modal waits for input its keys matter more than a message from before it opened.
    if let (Some(f), None) = (&m.flash, &m.modal) {
        let text = fit(&format!(" {}", super::text::clean(&f.text)), max);
        frame.render_widget(
            Paragraph::new(Line::raw(text)).style(t.flash(f.error)),
            area,
        );
        return;
    }
    let mut items = items(m);
    let cost = |items: &[Item]| -> usize {
        items
            .iter()
            .map(|i| width(&i.keys) + 1 + width(&i.label))
            .sum::<usize>()
            + 3 * items.len().saturating_sub(1)
            + 1
    };
    let mut dropped = false;
    while cost(&items) + if dropped { 4 } else { 0 } > max {
        let Some(worst) = (0..items.len())
            .filter(|i| items[*i].prio > 0)
            .max_by_key(|i| (items[*i].prio, *i))
        else {
            break;
        };
        items.remove(worst);
        dropped = true;
    }
    let mut spans = vec![Span::raw(" ")];
    for (n, item) in items.into_iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" · ", t.muted()));
        }
        spans.push(Span::styled(item.keys, t.key()));
        spans.push(Span::raw(format!(" {}", item.label)));
    }
    if dropped {
        spans.push(Span::styled(" · …", t.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(fit_spans(spans, max))), area);
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

fn fixed(list: &[(&str, &str)]) -> Vec<Item> {
    list.iter()
        .map(|(k, l)| Item {
            keys: k.to_string(),
            label: l.to_string(),
            prio: 0,
        })
        .collect()
}

/// The footer's entries for the focused pane (or the open modal), in display order.
pub fn items(m: &Model) -> Vec<Item> {
    match &m.modal {
        Some(Modal::Help) => return fixed(&[("any key", "closes the help")]),
        Some(Modal::Confirm {
            what: ConfirmWhat::Interrupted,
            ..
        }) => {
            return fixed(&[
                ("r", "run again"),
                ("d", "mark done"),
                ("any other key", "cancel"),
            ]);
        }
        Some(Modal::Confirm { .. }) => return fixed(&[("y", "yes"), ("any other key", "no")]),
        Some(Modal::Input { .. }) => {
            return fixed(&[("enter", "save"), ("esc", "cancel"), ("ctrl-u", "clear")]);
        }
        None => {}
    }
    let running = m.running.is_some();
    let mut out: Vec<(Option<String>, &str, u8)> = Vec::new();
    match m.focused() {
        // A watcher signs off and comments; running steps is the driver's.
        PaneId::Checklist if m.role == crate::core::model::Role::Watcher => {
            out.push((key(m, Command::SignOff), "sign off", 0));
            out.push((key(m, Command::Comment), "comment", 0));
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "move", 2));
        }
        PaneId::Checklist => {
            let step = m.selected_step();
            let manual = step.is_some_and(|s| matches!(s.kind, StepKind::Manual));
            out.push((
                key(m, Command::Run),
                if manual { "tick" } else { "run" },
                if running { 4 } else { 0 },
            ));
            out.push((key(m, Command::Retry), "retry", 2));
            out.push((key(m, Command::Skip), "skip", 2));
            out.push((key(m, Command::Abort), "abort", if running { 0 } else { 4 }));
            if step.is_some_and(|s| s.rollback.is_some()) {
                out.push((key(m, Command::Rollback), "rollback", 3));
            }
            out.push((key(m, Command::Comment), "comment", 3));
            out.push((key(m, Command::SignOff), "sign off", 3));
        }
        PaneId::Output => {
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "scroll", 1));
            out.push((
                key(m, Command::Follow),
                if m.follow { "pause" } else { "follow" },
                1,
            ));
            out.push((pair(m, Command::Top, Command::Bottom), "top/bottom", 2));
            if running && m.role == crate::core::model::Role::Driver {
                out.push((key(m, Command::Abort), "abort", 1));
            }
        }
        PaneId::Logs => {
            out.push((key(m, Command::Filter), "filter", 1));
            out.push((
                key(m, Command::Follow),
                if m.logs.follow { "pause" } else { "follow" },
                1,
            ));
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "scroll", 1));
            out.push((pair(m, Command::Top, Command::Bottom), "top/bottom", 2));
        }
        PaneId::Details => {
            out.push((pair(m, Command::MoveDown, Command::MoveUp), "scroll", 1));
            out.push((pair(m, Command::Top, Command::Bottom), "top/bottom", 2));
        }
        _ => {}
    }
    out.push((key(m, Command::Help), "help", 0));
    out.push((key(m, Command::Quit), "quit", 0));
    out.push((key(m, Command::FocusNext), "next pane", 5));
    out.push((
        key(m, Command::Zoom),
        if m.zoom { "unzoom" } else { "zoom" },
        5,
    ));
    out.into_iter()
        .filter_map(|(k, label, prio)| {
            k.map(|keys| Item {
                keys,
                label: label.to_string(),
                prio,
            })
        })
        .collect()
}
