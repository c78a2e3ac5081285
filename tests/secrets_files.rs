//! Secrets never reach the journal, the step logs, the record or the screen, and everything a
//! run writes is private (files 0600, directories 0700).
//!
//! The real binary runs a checklist with a `secret: true` var, a `from_env` secret, a probe
//! sending them as `Authorization` and `X-Api-Key` headers to a local server that echoes them
//! back in its error page, and steps that print them (whole, split by a colour sequence, to
//! stderr, through the step's `env`, in a failure) together with strings that look like
//! tokens. Then every file under the runs and state directories, every command's output
//! (`--verbose` run, `report` as Markdown and JSON, `runs`, `history`) and, for the cockpit
//! in tmux, the screen and every byte written to the terminal are searched for each secret.

mod common;

use common::tmux::Tmux;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const API_TOKEN: &str = "tok-Abc123-SECRET-4471";
const DB_PASSWORD: &str = "pw-Xyzzy-8812-hunter";
const DB_ENV: &str = "SHIPDECK_TEST_DB_PW";

/// Strings that look like credentials, printed by a step but declared nowhere. Built at run
/// time so that no scanner takes this file for a leak.
fn lookalikes() -> Vec<(&'static str, String)> {
    vec![
        (
            "github token",
            format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        ),
        ("aws key id", format!("AKIA{}", "Z7QX3V9MPLK4TRW2")),
        (
            "aws secret",
            format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYzEXAMPLEKEY9"),
        ),
        (
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3kifQ.{}",
                "c2lnbmF0dXJlLXNlY3JldA"
            ),
        ),
        ("bearer token", format!("9f8e7d6c5b4a{}", "3210ffee")),
        ("password", format!("Pa55w0rd-{}", "Q9zz")),
    ]
}

/// Every value that must not be found, with a shorter tail of each (a partial leak).
fn needles() -> Vec<(String, String)> {
    let mut all = vec![
        ("API_TOKEN".to_string(), API_TOKEN.to_string()),
        ("DB_PASSWORD".to_string(), DB_PASSWORD.to_string()),
    ];
    all.extend(lookalikes().into_iter().map(|(k, v)| (k.to_string(), v)));
    let tails: Vec<(String, String)> = all
        .iter()
        .map(|(k, v)| (format!("tail of {k}"), v[v.len() - 10..].to_string()))
        .collect();
    all.extend(tails);
    all
}

/// A probe target on 127.0.0.1 that refuses every request with a 500 whose body quotes the
/// credentials it was sent, and counts requests in `hits`. It stops when dropped (or after
/// two minutes at most).
struct Echo {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    fn start(hits: PathBuf) -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 65536 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req);
                let header = |name: &str| {
                    req.lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                        })
                        .unwrap_or_default()
                };
                let body = format!(
                    "denied: Authorization was {} and X-Api-Key was {}\n",
                    header("authorization"),
                    header("x-api-key")
                );
                let _ = write!(
                    conn,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                let _ = std::fs::write(&hits, n.to_string());
            }
        });
        Echo {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The checklist, in `dir`, probing `port`; steps wait for `hits` to count a few requests.
fn checklist(dir: &Path, port: u16) -> PathBuf {
    let look = lookalikes();
    let value = |name: &str| look.iter().find(|(k, _)| *k == name).unwrap().1.clone();
    let hits = dir.join("HITS");
    let yaml = format!(
        r#"name: Secret handling
vars:
  API_TOKEN: {{ value: "{API_TOKEN}", secret: true }}
  DB_PASSWORD: {{ from_env: {DB_ENV}, secret: true }}
  VERSION: "2.0"
probes:
  - name: api
    url: "http://127.0.0.1:{port}/health"
    every: 200ms
    timeout: 1s
    headers: {{ Authorization: "Bearer ${{API_TOKEN}}", X-Api-Key: "${{DB_PASSWORD}}" }}
phases:
  - name: Release
    steps:
      - id: probed
        title: The probe has asked a few times
        run: "i=0; while [ $i -lt 100 ] && [ \"$(cat '{hits}' 2>/dev/null || echo 0)\" -lt 4 ]; do sleep 0.1; i=$((i+1)); done"
      - id: leak
        title: Deploy ${{VERSION}} with ${{API_TOKEN}}
        notes: "Uses ${{DB_PASSWORD}} for the migration."
        env: {{ PGPASSWORD: "${{DB_PASSWORD}}" }}
        run: |
          echo "token ${{API_TOKEN}} and password ${{DB_PASSWORD}}"
          echo "stderr has ${{DB_PASSWORD}} too" >&2
          echo "from the step's env: $PGPASSWORD"
          printf 'split tok-Abc123-SEC\033[0mRET-4471 by a colour\n'
          echo "github {gh}"
          echo "aws key {akia} with aws_secret_access_key={aws}"
          echo "curl -H 'Authorization: Bearer {jwt}' https://api.example"
          echo "bearer Bearer {bearer} alone"
          echo "export DEPLOY_PASSWORD={pw}"
      - id: fails
        title: A failing step that prints the token
        run: "echo failing with ${{API_TOKEN}} >&2; exit 3"
        continue_on_error: true
"#,
        hits = hits.display(),
        gh = value("github token"),
        akia = value("aws key id"),
        aws = value("aws secret"),
        jwt = value("jwt"),
        bearer = value("bearer token"),
        pw = value("password"),
    );
    let path = dir.join("secrets.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn shipdeck(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::tmux::BIN)
        .env_remove("SHIPDECK_RUNS_DIR")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env(DB_ENV, DB_PASSWORD)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .arg("--runs-dir")
        .arg(dir.join("runs"))
        .args(args)
        .output()
        .expect("run shipdeck")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        out.push(p.clone());
        if p.is_dir() {
            files_under(&p, out);
        }
    }
}

/// Every needle absent from `text` (what it is: `what`).
fn assert_clean(what: &str, text: &str) {
    for (name, needle) in needles() {
        assert!(
            !text.contains(&needle),
            "{name} ({needle}) leaked into {what}:\n{text}"
        );
    }
}

/// Every file and directory under `dirs`: searched for the secrets, and private.
fn assert_private_and_clean(dirs: &[PathBuf]) -> usize {
    let mut all = Vec::new();
    for d in dirs {
        files_under(d, &mut all);
    }
    for p in &all {
        let meta = std::fs::symlink_metadata(p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}, not 0700", p.display());
        } else {
            assert_eq!(mode, 0o600, "{} is {mode:o}, not 0600", p.display());
            let bytes = std::fs::read(p).unwrap();
            assert_clean(&p.display().to_string(), &String::from_utf8_lossy(&bytes));
        }
    }
    all.len()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn secrets_reach_no_file_no_record_and_no_output_of_a_headless_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let echo = Echo::start(dir.join("HITS"));
    let list = checklist(dir, echo.port);
    let list = list.to_str().unwrap();
    let run = shipdeck(dir, &["run", list, "--headless", "--verbose", "--yes"]);
    drop(echo);
    let out = text(&run);
    assert!(matches!(run.status.code(), Some(0 | 1)), "{out}");
    // The run did what the test needs: the probe failed with the echo, the steps printed.
    let runs = dir.join("runs");
    let journal = common::tmux::journal_events(&runs);
    assert!(
        journal.iter().any(|e| e["event"] == "probe_state_changed"),
        "the probe never reported: {journal:#?}"
    );
    for step in ["probed", "leak", "fails"] {
        assert!(
            journal
                .iter()
                .any(|e| e["event"] == "step_finished" && e["step"] == step),
            "{step} did not run:\n{out}"
        );
    }
    assert!(out.contains("token •••• and password ••••"), "{out}");
    assert!(out.contains("split •••• by a colour"), "{out}");
    assert_clean("the output of `run --headless --verbose`", &out);

    let run_id = journal
        .iter()
        .find(|e| e["event"] == "run_started")
        .and_then(|e| e["run"].as_str())
        .unwrap()
        .to_string();
    for args in [
        vec!["report", run_id.as_str()],
        vec!["report", run_id.as_str(), "--format", "json"],
        vec!["runs"],
        vec!["history", list],
    ] {
        let out = shipdeck(dir, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_clean(&format!("`shipdeck {}`", args.join(" ")), &text(&out));
    }
    let n = assert_private_and_clean(&[runs, dir.join("state")]);
    assert!(
        n >= 5,
        "expected a journal, a lock and step logs, found {n} entries"
    );
}

#[test]
fn secrets_never_reach_the_cockpit_screen() {
    let t = Tmux::new("secrets");
    let echo = Echo::start(t.path("HITS"));
    let list = checklist(t.dir.path(), echo.port);
    t.launch(
        (140, 45),
        &[(DB_ENV, DB_PASSWORD)],
        "",
        &["run", list.to_str().unwrap()],
    );
    let mut screens = vec![t.wait_cockpit("Secret handling")];
    let raw = t.record();
    for (n, step) in ["probed", "leak", "fails"].into_iter().enumerate() {
        t.send(&["Enter"]);
        t.wait_journal(&format!("{step} finished"), |ev| {
            ev.iter().filter(|e| e["event"] == "step_finished").count() > n
        });
        screens.push(t.capture());
    }
    // Each step's output and details again, one after the other.
    for step in ["leak", "probed"] {
        t.send(&["k"]);
        screens.push(t.wait_for(&format!("the output of {step}"), |s| {
            s.contains(&format!("{step} #1"))
        }));
    }
    let leak = screens
        .iter()
        .find(|s| s.contains("token •••• and password ••••"))
        .cloned();
    assert!(
        leak.is_some(),
        "the leak step's output was never shown:\n{screens:#?}"
    );
    t.send(&["q"]);
    let (_, after) = t.wait_exit();
    drop(echo);
    for (i, s) in screens.iter().enumerate() {
        assert_clean(&format!("screen {i}"), s);
    }
    assert_clean("the shell after the cockpit", &after);
    let written = String::from_utf8_lossy(&std::fs::read(&raw).unwrap_or_default()).into_owned();
    assert!(!written.is_empty(), "nothing was recorded from the pane");
    assert_clean("the bytes written to the terminal", &written);
    assert_private_and_clean(&[t.runs_dir(), t.state_dir()]);
}
