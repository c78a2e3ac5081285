//! Secret redaction for journal, logs and reports.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::ops::Range;

/// What every secret is replaced with, everywhere (SPEC §7).
pub const MASK: &str = "••••";

/// Shorter values would mask ordinary words and digits all over the output.
const MIN_SECRET_CHARS: usize = 3;

/// A free-standing `Bearer x` is only masked when `x` looks like a token, so
/// that prose such as "bearer of bad news" survives.
const MIN_BARE_TOKEN_LEN: usize = 8;

/// Masks every occurrence of each secret value, and the credential of anything
/// that looks like an `Authorization` header or a bearer token.
///
/// Borrows `text` unchanged when nothing needed masking, so the common case of
/// a clean log line costs no allocation.
pub fn redact<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut values: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
        .collect();
    // Longest first, so a secret that contains another is masked whole rather
    // than leaving its remainder readable around an inner mask.
    values.sort_by_key(|s| Reverse(s.len()));
    values.dedup();

    let mut out = Cow::Borrowed(text);
    for value in values {
        if out.contains(value) {
            out = Cow::Owned(out.replace(value, MASK));
        }
    }
    let ranges = credential_ranges(&out);
    if ranges.is_empty() {
        return out;
    }
    let mut masked = String::with_capacity(out.len());
    let mut at = 0;
    for range in ranges {
        masked.push_str(&out[at..range.start]);
        masked.push_str(MASK);
        at = range.end;
    }
    masked.push_str(&out[at..]);
    Cow::Owned(masked)
}

/// Byte ranges of credentials to mask, sorted and non-overlapping. Every range
/// starts and ends next to an ASCII byte (or the text's end), so slicing there
/// is always on a char boundary.
fn credential_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for start in find_words(bytes, b"authorization") {
        if let Some(range) = header_credential(bytes, start + "authorization".len()) {
            ranges.push(range);
        }
    }
    for start in find_words(bytes, b"bearer") {
        let after = start + "bearer".len();
        let token_start = skip_blanks(bytes, after);
        if token_start == after {
            continue;
        }
        let token = token_start..token_end(bytes, token_start);
        if looks_like_token(&bytes[token.clone()]) {
            ranges.push(token);
        }
    }
    ranges.retain(|r| &text[r.clone()] != MASK);
    ranges.sort_by_key(|r| r.start);
    // A header's `Bearer x` is found by both scans; keep it once.
    ranges.dedup_by(|later, earlier| later.start < earlier.end);
    ranges
}

/// Parses `[quote] [blanks] (':' | '=') [blanks] [quote] [scheme blanks] credential`
/// starting right after the header name.
fn header_credential(bytes: &[u8], mut at: usize) -> Option<Range<usize>> {
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    at = skip_blanks(bytes, at);
    if !matches!(bytes.get(at), Some(b':' | b'=')) {
        return None;
    }
    at = skip_blanks(bytes, at + 1);
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    let first = at..token_end(bytes, at);
    if first.is_empty() {
        return None;
    }
    let is_scheme = bytes[first.clone()].iter().all(u8::is_ascii_alphabetic);
    let next = skip_blanks(bytes, first.end);
    if is_scheme && next > first.end {
        let second = next..token_end(bytes, next);
        if !second.is_empty() {
            return Some(second);
        }
    }
    Some(first)
}

/// Start offsets of case-insensitive matches of `word` that do not continue a
/// longer word on the left (`Proxy-Authorization` still counts).
fn find_words<'b>(bytes: &'b [u8], word: &'b [u8]) -> impl Iterator<Item = usize> + 'b {
    (0..bytes.len().saturating_sub(word.len() - 1)).filter(move |&i| {
        bytes[i..i + word.len()].eq_ignore_ascii_case(word)
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
    })
}

fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// A credential runs until whitespace or punctuation that ends a value in
/// shells, JSON and HTTP dumps. Non-ASCII bytes belong to it, which keeps an
/// already-inserted mask whole.
fn token_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&b) = bytes.get(at) {
        if b.is_ascii_whitespace() || b"\"'`,;()[]{}<>".contains(&b) {
            break;
        }
        at += 1;
    }
    at
}

fn looks_like_token(token: &[u8]) -> bool {
    token.len() >= MIN_BARE_TOKEN_LEN && !token.iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str, secrets: &[&str]) -> String {
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        redact(text, &secrets).into_owned()
    }

    #[test]
    fn masks_every_occurrence_of_a_secret() {
        assert_eq!(
            r("pw=hunter2 again hunter2", &["hunter2"]),
            "pw=•••• again ••••"
        );
    }

    #[test]
    fn ignores_empty_and_short_secrets() {
        assert_eq!(r("a ab abc", &["", "a", "ab"]), "a ab abc");
        assert_eq!(r("a ab abc", &["abc"]), "a ab ••••");
    }

    #[test]
    fn longer_secret_wins_over_its_substring() {
        assert_eq!(r("token=abcdef", &["abc", "abcdef"]), "token=••••");
    }

    #[test]
    fn clean_text_is_borrowed() {
        let secrets = vec!["hunter2".to_string()];
        assert!(matches!(redact("nothing here", &secrets), Cow::Borrowed(_)));
    }

    #[test]
    fn masks_bearer_header_keeping_the_scheme() {
        assert_eq!(
            r("Authorization: Bearer abc.def", &[]),
            "Authorization: Bearer ••••"
        );
    }

    #[test]
    fn masks_basic_header_case_insensitively() {
        assert_eq!(
            r("authorization: Basic xyz", &[]),
            "authorization: Basic ••••"
        );
        assert_eq!(
            r("AUTHORIZATION:Basic  xyz", &[]),
            "AUTHORIZATION:Basic  ••••"
        );
    }

    #[test]
    fn masks_schemeless_header_inside_quotes() {
        assert_eq!(
            r(r#"curl -H "Authorization: token123" https://x"#, &[]),
            r#"curl -H "Authorization: ••••" https://x"#
        );
    }

    #[test]
    fn masks_json_and_proxy_headers() {
        assert_eq!(
            r(r#"{"Authorization": "Bearer eyJ.a.b", "x": 1}"#, &[]),
            r#"{"Authorization": "Bearer ••••", "x": 1}"#
        );
        assert_eq!(
            r("Proxy-Authorization: Basic dXNlcjpw", &[]),
            "Proxy-Authorization: Basic ••••"
        );
    }

    #[test]
    fn masks_free_standing_bearer_tokens_only() {
        assert_eq!(
            r("using bearer eyJhbGciOi.x.y now", &[]),
            "using bearer •••• now"
        );
        assert_eq!(r("the bearer of bad news", &[]), "the bearer of bad news");
    }

    #[test]
    fn secret_inside_header_is_masked_once() {
        assert_eq!(
            r("Authorization: Bearer s3cr3t-token", &["s3cr3t-token"]),
            "Authorization: Bearer ••••"
        );
    }

    #[test]
    fn already_masked_text_is_unchanged() {
        let text = "Authorization: Bearer ••••";
        assert!(matches!(redact(text, &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn unrelated_words_are_left_alone() {
        assert_eq!(r("authorizations pending", &[]), "authorizations pending");
        assert_eq!(r("no authorization here", &[]), "no authorization here");
        assert_eq!(r("héllo • wörld", &["zzz"]), "héllo • wörld");
    }
}
