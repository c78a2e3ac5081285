//! One step of a RollingUpdate within maxSurge and maxUnavailable, as the real controller does.

use super::replicasets::Counts;
use super::world::{Key, World};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// maxSurge rounds up and maxUnavailable down, as in the real controller.
pub fn resolve(v: Option<&IntOrString>, total: i32, round_up: bool, default: &str) -> i32 {
    let pct = |p: &str| -> i32 {
        let n: f64 = p.trim_end_matches('%').parse().unwrap_or(25.0);
        let x = n * f64::from(total) / 100.0;
        (if round_up { x.ceil() } else { x.floor() }) as i32
    };
    match v {
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => pct(s),
        None => pct(default),
    }
}

impl World {
    /// One step of a rolling update: surge the new ReplicaSet, then retire old pods as new
    /// ones become available, never dropping below `want - unavailable` available pods.
    #[allow(clippy::too_many_arguments)]
    pub fn roll(
        &mut self,
        d: &Deployment,
        nk: &Key,
        olds: &[Key],
        want: i32,
        surge: i32,
        unavailable: i32,
        counts: &dyn Fn(&World, &Key) -> Counts,
    ) {
        let new_replicas = self.rs_replicas(nk);
        let all_replicas: i32 =
            olds.iter().map(|k| self.rs_replicas(k)).sum::<i32>() + new_replicas;
        if new_replicas > want {
            self.scale_rs(d, nk, want);
            return;
        }
        if new_replicas < want {
            let up = (want + surge - all_replicas).min(want - new_replicas);
            if up > 0 {
                self.scale_rs(d, nk, new_replicas + up);
                return;
            }
        }
        let min_available = want - unavailable;
        let new_c = counts(self, nk);
        let new_unavailable = self.rs_replicas(nk) - new_c.available;
        let mut budget = all_replicas - min_available - new_unavailable;
        if budget <= 0 {
            return;
        }
        // Unhealthy old pods go first: they cost no availability.
        for k in olds {
            let r = self.rs_replicas(k);
            let unhealthy = r - counts(self, k).available.min(r);
            let down = unhealthy.min(budget);
            if down > 0 {
                self.scale_rs(d, k, r - down);
                budget -= down;
            }
        }
        let available: i32 = olds
            .iter()
            .chain([nk])
            .map(|k| counts(self, k).available.min(self.rs_replicas(k)))
            .sum();
        let mut excess = (available - min_available).min(budget);
        for k in olds {
            let r = self.rs_replicas(k);
            let down = r.min(excess);
            if down > 0 {
                self.scale_rs(d, k, r - down);
                excess -= down;
            }
        }
    }
}
