//! Pod lifecycle with jitter, crash loops and pull failures on demand, deletion, and logging.

use super::logs::{self, App, PodLog};
use super::pod_status::{backoff, first_container, render};
use super::resources::Kind;
use super::world::{Key, Owner, SimPod, Stage, World, image_tag, key_of, obj_ref};
use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, HostIP, Pod, PodIP, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::SignedDuration;
use std::time::{Duration, Instant};

const NODE: &str = "demo-node-1";
const HOST_IP: &str = "10.89.0.2";
/// Later than any stage needs: nothing is scheduled for a Ready pod.
const IDLE: Duration = Duration::from_secs(3600);

/// A tag containing `crash` (`web:2.0-crash`) crash-loops on start, in every scenario.
fn crashes(image: &str) -> bool {
    image_tag(image).contains("crash")
}

fn never_pulls(image: &str) -> bool {
    image_tag(image).contains("nopull")
}

impl World {
    /// Creates a pod from a template; while seeding it is born Ready with some log history.
    pub fn create_pod(
        &mut self,
        ns: &str,
        name: String,
        template: &PodTemplateSpec,
        owner: Owner,
        owner_ref: OwnerReference,
        labels: &[(&str, String)],
    ) {
        let now = Instant::now();
        let meta = template.metadata.clone().unwrap_or_default();
        let mut all_labels = meta.labels.unwrap_or_default();
        for (k, v) in labels {
            all_labels.insert((*k).into(), v.clone());
        }
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.into()),
                uid: Some(self.uid()),
                labels: Some(all_labels),
                annotations: meta.annotations,
                creation_timestamp: Some(self.time()),
                owner_references: Some(vec![owner_ref]),
                ..Default::default()
            },
            spec: template.spec.clone(),
            status: None,
        };
        let jitter = self.jitter(200, 900);
        let mut sp = SimPod {
            pod,
            owner,
            stage: Stage::Pending,
            next: now + jitter,
            ready_since: None,
            restarts: 0,
            failures: 0,
            last_term: None,
            started_at: None,
            log: PodLog::new(self.cfg.log_cap),
            next_log: now,
        };
        if self.seeding() {
            self.schedule(&mut sp);
            sp.stage = Stage::Ready;
            sp.started_at = Some(self.ts());
            sp.ready_since = Some(self.instant(now));
            sp.next = now + IDLE;
            self.backfill_log(&mut sp);
        }
        render(&mut sp, self.time());
        self.store.commit(Kind::Pod, &mut sp.pod);
        self.put_pod((ns.into(), name), sp);
    }

    fn schedule(&mut self, sp: &mut SimPod) {
        if let Some(spec) = sp.pod.spec.as_mut() {
            spec.node_name = Some(NODE.into());
        }
        let ip = self.next_ip();
        let status = sp.pod.status.get_or_insert_with(PodStatus::default);
        status.host_ip = Some(HOST_IP.into());
        status.host_ips = Some(vec![HostIP { ip: HOST_IP.into() }]);
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![PodIP { ip }]);
        status.start_time = Some(self.time());
    }

    /// A seeded pod has been up for a while: its recent lines are already there.
    fn backfill_log(&mut self, sp: &mut SimPod) {
        let (name, image) = first_container(&sp.pod);
        let app = App::of(&image);
        let up = self.backdate.unwrap_or_default().as_secs_f64();
        let now = chrono::Utc::now();
        let start = now - chrono::Duration::milliseconds((up * 1000.0) as i64);
        for line in logs::startup(app, &name, image_tag(&image)) {
            sp.log.push(start, line);
        }
        let rate = self.cfg.log_rate;
        let n = ((rate * up) as usize).min(self.cfg.log_cap.saturating_sub(3));
        for i in (1..=n).rev() {
            let ago = chrono::Duration::milliseconds((i as f64 / rate * 1000.0) as i64);
            let line = logs::traffic(app, &mut self.rng);
            sp.log.push(now - ago, line);
        }
    }

    /// Starts deleting a pod: Terminating for a moment, then gone.
    pub fn delete_pod(&mut self, key: &Key) {
        let now = Instant::now();
        let grace = self.jitter(300, 800);
        let ts = self.ts();
        let Some(sp) = self.pods.get_mut(key) else {
            return;
        };
        if sp.stage == Stage::Terminating {
            return;
        }
        let (name, image) = first_container(&sp.pod);
        sp.stage = Stage::Terminating;
        sp.next = now + grace;
        let deadline = ts.checked_add(SignedDuration::from_secs(30)).unwrap_or(ts);
        sp.pod.metadata.deletion_timestamp = Some(Time(deadline));
        sp.pod.metadata.deletion_grace_period_seconds = Some(30);
        if sp.started_at.is_some() {
            sp.log
                .push(chrono::Utc::now(), logs::shutdown(App::of(&image)));
        }
        self.store.commit(Kind::Pod, &mut sp.pod);
        let mut about = obj_ref(&sp.pod);
        about.field_path = Some(format!("spec.containers{{{name}}}"));
        self.event(
            about,
            false,
            "Killing",
            format!("Stopping container {name}"),
            "kubelet",
        );
    }

    /// Moves every pod whose stage is due, and writes the log lines that are due.
    pub fn step_pods(&mut self, now: Instant) {
        let rate = self.cfg.log_rate;
        let wall = chrono::Utc::now();
        let mut due = Vec::new();
        for (key, sp) in self.pods.iter_mut() {
            if sp.next <= now {
                due.push(key.clone());
            }
            if rate <= 0.0
                || sp.next_log > now
                || !matches!(sp.stage, Stage::Running | Stage::Ready)
            {
                continue;
            }
            // Only pods with a line due pay for the lookup (thousands of pods tick 20 times a second).
            let app = App::of(&first_container(&sp.pod).1);
            // A few per tick at most, so a stalled tick does not flood followers.
            for _ in 0..8 {
                if sp.next_log > now {
                    break;
                }
                let late = chrono::Duration::from_std(now - sp.next_log).unwrap_or_default();
                let line = logs::traffic(app, &mut self.rng);
                sp.log.push(wall - late, line);
                let gap = rand::Rng::random_range(&mut self.rng, 0.5..1.5) / rate;
                sp.next_log += Duration::from_secs_f64(gap);
            }
            if sp.next_log <= now {
                sp.next_log = now;
            }
        }
        for key in due {
            self.advance(&key, now);
        }
    }

    fn advance(&mut self, key: &Key, now: Instant) {
        let Some(mut sp) = self.take_pod(key) else {
            return;
        };
        let (cname, image) = first_container(&sp.pod);
        let mut about = obj_ref(&sp.pod);
        about.field_path = Some(format!("spec.containers{{{cname}}}"));
        let pod_ref = obj_ref(&sp.pod);
        let (ns, name) = key_of(&sp.pod.metadata);
        let wall = chrono::Utc::now();
        match sp.stage {
            Stage::Terminating => {
                self.store.remove(Kind::Pod, &mut sp.pod);
                return;
            }
            Stage::Pending => {
                self.schedule(&mut sp);
                sp.stage = Stage::Creating;
                sp.next = now + self.jitter(200, 900);
                let msg = format!("Successfully assigned {ns}/{name} to {NODE}");
                self.event(pod_ref, false, "Scheduled", msg, "default-scheduler");
                self.event(
                    about,
                    false,
                    "Pulling",
                    format!("Pulling image \"{image}\""),
                    "kubelet",
                );
            }
            Stage::Creating | Stage::PullFailed { backoff: true } if never_pulls(&image) => {
                if sp.stage != Stage::Creating {
                    let msg = format!("Pulling image \"{image}\"");
                    self.event(about.clone(), false, "Pulling", msg, "kubelet");
                }
                sp.stage = Stage::PullFailed { backoff: false };
                sp.next = now + self.jitter(400, 800);
                let msg = format!(
                    "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/{image}\": not found"
                );
                self.event(about.clone(), true, "Failed", msg, "kubelet");
                self.event(
                    about,
                    true,
                    "Failed",
                    "Error: ErrImagePull".into(),
                    "kubelet",
                );
            }
            Stage::PullFailed { .. } => {
                sp.stage = Stage::PullFailed { backoff: true };
                sp.failures += 1;
                sp.next = now + backoff(sp.failures);
                let msg = format!("Back-off pulling image \"{image}\"");
                self.event(about.clone(), false, "BackOff", msg, "kubelet");
                self.event(
                    about,
                    true,
                    "Failed",
                    "Error: ImagePullBackOff".into(),
                    "kubelet",
                );
            }
            Stage::Creating | Stage::CrashBackOff => {
                let msg = if sp.stage == Stage::Creating {
                    let ms = self.jitter(150, 900).as_millis();
                    format!(
                        "Successfully pulled image \"{image}\" in {ms}ms ({ms}ms including waiting). Image size: 48213976 bytes."
                    )
                } else {
                    format!("Container image \"{image}\" already present on machine")
                };
                self.event(about.clone(), false, "Pulled", msg, "kubelet");
                let msg = format!("Created container: {cname}");
                self.event(about.clone(), false, "Created", msg, "kubelet");
                self.event(
                    about,
                    false,
                    "Started",
                    format!("Started container {cname}"),
                    "kubelet",
                );
                sp.stage = Stage::Running;
                sp.started_at = Some(self.ts());
                sp.next = now + self.jitter(200, 900);
                sp.next_log = now + self.jitter(100, 600);
                for line in logs::startup(App::of(&image), &cname, image_tag(&image)) {
                    sp.log.push(wall, line);
                }
            }
            Stage::Running if crashes(&image) => {
                sp.log.push(wall, logs::fatal(&cname, image_tag(&image)));
                sp.stage = Stage::Exited;
                sp.failures += 1;
                sp.last_term = Some(ContainerStateTerminated {
                    exit_code: 1,
                    reason: Some("Error".into()),
                    started_at: sp.started_at.map(Time),
                    finished_at: Some(self.time()),
                    container_id: sp
                        .started_at
                        .map(|t| format!("containerd://{:x}", t.as_nanosecond())),
                    ..Default::default()
                });
                sp.next = now + self.jitter(200, 400);
            }
            Stage::Running => {
                sp.stage = Stage::Ready;
                sp.ready_since = Some(now);
                sp.failures = 0;
                sp.next = now + IDLE;
            }
            Stage::Exited => {
                sp.stage = Stage::CrashBackOff;
                sp.restarts += 1;
                sp.next = now + backoff(sp.failures);
                let msg = format!(
                    "Back-off restarting failed container {cname} in pod {name}_{ns}({})",
                    pod_ref.uid.clone().unwrap_or_default()
                );
                self.event(about, true, "BackOff", msg, "kubelet");
            }
            Stage::Ready => sp.next = now + IDLE,
        }
        render(&mut sp, self.time());
        self.store.commit(Kind::Pod, &mut sp.pod);
        self.put_pod(key.clone(), sp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_by_tag() {
        assert!(crashes("web:2.0-crash"));
        assert!(!crashes("web:2.0"));
        assert!(!crashes("crash/web:2.1"));
        assert!(never_pulls("registry:5000/web:2.0-nopull"));
        assert!(!never_pulls("nopull/web:1.0"));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(9), Duration::from_secs(8));
    }
}
