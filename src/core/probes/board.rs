//! The probe board: every checklist probe's state plus the rollback rules, and the changes worth
//! journaling as samples and ticks come in.

use super::rules::{RuleEvent, RuleState};
use super::state::{Minute, ProbeState};
use super::{Health, Sample, Stats};
use crate::config::checklist::{Probe, RollbackRule};
use chrono::{DateTime, Utc};

/// Something to journal (and show) after a sample or tick.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeChange {
    Health {
        probe: String,
        from: Health,
        to: Health,
        detail: String,
    },
    /// A finished wall-clock minute that had requests.
    Minute {
        probe: String,
        minute: DateTime<Utc>,
        requests: u32,
        errors: u32,
        p50_ms: u64,
        p95_ms: u64,
        max_ms: u64,
    },
    /// `rule`: `web error_rate > 5% for 30s`; `detail`: `web error rate 12% > 5% for 30s`.
    Advised {
        rule: String,
        detail: String,
    },
    Cleared {
        rule: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeBoard {
    /// In checklist order.
    pub probes: Vec<ProbeState>,
    /// In checklist order.
    pub rules: Vec<RuleState>,
    /// The latest time seen, from samples and ticks.
    pub now: DateTime<Utc>,
}

impl ProbeBoard {
    pub fn new(probes: &[Probe], rules: &[RollbackRule], now: DateTime<Utc>) -> Self {
        ProbeBoard {
            probes: probes.iter().map(|p| ProbeState::new(p, now)).collect(),
            rules: rules.iter().map(RuleState::new).collect(),
            now,
        }
    }

    pub fn probe(&self, name: &str) -> Option<&ProbeState> {
        self.probes.iter().find(|p| p.name == name)
    }

    /// Adds a sample (of a probe the board knows; others are ignored), judges that probe and
    /// evaluates its rules at the sample's time.
    pub fn record(&mut self, s: Sample) -> Vec<ProbeChange> {
        self.now = self.now.max(s.at);
        let now = self.now;
        let Some(p) = self.probes.iter_mut().find(|p| p.name == s.probe) else {
            return Vec::new();
        };
        let name = p.name.clone();
        let (closed, health) = p.record(s, now);
        let mut out = Vec::new();
        out.extend(closed.map(|m| minute_change(&name, m)));
        if let Some((from, to, detail)) = health {
            out.push(ProbeChange::Health {
                probe: name.clone(),
                from,
                to,
                detail,
            });
        }
        out.extend(self.eval_rules(Some(&name), now));
        out
    }

    /// Moves time on: slides every window, closes finished minutes, and evaluates every rule
    /// (a rule's `for` can run out between samples).
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<ProbeChange> {
        self.now = self.now.max(now);
        let now = self.now;
        let mut out = Vec::new();
        for p in &mut self.probes {
            p.slide(now);
            if let Some(m) = p.close_minute(now, false) {
                out.push(minute_change(&p.name, m));
            }
        }
        out.extend(self.eval_rules(None, now));
        out
    }

    pub fn stats(&self, probe: &str) -> Option<Stats> {
        self.probe(probe).map(ProbeState::stats)
    }

    /// Unknown for a probe the board does not know.
    pub fn health(&self, probe: &str) -> Health {
        self.probe(probe).map_or(Health::Unknown, |p| p.health)
    }

    /// Since when the probe has been green without a break (for `wait: { probe, healthy_for }`):
    /// the time of the sample that turned it green.
    pub fn green_since(&self, probe: &str) -> Option<DateTime<Utc>> {
        let p = self.probe(probe)?;
        (p.health == Health::Green).then_some(p.health_since)
    }

    /// The active rollback advice, if any: (rule text, detail, since). The first active rule in
    /// checklist order when several are.
    pub fn advice(&self) -> Option<(&str, &str, DateTime<Utc>)> {
        self.rules.iter().find_map(|r| {
            let (since, detail) = r.active.as_ref()?;
            Some((r.text.as_str(), detail.as_str(), *since))
        })
    }

    /// How many rules advise rollback now.
    pub fn advice_count(&self) -> usize {
        self.rules.iter().filter(|r| r.active.is_some()).count()
    }

    /// At run end: the partial minute of every probe.
    pub fn flush_minutes(&mut self) -> Vec<ProbeChange> {
        let now = self.now;
        self.probes
            .iter_mut()
            .filter_map(|p| {
                let m = p.close_minute(now, true)?;
                Some(minute_change(&p.name, m))
            })
            .collect()
    }

    /// Evaluates the rules of `probe` (all rules with `None`) at `at`.
    fn eval_rules(&mut self, probe: Option<&str>, at: DateTime<Utc>) -> Vec<ProbeChange> {
        let mut out = Vec::new();
        for r in &mut self.rules {
            if probe.is_some_and(|p| p != r.rule.probe) {
                continue;
            }
            let stats = self
                .probes
                .iter()
                .find(|p| p.name == r.rule.probe)
                .map(ProbeState::stats)
                .unwrap_or_default();
            match r.eval(&stats, at) {
                Some(RuleEvent::Advised(detail)) => out.push(ProbeChange::Advised {
                    rule: r.text.clone(),
                    detail,
                }),
                Some(RuleEvent::Cleared) => out.push(ProbeChange::Cleared {
                    rule: r.text.clone(),
                }),
                None => {}
            }
        }
        out
    }
}

fn minute_change(probe: &str, m: Minute) -> ProbeChange {
    let stats = Stats::from_parts(m.latencies, m.errors as usize);
    ProbeChange::Minute {
        probe: probe.to_string(),
        minute: m.start,
        requests: stats.requests as u32,
        errors: m.errors,
        p50_ms: stats.p50_ms,
        p95_ms: stats.p95_ms,
        max_ms: stats.max_ms,
    }
}
