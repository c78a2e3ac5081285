//! Key presses and resizes from the terminal, as messages; paused while a step owns the tty.

use crate::core::keys::{Key, KeyCode};
use crate::core::msg::Msg;
use crossterm::event::{
    Event, EventStream, KeyCode as CtKey, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

/// Converts a crossterm key to the core's key; `None` for keys the cockpit does not use.
pub fn key_of(ev: KeyEvent) -> Option<Key> {
    let code = match ev.code {
        CtKey::Char(c) => KeyCode::Char(c),
        CtKey::Enter => KeyCode::Enter,
        CtKey::Esc => KeyCode::Esc,
        CtKey::Tab => KeyCode::Tab,
        CtKey::BackTab => KeyCode::BackTab,
        CtKey::Up => KeyCode::Up,
        CtKey::Down => KeyCode::Down,
        CtKey::Left => KeyCode::Left,
        CtKey::Right => KeyCode::Right,
        CtKey::PageUp => KeyCode::PageUp,
        CtKey::PageDown => KeyCode::PageDown,
        CtKey::Home => KeyCode::Home,
        CtKey::End => KeyCode::End,
        CtKey::Backspace => KeyCode::Backspace,
        CtKey::Delete => KeyCode::Delete,
        CtKey::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        alt: ev.modifiers.contains(KeyModifiers::ALT),
    })
}

/// Reads terminal events until the receiver is gone. While `paused` is true the stream is
/// dropped, so an interactive step reads its own input undisturbed.
pub async fn run(tx: mpsc::Sender<Msg>, mut paused: watch::Receiver<bool>) {
    loop {
        while *paused.borrow_and_update() {
            if paused.changed().await.is_err() {
                return;
            }
        }
        let mut events = EventStream::new();
        loop {
            tokio::select! {
                changed = paused.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *paused.borrow() {
                        break;
                    }
                }
                ev = events.next() => {
                    let msg = match ev {
                        Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => key_of(k).map(Msg::Key),
                        Some(Ok(Event::Paste(text))) => {
                            // A paste types into the input box character by character.
                            for c in text.chars().filter(|c| !c.is_control()) {
                                if tx.send(Msg::Key(Key::ch(c))).await.is_err() {
                                    return;
                                }
                            }
                            None
                        }
                        Some(Ok(Event::Resize(w, h))) => Some(Msg::Resize(w, h)),
                        Some(Ok(_)) => None,
                        // The terminal is gone (SIGHUP, closed pane): the signal task handles the rest.
                        Some(Err(_)) | None => return,
                    };
                    if let Some(msg) = msg
                        && tx.send(msg).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}
