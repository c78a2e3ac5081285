//! Reads shell snippets: is it a command, does it need the terminal, is it dangerous.

const SHELL_LANGS: &[&str] = &["", "bash", "sh", "shell", "zsh", "console"];

/// Phases where a command is most likely to undo or repair production.
const RISKY_PHASE_WORDS: &[&str] = &[
    "rollback",
    "restore",
    "emergency",
    "issue",
    "troubleshoot",
    "incident",
    "disaster",
];

pub(super) fn is_shell_lang(lang: &str) -> bool {
    SHELL_LANGS.contains(&lang)
}

/// Whether a code block reads as commands rather than a template or prose: its first
/// meaningful line must look like a command, and so must most of the others.
pub(super) fn looks_like_commands(block: &str) -> bool {
    let mut total = 0;
    let mut commands = 0;
    let mut continued = false;
    for line in block.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let is_command = continued || command_line(line);
        if total == 0 && !is_command {
            return false;
        }
        total += 1;
        commands += usize::from(is_command);
        continued = line.ends_with('\\');
    }
    total > 0 && commands * 2 >= total
}

fn command_line(line: &str) -> bool {
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let mut words = line.split_whitespace();
    let mut word = words.next();
    // `BASE_URL=http://x k6 run` runs k6; a lone `FOO=bar` is an assignment, also shell.
    while let Some(w) = word.filter(|w| is_assignment(w)) {
        word = words.next();
        if word.is_none() {
            return !w.is_empty();
        }
    }
    let Some(word) = word else { return false };
    if word.ends_with([':', ',']) {
        return false;
    }
    let lead_ok = word.starts_with(|c: char| {
        c.is_ascii_lowercase() || matches!(c, '.' | '/' | '~' | '$' | '(' | '{' | '[' | '!')
    });
    lead_ok && word.chars().all(|c| c.is_ascii_graphic())
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// `console` blocks show prompts; the command is what follows `$ `. Other blocks run as written.
pub(super) fn runnable(lang: &str, block: &str) -> String {
    if lang != "console" || !block.lines().any(|l| l.trim_start().starts_with("$ ")) {
        return block.to_string();
    }
    let mut out = String::new();
    for line in block.lines() {
        if let Some(cmd) = line.trim_start().strip_prefix("$ ") {
            out.push_str(cmd);
            out.push('\n');
        }
    }
    out
}

/// `Run: <first command line>`, cut to fit a narrow checklist pane.
pub(super) fn code_title(block: &str) -> String {
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // A bare `cd dir` says where, not what: name the block after what runs there.
    let first = commands
        .iter()
        .find(|l| !l.starts_with("cd ") || l.contains("&&"))
        .or(commands.first())
        .copied()
        .unwrap_or("commands");
    let first = first.strip_prefix("$ ").unwrap_or(first);
    let first = first.trim_end_matches('\\').trim_end();
    truncate(&format!("Run: {first}"), 60)
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Whether the command wants a person at the terminal (a shell, a REPL, a tunnel).
pub(super) fn is_interactive(block: &str) -> bool {
    block.lines().any(|line| {
        let t = line.trim();
        if let Some(comment) = t.strip_prefix('#') {
            return comment
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("open http");
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let has = |w: &str| words.contains(&w);
        let tty = has("-it") || has("-ti") || has("--tty") || (has("-i") && has("-t"));
        let psql = words.iter().any(|w| *w == "psql" || w.ends_with("/psql"))
            && !(has("-c") || has("--command") || has("-f") || has("--file"));
        tty || psql || redis_shell(&words) || has("port-forward")
    })
}

/// `redis-cli` with at most connection options opens its prompt.
fn redis_shell(words: &[&str]) -> bool {
    let Some(at) = words.iter().position(|w| *w == "redis-cli") else {
        return false;
    };
    let mut rest = words[at + 1..].iter();
    while let Some(w) = rest.next() {
        match *w {
            "-h" | "-p" | "-a" | "-n" | "-u" | "--user" | "--pass" => {
                rest.next();
            }
            w if w.starts_with("--") => {}
            "|" | "&&" | ";" => return true,
            _ => return false,
        }
    }
    true
}

/// Commands that destroy, revert or escalate; the cockpit asks before running them.
pub(super) fn is_risky_command(cmd: &str) -> bool {
    cmd.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let has = |w: &str| words.contains(&w);
        let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
        has("sudo")
            || pair("rollout", "undo")
            || has("delete")
            || words.iter().any(|w| w.contains("downgrade"))
            || has("down")
            || (has("scale") && (has("--replicas=0") || pair("--replicas", "0")))
            || has("destroy")
            || (has("rm")
                && words
                    .iter()
                    .any(|w| w.starts_with('-') && w.contains('r') && w.contains('f')))
    })
}

pub(super) fn is_risky_phase(name: &str) -> bool {
    let lower = name.to_lowercase();
    RISKY_PHASE_WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_templates() {
        assert!(looks_like_commands(
            "# Pull\ngit pull origin main\n\ndocker-compose up -d\n"
        ));
        assert!(looks_like_commands(
            "BASE_URL=http://x:3000 k6 run smoke.js\n"
        ));
        assert!(looks_like_commands(
            "kubectl run m --rm -i --tty \\\n  --image=x \\\n  -n ns\n"
        ));
        assert!(!looks_like_commands(
            "Subject: Deploy done\n\nTeam,\n\nAll good.\n"
        ));
        assert!(!looks_like_commands(
            "Please check the dashboards and Report back.\n"
        ));
        assert!(!looks_like_commands("# only a comment\n"));
        assert!(!looks_like_commands("apiVersion: v1\nkind: Pod\n"));
    }

    #[test]
    fn interactive_markers() {
        assert!(is_interactive(
            "kubectl exec -it postgres-0 -- psql -U u -d db\n"
        ));
        assert!(is_interactive("kubectl run m --rm -i --tty --image=x\n"));
        assert!(is_interactive("psql -U u\n"));
        assert!(!is_interactive("psql -U u -c 'select 1'\n"));
        assert!(is_interactive("redis-cli\n"));
        assert!(is_interactive("redis-cli -h cache -p 6379\n"));
        assert!(!is_interactive("redis-cli ping\n"));
        assert!(is_interactive("kubectl port-forward svc/x 9090:9090\n"));
        assert!(is_interactive("# Open http://localhost:9090 and check\n"));
        assert!(!is_interactive("kubectl get pods\n# Check logs\n"));
    }

    #[test]
    fn risky_commands() {
        assert!(is_risky_command("sudo /usr/local/bin/backup.sh"));
        assert!(is_risky_command("kubectl rollout undo deployment/web"));
        assert!(is_risky_command("docker-compose down"));
        assert!(is_risky_command("alembic downgrade -1"));
        assert!(is_risky_command(
            "kubectl scale deployment web --replicas=0"
        ));
        assert!(is_risky_command("kubectl delete pod x"));
        assert!(!is_risky_command(
            "kubectl scale deployment web --replicas=3"
        ));
        assert!(!is_risky_command("kubectl rollout status deployment/web"));
    }

    #[test]
    fn titles_are_short() {
        assert_eq!(
            code_title("# c\n\ngit checkout main\n"),
            "Run: git checkout main"
        );
        assert_eq!(
            code_title("kubectl run m --rm -i --tty \\\n"),
            "Run: kubectl run m --rm -i --tty"
        );
        assert_eq!(
            code_title("# Backend\ncd app/backend\ndocker build -t b .\n"),
            "Run: docker build -t b ."
        );
        assert_eq!(code_title("cd app\n"), "Run: cd app");
        let long = code_title(&"x".repeat(100));
        assert_eq!(long.chars().count(), 60);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn console_prompts_are_stripped() {
        assert_eq!(runnable("console", "$ ls\nfile\n$ pwd\n"), "ls\npwd\n");
        assert_eq!(runnable("bash", "ls\n"), "ls\n");
    }
}
