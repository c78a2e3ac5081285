//! Turns an item's inline text into a title, an optional inline command and notes.

use super::tree::Seg;

/// What one list item's own line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemText {
    pub title: String,
    pub run: Option<String>,
    pub notes: Option<String>,
}

/// Title text without Markdown markup, whitespace collapsed.
pub(super) fn plain(segs: &[Seg]) -> String {
    let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn split_item(segs: &[Seg], src: &str) -> ItemText {
    let (body, run) = match trailing_command(segs) {
        Some((body, run)) => (body, Some(run)),
        None => (segs.to_vec(), None),
    };
    let (title, mut notes) = split_label(&body, src);
    // A link's target is not part of the plain title, so keep the source line too.
    if notes.is_none() && body.iter().any(|s| s.link) {
        notes = verbatim(&body, src);
    }
    ItemText { title, run, notes }
}

/// ``Do it: `cmd` ``, ``Do it - `cmd` `` and ``Do it (`cmd`)`` end in a command.
fn trailing_command(segs: &[Seg]) -> Option<(Vec<Seg>, String)> {
    let ci = segs.iter().rposition(|s| s.code)?;
    let suffix = plain(&segs[ci + 1..]);
    let prefix = plain(&segs[..ci]);
    let prefix = prefix.trim_end();
    let introduced = match suffix.as_str() {
        "" | "." => prefix.ends_with(':') || [" -", " –", " —"].iter().any(|d| prefix.ends_with(d)),
        ")" | ")." => prefix.ends_with('('),
        _ => false,
    };
    let command = segs[ci].text.trim();
    if !introduced || !looks_like_command(command) {
        return None;
    }
    let mut body = segs[..ci].to_vec();
    trim_tail(&mut body);
    if let Some(last) = body.last_mut() {
        let kept = last
            .text
            .trim_end()
            .trim_end_matches([':', '-', '–', '—', '('])
            .len();
        // Cut the separator from the source range too, so notes taken verbatim lose it.
        if !last.code && last.range.len() == last.text.len() {
            last.range.end = last.range.start + kept;
        }
        last.text.truncate(kept);
    }
    trim_tail(&mut body);
    if plain(&body).is_empty() {
        return None;
    }
    Some((body, command.to_string()))
}

fn trim_tail(segs: &mut Vec<Seg>) {
    while segs.last().is_some_and(|s| s.text.trim().is_empty()) {
        segs.pop();
    }
}

/// `**Label:** rest` or `**Label** - rest` -> title `Label`, notes `rest`, so the
/// checklist pane stays narrow and the detail still reaches the details pane.
fn split_label(body: &[Seg], src: &str) -> (String, Option<String>) {
    let lead = body.iter().take_while(|s| s.strong && !s.code).count();
    let whole = plain(body);
    if lead == 0 {
        return (whole, None);
    }
    let label = plain(&body[..lead]);
    let rest = &body[lead..];
    let rest_plain = plain(rest);
    let dashed = ["- ", "– ", "— "].iter().any(|d| rest_plain.starts_with(d))
        || ["-", "–", "—"].contains(&rest_plain.as_str());
    let separated =
        label.ends_with(':') || rest_plain.starts_with(':') || dashed || rest_plain.is_empty();
    let label = label.trim_end_matches(':').trim().to_string();
    if !separated || label.is_empty() {
        return (whole, None);
    }
    let rest_text = rest_plain.trim_start_matches([':', '-', '–', '—', ' ']);
    if rest_text.is_empty() {
        return (label, None);
    }
    (label, verbatim(rest, src))
}

/// The source Markdown of some inline pieces, with a leading separator dropped.
fn verbatim(segs: &[Seg], src: &str) -> Option<String> {
    let start = segs.first()?.range.start;
    let text = src.get(start..segs.last()?.range.end)?;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let joined = lines.join("\n");
    let trimmed = joined.trim_start_matches([':', '-', '–', '—', ' ']).trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Whether an inline code span is something to run rather than a name or a URL.
pub(super) fn looks_like_command(span: &str) -> bool {
    let s = span.trim();
    let Some(first) = s.split_whitespace().next() else {
        return false;
    };
    if first.contains("://") || first.starts_with("www.") || first.contains('@') {
        return false;
    }
    if s.contains(char::is_whitespace) {
        return true;
    }
    if s.ends_with('/') {
        return false;
    }
    if ["./", "../", "/", "~/"].iter().any(|p| s.starts_with(p)) {
        const DATA: &[&str] = &[
            ".md", ".txt", ".yaml", ".yml", ".json", ".env", ".toml", ".csv", ".html", ".log",
        ];
        return !DATA.iter().any(|ext| s.ends_with(ext));
    }
    // A bare word such as `make`; `SECRET_KEY` or `config.yaml` are names, not commands.
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Pulls a planned duration such as `(30 minutes)` out of a heading.
pub(super) fn split_estimate(heading: &str) -> (String, Option<String>) {
    let mut search = 0;
    while let Some(open) = heading[search..].find('(').map(|i| i + search) {
        let Some(close) = heading[open..].find(')').map(|i| i + open) else {
            break;
        };
        if let Some(estimate) = parse_estimate(&heading[open + 1..close]) {
            let name = format!("{}{}", heading[..open].trim_end(), &heading[close + 1..]);
            let name = name
                .trim()
                .trim_end_matches([':', '-', '–', '—'])
                .trim()
                .to_string();
            return (name, Some(estimate));
        }
        search = close + 1;
    }
    (heading.trim().to_string(), None)
}

/// `30 minutes`, `15 min`, `1 hour`, `1.5 hours`, `~10 mins` -> `30m`, `15m`, `1h`, `1h30m`, `10m`.
fn parse_estimate(text: &str) -> Option<String> {
    let t = text.trim().trim_start_matches(['~', '≈']).trim();
    let t = t
        .strip_prefix("approx.")
        .or_else(|| t.strip_prefix("about"))
        .unwrap_or(t)
        .trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let amount: f64 = t[..split].parse().ok()?;
    let seconds_per = match t[split..].trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        _ => return None,
    };
    let total = (amount * seconds_per).round() as u64;
    // Longer than a checklist accepts (or absurd): a number in a title, not a plan.
    if total == 0 || total > crate::config::units::MAX_DURATION.as_secs() {
        return None;
    }
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::tree::{Kind, parse};
    use super::*;

    fn item(md: &str) -> ItemText {
        let roots = parse(md);
        let item = &roots[0].children[0];
        assert_eq!(item.kind, Kind::Item);
        split_item(&item.segs, md)
    }

    #[test]
    fn colon_command_becomes_run() {
        let t = item("- [ ] Generate new SECRET_KEY: `openssl rand -hex 32`\n");
        assert_eq!(t.title, "Generate new SECRET_KEY");
        assert_eq!(t.run.as_deref(), Some("openssl rand -hex 32"));
    }

    #[test]
    fn bold_label_with_dash_command() {
        let t = item("1. **Run health checks** - `python health_verify.py`\n");
        assert_eq!(t.title, "Run health checks");
        assert_eq!(t.run.as_deref(), Some("python health_verify.py"));
        assert_eq!(t.notes, None);
    }

    #[test]
    fn parenthesised_command() {
        let t = item("- [ ] All unit tests passing (`npm test`)\n");
        assert_eq!(t.title, "All unit tests passing");
        assert_eq!(t.run.as_deref(), Some("npm test"));
    }

    #[test]
    fn url_span_is_not_a_command() {
        let t = item("- [ ] API docs accessible: `https://api.x.com/docs`\n");
        assert_eq!(t.title, "API docs accessible: https://api.x.com/docs");
        assert_eq!(t.run, None);
    }

    #[test]
    fn mid_sentence_code_stays_in_title() {
        let t = item("- [ ] Deploy (e.g. via `kubectl apply`, or ECS)\n");
        assert_eq!(t.title, "Deploy (e.g. via kubectl apply, or ECS)");
        assert_eq!(t.run, None);
    }

    #[test]
    fn bold_label_splits_title_and_notes() {
        let t = item("* [ ] **Code Freeze:** Announce and enforce the `main` freeze.\n");
        assert_eq!(t.title, "Code Freeze");
        assert_eq!(
            t.notes.as_deref(),
            Some("Announce and enforce the `main` freeze.")
        );
        let t = item("1. **Freeze code changes** - No new commits\n");
        assert_eq!(t.title, "Freeze code changes");
        assert_eq!(t.notes.as_deref(), Some("No new commits"));
    }

    #[test]
    fn leading_bold_without_separator_is_emphasis() {
        let t = item("- [ ] **Really** check it\n");
        assert_eq!(t.title, "Really check it");
        assert_eq!(t.notes, None);
    }

    #[test]
    fn links_keep_their_target_in_notes() {
        let t = item("- [ ] Read [the guide](./GUIDE.md)\n");
        assert_eq!(t.title, "Read the guide");
        assert_eq!(t.notes.as_deref(), Some("Read [the guide](./GUIDE.md)"));
        let t = item("- [ ] [Guide](./GUIDE.md) *reviewed*\n");
        assert_eq!(t.title, "Guide reviewed");
        assert_eq!(t.notes.as_deref(), Some("[Guide](./GUIDE.md) *reviewed*"));
    }

    #[test]
    fn command_heuristics() {
        assert!(looks_like_command("npm test"));
        assert!(looks_like_command(
            "./deployment/production/deploy_production.sh"
        ));
        assert!(looks_like_command("make"));
        assert!(!looks_like_command("https://api.x.com/docs"));
        assert!(!looks_like_command("SECRET_KEY"));
        assert!(!looks_like_command(".env"));
        assert!(!looks_like_command("./ARCHITECTURE.md"));
        assert!(!looks_like_command("/var/backups/"));
    }

    #[test]
    fn heading_estimates() {
        assert_eq!(
            split_estimate("Step 1: Final Preparation (30 minutes)"),
            ("Step 1: Final Preparation".into(), Some("30m".into()))
        );
        assert_eq!(
            split_estimate("Backup (15 min)"),
            ("Backup".into(), Some("15m".into()))
        );
        assert_eq!(
            split_estimate("Soak (1.5 hours)"),
            ("Soak".into(), Some("1h30m".into()))
        );
        assert_eq!(
            split_estimate("Wait (1 hour) then"),
            ("Wait then".into(), Some("1h".into()))
        );
        assert_eq!(
            split_estimate("Immediate (0-2 hours)"),
            ("Immediate (0-2 hours)".into(), None)
        );
        assert_eq!(
            split_estimate("Option A (Small Scale)"),
            ("Option A (Small Scale)".into(), None)
        );
        assert_eq!(
            split_estimate("Archive (9999 hours)"),
            ("Archive (9999 hours)".into(), None)
        );
    }
}
