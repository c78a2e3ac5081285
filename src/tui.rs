//! The terminal guard: raw mode and the alternate screen, restored on drop, on panic,
//! and around interactive steps that need the real terminal.

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout};
use std::sync::Once;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct Tui {
    pub terminal: Term,
    active: bool,
}

/// Puts the terminal back the way a shell expects it. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
}

static HOOK: Once = Once::new();

/// On panic: restore the terminal first so the message is readable, then run `on_panic`
/// (which records the end of the run), then the default hook prints the panic.
pub fn install_panic_hook(on_panic: fn()) {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            on_panic();
            default(info);
        }));
    });
}

impl Tui {
    pub fn enter() -> io::Result<Self> {
        let mut tui = Tui {
            terminal: Terminal::new(CrosstermBackend::new(io::stdout()))?,
            active: false,
        };
        tui.resume()?;
        Ok(tui)
    }

    /// Leaves raw mode and the alternate screen (an interactive step takes the terminal).
    pub fn suspend(&mut self) {
        if self.active {
            restore();
            self.active = false;
        }
    }

    pub fn resume(&mut self) -> io::Result<()> {
        enable_raw_mode()?;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            Hide
        )?;
        self.active = true;
        // Whatever was on screen before is gone: draw everything next time.
        self.terminal.clear()?;
        Ok(())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        self.suspend();
    }
}
