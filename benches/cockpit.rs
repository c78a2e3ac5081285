//! In-process benchmarks of the cockpit (issue 7): one full frame of the wide layout at 200×60
//! with 5,000 pods and a full log pane, one log batch through `update`, and the first frame of
//! `run checklists/hello.yaml`. `cargo test` runs each body once (criterion's test mode).

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::config::layout::{Layout, builtin};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::journal::{ChecklistRef, Entry, Event};
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::kube::{ContainerView, EventView, PodView, WorkloadView, pod_warning};
use shipdeck::core::logs::DEFAULT_LOG_CAP;
use shipdeck::core::model::{Model, Row};
use shipdeck::core::msg::{ActionRecord, KubeMsg, LogLine, Msg};
use shipdeck::core::run::RunState;
use shipdeck::core::update::update;
use shipdeck::ui::{Theme, clock, render};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

/// Pods in the model: `WORKLOADS` deployments of `PODS / WORKLOADS` pods each.
const PODS: usize = 5_000;
const WORKLOADS: [&str; 5] = ["web", "api", "worker", "cart", "search"];
/// Pods whose logs are followed, and the lines of one batch (the log source's batch size).
const LOG_PODS: usize = 50;
const BATCH: usize = 50;

const LIST: &str = r#"
name: Bench release
cluster:
  context: prod
  namespace: shop
  watch: [deployment/web, deployment/api, deployment/worker, deployment/cart, deployment/search]
  logs: { selector: app=web, container: app, since: 5m }
phases:
  - name: Deployment
    steps:
      - { id: tests, title: All unit tests pass, run: cargo test, estimate: 5m }
      - id: rollout
        title: Roll out web 2.0
        action: { set_image: deployment/web, container: app, image: "registry/web:2.0" }
        wait: { rollout: deployment/web, timeout: 5m }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
"#;

const TEXTS: [&str; 6] = [
    "GET /health 200 3ms",
    "\x1b[31mERROR\x1b[0m payment gateway timeout after 5000ms (order 8812)",
    "GET /api/cart 200 41ms",
    "WARN slow query: SELECT * FROM orders WHERE customer_id = $1 (812ms)",
    "GET /health 200 2ms",
    "error: upstream connect error or disconnect/reset before headers",
];

fn at(ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap() + Duration::milliseconds(ms)
}

fn started(name: &str, path: &str) -> RunState {
    let e = Entry::new(
        at(0),
        Event::RunStarted {
            run: "20261121T120000Z-3f2a".into(),
            checklist: ChecklistRef {
                name: name.into(),
                path: path.into(),
                sha256: "00".into(),
            },
            vars: Default::default(),
            user: "ana".into(),
            host: "box".into(),
            pid: 1,
            mode: "tui".into(),
            context: Some("prod".into()),
            namespace: Some("shop".into()),
            layout: None,
            kubeconfig: None,
        },
    );
    RunState::replay(&[e])
}

fn workload(name: &str, i: usize) -> WorkloadView {
    let n = (PODS / WORKLOADS.len()) as i32;
    WorkloadView {
        kind: "deployment".into(),
        name: name.into(),
        generation: 4,
        observed_generation: 4,
        desired: Some(n),
        replicas: n,
        updated: if i == 0 { n / 2 } else { n },
        ready: n,
        available: n,
        strategy: "RollingUpdate".into(),
        revision: Some(7),
        selector: format!("app={name}"),
        ..Default::default()
    }
}

/// Pod `k` of workload `app`: mostly Running, a few crashing, starting or terminating.
fn pod(app: &str, k: usize) -> PodView {
    let state = match k % 50 {
        0 => "CrashLoopBackOff",
        1 => "ContainerCreating",
        2 => "Terminating",
        _ => "Running",
    };
    let running = state == "Running" || state == "Terminating";
    let new = k.is_multiple_of(2);
    let hash = if new { "6b7f9c8d5" } else { "5d4c8b7f6" };
    PodView {
        name: format!("{app}-{hash}-{k:05x}"),
        phase: if running { "Running" } else { "Pending" }.into(),
        containers: 1,
        statuses: vec![ContainerView {
            name: "app".into(),
            ready: running,
            started: running,
            running,
            restarts: i32::from(k.is_multiple_of(7)),
            waiting_reason: (!running).then(|| state.to_string()),
            ..Default::default()
        }],
        ready_condition: running,
        initialized_condition: true,
        deleting: state == "Terminating",
        node: format!("node-{}", k % 40),
        created: Some(at(-((k as i64) * 7_000))),
        template_hash: hash.into(),
        revision: Some(if new { 7 } else { 6 }),
        labels: vec![
            ("app".into(), app.into()),
            ("pod-template-hash".into(), hash.into()),
        ],
        ..Default::default()
    }
}

/// Log line `i` overall: pods round-robin, 10 ms apart.
fn log_line(i: usize) -> LogLine {
    LogLine {
        pod: format!("web-6b7f9c8d5-{:05x}", (i % LOG_PODS) * 2),
        ts: at(60_000 + i as i64 * 10),
        text: TEXTS[i % TEXTS.len()].into(),
    }
}

fn batch(from: usize) -> Vec<LogLine> {
    (from..from + BATCH).map(log_line).collect()
}

/// The rollout of deployment/web under way, 5,000 pods, 200 events, a full log buffer.
fn cluster_model() -> (Model, Layout) {
    clock::force_utc();
    let c = load_checklist(LIST, "bench.yaml", &LoadOptions::default()).expect("bench checklist");
    let mut m = Model::new(
        Arc::new(c),
        started("Bench release", "bench.yaml"),
        "ana@box".into(),
        at(20_000),
    );
    let layout = builtin("wide").expect("wide layout");
    m.use_layout(&layout);
    let kube = |m: &mut Model, k| {
        update(m, Msg::Kube(k));
    };
    kube(
        &mut m,
        KubeMsg::Connected {
            context: "prod".into(),
            namespace: "shop".into(),
            server: "https://10.0.0.1:6443".into(),
        },
    );
    m.selected = m
        .rows
        .iter()
        .position(|r| matches!(r, Row::Step { id, .. } if id == "rollout"))
        .expect("rollout step");
    update(&mut m, Msg::Key(Key::plain(KeyCode::Enter)));
    let rec = ActionRecord {
        what: "set_image deployment/web app=registry/web:2.0".into(),
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
    for (i, w) in WORKLOADS.iter().enumerate() {
        kube(&mut m, KubeMsg::Workload(workload(w, i)));
    }
    for k in 0..PODS / WORKLOADS.len() {
        for w in WORKLOADS {
            kube(&mut m, KubeMsg::Pod(pod(w, k)));
        }
    }
    for i in 0..200 {
        kube(
            &mut m,
            KubeMsg::Event(EventView {
                kind: if i % 10 == 0 { "Warning" } else { "Normal" }.into(),
                reason: if i % 10 == 0 { "BackOff" } else { "Pulling" }.into(),
                object: format!("pod/web-6b7f9c8d5-{i:05x}"),
                message: format!("Pulling image \"registry/web:2.0\" ({i})"),
                count: 1,
                last: Some(at(i * 100)),
            }),
        );
    }
    for from in (0..DEFAULT_LOG_CAP).step_by(BATCH) {
        update(&mut m, Msg::Logs(batch(from)));
    }
    update(&mut m, Msg::Tick(at(60_000 + DEFAULT_LOG_CAP as i64 * 10)));
    assert_eq!(m.kube.pods.len(), PODS);
    assert_eq!(m.logs.lines.len(), DEFAULT_LOG_CAP);
    (m, layout)
}

fn render_frame(c: &mut Criterion) {
    let (m, layout) = cluster_model();
    let theme = Theme { color: true };
    let mut g = c.benchmark_group("render");
    g.measurement_time(std::time::Duration::from_secs(5));
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    // Every cell sent to the backend: the cost of a frame after a resize or a full change.
    g.bench_function("frame_200x60_full_repaint", |b| {
        b.iter(|| {
            term.clear().expect("clear");
            term.draw(|f| render(f, &m, &layout, &theme)).expect("draw");
        })
    });
    // The app's usual frame: drawn into the back buffer, diffed against the last one.
    g.bench_function("frame_200x60_diffed", |b| {
        b.iter(|| {
            term.draw(|f| render(f, &m, &layout, &theme)).expect("draw");
        })
    });
    // The log pane filtered (`/error`): every held line is tested against the filter.
    let mut filtered = m.clone();
    filtered.logs.filter = "Error".into();
    g.bench_function("frame_200x60_log_filter", |b| {
        b.iter(|| {
            term.clear().expect("clear");
            term.draw(|f| render(f, &filtered, &layout, &theme))
                .expect("draw");
        })
    });
    // For the profile: one pass of the rollout pane's pod-warning scan over every workload.
    g.bench_function("rollout_warning_scan_once", |b| {
        b.iter(|| {
            m.kube
                .workloads
                .values()
                .map(|w| m.kube.pods_of(w).filter_map(pod_warning).count())
                .sum::<usize>()
        })
    });
    // What the rollout pane does now: one pass, selectors only for pods with a warning.
    g.bench_function("rollout_warnings_one_pass", |b| {
        b.iter(|| m.kube.pod_warnings().values().map(Vec::len).sum::<usize>())
    });
    g.finish();
}

fn update_logs(c: &mut Criterion) {
    let (mut m, _) = cluster_model();
    let mut next = DEFAULT_LOG_CAP;
    let mut g = c.benchmark_group("update");
    g.measurement_time(std::time::Duration::from_secs(5));
    // A batch newer than everything held, into the full buffer: 50 appended, 50 dropped.
    g.bench_function("log_batch_50_into_full_20000", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                batch(next - BATCH)
            },
            |lines| black_box(update(&mut m, Msg::Logs(lines))),
            BatchSize::SmallInput,
        )
    });
    g.finish();
    assert_eq!(m.logs.lines.len(), DEFAULT_LOG_CAP);
}

/// `shipdeck run checklists/hello.yaml` up to its first frame, without the terminal and the
/// journal: read and validate the checklist, resolve layout and keymap, build the model, draw.
fn first_frame(c: &mut Criterion) {
    clock::force_utc();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("checklists/hello.yaml");
    let theme = Theme { color: true };
    let mut g = c.benchmark_group("startup");
    g.measurement_time(std::time::Duration::from_secs(5));
    g.bench_function("hello_first_frame_120x40", |b| {
        b.iter(|| {
            let loaded = shipdeck::session::load_any(&path, &LoadOptions::default())
                .expect("hello.yaml loads");
            let prepared =
                shipdeck::cockpit::prepare_with(&loaded, None, None).expect("layout and keymap");
            let mut m = Model::new(
                Arc::new(loaded.checklist),
                started("Hello shipdeck", "checklists/hello.yaml"),
                "ana@box".into(),
                at(1_000),
            );
            m.use_layout(&prepared.layout);
            let mut term = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
            term.draw(|f| render(f, &m, &prepared.layout, &theme))
                .expect("draw");
            black_box(term)
        })
    });
    g.finish();
}

criterion_group!(benches, render_frame, update_logs, first_frame);
criterion_main!(benches);
