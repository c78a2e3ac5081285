//! Probe SLO math in the pure core: exact statistics, verdicts, hysteresis, failure streaks,
//! rollback rules firing exactly at `for` and clearing, and minute summaries.

use chrono::{DateTime, Duration, TimeZone, Utc};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::probes::{
    FailureKind, Health, LATENCY_CAP, ProbeBoard, ProbeChange, Sample, Stats, WINDOW_CAP,
    percentile,
};

fn at(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap() + Duration::seconds(s)
}

/// A board from a checklist whose `probes:` and `rollback_when:` are `yaml`.
fn board(yaml: &str) -> ProbeBoard {
    let text = format!(
        "name: t\n{yaml}\nphases:\n  - name: P\n    steps:\n      - {{ title: a, run: 'true' }}\n"
    );
    let c = load_checklist(&text, "t.yaml", &LoadOptions::default()).unwrap();
    ProbeBoard::new(&c.probes, &c.rollback_when, at(0))
}

const SLO: &str = "probes:
  - name: web
    url: http://127.0.0.1:1/health
    slo: { window: 60s, p95_ms: 500, error_rate: 1% }";

const PLAIN: &str = "probes:
  - name: web
    url: http://127.0.0.1:1/health";

fn ok(s: i64, ms: u64) -> Sample {
    Sample {
        probe: "web".into(),
        at: at(s),
        latency_ms: ms,
        status: Some(200),
        failure: None,
        cert_days: None,
    }
}

fn fail(s: i64, kind: FailureKind) -> Sample {
    let status = match kind {
        FailureKind::BadStatus(c) => Some(c),
        _ => None,
    };
    // A timeout gives up after 2 s; other failures come back fast.
    let latency_ms = if kind == FailureKind::Timeout {
        2000
    } else {
        5
    };
    Sample {
        probe: "web".into(),
        at: at(s),
        latency_ms,
        status,
        failure: Some((kind, "details".into())),
        cert_days: None,
    }
}

/// The health changes among `changes`, as (from, to, detail).
fn healths(changes: &[ProbeChange]) -> Vec<(Health, Health, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            ProbeChange::Health {
                from, to, detail, ..
            } => Some((*from, *to, detail.clone())),
            _ => None,
        })
        .collect()
}

fn feed(b: &mut ProbeBoard, samples: impl IntoIterator<Item = Sample>) -> Vec<ProbeChange> {
    samples.into_iter().flat_map(|s| b.record(s)).collect()
}

#[test]
fn nearest_rank_percentiles_exactly() {
    let v: Vec<u64> = (1..=100).collect();
    let s = Stats::from_parts(v.clone(), 0);
    assert_eq!((s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms), (50, 95, 99, 100));
    assert_eq!(percentile(&v[..10], 95), 10, "ceil(9.5) = 10th value");
    assert_eq!(percentile(&v[..20], 95), 19, "ceil(19) = 19th value");
    let one = Stats::from_parts(vec![42], 1);
    assert_eq!((one.p50_ms, one.p95_ms, one.p99_ms), (42, 42, 42));
    assert_eq!(one.error_rate, 100.0);
    let empty = Stats::from_parts(Vec::new(), 0);
    assert_eq!(empty, Stats::default());
    assert_eq!(empty.error_rate, 0.0);

    // Through the board: 100 requests in a 10-minute window, every tenth one failed.
    let mut b = board(
        "probes:\n  - name: web\n    url: http://x/\n    slo: { window: 10m, error_rate: 50% }",
    );
    for i in 1..=100u64 {
        let s = i as i64;
        b.record(if i % 10 == 0 {
            Sample {
                latency_ms: i,
                ..fail(s, FailureKind::Timeout)
            }
        } else {
            ok(s, i)
        });
    }
    let s = b.stats("web").unwrap();
    assert_eq!((s.requests, s.errors, s.error_rate), (100, 10, 10.0));
    assert_eq!((s.p50_ms, s.p95_ms, s.p99_ms), (50, 95, 99));
    assert_eq!(b.stats("nope"), None);
    assert_eq!(board(SLO).stats("web").unwrap().requests, 0);
}

#[test]
fn the_window_slides_with_samples_and_ticks() {
    let mut b = board(SLO);
    feed(&mut b, (1..=90).map(|s| ok(s, 10)));
    assert_eq!(b.stats("web").unwrap().requests, 60, "(30, 90]");
    b.tick(at(120));
    assert_eq!(b.stats("web").unwrap().requests, 30, "(60, 120]");
    b.tick(at(150));
    assert_eq!(b.stats("web").unwrap().requests, 0);
    assert_eq!(b.health("web"), Health::Green, "ticks do not judge");

    // At most WINDOW_CAP samples, however fast they come; the sparkline keeps LATENCY_CAP.
    let mut b = board(SLO);
    for i in 0..2500 {
        let mut s = ok(0, i);
        s.at += Duration::milliseconds(i as i64 * 10);
        b.record(s);
    }
    let p = b.probe("web").unwrap();
    assert_eq!(
        (p.window.len(), p.latencies.len()),
        (WINDOW_CAP, LATENCY_CAP)
    );
    assert_eq!(
        p.window.front().unwrap().latency_ms,
        500,
        "the oldest went first"
    );
    // A late sample from before the window stays out of it.
    b.record(ok(-100, 1));
    assert_eq!(b.stats("web").unwrap().requests, WINDOW_CAP);
}

#[test]
fn verdicts_with_an_slo() {
    // The first sample sets the state directly: one failure is a 100 % error rate.
    let mut b = board(SLO);
    let c = b.record(fail(1, FailureKind::ConnectionRefused));
    let red = (
        Health::Unknown,
        Health::Red,
        "error rate 100% > 1%".to_string(),
    );
    assert_eq!(healths(&c), [red]);

    // Green: 30 requests every 2 s, all fast.
    let mut b = board(SLO);
    let c = feed(&mut b, (0..30).map(|i| ok(i * 2, 100)));
    let green = "within SLO: p95 100 ms, error rate 0%".to_string();
    assert_eq!(healths(&c), [(Health::Unknown, Health::Green, green)]);
    assert_eq!(b.green_since("web"), Some(at(0)));

    // One error in a window of 30 breaches 1 %: red once a second sample agrees.
    assert!(healths(&b.record(fail(60, FailureKind::BadStatus(503)))).is_empty());
    let c = b.record(ok(62, 100));
    let red = (
        Health::Green,
        Health::Red,
        "error rate 3.3% > 1%".to_string(),
    );
    assert_eq!(healths(&c), [red]);
    assert_eq!(b.green_since("web"), None);
    assert_eq!(b.probe("web").unwrap().health_since, at(62));

    // p95 over its limit: 2 slow requests among 30.
    let mut b = board(SLO);
    feed(&mut b, (0..28).map(|i| ok(i * 2, 100)));
    let c = feed(&mut b, [ok(56, 820), ok(58, 820), ok(60, 100)]);
    let red = (Health::Green, Health::Red, "p95 820 ms > 500 ms".into());
    assert_eq!(healths(&c), [red]);

    // p95 at 80–100 % of its limit is amber.
    let mut b = board(SLO);
    feed(&mut b, (0..28).map(|i| ok(i * 2, 100)));
    let c = feed(&mut b, [ok(56, 450), ok(58, 450), ok(60, 100)]);
    let amber = (
        Health::Green,
        Health::Amber,
        "p95 450 ms near 500 ms".into(),
    );
    assert_eq!(healths(&c), [amber]);
}

#[test]
fn verdicts_without_an_slo_and_failure_streaks() {
    let mut b = board(PLAIN);
    let c = b.record(ok(1, 10));
    assert_eq!(healths(&c), [(Health::Unknown, Health::Green, "ok".into())]);
    // Amber after a failure (held for 2 samples), red at once on the third in a row.
    let refused = || FailureKind::ConnectionRefused;
    assert!(healths(&b.record(fail(2, refused()))).is_empty());
    let c = b.record(fail(3, refused()));
    let amber = "last request failed: connection refused".to_string();
    assert_eq!(healths(&c), [(Health::Green, Health::Amber, amber)]);
    let c = b.record(fail(4, refused()));
    let red = "3 failures in a row: connection refused".to_string();
    assert_eq!(healths(&c), [(Health::Amber, Health::Red, red)]);
    assert_eq!(b.probe("web").unwrap().failures_in_row, 3);
    assert_eq!(
        b.probe("web").unwrap().detail,
        "3 failures in a row: connection refused"
    );
    assert!(healths(&b.record(fail(5, refused()))).is_empty());
    assert_eq!(
        b.probe("web").unwrap().detail,
        "4 failures in a row: connection refused"
    );
    // Recovery needs 2 good samples.
    assert!(healths(&b.record(ok(6, 10))).is_empty());
    assert_eq!(b.health("web"), Health::Red);
    assert_eq!(healths(&b.record(ok(7, 10)))[0].1, Health::Green);
    assert_eq!(b.green_since("web"), Some(at(7)));
    let last = b.probe("web").unwrap().last_failure.clone().unwrap();
    assert_eq!(last.at, at(5));

    // With an SLO the error rate breaks first; the streak then names the failure.
    let mut b = board(SLO);
    b.record(ok(1, 10));
    feed(&mut b, (2..=3).map(|s| fail(s, FailureKind::Timeout)));
    assert_eq!(b.health("web"), Health::Red, "error rate breach held 2");
    let c = b.record(fail(4, FailureKind::Timeout));
    assert!(healths(&c).is_empty(), "already red");
    assert_eq!(
        b.probe("web").unwrap().detail,
        "3 failures in a row: timeout"
    );
}

#[test]
fn one_slow_request_does_not_flap() {
    // 60 fast requests, one a second, in a 60 s window: green.
    let mut b = board(SLO);
    feed(&mut b, (1..=60).map(|s| ok(s, 100)));
    assert_eq!(b.health("web"), Health::Green);
    // One slow request in a green stream stays green.
    assert!(healths(&feed(&mut b, [ok(61, 800), ok(62, 100)])).is_empty());
    assert_eq!(b.health("web"), Health::Green);
    // Two in a row turn amber (the window's p95 is still 100 ms: 3 slow among 60).
    assert!(healths(&b.record(ok(63, 800))).is_empty());
    let c = b.record(ok(64, 800));
    let amber = "slow request: 800 ms > p95 500 ms".to_string();
    assert_eq!(healths(&c), [(Health::Green, Health::Amber, amber)]);
    assert_eq!(b.stats("web").unwrap().p95_ms, 100);
    // Recovery needs 2 good ones.
    assert!(healths(&b.record(ok(65, 100))).is_empty());
    assert_eq!(b.health("web"), Health::Amber);
    let c = b.record(ok(66, 100));
    assert_eq!(healths(&c)[0].1, Health::Green);
}

#[test]
fn an_expiring_certificate_is_amber() {
    let mut b = board(
        "probes:\n  - name: web\n    url: https://x/\n    expect: { status: 200, cert_days_min: 14 }",
    );
    let s = |t, d| Sample {
        cert_days: Some(d),
        ..ok(t, 10)
    };
    let c = b.record(s(1, 63));
    assert_eq!(healths(&c)[0].1, Health::Green);
    let c = feed(&mut b, [s(2, 10), s(3, 10)]);
    let amber = "certificate expires in 10 days".to_string();
    assert_eq!(healths(&c), [(Health::Green, Health::Amber, amber)]);
    // The probe engine may report it as a failure kind: still a warning, not an error.
    let warn = Sample {
        failure: Some((FailureKind::CertExpiring(9), "expires soon".into())),
        ..ok(4, 10)
    };
    b.record(warn);
    let p = b.probe("web").unwrap();
    assert_eq!((p.failures_in_row, p.cert_days()), (0, Some(9)));
    assert_eq!(b.stats("web").unwrap().errors, 0);
    assert_eq!(p.detail, "certificate expires in 9 days");
}

const RULES: &str = "probes:
  - name: web
    url: http://x/
    slo: { window: 10s }
rollback_when:
  - { probe: web, p95_ms: 1500, for: 60s }
  - { probe: web, error_rate: 5%, for: 30s }";

fn advised(changes: &[ProbeChange]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            ProbeChange::Advised { detail, .. } => Some(format!("+{detail}")),
            ProbeChange::Cleared { rule } => Some(format!("-{rule}")),
            _ => None,
        })
        .collect()
}

#[test]
fn rules_fire_exactly_at_for_and_clear() {
    let mut b = board(RULES);
    assert_eq!(b.rules[0].text, "web p95_ms > 1500 for 1m");
    assert_eq!(b.rules[1].text, "web error_rate > 5% for 30s");
    assert!(advised(&feed(&mut b, (1..=10).map(|s| ok(s, 10)))).is_empty());
    // Failures (2 s timeouts) from t=11: both rules hold from 11.
    let c = feed(&mut b, (11..=40).map(|s| fail(s, FailureKind::Timeout)));
    assert!(advised(&c).is_empty(), "29 s held is not 30 s");
    assert_eq!(b.rules[1].holding_since, Some(at(11)));
    let c = b.record(fail(41, FailureKind::Timeout));
    assert_eq!(advised(&c), ["+web error rate 100% > 5% for 30s"]);
    let ProbeChange::Advised { rule, .. } = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(rule, "web error_rate > 5% for 30s");
    assert_eq!(
        b.advice(),
        Some((
            "web error_rate > 5% for 30s",
            "web error rate 100% > 5% for 30s",
            at(41)
        ))
    );
    assert!(
        advised(&feed(
            &mut b,
            (42..=70).map(|s| fail(s, FailureKind::Timeout))
        ))
        .is_empty()
    );
    let c = b.record(fail(71, FailureKind::Timeout));
    assert_eq!(advised(&c), ["+web p95 2000 ms > 1500 ms for 1m"]);
    assert_eq!(
        b.advice().unwrap().0,
        "web p95_ms > 1500 for 1m",
        "first rule first"
    );
    assert_eq!(b.advice_count(), 2);
    // Good again from 72: the last failure (71) leaves the 10 s window at 81.
    assert!(advised(&feed(&mut b, (72..=80).map(|s| ok(s, 10)))).is_empty());
    let c = b.record(ok(81, 10));
    assert_eq!(
        advised(&c),
        ["-web p95_ms > 1500 for 1m", "-web error_rate > 5% for 30s"]
    );
    assert_eq!(b.advice(), None);
    assert_eq!(b.rules[1].holding_since, None);
}

#[test]
fn rules_fire_on_ticks_and_thresholds_are_strict() {
    let mut b = board(
        "probes:\n  - name: web\n    url: http://x/\nrollback_when:\n  - { probe: web, error_rate: 5%, for: 30s }",
    );
    feed(&mut b, (1..=60).map(|s| ok(s, 10)));
    let c = feed(
        &mut b,
        (61..=63).map(|s| fail(s, FailureKind::BadStatus(500))),
    );
    assert!(advised(&c).is_empty());
    assert_eq!(b.stats("web").unwrap().error_rate, 5.0);
    assert_eq!(b.rules[0].holding_since, None, "5% is not > 5%");
    b.record(fail(64, FailureKind::BadStatus(500)));
    assert_eq!(b.rules[0].holding_since, Some(at(64)));
    assert!(advised(&b.tick(at(93))).is_empty());
    // (34, 94]: samples 35..=64, 4 of 30 failed.
    assert_eq!(
        advised(&b.tick(at(94))),
        ["+web error rate 13.3% > 5% for 30s"]
    );
    assert!(advised(&b.tick(at(95))).is_empty(), "fires once");
    // The failures leave the window: cleared by a tick too.
    assert!(advised(&b.tick(at(123))).is_empty());
    assert_eq!(advised(&b.tick(at(124))), ["-web error_rate > 5% for 30s"]);
    // An empty window never holds.
    assert_eq!(b.stats("web").unwrap().requests, 0);
    assert_eq!(b.advice(), None);
}

#[test]
fn minute_summaries() {
    let mut b = board(PLAIN);
    let minute = |c: &ProbeChange| match c {
        ProbeChange::Minute {
            probe,
            minute,
            requests,
            errors,
            p50_ms,
            p95_ms,
            max_ms,
        } => Some(format!(
            "{probe} {} {requests} req {errors} err p50 {p50_ms} p95 {p95_ms} max {max_ms}",
            minute.format("%H:%M:%S")
        )),
        _ => None,
    };
    let minutes = |c: Vec<ProbeChange>| c.iter().filter_map(minute).collect::<Vec<_>>();
    let first = [ok(5, 10), ok(15, 20), fail(25, FailureKind::Timeout)];
    assert!(minutes(feed(&mut b, first)).is_empty());
    assert!(minutes(b.record(ok(59, 30))).is_empty());
    // A sample of the next minute closes the previous one.
    let c = b.record(ok(65, 40));
    assert_eq!(
        minutes(c),
        ["web 12:00:00 4 req 1 err p50 20 p95 2000 max 2000"]
    );
    assert!(minutes(b.tick(at(119))).is_empty());
    assert_eq!(
        minutes(b.tick(at(120))),
        ["web 12:01:00 1 req 0 err p50 40 p95 40 max 40"]
    );
    // A minute without requests says nothing; the partial minute comes with the flush.
    assert!(minutes(b.tick(at(190))).is_empty());
    b.record(ok(190, 7));
    assert!(minutes(b.tick(at(200))).is_empty());
    assert_eq!(
        minutes(b.flush_minutes()),
        ["web 12:03:00 1 req 0 err p50 7 p95 7 max 7"]
    );
    assert!(b.flush_minutes().is_empty());
    // Samples of probes the board does not know are ignored.
    let s = Sample {
        probe: "other".into(),
        ..ok(200, 10)
    };
    assert!(b.record(s).is_empty());
    assert_eq!(b.health("other"), Health::Unknown);
}

/// A target failing every other request gives no 2 equal verdicts in a row by itself: it is
/// named as flapping (amber) once its last 5 requests changed outcome 3 times, and a single
/// failure in a good stream is not flapping.
#[test]
fn a_flapping_target_turns_amber() {
    let mut b = board(PLAIN);
    feed(&mut b, (1..=4).map(|s| ok(s, 10)));
    // One failure among good ones: amber pending, then green again.
    assert!(
        healths(&feed(
            &mut b,
            [fail(5, FailureKind::BadStatus(503)), ok(6, 10)]
        ))
        .is_empty()
    );
    assert_eq!(b.health("web"), Health::Green);
    // Every other request fails from here.
    let mut changes = Vec::new();
    for s in 7..=12 {
        let sample = if s % 2 == 1 {
            fail(s, FailureKind::BadStatus(503))
        } else {
            ok(s, 10)
        };
        changes.extend(healths(&b.record(sample)));
    }
    assert_eq!(
        changes,
        [(
            Health::Green,
            Health::Amber,
            "flapping: 2 of the last 5 requests failed".to_string()
        )]
    );
    assert_eq!(b.health("web"), Health::Amber);
    // It stays amber while it flaps, and turns green after good requests.
    let c = feed(&mut b, (13..=17).map(|s| ok(s, 10)));
    assert_eq!(healths(&c).last().unwrap().1, Health::Green);
}
