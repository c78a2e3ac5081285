//! Rollback rules (`rollback_when`): when a probe's window breaches a threshold continuously for
//! the rule's `for`, rollback is advised; when it stops breaching, the advice is cleared.

use super::stats::{Stats, percent};
use crate::config::checklist::RollbackRule;
use crate::config::units::format_duration_spec;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct RuleState {
    pub rule: RollbackRule,
    /// The rule as written: `web error_rate > 5% for 30s`.
    pub text: String,
    /// Since when the rule has held without a break (first seen at a sample or tick).
    pub holding_since: Option<DateTime<Utc>>,
    /// When the advice fired and what breached the rule then.
    pub active: Option<(DateTime<Utc>, String)>,
}

/// What a rule evaluation produced.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RuleEvent {
    Advised(String),
    Cleared,
}

impl RuleState {
    pub fn new(rule: &RollbackRule) -> Self {
        RuleState {
            rule: rule.clone(),
            text: rule_text(rule),
            holding_since: None,
            active: None,
        }
    }

    /// What breaches the rule in `stats`, or `None` when it does not hold. An empty window never
    /// holds. Both thresholds set: either one breaching is enough.
    pub fn breach(&self, stats: &Stats) -> Option<String> {
        if stats.requests == 0 {
            return None;
        }
        let r = &self.rule;
        let mut what = Vec::new();
        if let Some(limit) = r.error_rate.filter(|l| stats.error_rate > *l) {
            what.push(format!(
                "error rate {} > {}",
                percent(stats.error_rate),
                percent(limit)
            ));
        }
        if let Some(limit) = r.p95_ms.filter(|l| stats.p95_ms > *l) {
            what.push(format!("p95 {} ms > {limit} ms", stats.p95_ms));
        }
        (!what.is_empty()).then(|| what.join(", "))
    }

    /// Evaluates the rule at `at` against its probe's window `stats`.
    pub(super) fn eval(&mut self, stats: &Stats, at: DateTime<Utc>) -> Option<RuleEvent> {
        let Some(what) = self.breach(stats) else {
            self.holding_since = None;
            return self.active.take().map(|_| RuleEvent::Cleared);
        };
        let since = *self.holding_since.get_or_insert(at);
        let held = (at - since).to_std().unwrap_or_default();
        if self.active.is_some() || held < self.rule.for_ {
            return None;
        }
        let detail = format!(
            "{} {what} for {}",
            self.rule.probe,
            format_duration_spec(self.rule.for_)
        );
        self.active = Some((at, detail.clone()));
        Some(RuleEvent::Advised(detail))
    }
}

/// `web error_rate > 5% for 30s`, `web p95_ms > 1500 for 1m`, or both joined by `or`.
pub fn rule_text(r: &RollbackRule) -> String {
    let mut what = Vec::new();
    if let Some(e) = r.error_rate {
        what.push(format!("error_rate > {}", percent(e)));
    }
    if let Some(p) = r.p95_ms {
        what.push(format!("p95_ms > {p}"));
    }
    if what.is_empty() {
        what.push("(no threshold)".into());
    }
    format!(
        "{} {} for {}",
        r.probe,
        what.join(" or "),
        format_duration_spec(r.for_)
    )
}
