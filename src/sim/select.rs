//! Label and field selectors as the API server parses them, matched against stored JSON.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A conjunction of terms; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    terms: Vec<Term>,
}

/// Splits on commas that are not inside `in (a,b)` parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn set_term(term: &str, op: &str) -> Option<(String, Vec<String>)> {
    let (key, rest) = term.split_once(op)?;
    let rest = rest.trim();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let values = inner.split(',').map(|v| v.trim().to_string()).collect();
    Some((key.trim().to_string(), values))
}

fn bad(kind: &str, term: &str) -> String {
    format!("unable to parse requirement: invalid {kind} selector term {term:?}")
}

impl Selector {
    pub fn parse_labels(s: &str) -> Result<Selector, String> {
        let mut terms = Vec::new();
        for term in split_terms(s) {
            let t = if let Some((k, v)) = term.split_once("!=") {
                Term::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Term::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, vs)) = set_term(term, " notin ") {
                Term::NotIn(k, vs)
            } else if let Some((k, vs)) = set_term(term, " in ") {
                Term::In(k, vs)
            } else if let Some(k) = term.strip_prefix('!') {
                Term::NotExists(k.trim().into())
            } else if term.contains(|c: char| c.is_whitespace() || "()".contains(c)) {
                return Err(bad("label", term));
            } else {
                Term::Exists(term.into())
            };
            terms.push(t);
        }
        Ok(Selector { terms })
    }

    /// Field selectors only know `=`, `==` and `!=`.
    pub fn parse_fields(s: &str) -> Result<Selector, String> {
        let mut terms = Vec::new();
        for term in split_terms(s) {
            let t = if let Some((k, v)) = term.split_once("!=") {
                Term::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Term::Eq(k.trim().into(), v.trim().into())
            } else {
                return Err(bad("field", term));
            };
            terms.push(t);
        }
        Ok(Selector { terms })
    }

    fn matches_with(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Eq(k, v) => get(k).as_deref() == Some(v),
            Term::Ne(k, v) => get(k).as_deref() != Some(v),
            Term::In(k, vs) => get(k).is_some_and(|x| vs.contains(&x)),
            Term::NotIn(k, vs) => get(k).is_none_or(|x| !vs.contains(&x)),
            Term::Exists(k) => get(k).is_some(),
            Term::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn matches_labels(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.matches_with(|k| labels.get(k).and_then(Value::as_str).map(String::from))
    }

    /// Any dotted path of the object, as a string; a missing field reads as "".
    pub fn matches_fields(&self, obj: &Value) -> bool {
        self.matches_with(|path| {
            let v = path.split('.').fold(obj, |v, part| &v[part]);
            Some(match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
    }
}

/// What a list or watch asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: Selector,
    pub fields: Selector,
}

impl Filter {
    pub fn matches(&self, obj: &Value) -> bool {
        let ns_ok = self
            .namespace
            .as_deref()
            .is_none_or(|ns| obj["metadata"]["namespace"].as_str() == Some(ns));
        ns_ok && self.labels.matches_labels(obj) && self.fields.matches_fields(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_terms() {
        let pod = json!({"metadata": {"name": "web-1", "labels": {"app": "web", "tier": "front"}}});
        let ok = |s: &str| Selector::parse_labels(s).unwrap().matches_labels(&pod);
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app!=db,!canary"));
        assert!(ok("tier in (front, back)"));
        assert!(!ok("tier notin (front)"));
        assert!(!ok("app=db"));
        assert!(ok(""));
        assert!(Selector::parse_labels("a b").is_err());
    }

    #[test]
    fn field_terms() {
        let ev = json!({"metadata": {"name": "x"}, "involvedObject": {"name": "web", "kind": "Deployment"}, "count": 2});
        let ok = |s: &str| Selector::parse_fields(s).unwrap().matches_fields(&ev);
        assert!(ok("metadata.name=x"));
        assert!(ok(
            "involvedObject.name=web,involvedObject.kind==Deployment"
        ));
        assert!(ok("count=2"));
        assert!(ok("spec.nodeName="));
        assert!(!ok("metadata.name!=x"));
    }
}
