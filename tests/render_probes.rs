//! Render snapshots of the probes pane (green, amber, red with the ROLLBACK ADVISED banner,
//! insecure with an expiring certificate, the details view) and checks that can fail: the
//! banner only while advised, the error-rate text, the sparkline, tiny sizes.

mod common;

use common::{
    RunStart, Scenario, assert_draws_at_tiny_sizes, assert_no_colour, at_secs as at, draw, fg_of,
    screen,
};
use ratatui::style::{Color, Modifier};
use shipdeck::config::layout::{PaneId, builtin};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::model::Model;
use shipdeck::core::probes::{FailureKind, Health, Sample};
use shipdeck::core::run::RunState;
use std::sync::Arc;

const LIST: &str = r#"
name: Web release 2.0
probes:
  - name: web
    url: https://shop.example.com/health
    every: 2s
    expect: { status: 200, cert_days_min: 14 }
    slo: { window: 60s, p95_ms: 500, error_rate: 1% }
  - name: api
    url: http://api.internal:8080/healthz
  - name: legacy
    url: https://legacy.example.com/ping
    insecure: true
    expect: { status: 200, cert_days_min: 14 }
rollback_when:
  - { probe: web, error_rate: 5%, for: 30s }
phases:
  - name: Deployment
    steps:
      - { id: rollout, title: Roll out web 2.0, run: ./deploy.sh }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
"#;

const NOW: i64 = 120;

fn model(layout: &str) -> Model {
    let start = RunStart {
        cluster: None,
        ..RunStart::default()
    };
    let mut m = common::replayed(LIST, &start, &[], at(0));
    // The layout's panes only: not `use_layout`, so `pair` draws without its large type.
    let l = builtin(layout).unwrap();
    m.layout_name = l.name.clone();
    m.panes = l.panes();
    m.now = at(NOW);
    m
}

fn sample(probe: &str, s: i64, ms: u64) -> Sample {
    Sample {
        probe: probe.into(),
        at: at(s),
        latency_ms: ms,
        status: Some(200),
        failure: None,
        cert_days: probe.starts_with('l').then_some(63),
    }
}

fn failed(mut s: Sample, kind: FailureKind, message: &str) -> Sample {
    if let FailureKind::BadStatus(c) = kind {
        s.status = Some(c);
    } else {
        s.status = None;
    }
    s.failure = Some((kind, message.into()));
    s
}

/// Every probe every 2 s from 0 to [`NOW`]; `web` latencies from `web_ms`, the samples passed
/// through `edit` before they are recorded.
fn feed(m: &mut Model, web_ms: impl Fn(i64) -> u64, edit: impl Fn(Sample) -> Sample) {
    for s in (0..=NOW).step_by(2) {
        let i = s / 2;
        for (probe, ms) in [
            ("web", web_ms(i)),
            ("api", 5 + (i * 7 % 11) as u64),
            ("legacy", 80 + (i * 13 % 40) as u64),
        ] {
            m.probes.record(edit(sample(probe, s, ms)));
        }
    }
    m.probes.tick(at(NOW));
}

fn wavy(i: i64) -> u64 {
    12 + (i * 37 % 29) as u64
}

fn green(layout: &str) -> Model {
    let mut m = model(layout);
    feed(&mut m, wavy, |s| s);
    m
}

/// `web` at 420–480 ms: near its 500 ms p95 limit; `api`'s last request refused twice.
fn amber(layout: &str) -> Model {
    let mut m = model(layout);
    feed(
        &mut m,
        |i| 420 + (i * 17 % 61) as u64,
        |s| {
            if s.probe == "api" && s.at >= at(NOW - 2) {
                failed(
                    s,
                    FailureKind::ConnectionRefused,
                    "connect: connection refused",
                )
            } else {
                s
            }
        },
    );
    m
}

/// From 0:40 one `web` request in five fails with 503: the 5 % rule holds from 0:50 (2 of 26)
/// and fires at 1:20 (5 of 30, 16.7 %); at 2:00 the window has 6 of 30 (20 %).
fn red(layout: &str) -> Model {
    let mut m = model(layout);
    feed(&mut m, wavy, |s| {
        if s.probe == "web" && s.at >= at(40) && (s.at - at(0)).num_seconds() % 10 == 0 {
            let msg = "GET https://shop.example.com/health: 503 Service Unavailable\nbody: upstream connect error";
            Sample {
                latency_ms: 30,
                ..failed(s, FailureKind::BadStatus(503), msg)
            }
        } else {
            s
        }
    });
    m
}

/// `legacy` (insecure) with a certificate 9 days from expiry.
fn cert(layout: &str) -> Model {
    let mut m = model(layout);
    feed(&mut m, wavy, |mut s| {
        if s.probe == "legacy" {
            s.cert_days = Some(9);
        }
        s
    });
    m
}

fn details(layout: &str) -> Model {
    let mut m = red(layout);
    m.probe_detail = true;
    m
}

/// Probes focused and zoomed (added to the layout's panes when it has none).
fn zoomed(mut m: Model) -> Model {
    if !m.panes.contains(&PaneId::Probes) {
        m.panes.push(PaneId::Probes);
    }
    common::zoomed(m, PaneId::Probes)
}

const SCENARIOS: [(&str, Scenario); 5] = [
    ("green", green),
    ("amber", amber),
    ("red", red),
    ("cert", cert),
    ("details", details),
];

#[test]
fn snapshots_of_every_probe_state() {
    for (name, scenario) in SCENARIOS {
        insta::assert_snapshot!(
            format!("{name}_wide_120x40"),
            screen(&scenario("wide"), 120, 40)
        );
        insta::assert_snapshot!(
            format!("{name}_zoomed_120x40"),
            screen(&zoomed(scenario("default")), 120, 40)
        );
    }
}

#[test]
fn the_states_come_from_the_core() {
    let h = |m: &Model, p: &str| m.probes.health(p);
    let m = green("wide");
    assert_eq!(
        [h(&m, "web"), h(&m, "api"), h(&m, "legacy")],
        [Health::Green; 3]
    );
    let m = amber("wide");
    assert_eq!([h(&m, "web"), h(&m, "api")], [Health::Amber; 2]);
    let m = red("wide");
    assert_eq!(h(&m, "web"), Health::Red);
    assert!(m.probes.advice().is_some());
    assert_eq!(h(&cert("wide"), "legacy"), Health::Amber);
}

#[test]
fn the_banner_shows_only_while_advised() {
    for (name, scenario) in SCENARIOS {
        for layout in ["default", "wide", "compact"] {
            let m = scenario(layout);
            let s = screen(&m, 120, 40);
            let first = s.lines().next().unwrap();
            if matches!(name, "red" | "details") {
                assert!(
                    first.starts_with(" ROLLBACK ADVISED: web error rate 16.7% > 5% for 30s"),
                    "{first}"
                );
                assert!(s.contains("Web release 2.0"), "the name stays:\n{s}");
                let buf = draw(&m, 120, 40, true);
                for x in 0..120 {
                    assert_eq!(buf[(x, 0)].fg, Color::Red, "red across the line");
                    assert!(buf[(x, 0)].modifier.contains(Modifier::REVERSED));
                }
            } else {
                assert!(!s.contains("ROLLBACK"), "{name} {layout}:\n{s}");
            }
        }
    }
    // Cut to the width, never wrapped.
    let s = screen(&red("compact"), 40, 12);
    assert!(
        s.starts_with(" ROLLBACK ADVISED: web error rate 16.7%…|"),
        "{s}"
    );
    // A one-line header keeps only the banner.
    let s = screen(&red("compact"), 80, 10);
    assert!(
        s.lines().nth(1).is_some_and(|l| !l.contains("Web release")),
        "{s}"
    );
}

#[test]
fn rows_say_numbers_against_the_slo() {
    let s = screen(&zoomed(green("default")), 120, 40);
    let web = s.lines().find(|l| l.contains("● web")).unwrap();
    assert!(
        web.contains("200") && web.contains("err 0.0% / 1%"),
        "{web}"
    );
    assert!(web.contains("p50 ") && web.contains("p95 "), "{web}");
    let api = s.lines().find(|l| l.contains("● api")).unwrap();
    assert!(
        api.contains("err 0.0%") && !api.contains(" / "),
        "no SLO: {api}"
    );
    let bars = |l: &str| l.chars().filter(|c| ('▁'..='█').contains(c)).count();
    assert!(bars(web) >= 20, "a sparkline: {web}");
    assert!(s.contains("within SLO: p95"), "{s}");
    let legacy = s.lines().find(|l| l.contains("● legacy")).unwrap();
    assert!(
        legacy.contains("cert 63d") && legacy.contains("insecure"),
        "{legacy}"
    );

    let s = screen(&zoomed(red("default")), 120, 40);
    assert!(s.contains("err 20.0% / 1%"), "{s}");
    assert!(
        s.contains("red · error rate 20% > 1% · since 12:00:42"),
        "{s}"
    );
    let s = screen(&zoomed(amber("default")), 120, 40);
    assert!(s.contains("connection refused"), "{s}");
    assert!(s.contains("near 500 ms"), "{s}");

    // Colours: the expiring certificate and `insecure` in amber (yellow), red state glyph.
    let m = zoomed(cert("default"));
    let buf = draw(&m, 120, 40, true);
    let s = screen(&m, 120, 40);
    assert_eq!(fg_of(&buf, "cert 9d"), Color::Yellow);
    assert_eq!(fg_of(&buf, "insecure"), Color::Yellow);
    assert!(s.contains("certificate expires in 9 days"), "{s}");
}

#[test]
fn details_show_the_last_failure_in_full() {
    let s = screen(&zoomed(details("default")), 120, 40);
    for want in [
        "● web red since",
        "GET https://shop.example.com/health",
        "SLO p95 ≤ 500 ms, errors ≤ 1% over 1m",
        "last failure at 12:02:00 (just now)",
        "kind    bad status 503",
        "status  503",
        "message GET https://shop.example.com/health: 503 Service Unavailable",
        "body: upstream connect error",
        "web error_rate > 5% for 30s — ADVISED since 12:01:20",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    // With every probe green, the first is shown.
    let mut m = zoomed(green("default"));
    m.probe_detail = true;
    let s = screen(&m, 120, 40);
    assert!(
        s.contains("● web green since 12:00:00") && s.contains("no failed request so far"),
        "{s}"
    );
}

#[test]
fn without_probes_the_pane_says_so() {
    let c = load_checklist(
        "name: t\nphases:\n  - name: P\n    steps:\n      - { title: a, run: 'true' }\n",
        "t.yaml",
        &LoadOptions::default(),
    )
    .unwrap();
    let mut m = Model::new(Arc::new(c), RunState::replay(&[]), "ana@box".into(), at(0));
    m.panes = builtin("default").unwrap().panes();
    m.probe_detail = true;
    let s = screen(&zoomed(m), 80, 24);
    assert!(s.contains("no probes defined"), "{s}");
}

#[test]
fn no_colour_and_tiny_sizes() {
    for (name, scenario) in SCENARIOS {
        for layout in ["default", "compact", "pair", "wide"] {
            let m = zoomed(scenario(layout));
            assert_no_colour(&draw(&m, 120, 40, false), &format!("{name} {layout}"));
            for m in [m.clone(), scenario(layout)] {
                assert_draws_at_tiny_sizes(&m);
            }
        }
    }
}
