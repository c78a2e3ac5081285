//! Durations (`30s`, `5m`, `1h30m`, `500ms`) and percentages (`1%`, `0.5%`).

use std::time::Duration;

pub const DURATION_HINT: &str = "write durations like 500ms, 30s, 5m, 1h30m (at most 365d)";
pub const PERCENT_HINT: &str = "write percentages like 1%, 0.5% or 5% (between 0% and 100%)";

/// The longest duration accepted: more is a typo, and would overflow clock arithmetic
/// (`Instant + timeout`) where it is used.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Parses a compact duration: one or more `<number><unit>` parts, units ms, s, m, h, d, in all
/// at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Option<Duration> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            "d" => number * 86400.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(secs).ok()?)?;
    }
    (total <= MAX_DURATION).then_some(total)
}

/// Formats a duration compactly for screens and reports: `850ms`, `42s`, `5m12s`, `1h05m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = (ms % 1000) / 100;
        return if secs < 10 {
            format!("{secs}.{tenths}s")
        } else {
            format!("{secs}s")
        };
    }
    if secs < 3600 {
        return format!("{}m{:02}s", secs / 60, secs % 60);
    }
    format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
}

/// Formats a duration as it would be written in a checklist (`1h30m`, `45s`).
pub fn format_duration_spec(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 {
        out += &format!("{s}s");
    }
    out
}

/// Parses `N%` into a fraction of one hundred (`1%` -> 1.0).
pub fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim();
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && (0.0..=100.0).contains(&value)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5 minutes"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("365d"), Some(MAX_DURATION));
        assert_eq!(parse_duration("366d"), None);
        assert_eq!(parse_duration("99999999999999999999999d"), None);
        assert_eq!(parse_duration("1e400s"), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(4250)), "4.2s");
        assert_eq!(format_duration(Duration::from_secs(42)), "42s");
        assert_eq!(format_duration(Duration::from_secs(312)), "5m12s");
        assert_eq!(format_duration(Duration::from_secs(3900)), "1h05m");
        assert_eq!(format_duration_spec(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("1%"), Some(1.0));
        assert_eq!(parse_percent("0.5 %"), Some(0.5));
        assert_eq!(parse_percent("5"), None);
        assert_eq!(parse_percent("150%"), None);
        assert_eq!(parse_percent("five%"), None);
    }
}
