//! `shipdeck demo` in a real tmux: the rollout pane progresses, pods change, and the logs pane
//! shows lines from pods that did not exist when the demo started.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is required by tests/tmux_demo.rs (apt-get install tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "demo"])
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; last screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// Pod names (last `-` segment) in the pods pane rows that read `web-…`.
fn web_pods(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.split('│').find(|c| c.trim_start().starts_with("web-")))
        .filter_map(|c| c.split_whitespace().next())
        .filter_map(|n| n.rsplit('-').next().map(str::to_string))
        .collect()
}

#[test]
fn demo_shows_the_rollout_pods_and_logs_of_new_pods() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux {
        socket: format!("shipdeck-demo-{}", std::process::id()),
        _dir: tempfile::tempdir().unwrap(),
    };
    let cmd = format!(
        "env XDG_STATE_HOME={} {} --runs-dir {} demo; sleep 600",
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_shipdeck"),
        dir.path().join("runs").display()
    );
    t.tmux(&[
        "new-session",
        "-d",
        "-s",
        "demo",
        "-x",
        "130",
        "-y",
        "40",
        &cmd,
    ]);
    let first = t.wait_for("three web pods running", |s| {
        s.contains("successfully rolled") && web_pods(s).len() >= 3 && s.contains("GET /health")
    });
    let old: Vec<String> = web_pods(&first);
    // Run the steps up to and including the rollout (notes, health, backup, migrate, rollout).
    for i in 0..5 {
        t.tmux(&["send-keys", "-t", "demo", "Enter"]);
        if i < 4 {
            let done = format!("· {}/", i + 1);
            t.wait_for(&done, |s| {
                s.lines()
                    .next()
                    .is_some_and(|h| h.contains(&done) && h.contains(" done"))
            });
        }
    }
    t.wait_for("the rollout in progress", |s| {
        s.contains("Waiting for deployment \"web\"")
    });
    let done = t.wait_for(
        "the rollout of 2.0 complete with new pods and their logs",
        |s| {
            let pods = web_pods(s);
            let new: Vec<&String> = pods.iter().filter(|p| !old.contains(p)).collect();
            let logs_from_new = s
                .lines()
                .any(|l| new.iter().any(|p| l.contains(&format!("{p} │"))));
            s.contains("rev 2")
                && s.contains("successfully rolled")
                && new.len() >= 3
                && logs_from_new
        },
    );
    assert!(done.contains("3/3 ready"), "{done}");
    // The probes pane: the demo probe with its sparkline, p95 and error rate.
    let probes = t.wait_for("the web probe in the probes pane", |s| {
        s.lines().any(|l| {
            l.contains("● web")
                && l.contains("p95")
                && l.contains("err")
                && l.chars().any(|c| ('▁'..='█').contains(&c))
        })
    });
    assert!(probes.contains("probes"), "{probes}");
}
