//! Render snapshots of the cluster panes (rollout, pods, events, logs) and the header's cluster
//! state, from models filled through `update`, plus checks of the exact kubectl words.

mod common;

use common::{
    RunStart, Scenario, assert_draws_at_tiny_sizes, assert_no_colour, at_secs as at, draw, draw_in,
    fg_of, key, screen, select, zoomed,
};
use ratatui::style::Color;
use shipdeck::config::layout::PaneId;
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::kube::{Connection, ContainerView, EventView, PodView, WorkloadView};
use shipdeck::core::model::Model;
use shipdeck::core::msg::{ActionRecord, KubeMsg, LogLine, LogStreamState, Msg, Stream};
use shipdeck::core::update::update;

const LIST: &str = r#"
name: Web release 2.0
cluster:
  context: prod
  namespace: shop
  watch: [deployment/web, statefulset/db]
  logs: { selector: app=web, container: web, since: 5m }
phases:
  - name: Deployment
    steps:
      - { id: tests, title: All unit tests pass, run: cargo test, estimate: 5m }
      - id: rollout
        title: Roll out web 2.0
        action: { set_image: deployment/web, container: web, image: "registry/web:2.0" }
        wait: { rollout: deployment/web, timeout: 5m }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
"#;

const NEW: &str = "web-6b7f9c8d5";
const OLD: &str = "web-5d4c8b7f6";

fn kube(m: &mut Model, msg: KubeMsg) {
    update(m, Msg::Kube(msg));
}

/// A connected model at 12:01:00 whose `rollout` step waits for deployment/web.
fn base(layout: &str) -> Model {
    let mut m = common::model(LIST, &RunStart::default(), &[], at(20), layout);
    common::connect(&mut m);
    select(&mut m, "rollout");
    key(&mut m, Key::plain(KeyCode::Enter));
    let rec = ActionRecord {
        what: "set_image deployment/web web=registry/web:2.0".into(),
        target: "deployment/web".into(),
        before: "registry/web:1.9".into(),
        after: "registry/web:2.0".into(),
        revision_before: Some(6),
        revision_after: Some(7),
    };
    let (step, attempt) = ("rollout".to_string(), 1);
    update(
        &mut m,
        Msg::ActionDone {
            step,
            attempt,
            result: Ok(rec),
        },
    );
    update(&mut m, Msg::Tick(at(60)));
    m
}

fn deploy(updated: i32, ready: i32, available: i32, replicas: i32) -> WorkloadView {
    WorkloadView {
        kind: "deployment".into(),
        name: "web".into(),
        generation: 4,
        observed_generation: 4,
        desired: Some(3),
        replicas,
        updated,
        ready,
        available,
        strategy: "RollingUpdate".into(),
        revision: Some(7),
        conditions: vec![
            cond("Available", "True", "MinimumReplicasAvailable"),
            cond("Progressing", "True", "ReplicaSetUpdated"),
        ],
        selector: "app=web".into(),
        ..Default::default()
    }
}

fn cond(kind: &str, status: &str, reason: &str) -> (String, String, String, String) {
    (kind.into(), status.into(), reason.into(), String::new())
}

fn statefulset() -> WorkloadView {
    WorkloadView {
        kind: "statefulset".into(),
        name: "db".into(),
        generation: 2,
        observed_generation: 2,
        desired: Some(2),
        replicas: 2,
        updated: 2,
        ready: 2,
        available: 2,
        strategy: "RollingUpdate".into(),
        current_revision: "db-7c9f8d6b5".into(),
        update_revision: "db-7c9f8d6b5".into(),
        selector: "app=db".into(),
        ..Default::default()
    }
}

/// A pod `age` seconds old in `state`: `Running`, `Terminating`, or a waiting reason.
fn pod(name: &str, rev: Option<i64>, state: &str, restarts: i32, age: i64) -> PodView {
    let running = state == "Running" || state == "Terminating";
    let container = ContainerView {
        name: "web".into(),
        ready: running,
        started: running,
        running,
        restarts,
        waiting_reason: (!running).then(|| state.to_string()),
        ..Default::default()
    };
    let app = name.split('-').next().unwrap();
    PodView {
        name: name.into(),
        phase: if state == "ContainerCreating" {
            "Pending"
        } else {
            "Running"
        }
        .into(),
        containers: 1,
        statuses: vec![container],
        ready_condition: running,
        initialized_condition: true,
        deleting: state == "Terminating",
        node: format!(
            "node-{}",
            name.bytes().map(usize::from).sum::<usize>() % 3 + 1
        ),
        created: Some(at(60 - age)),
        revision: rev,
        labels: vec![("app".into(), app.into())],
        ..Default::default()
    }
}

fn event(kind: &str, reason: &str, object: &str, message: &str, count: i32, s: i64) -> KubeMsg {
    KubeMsg::Event(EventView {
        kind: kind.into(),
        reason: reason.into(),
        object: object.into(),
        message: message.into(),
        count,
        last: Some(at(s)),
    })
}

/// deployment/web at 2 of 3 updated: one new pod ContainerCreating, one old one Terminating.
fn in_progress(layout: &str) -> Model {
    let mut m = base(layout);
    kube(&mut m, KubeMsg::Workload(deploy(2, 3, 3, 4)));
    kube(&mut m, KubeMsg::Workload(statefulset()));
    kube(
        &mut m,
        KubeMsg::PodsRelisted(vec![
            pod(&format!("{NEW}-x2lqp"), Some(7), "Running", 0, 40),
            pod(&format!("{NEW}-9kq7w"), Some(7), "ContainerCreating", 0, 5),
            pod(&format!("{OLD}-abcde"), Some(6), "Terminating", 0, 7200),
            pod(&format!("{OLD}-fghij"), Some(6), "Running", 1, 7200),
            pod(&format!("{OLD}-klmno"), Some(6), "Running", 0, 7300),
            pod("db-0", None, "Running", 0, 90_000),
            pod("db-1", None, "Running", 0, 90_000),
        ]),
    );
    for e in [
        event(
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "Scaled up replica set web-6b7f9c8d5 to 2",
            1,
            30,
        ),
        event(
            "Normal",
            "Pulling",
            &format!("pod/{NEW}-9kq7w"),
            "Pulling image \"registry/web:2.0\"",
            1,
            55,
        ),
        event(
            "Normal",
            "Killing",
            &format!("pod/{OLD}-abcde"),
            "Stopping container web",
            1,
            57,
        ),
    ] {
        kube(&mut m, e);
    }
    logs(&mut m);
    m
}

fn logs(m: &mut Model) {
    let pods = [
        format!("{NEW}-x2lqp"),
        format!("{OLD}-fghij"),
        format!("{OLD}-klmno"),
    ];
    let texts = [
        "GET /health 200 3ms",
        "\x1b[31mERROR\x1b[0m payment gateway timeout after 5000ms (order 8812)",
        "GET /api/cart 200 41ms",
        "WARN slow query: SELECT * FROM orders WHERE customer_id = $1 (812ms)",
        "GET /health 200 2ms",
        "error: upstream connect error or disconnect/reset before headers",
    ];
    let batch = (0..40)
        .map(|i| LogLine {
            pod: pods[i % 3].clone(),
            ts: at(20 + i as i64),
            text: texts[i % texts.len()].into(),
        })
        .collect();
    update(m, Msg::Logs(batch));
}

fn done(layout: &str) -> Model {
    let mut m = in_progress(layout);
    kube(&mut m, KubeMsg::Workload(deploy(3, 3, 3, 3)));
    let now = |s: &str, age| pod(&format!("{NEW}-{s}"), Some(7), "Running", 0, age);
    kube(
        &mut m,
        KubeMsg::PodsRelisted(vec![now("x2lqp", 40), now("9kq7w", 30), now("m4n5p", 12)]),
    );
    m
}

fn failed(layout: &str) -> Model {
    let mut m = in_progress(layout);
    let mut w = deploy(1, 3, 3, 4);
    w.conditions[1] = cond("Progressing", "False", "ProgressDeadlineExceeded");
    kube(&mut m, KubeMsg::Workload(w));
    let bad = |s: &str, n| {
        pod(
            &format!("web-7c8d9e0f1-{s}"),
            Some(8),
            "CrashLoopBackOff",
            n,
            600,
        )
    };
    let old = |s: &str| pod(&format!("{OLD}-{s}"), Some(6), "Running", 0, 7200);
    let pods = vec![
        bad("aaaaa", 5),
        bad("bbbbb", 4),
        old("fghij"),
        old("klmno"),
        old("pqrst"),
    ];
    kube(&mut m, KubeMsg::PodsRelisted(pods));
    let obj = "pod/web-7c8d9e0f1-aaaaa";
    let msg = "Back-off restarting failed container web in pod web-7c8d9e0f1-aaaaa_shop";
    kube(&mut m, event("Warning", "BackOff", obj, msg, 12, 58));
    let msg = "Deployment does not have minimum availability. ReplicaSet \"web-7c8d9e0f1\" has timed out progressing.";
    kube(
        &mut m,
        event(
            "Warning",
            "ProgressDeadlineExceeded",
            "deployment/web",
            msg,
            1,
            59,
        ),
    );
    m
}

fn stale(layout: &str) -> Model {
    let mut m = in_progress(layout);
    for (stream, error) in [
        (
            Stream::Workloads,
            "watch deployments: connection reset by peer",
        ),
        (Stream::Pods, "watch pods: 503 Service Unavailable"),
    ] {
        kube(
            &mut m,
            KubeMsg::Stale {
                stream,
                since: at(30),
                error: error.into(),
            },
        );
    }
    m
}

fn unavailable(layout: &str) -> Model {
    let mut m = base(layout);
    let e = "context \"prod\" not found in /home/ana/.kube/config";
    kube(&mut m, KubeMsg::Unavailable(e.into()));
    m
}

/// Logs focused, filtered on `error`, paused, two more lines since, one stream retrying.
fn logs_filtered(layout: &str) -> Model {
    let mut m = in_progress(layout);
    if let Some(i) = m.panes.iter().position(|p| *p == PaneId::Logs) {
        m.focus = i;
    }
    key(&mut m, Key::ch('/'));
    for c in "error".chars() {
        key(&mut m, Key::ch(c));
    }
    key(&mut m, Key::plain(KeyCode::Enter));
    key(&mut m, Key::ch('f'));
    let line = |pod: &str, s, text: &str| LogLine {
        pod: pod.into(),
        ts: at(s),
        text: text.into(),
    };
    update(
        &mut m,
        Msg::Logs(vec![
            line(&format!("{NEW}-x2lqp"), 58, "ERROR cache miss storm"),
            line(&format!("{NEW}-x2lqp"), 59, "GET /health 200 2ms"),
        ]),
    );
    let pod = format!("{OLD}-klmno");
    update(
        &mut m,
        Msg::LogStream {
            pod,
            state: LogStreamState::Retrying("EOF".into()),
        },
    );
    m
}

/// The words of the screen line that contains `needle`, borders dropped.
fn words(s: &str, needle: &str) -> Vec<String> {
    let line = s.lines().find(|l| l.contains(needle));
    let line = line.unwrap_or_else(|| panic!("no line with {needle}:\n{s}"));
    line.split(['│', '┃', '|'])
        .flat_map(str::split_whitespace)
        .map(String::from)
        .collect()
}

const SCENARIOS: [(&str, Scenario); 6] = [
    ("in_progress", in_progress),
    ("done", done),
    ("failed", failed),
    ("stale", stale),
    ("unavailable", unavailable),
    ("logs_filtered", logs_filtered),
];

#[test]
fn snapshots_of_every_cluster_state() {
    for (name, scenario) in SCENARIOS {
        insta::assert_snapshot!(
            format!("{name}_default_120x40"),
            screen(&scenario("default"), 120, 40)
        );
        insta::assert_snapshot!(
            format!("{name}_wide_200x50"),
            screen(&scenario("wide"), 200, 50)
        );
    }
    for (name, scenario) in [("in_progress", in_progress as Scenario), ("failed", failed)] {
        insta::assert_snapshot!(
            format!("{name}_pair_120x40"),
            screen(&scenario("pair"), 120, 40)
        );
    }
    insta::assert_snapshot!(
        "in_progress_default_80x24",
        screen(&in_progress("default"), 80, 24)
    );
    insta::assert_snapshot!(
        "events_zoomed_120x40",
        screen(&zoomed(failed("wide"), PaneId::Events), 120, 40)
    );
    insta::assert_snapshot!(
        "pods_zoomed_120x40",
        screen(&zoomed(in_progress("default"), PaneId::Pods), 120, 40)
    );
}

#[test]
fn rollout_says_what_kubectl_rollout_status_says() {
    let text = |m: Model| screen(&zoomed(m, PaneId::Rollout), 160, 40);
    let s = text(in_progress("default"));
    assert!(s.contains("Waiting for deployment \"web\" rollout to finish: 2 out of 3 new replicas have been updated..."), "{s}");
    assert!(s.contains("3/3 ready · 2 updated · 3 available"), "{s}");
    assert!(
        s.contains("statefulset rolling update complete 2 pods at revision db-7c9f8d6b5..."),
        "{s}"
    );
    let s = text(failed("default"));
    assert!(
        s.contains("deployment \"web\" exceeded its progress deadline"),
        "{s}"
    );
    assert!(s.contains("⚠ 2 pods CrashLoopBackOff"), "{s}");
    assert!(
        s.contains("Progressing=False (ProgressDeadlineExceeded)"),
        "{s}"
    );
    let m = done("default");
    let s = text(m.clone());
    assert!(
        s.contains("deployment \"web\" successfully rolled out"),
        "{s}"
    );
    assert!(
        s.contains("100%") && !s.contains('░'),
        "a finished rollout's bars are full:\n{s}"
    );
    // Full and green: every bar cell of the first bar is green.
    let buf = draw(&zoomed(m, PaneId::Rollout), 160, 40, true);
    let bar: Vec<Color> = buf
        .content()
        .iter()
        .filter(|c| c.symbol() == "█")
        .map(|c| c.fg)
        .collect();
    assert!(
        !bar.is_empty() && bar.iter().all(|c| *c == Color::Green),
        "{bar:?}"
    );
}

#[test]
fn pod_status_cells_read_exactly_as_kubectl_prints_them() {
    let m = zoomed(failed("default"), PaneId::Pods);
    let s = screen(&m, 120, 40);
    assert_eq!(
        words(&s, "NAME"),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "REV"]
    );
    assert_eq!(
        words(&s, "web-7c8d9e0f1-aaaaa")[..4],
        ["web-7c8d9e0f1-aaaaa", "0/1", "CrashLoopBackOff", "5"]
    );
    // Newest revision first.
    let first = s
        .lines()
        .position(|l| l.contains("web-7c8d9e0f1-bbbbb"))
        .unwrap();
    assert!(first < s.lines().position(|l| l.contains("-fghij")).unwrap());
    let s = screen(&zoomed(in_progress("default"), PaneId::Pods), 120, 40);
    assert_eq!(words(&s, "-abcde")[1..4], ["1/1", "Terminating", "0"]);
    assert_eq!(words(&s, "-9kq7w")[2], "ContainerCreating");
    assert_eq!(
        words(&s, "db-0")[6],
        "-",
        "a StatefulSet pod has no deployment revision"
    );
    // STATUS colours: red CrashLoopBackOff, yellow Terminating, green Running.
    let buf = draw(&zoomed(failed("default"), PaneId::Pods), 120, 40, true);
    assert_eq!(fg_of(&buf, "CrashLoopBackOff"), Color::Red);
    assert_eq!(fg_of(&buf, "Running"), Color::Green);
}

#[test]
fn pods_columns_give_way_in_a_narrow_pane() {
    let s = screen(&in_progress("default"), 120, 40);
    assert!(s.contains("│NAME       READY STATUS           │"), "{s}");
    assert!(!s.contains("RESTARTS") && !s.contains("NODE"), "{s}");
    assert!(s.contains("│web-…9kq7w 0/1   ContainerCreating│"), "{s}");
    // Wider, RESTARTS comes back before AGE, REV and NODE.
    let s = screen(&in_progress("wide"), 200, 50);
    assert!(s.contains("RESTARTS│") && !s.contains("NODE"), "{s}");
}

#[test]
fn stale_marks_appear_only_while_stale() {
    for (name, scenario) in SCENARIOS {
        let s = screen(&scenario("wide"), 200, 50);
        let header: String = s.lines().take(2).collect();
        if name == "stale" {
            assert!(header.contains("stale since 12:00:30"), "{header}");
            assert_eq!(
                s.matches("⚠ stale since 12:00:30 (30s)").count(),
                2,
                "rollout and pods:\n{s}"
            );
            assert!(
                s.contains("deployment/web") && s.contains("ContainerCreating"),
                "the data stays:\n{s}"
            );
        } else {
            assert!(!s.contains("stale"), "{name}:\n{s}");
        }
    }
}

#[test]
fn connection_states_say_what_is_going_on() {
    let s = screen(&unavailable("wide"), 200, 50);
    let header: String = s.lines().take(2).collect();
    assert!(
        header.contains("cluster unavailable: context \"prod\" not found"),
        "{header}"
    );
    assert!(
        s.matches("cluster unavailable:").count() >= 5,
        "header and four panes:\n{s}"
    );
    let mut m = base("default");
    m.kube.connection = Connection::Connecting;
    let s = screen(&m, 160, 40);
    assert!(
        s.contains("connecting to prod…") && s.contains("k8s prod/shop connecting…"),
        "{s}"
    );
    let s = screen(&in_progress("default"), 120, 40);
    assert!(s.contains("k8s prod/shop") && !s.contains("unavailable") && !s.contains("connecting"));
}

#[test]
fn logs_show_the_filtered_tail_paused_with_a_colour_per_pod() {
    let s = screen(&logs_filtered("default"), 120, 40);
    assert!(s.contains("3 pods · PAUSED ↑1 · filter: \"error\""), "{s}");
    assert!(s.contains("retrying: 5d4c8b7f6-klmno (EOF)"), "{s}");
    assert!(!s.contains("GET /"), "the filter hides other lines:\n{s}");
    let rows: Vec<&str> = s.lines().filter(|l| l.contains(" │ ")).collect();
    assert_eq!(rows.len(), 11, "{s}");
    assert!(
        rows[10].contains("12:00:57") && !s.contains("cache miss"),
        "paused: the newest line waits below:\n{s}"
    );
    // Once the flash is gone the footer lists the logs pane's keys.
    let mut m = logs_filtered("default");
    m.flash = None;
    let s = screen(&m, 120, 40);
    let footer = s.lines().last().unwrap();
    assert!(
        footer.contains("/ filter · f follow · j/k scroll"),
        "{footer}"
    );
    // Zoomed, everything fits: nothing is above the view, so no `↑`.
    let s = screen(&zoomed(logs_filtered("default"), PaneId::Logs), 120, 40);
    assert!(
        s.contains("3 pods · PAUSED · filter") && s.contains("cache miss"),
        "{s}"
    );
    let m = zoomed(in_progress("default"), PaneId::Logs);
    let s = screen(&m, 120, 40);
    assert!(s.contains("3 pods · FOLLOW"), "{s}");
    let last = s.lines().rfind(|l| l.contains(" │ ")).unwrap();
    assert!(
        last.contains("12:00:59 web-6b7f9c8d5-x2lqp"),
        "newest at the bottom: {last}"
    );
    // One colour per pod, none of them red (errors).
    let buf = draw(&m, 120, 40, true);
    let mut colours: Vec<Color> = s
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(" │ "))
        .map(|(y, _)| buf[(10, y as u16)].fg)
        .collect();
    colours.sort_by_key(|c| format!("{c:?}"));
    colours.dedup();
    assert_eq!(colours.len(), 3, "{colours:?}");
    assert!(!colours.contains(&Color::Red) && !colours.contains(&Color::Reset));
}

#[test]
fn events_newest_first_with_types_and_counts() {
    let s = screen(&zoomed(failed("wide"), PaneId::Events), 120, 40);
    let at = |w: &str| s.find(w).unwrap_or_else(|| panic!("{w}:\n{s}"));
    assert!(
        at("ProgressDeadlineExceeded") < at("BackOff") && at("BackOff") < at("ScalingReplicaSet")
    );
    assert!(s.contains("(x12)"), "{s}");
    let s = screen(&in_progress("wide"), 120, 40);
    assert!(s.contains("Normal") && s.contains("Killing"), "{s}");
}

#[test]
fn no_colour_and_tiny_sizes() {
    for (name, scenario) in SCENARIOS {
        for layout in ["default", "compact", "pair", "wide"] {
            let m = scenario(layout);
            assert_no_colour(&draw(&m, 120, 40, false), &format!("{name} {layout}"));
            let mut panes = vec![None];
            panes.extend(m.panes.iter().copied().map(Some));
            for pane in panes {
                let m = match pane {
                    Some(p) => zoomed(m.clone(), p),
                    None => m.clone(),
                };
                assert_draws_at_tiny_sizes(&m);
            }
        }
    }
}

#[test]
fn a_paused_rollout_says_so_and_missing_workloads_are_named() {
    let mut m = in_progress("default");
    let mut w = deploy(2, 3, 3, 4);
    w.paused = true;
    kube(&mut m, KubeMsg::Workload(w));
    kube(
        &mut m,
        KubeMsg::WorkloadGone {
            kind: "statefulset".into(),
            name: "db".into(),
        },
    );
    let s = screen(&zoomed(m, PaneId::Rollout), 120, 40);
    assert!(s.contains("rev 7 paused"), "{s}");
    assert!(s.contains("statefulset/db — not found (yet)"), "{s}");
}

/// A frame where only log lines came copies the last frame and draws the log pane again: it
/// must give exactly the cells a full frame gives, and anything else must draw in full.
#[test]
fn a_frame_after_log_lines_alone_is_the_same_as_a_full_frame() {
    use ratatui::{Terminal, backend::TestBackend};
    use shipdeck::ui::{LastFrame, Theme, render_reusing};
    for name in ["default", "wide", "compact"] {
        let mut m = done(name);
        m.running = None;
        let layout = shipdeck::config::layout::builtin(name).unwrap();
        let theme = Theme { color: true };
        let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
        let mut last = LastFrame::default();
        let mut frame = |m: &Model, last: &mut LastFrame| {
            term.draw(|f| render_reusing(f, m, &layout, &theme, last))
                .unwrap();
            let got = term.backend().buffer().clone();
            assert_eq!(got, draw_in(m, &layout, 160, 48, true), "{name}");
        };
        frame(&m, &mut last);
        assert_eq!(last.reused, 0);
        // Lines of every length, so shorter ones must not leave the old ones' ends behind.
        for round in 0..3 {
            let batch = (0..7)
                .map(|i| LogLine {
                    pod: format!("{NEW}-x2lqp"),
                    ts: at(70 + round * 10 + i),
                    text: "x".repeat((i as usize * 13 + round as usize * 5) % 90),
                })
                .collect();
            update(&mut m, Msg::Logs(batch));
            frame(&m, &mut last);
        }
        // A tick within the same second changes nothing on screen.
        let later = m.now + chrono::Duration::milliseconds(10);
        update(&mut m, Msg::Tick(later));
        frame(&m, &mut last);
        let reused = last.reused;
        assert!(reused >= 4, "{name}: {reused} frames reused");
        // Anything else draws in full: a new second, a key, cluster news.
        let next = m.now + chrono::Duration::seconds(1);
        update(&mut m, Msg::Tick(next));
        frame(&m, &mut last);
        key(&mut m, Key::plain(KeyCode::Tab));
        frame(&m, &mut last);
        kube(&mut m, KubeMsg::PodGone(format!("{NEW}-9kq7w")));
        frame(&m, &mut last);
        assert_eq!(last.reused, reused, "{name}");
    }
}

/// The pods pane keeps its rows and widths between frames and measures AGE again each second:
/// at 119 s the oldest pod's AGE is `119s`, a second later `2m`, and the column narrows. Each
/// frame must be the one a first frame would be (drawn on a fresh thread, with nothing kept).
#[test]
fn the_age_column_follows_the_clock_between_frames() {
    let mut m = done("default");
    kube(
        &mut m,
        KubeMsg::PodsRelisted(vec![
            pod(&format!("{NEW}-x2lqp"), Some(7), "Running", 0, 119),
            pod(&format!("{NEW}-9kq7w"), Some(7), "Running", 0, 5),
        ]),
    );
    let mut widths = Vec::new();
    for secs in [60, 61, 120] {
        update(&mut m, Msg::Tick(at(secs)));
        let kept = draw(&m, 200, 50, true);
        let fresh = std::thread::scope(|s| s.spawn(|| draw(&m, 200, 50, true)).join().unwrap());
        assert_eq!(
            kept, fresh,
            "at {secs} s the kept pods pane differs from a first frame"
        );
        let t = common::text(&kept);
        let age_line = t
            .lines()
            .find(|l| l.contains("x2lqp 1/1"))
            .unwrap()
            .to_string();
        widths.push(age_line);
    }
    assert!(widths[0].contains("119s"), "{}", widths[0]);
    assert!(widths[1].contains(" 2m "), "{}", widths[1]);
    assert_ne!(widths[0], widths[1]);
}
