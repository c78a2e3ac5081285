//! A Deployment's status and Available/Progressing conditions, progress deadline included.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;

/// What the controller saw of a Deployment's ReplicaSets and pods in this pass.
pub struct Observed<'a> {
    pub want: i32,
    pub max_unavailable: i32,
    /// Live (not terminating) pods of every ReplicaSet.
    pub live: i32,
    /// Live pods of the new ReplicaSet.
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub paused: bool,
    /// The new ReplicaSet was created or found again (rollback) in this pass.
    pub found: Option<(&'static str, String)>,
    pub rs_name: &'a str,
    pub deadline: i32,
    pub now: &'a Time,
}

/// Like the controller's SetDeploymentCondition: the same status and reason change nothing,
/// unless `progress` (the progress deadline counts from lastUpdateTime, so progress renews it).
fn set_condition(
    status: &mut DeploymentStatus,
    type_: &str,
    ok: &str,
    reason: &str,
    msg: String,
    now: &Time,
    progress: bool,
) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let old = conds.iter().find(|c| c.type_ == type_).cloned();
    if let Some(c) = &old
        && c.status == ok
        && c.reason.as_deref() == Some(reason)
        && !progress
    {
        return;
    }
    let transition = match &old {
        Some(c) if c.status == ok => c.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    conds.retain(|c| c.type_ != type_);
    conds.push(DeploymentCondition {
        type_: type_.into(),
        status: ok.into(),
        reason: Some(reason.into()),
        message: Some(msg),
        last_transition_time: transition,
        last_update_time: Some(now.clone()),
    });
    conds.sort_by_key(|c| c.type_ != "Available");
}

/// The new status, and whether the progress deadline has just passed.
pub fn next_status(d: &Deployment, o: &Observed) -> (DeploymentStatus, bool) {
    let old = d.status.clone().unwrap_or_default();
    let mut st = old.clone();
    let now = o.now;
    st.observed_generation = d.metadata.generation;
    st.replicas = Some(o.live);
    st.updated_replicas = Some(o.updated);
    st.ready_replicas = Some(o.ready);
    st.available_replicas = Some(o.available);
    st.unavailable_replicas = Some((o.want - o.available).max(0));
    let (ok, why, msg) = if o.available >= o.want - o.max_unavailable {
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    set_condition(&mut st, "Available", ok, why, msg.into(), now, false);
    let progressing = old
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
        .cloned();
    let reason = progressing
        .as_ref()
        .and_then(|c| c.reason.clone())
        .unwrap_or_default();
    let complete =
        !o.rs_name.is_empty() && o.updated == o.want && o.available == o.want && o.live == o.want;
    let progressed = o.updated > old.updated_replicas.unwrap_or(0)
        || o.live - o.updated < old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0)
        || o.ready > old.ready_replicas.unwrap_or(0)
        || o.available > old.available_replicas.unwrap_or(0);
    let rs = o.rs_name;
    let mut timed_out = false;
    let mut progress = |why: &str, msg: String, renew: bool| {
        set_condition(&mut st, "Progressing", "True", why, msg, now, renew);
    };
    if o.paused {
        set_condition(
            &mut st,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused".into(),
            now,
            false,
        );
    } else if reason == "DeploymentPaused" {
        set_condition(
            &mut st,
            "Progressing",
            "Unknown",
            "DeploymentResumed",
            "Deployment is resumed".into(),
            now,
            false,
        );
    } else if let Some((why, msg)) = o.found.clone() {
        progress(why, msg, true);
    } else if complete {
        progress(
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs}\" has successfully progressed."),
            false,
        );
    } else if progressed {
        // Progress renews lastUpdateTime, from which the deadline counts.
        progress(
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs}\" is progressing."),
            true,
        );
    } else if reason != "ProgressDeadlineExceeded" && reason != "NewReplicaSetAvailable" {
        let since = progressing.and_then(|c| c.last_update_time).map(|t| t.0);
        let limit = since.and_then(|t| {
            t.checked_add(SignedDuration::from_secs(o.deadline.into()))
                .ok()
        });
        if limit.is_some_and(|l| l < now.0) {
            let msg = format!("ReplicaSet \"{rs}\" has timed out progressing.");
            set_condition(
                &mut st,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                msg,
                now,
                false,
            );
            timed_out = true;
        }
    }
    (st, timed_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(1_700_000_000 + secs).unwrap())
    }

    fn observe(d: &Deployment, updated: i32, ready: i32, now: &Time) -> (DeploymentStatus, bool) {
        let o = Observed {
            want: 3,
            max_unavailable: 0,
            live: 3 + updated,
            updated,
            ready,
            available: ready,
            paused: false,
            found: None,
            rs_name: "web-2",
            deadline: 10,
            now,
        };
        next_status(d, &o)
    }

    fn progressing(st: &DeploymentStatus) -> (String, Option<Time>) {
        let c = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Progressing")
            .unwrap();
        (
            c.reason.clone().unwrap_or_default(),
            c.last_update_time.clone(),
        )
    }

    #[test]
    fn progress_renews_the_deadline_and_stalling_exceeds_it() {
        let mut d = Deployment::default();
        let (st, _) = observe(&d, 1, 3, &at(0));
        assert_eq!(progressing(&st), ("ReplicaSetUpdated".into(), Some(at(0))));
        d.status = Some(st);
        let (st, _) = observe(&d, 1, 4, &at(8));
        assert_eq!(progressing(&st), ("ReplicaSetUpdated".into(), Some(at(8))));
        d.status = Some(st);
        let (st, expired) = observe(&d, 1, 4, &at(15));
        assert!(!expired, "10 s from the last progress, not the first");
        d.status = Some(st);
        let (st, expired) = observe(&d, 1, 4, &at(19));
        assert!(expired);
        assert_eq!(progressing(&st).0, "ProgressDeadlineExceeded");
        d.status = Some(st);
        let (_, again) = observe(&d, 1, 4, &at(30));
        assert!(!again, "the event fires once");
    }
}
