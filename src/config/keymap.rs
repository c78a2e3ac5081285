//! Named commands, their default keys, and keymap files (`"j": move-down`) with positioned errors.

use super::diag::{Diagnostic, Diags, suggest};
use super::yaml;
use crate::core::keys::{Key, KeyCode};

/// Everything a key can do in the cockpit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    MoveDown,
    MoveUp,
    Run,
    Retry,
    Skip,
    Abort,
    Rollback,
    SignOff,
    Comment,
    FocusNext,
    FocusPrev,
    Focus(u8),
    Zoom,
    Filter,
    Follow,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Help,
    Quit,
}

/// (name in keymap files, command, description for the help overlay).
pub const COMMANDS: &[(&str, Command, &str)] = &[
    (
        "move-down",
        Command::MoveDown,
        "select the next step / scroll down",
    ),
    (
        "move-up",
        Command::MoveUp,
        "select the previous step / scroll up",
    ),
    (
        "run",
        Command::Run,
        "run the selected step (or tick a manual one)",
    ),
    (
        "retry",
        Command::Retry,
        "run a failed or interrupted step again",
    ),
    (
        "skip",
        Command::Skip,
        "skip the selected step (asks for a reason)",
    ),
    (
        "abort",
        Command::Abort,
        "abort the running step (SIGINT, SIGTERM, SIGKILL)",
    ),
    (
        "rollback",
        Command::Rollback,
        "run the selected step's rollback",
    ),
    ("sign-off", Command::SignOff, "sign off the selected step"),
    (
        "comment",
        Command::Comment,
        "add a comment to the selected step",
    ),
    ("focus-next", Command::FocusNext, "focus the next pane"),
    ("focus-prev", Command::FocusPrev, "focus the previous pane"),
    ("focus-1", Command::Focus(1), "focus pane 1"),
    ("focus-2", Command::Focus(2), "focus pane 2"),
    ("focus-3", Command::Focus(3), "focus pane 3"),
    ("focus-4", Command::Focus(4), "focus pane 4"),
    ("focus-5", Command::Focus(5), "focus pane 5"),
    ("focus-6", Command::Focus(6), "focus pane 6"),
    ("focus-7", Command::Focus(7), "focus pane 7"),
    ("focus-8", Command::Focus(8), "focus pane 8"),
    ("focus-9", Command::Focus(9), "focus pane 9"),
    (
        "zoom",
        Command::Zoom,
        "zoom the focused pane (again to restore)",
    ),
    ("filter", Command::Filter, "filter the focused pane"),
    ("follow", Command::Follow, "follow the output tail on/off"),
    ("top", Command::Top, "go to the top"),
    ("bottom", Command::Bottom, "go to the bottom"),
    ("page-up", Command::PageUp, "scroll a page up"),
    ("page-down", Command::PageDown, "scroll a page down"),
    ("help", Command::Help, "show or hide this help"),
    ("quit", Command::Quit, "quit (asks when a step is running)"),
];

impl Command {
    pub fn name(self) -> &'static str {
        COMMANDS.iter().find(|c| c.1 == self).map_or("?", |c| c.0)
    }

    pub fn description(self) -> &'static str {
        COMMANDS.iter().find(|c| c.1 == self).map_or("", |c| c.2)
    }

    pub fn from_name(name: &str) -> Option<Command> {
        COMMANDS.iter().find(|c| c.0 == name).map(|c| c.1)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub bindings: Vec<(Key, Command)>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Command::*;
        let mut b = vec![
            (Key::ch('j'), MoveDown),
            (Key::plain(KeyCode::Down), MoveDown),
            (Key::ch('k'), MoveUp),
            (Key::plain(KeyCode::Up), MoveUp),
            (Key::plain(KeyCode::Enter), Run),
            (Key::ch('r'), Retry),
            (Key::ch('s'), Skip),
            (Key::ch('x'), Abort),
            (Key::ch('u'), Rollback),
            (Key::ch('S'), SignOff),
            (Key::ch('c'), Comment),
            (Key::plain(KeyCode::Tab), FocusNext),
            (Key::plain(KeyCode::BackTab), FocusPrev),
            (Key::ch('z'), Zoom),
            (Key::ch('/'), Filter),
            (Key::ch('f'), Follow),
            (Key::ch('g'), Top),
            (Key::plain(KeyCode::Home), Top),
            (Key::ch('G'), Bottom),
            (Key::plain(KeyCode::End), Bottom),
            (Key::plain(KeyCode::PageUp), PageUp),
            (Key::plain(KeyCode::PageDown), PageDown),
            (Key::ch('?'), Help),
            (Key::ch('q'), Quit),
        ];
        for n in 1..=9u8 {
            b.push((Key::ch(char::from(b'0' + n)), Focus(n)));
        }
        Keymap { bindings: b }
    }
}

impl Keymap {
    pub fn resolve(&self, key: Key) -> Option<Command> {
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    }

    /// The keys bound to a command, as shown in the footer and help (`j/↓`).
    pub fn keys_for(&self, cmd: Command) -> String {
        let keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|(_, c)| *c == cmd)
            .map(|(k, _)| k.to_string())
            .collect();
        keys.join("/")
    }

    /// Help rows: (keys, command name, description), in the order of [`COMMANDS`], focus-N folded.
    pub fn help_rows(&self) -> Vec<(String, &'static str, &'static str)> {
        let mut rows = Vec::new();
        for (name, cmd, desc) in COMMANDS {
            if let Command::Focus(n) = cmd {
                if *n == 1 {
                    rows.push(("1–9".to_string(), "focus-N", "focus pane N"));
                }
                continue;
            }
            let keys = self.keys_for(*cmd);
            if !keys.is_empty() {
                rows.push((keys, *name, *desc));
            }
        }
        rows
    }

    /// Reads and loads a keymap file as checklists and layouts are read
    /// ([`read_source`](super::load::read_source)): an unreadable file is reported at 1:1, one
    /// that is not UTF-8 text where its first bad byte is.
    pub fn load_file(path: &std::path::Path) -> Result<Keymap, Vec<Diagnostic>> {
        let text = super::load::read_source(path).map_err(|d| vec![d])?;
        Keymap::load(&text, &path.display().to_string())
    }

    /// Loads a keymap file over the defaults: each entry `KEY: command-name` (or `none` to unbind).
    pub fn load(text: &str, file: &str) -> Result<Keymap, Vec<Diagnostic>> {
        let mut diags = Diags::new(file);
        let mut map = Keymap::default();
        let root = match yaml::parse(text) {
            Ok(r) => r,
            Err(e) => {
                diags.error(
                    e.pos,
                    format!("YAML syntax error: {}", e.message),
                    "a keymap is lines of `KEY: command`",
                );
                return Err(diags.into_sorted());
            }
        };
        let entries = match root.as_map() {
            Some(m) => m,
            None if root.is_null() => &[],
            None => {
                diags.error(
                    root.pos,
                    "a keymap must be a mapping of KEY: command",
                    "e.g. `\"j\": move-down`",
                );
                return Err(diags.into_sorted());
            }
        };
        let names: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
        for (k, v) in entries {
            let Some(key) = k.as_str().and_then(Key::parse) else {
                diags.error(
                    k.pos,
                    format!("unknown key `{}`", k.as_str().unwrap_or("?")),
                    "keys look like j, S, ?, enter, ctrl-c, shift-tab, f1",
                );
                continue;
            };
            let name = v.as_str().unwrap_or("");
            map.bindings.retain(|(bk, _)| *bk != key);
            if name == "none" {
                continue;
            }
            match Command::from_name(name) {
                Some(cmd) => map.bindings.insert(0, (key, cmd)),
                None => {
                    let hint = match suggest(name, &names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("commands: {}", names.join(", ")),
                    };
                    diags.error(v.pos, format!("unknown command `{name}`"), hint);
                }
            }
        }
        if diags.is_empty() {
            Ok(map)
        } else {
            Err(diags.into_sorted())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve_spec_keys() {
        let k = Keymap::default();
        assert_eq!(k.resolve(Key::ch('j')), Some(Command::MoveDown));
        assert_eq!(k.resolve(Key::plain(KeyCode::Enter)), Some(Command::Run));
        assert_eq!(k.resolve(Key::ch('S')), Some(Command::SignOff));
        assert_eq!(k.resolve(Key::ch('3')), Some(Command::Focus(3)));
        assert_eq!(k.resolve(Key::ch('Q')), None);
        assert_eq!(k.keys_for(Command::MoveDown), "j/↓");
    }

    #[test]
    fn file_overrides_and_reports_positions() {
        let k = Keymap::load("\"n\": move-down\n\"j\": none\n", "k.yaml").unwrap();
        assert_eq!(k.resolve(Key::ch('n')), Some(Command::MoveDown));
        assert_eq!(k.resolve(Key::ch('j')), None);
        let errs = Keymap::load("\"n\": move-dwn\nhyper-x: quit\n", "k.yaml").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            "k.yaml:1:6: unknown command `move-dwn`\n  hint: did you mean `move-down`?"
        );
        assert_eq!((errs[1].pos.line, errs[1].pos.col), (2, 1));
    }

    #[test]
    fn a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keymap.yaml");
        std::fs::write(&path, b"\xef\xbb\xbf\"n\": move-down\n\"\xe9\": quit\n").unwrap();
        let errs = Keymap::load_file(&path).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            format!(
                "{}:2:2: not UTF-8 text: byte 0xe9 here\n  hint: save the file as UTF-8",
                path.display()
            )
        );
        std::fs::write(&path, "\u{feff}\"n\": move-down\n").unwrap();
        let k = Keymap::load_file(&path).unwrap();
        assert_eq!(k.resolve(Key::ch('n')), Some(Command::MoveDown));
        let missing = Keymap::load_file(&dir.path().join("none.yaml")).unwrap_err();
        assert_eq!((missing[0].pos.line, missing[0].pos.col), (1, 1));
        assert!(missing[0].message.contains("cannot read"), "{}", missing[0]);
    }
}
