//! Colours and text styles; with `NO_COLOR` only bold, dim and reverse (glyphs carry the meaning).

use crate::core::probes::Health;
use crate::core::run::StepState;
use ratatui::style::{Color, Modifier, Style};

/// Pod colours in the logs pane: distinct on dark and light backgrounds, none of them red (errors)
/// or grey (muted text).
pub const POD_PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Magenta,
    Color::Green,
    Color::Yellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightGreen,
    Color::LightCyan,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to something non-empty (<https://no-color.org>).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    fn pick(&self, color: Style, plain: Style) -> Style {
        if self.color { color } else { plain }
    }

    fn fg(&self, c: Color) -> Style {
        self.pick(Style::new().fg(c), Style::new())
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn failed(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn running(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn manual(&self) -> Style {
        self.fg(Color::Magenta)
    }

    /// Things to look at but not alarming: interrupted steps, overruns, insecure probes.
    pub fn warn(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn muted(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Commands and `code` spans.
    pub fn code(&self) -> Style {
        self.fg(Color::LightBlue)
    }

    /// Key names in the footer and help.
    pub fn key(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, true) => Style::new().fg(Color::DarkGray),
            (false, false) => Style::new(),
        }
    }

    /// The selected checklist row: highlighted (reverse video without colour) in the focused pane,
    /// underlined elsewhere.
    pub fn selected(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::REVERSED),
            (false, _) => Style::new().add_modifier(Modifier::UNDERLINED),
        }
    }

    /// A span's style on the selected row: muted grey would vanish into the selection colour.
    pub fn on_selected(&self, style: Style) -> Style {
        if self.color && style.fg == Some(Color::DarkGray) {
            Style { fg: None, ..style }
        } else {
            style
        }
    }

    /// The checklist name in the header.
    pub fn header(&self) -> Style {
        self.pick(
            Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn flash(&self, error: bool) -> Style {
        match (error, self.color) {
            (true, true) => Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            (false, true) => Style::new().fg(Color::Black).bg(Color::Cyan),
            (false, false) => Style::new().add_modifier(Modifier::REVERSED),
        }
    }

    /// A pod's name in the logs pane: a colour of its own, cycling through [`POD_PALETTE`];
    /// without colour every pod name is plain (the name itself tells them apart).
    pub fn pod(&self, colour: usize) -> Style {
        self.fg(POD_PALETTE[colour % POD_PALETTE.len()])
    }

    /// The style of a step's glyph and state words.
    pub fn state(&self, s: StepState) -> Style {
        match s {
            StepState::Pending => Style::new(),
            StepState::Running => self.running(),
            StepState::Succeeded => self.ok(),
            StepState::ManualDone => self.ok(),
            StepState::Failed | StepState::TimedOut | StepState::Aborted => self.failed(),
            StepState::Skipped => self.muted(),
            StepState::Interrupted => self.warn(),
        }
    }

    /// A probe's state glyph and words: green, amber, red; unknown is muted.
    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Unknown => self.muted(),
            Health::Green => self.ok(),
            Health::Amber => self.warn(),
            Health::Red => self.failed(),
        }
    }

    /// The ROLLBACK ADVISED banner: red, reversed, bold (reverse and bold without colour).
    pub fn alarm(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }
}
