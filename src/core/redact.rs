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

/// `entry` with every text in it redacted, or `None` when nothing needed masking: the last
/// stop before the journal, for text from outside (probe answers, cluster messages, errors
/// that quote a URL) that reached an event without passing a redaction of its own.
pub fn redact_entry(
    entry: &super::journal::Entry,
    secrets: &[String],
) -> Option<super::journal::Entry> {
    fn walk(v: &mut serde_json::Value, secrets: &[String]) -> bool {
        match v {
            serde_json::Value::String(s) => match redact(s, secrets) {
                Cow::Owned(masked) => {
                    *s = masked;
                    true
                }
                Cow::Borrowed(_) => false,
            },
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |any, v| walk(v, secrets) | any),
            serde_json::Value::Object(map) => map
                .values_mut()
                .fold(false, |any, v| walk(v, secrets) | any),
            _ => false,
        }
    }
    let mut value = serde_json::to_value(entry).ok()?;
    if !walk(&mut value, secrets) {
        return None;
    }
    serde_json::from_value(value).ok()
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
    known_tokens(bytes, &mut ranges);
    for name in SECRET_NAMES {
        for end in find_key_names(bytes, name) {
            if let Some(range) = header_credential(bytes, end)
                && looks_like_value(&bytes[range.clone()])
            {
                ranges.push(range);
            }
        }
    }
    url_passwords(bytes, &mut ranges);
    ranges.retain(|r| !r.is_empty() && &text[r.clone()] != MASK);
    ranges.sort_by_key(|r| r.start);
    // Scans find the same credential more than once (a header's `Bearer x`, a `TOKEN=ghp_…`):
    // overlapping ranges become one.
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Tokens of well-known services, recognisable by their prefix wherever they stand: the prefix
/// and the fewest token characters that must follow it.
const TOKEN_PREFIXES: &[(&[u8], usize)] = &[
    (b"ghp_", 20),
    (b"gho_", 20),
    (b"ghu_", 20),
    (b"ghs_", 20),
    (b"ghr_", 20),
    (b"github_pat_", 20),
    (b"glpat-", 20),
    (b"xoxa-", 10),
    (b"xoxb-", 10),
    (b"xoxp-", 10),
    (b"xoxr-", 10),
    (b"xoxs-", 10),
    (b"sk_live_", 16),
    (b"rk_live_", 16),
    (b"sk_test_", 16),
    (b"AIza", 30),
    (b"npm_", 30),
    (b"pypi-", 30),
    (b"hf_", 30),
    // AWS access key ids.
    (b"AKIA", 16),
    (b"ASIA", 16),
];

/// Names whose value is a secret in `NAME=value`, `name: value`, `"name": "value"` (also as the
/// end of a longer name: `DB_PASSWORD`, `client_secret`, `X-Auth-Token`).
const SECRET_NAMES: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"secret",
    b"token",
    b"apikey",
    b"api_key",
    b"api-key",
    b"access_key",
    b"private_key",
    b"credentials",
];

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Well-known tokens (by prefix) and JSON Web Tokens (`eyJ….eyJ….sig`).
fn known_tokens(bytes: &[u8], ranges: &mut Vec<Range<usize>>) {
    let mut i = 0;
    while i < bytes.len() {
        if i > 0 && bytes[i - 1].is_ascii_alphanumeric() || !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && (is_token_byte(bytes[end]) || bytes[end] == b'.') {
            end += 1;
        }
        let word = &bytes[i..end];
        let known = TOKEN_PREFIXES.iter().any(|(prefix, min)| {
            word.starts_with(prefix)
                && word[prefix.len()..]
                    .iter()
                    .take_while(|b| is_token_byte(**b))
                    .count()
                    >= *min
        });
        let jwt = word.starts_with(b"eyJ")
            && word.len() >= 24
            && word.iter().filter(|b| **b == b'.').count() == 2;
        if known || jwt {
            // A token ends at the first `.` unless it is a JWT (a sentence's full stop).
            let stop = if jwt {
                end
            } else {
                i + word.iter().take_while(|b| is_token_byte(**b)).count()
            };
            ranges.push(i..stop);
        }
        i = end.max(i + 1);
    }
}

/// Offsets just past each case-insensitive `name` that ends a key: the next byte is not part
/// of a longer word (`tokens`, `token_type` are other things).
fn find_key_names<'b>(bytes: &'b [u8], name: &'b [u8]) -> impl Iterator<Item = usize> + 'b {
    (0..bytes.len().saturating_sub(name.len() - 1)).filter_map(move |i| {
        let end = i + name.len();
        (bytes[i..end].eq_ignore_ascii_case(name)
            && !bytes
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_'))
        .then_some(end)
    })
}

/// A value worth masking after a secret's name: not a reference to one (`$TOKEN`, `<token>`,
/// `{{ .token }}`), not a word like `true`, and long enough to be a credential.
fn looks_like_value(value: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"true",
        b"false",
        b"null",
        b"none",
        b"required",
        b"optional",
    ];
    value.len() >= 6
        && !matches!(value[0], b'$' | b'<' | b'%' | b'{' | b'=' | b'*')
        && !WORDS.iter().any(|w| value.eq_ignore_ascii_case(w))
}

/// The password of every `scheme://user:password@host`.
fn url_passwords(bytes: &[u8], ranges: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(3).position(|w| w == b"://") {
        let start = from + at + 3;
        let end = (start..bytes.len())
            .find(|&j| bytes[j].is_ascii_whitespace() || b"/?#\"'`<>".contains(&bytes[j]))
            .unwrap_or(bytes.len());
        if let Some(atsign) = (start..end).rev().find(|&j| bytes[j] == b'@')
            && let Some(colon) = (start..atsign).find(|&j| bytes[j] == b':')
            && colon + 1 < atsign
        {
            ranges.push(colon + 1..atsign);
        }
        from = start;
    }
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
    fn masks_well_known_tokens_wherever_they_stand() {
        let gh = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(r(&format!("token is {gh}."), &[]), "token is ••••.");
        assert_eq!(r("key AKIAIOSFODNN7EXAMPLE here", &[]), "key •••• here");
        assert_eq!(
            r(
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end",
                &[]
            ),
            "jwt •••• end"
        );
        assert_eq!(r("xoxb-123456789012-abcdef", &[]), "••••");
        // Too short, or inside a longer word: not a token.
        assert_eq!(
            r("ghp_short AKIA123 myAKIAIOSFODNN7EXAMPLE", &[]),
            "ghp_short AKIA123 myAKIAIOSFODNN7EXAMPLE"
        );
    }

    #[test]
    fn masks_values_of_secret_names() {
        assert_eq!(r("DB_PASSWORD=hunter22 ok", &[]), "DB_PASSWORD=•••• ok");
        assert_eq!(
            r(r#"{"client_secret": "abc123def", "n": 1}"#, &[]),
            r#"{"client_secret": "••••", "n": 1}"#
        );
        assert_eq!(
            r("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", &[]),
            "aws_secret_access_key = ••••"
        );
        assert_eq!(r("X-Auth-Token: 0123456789", &[]), "X-Auth-Token: ••••");
        assert_eq!(
            r("--from-literal=password=s3cr3tpw", &[]),
            "--from-literal=password=••••"
        );
        // References, flags and words stay.
        for keep in [
            "TOKEN=$GITHUB_TOKEN",
            "secret: true",
            "tokens=12345678",
            "token_type=bearer12",
            "password: <your password>",
            "token=abc",
        ] {
            assert_eq!(r(keep, &[]), keep);
        }
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            r("GET https://deploy:pa55word@example.com/x ok", &[]),
            "GET https://deploy:••••@example.com/x ok"
        );
        assert_eq!(
            r("https://example.com:8443/x", &[]),
            "https://example.com:8443/x"
        );
    }

    #[test]
    fn entries_are_redacted_field_by_field() {
        use crate::core::journal::{Entry, Event};
        let entry = Entry::new(
            chrono::Utc::now(),
            Event::Comment {
                step: Some("deploy".into()),
                text: "sent \"Authorization: Bearer abc.def\" with hunter22".into(),
                by: "ana@box".into(),
            },
        );
        let masked = redact_entry(&entry, &["hunter22".to_string()]).unwrap();
        let Event::Comment { text, step, .. } = &masked.event else {
            panic!("{masked:?}")
        };
        assert_eq!(text, "sent \"Authorization: Bearer ••••\" with ••••");
        assert_eq!(step.as_deref(), Some("deploy"));
        assert_eq!(masked.ts.timestamp_millis(), entry.ts.timestamp_millis());
        assert!(redact_entry(&masked, &["hunter22".to_string()]).is_none());
    }

    #[test]
    fn unrelated_words_are_left_alone() {
        assert_eq!(r("authorizations pending", &[]), "authorizations pending");
        assert_eq!(r("no authorization here", &[]), "no authorization here");
        assert_eq!(r("héllo • wörld", &["zzz"]), "héllo • wörld");
    }
}
