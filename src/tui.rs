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
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct Tui {
    pub terminal: Term,
}

/// Whether the screen is ours (raw mode, alternate screen) right now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back the way a shell expects it. Only the first call after taking the
/// screen does anything: leaving the alternate screen twice would move the cursor back over
/// whatever was printed in between (a panic message, say).
pub fn restore() {
    silence_if_hung_up();
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableBracketedPaste,
            LeaveAlternateScreen,
            Show
        );
    }
}

/// Once the terminal hung up, every write to it fails (EIO), and a failed `eprintln!` — ratatui
/// showing the cursor on drop, the resume hint printed on exit — panics: the run would end
/// with exit 101 instead of its own code. Standard output and error then go to /dev/null.
/// What is polled is standard output, where the screen is drawn: standard input may be a pipe
/// that ended while the terminal is fine, and a message printed there must not be lost.
fn silence_if_hung_up() {
    use std::os::fd::AsFd;
    if !fd_hung_up(io::stdout().as_fd()) {
        return;
    }
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
}

/// Whether the terminal hung up (its pane was killed, the SSH session dropped), for when no
/// SIGHUP reaches shipdeck — e.g. while an interactive step held the foreground.
pub fn hung_up() -> bool {
    use std::os::fd::AsFd;
    fd_hung_up(io::stdin().as_fd())
}

/// Whether `fd`'s other end is gone (hang-up, error or a closed descriptor), without waiting.
fn fd_hung_up(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(fd, PollFlags::empty())];
    let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0].revents().is_some_and(|r| r.intersects(gone))
}

static HOOK: Once = Once::new();

/// On panic: restore the terminal first so the message is readable, then run `on_panic`
/// (which records the end of the run), then the default hook prints the panic.
pub fn install_panic_hook(on_panic: fn()) {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some("main") {
                // A background task died; the cockpit goes on. Its message goes to the state
                // dir, not over the screen.
                log_background_panic(info);
                return;
            }
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
        };
        tui.resume()?;
        Ok(tui)
    }

    /// Leaves raw mode and the alternate screen (an interactive step takes the terminal).
    pub fn suspend(&mut self) {
        restore();
    }

    pub fn resume(&mut self) -> io::Result<()> {
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            Hide
        )?;
        // Whatever was on screen before is gone: draw everything next time.
        self.terminal.clear()?;
        Ok(())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // Also when the screen was already given back: ratatui's own drop writes next.
        silence_if_hung_up();
        restore();
    }
}

/// Appends a background thread's panic to `STATE_DIR/panics.log`.
fn log_background_panic(info: &std::panic::PanicHookInfo<'_>) {
    use std::io::Write;
    let path = crate::paths::state_dir().join("panics.log");
    let _ = crate::journal_io::ensure_parent(&path);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(
            f,
            "{} thread {:?}: {info}",
            chrono::Utc::now().to_rfc3339(),
            std::thread::current().name().unwrap_or("?")
        );
    }
}
