//! The demo cluster through the machine's kubectl: get, rollout, logs, scale, undo, deadlines.

use shipdeck::sim::{self, Scenario, Sim, SimOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn kubectl_path() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/bin/kubectl")).filter(|p| p.is_file()))
        .expect("these tests need kubectl: install it (on PATH or /usr/bin/kubectl)")
}

/// A demo cluster and a private kubectl cache (discovery is cached per host:port).
struct Demo {
    sim: Sim,
    dir: tempfile::TempDir,
}

async fn demo(scenario: Scenario, deadline: i32) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::start(SimOptions {
        dir: dir.path().to_path_buf(),
        scenario,
        progress_deadline_seconds: deadline,
        ..Default::default()
    })
    .await
    .unwrap();
    Demo { sim, dir }
}

impl Demo {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(kubectl_path());
        c.arg("--kubeconfig")
            .arg(&self.sim.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs kubectl to completion (bounded): (success, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(90), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 90 s"))
            .expect("kubectl runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_shows_the_seeded_workloads() {
    let d = demo(Scenario::Good, 20).await;
    let out = d.ok(&["get", "pods,deploy,rs,events"]).await;
    assert!(out.contains("deployment.apps/web"), "{out}");
    assert!(out.contains("replicaset.apps/web-"), "{out}");
    let web_pods = out
        .lines()
        .filter(|l| l.starts_with("pod/web-"))
        .collect::<Vec<_>>();
    assert_eq!(web_pods.len(), 3, "{out}");
    assert!(
        web_pods
            .iter()
            .all(|l| l.contains("1/1") && l.contains("Running")),
        "{out}"
    );

    let all = d.ok(&["get", "pods", "-A"]).await;
    assert!(
        all.lines().next().unwrap_or("").starts_with("NAMESPACE"),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with("shop") && l.contains("db-0")),
        "{all}"
    );

    let sts = d
        .ok(&[
            "get",
            "statefulset",
            "db",
            "-o",
            "jsonpath={.status.currentRevision}",
        ])
        .await;
    assert!(sts.starts_with("db-"), "{sts}");
    let (ok, _, err) = d.run(&["get", "deployment", "nope"]).await;
    assert!(!ok && err.contains("not found"), "{err}");
    d.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_rolls_out_then_scale_and_undo() {
    let d = demo(Scenario::Good, 20).await;
    d.ok(&["set", "image", "deployment/web", "web=web:2.0"])
        .await;
    let out = d
        .ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let image = d
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "web:2.0");
    // Old pods may still be terminating, as on a real cluster.
    let columns = "custom-columns=IMAGE:.spec.containers[0].image,GONE:.metadata.deletionTimestamp";
    let pods = d
        .ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "--no-headers",
            "-o",
            columns,
        ])
        .await;
    let live: Vec<&str> = pods
        .lines()
        .filter(|l| l.ends_with("<none>"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(live, ["web:2.0"; 3], "{pods}");

    d.ok(&["scale", "deployment/web", "--replicas=4"]).await;
    let out = d
        .ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let ready = d
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ])
        .await;
    assert_eq!(ready, "4");

    let out = d.ok(&["rollout", "undo", "deployment/web"]).await;
    assert!(out.contains("rolled back"), "{out}");
    let out = d
        .ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let image = d
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "web:1.0");
    // The old ReplicaSet came back as the newest revision, as with the real controller.
    let history = d.ok(&["rollout", "history", "deployment/web"]).await;
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
    d.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_tail_and_follow() {
    let d = demo(Scenario::Good, 20).await;
    let out = d.ok(&["logs", "-l", "app=web", "--tail=5"]).await;
    assert_eq!(lines(&out).len(), 15, "{out}");
    assert!(
        lines(&out)
            .iter()
            .all(|l| l.starts_with("INFO ") || l.starts_with("WARN ")),
        "{out}"
    );

    let mut child = d
        .command(&[
            "logs",
            "-f",
            "-l",
            "app=web",
            "--tail=1",
            "--timestamps",
            "--prefix",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout).lines();
    let mut got = Vec::new();
    // Three pods at 2 lines/s each: a dozen lines arrive in a few seconds.
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while got.len() < 12 {
            match reader.next_line().await {
                Ok(Some(l)) => got.push(l),
                _ => break,
            }
        }
    })
    .await;
    let _ = child.kill().await;
    assert!(read.is_ok(), "follow stalled after {got:?}");
    assert_eq!(got.len(), 12, "{got:?}");
    let pods: std::collections::BTreeSet<&str> =
        got.iter().filter_map(|l| l.split(' ').next()).collect();
    assert!(pods.len() >= 2, "lines from several pods: {got:?}");
    assert!(
        got.iter()
            .all(|l| l.contains("Z INFO") || l.contains("Z WARN")),
        "{got:?}"
    );
    d.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_looping_version_exceeds_the_progress_deadline() {
    let d = demo(Scenario::Bad, 3).await;
    d.ok(&["set", "image", "deployment/web", "web=web:2.0-crash"])
        .await;
    let (ok, out, err) = d
        .run(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("exceeded its progress deadline"),
        "{out}\n{err}"
    );
    let pods = d.ok(&["get", "pods", "-l", "app=web"]).await;
    let crashing: Vec<&str> = pods.lines().filter(|l| l.contains("0/1")).collect();
    assert_eq!(
        crashing.len(),
        1,
        "maxUnavailable 0: one new pod, old ones kept\n{pods}"
    );
    let name = crashing[0].split_whitespace().next().unwrap_or_default();
    let log = d.ok(&["logs", name]).await;
    assert!(log.contains("FATAL web 2.0"), "{log}");
    let events = d
        .ok(&["get", "events", "--field-selector", "type=Warning"])
        .await;
    assert!(
        events.contains("BackOff") && events.contains("ProgressDeadlineExceeded"),
        "{events}"
    );
    let out = d.ok(&["rollout", "undo", "deployment/web"]).await;
    assert!(out.contains("rolled back"), "{out}");
    let out = d
        .ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    d.sim.stop().await;
}

#[test]
fn kubectl_is_installed() {
    let p: &Path = &kubectl_path();
    assert!(p.is_file());
}
