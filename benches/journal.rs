//! Journal appends (issue 7): 10,000 non-boundary events (no fsync) against one boundary event
//! (fsync), through `JournalWriter` into a fresh file. `cargo test` runs each body once.

use chrono::{Duration, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shipdeck::core::journal::{Entry, Event};
use shipdeck::journal_io::JournalWriter;
use std::hint::black_box;

const EVENTS: usize = 10_000;

fn entry(i: usize, event: Event) -> Entry {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    Entry::new(t0 + Duration::milliseconds(i as i64), event)
}

/// Comments and probe minutes, alternating: what a long run appends between step boundaries.
fn non_boundary() -> Vec<Entry> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    (0..EVENTS)
        .map(|i| {
            let event = if i % 2 == 0 {
                Event::Comment {
                    step: Some("rollout".into()),
                    text: format!("watching the error rate, sample {i}"),
                    by: "ana@box".into(),
                }
            } else {
                Event::ProbeMinute {
                    probe: "web".into(),
                    minute: t0 + Duration::minutes(i as i64),
                    requests: 120,
                    errors: (i % 3) as u32,
                    p50_ms: 12,
                    p95_ms: 48,
                    max_ms: 230,
                }
            };
            entry(i, event)
        })
        .collect()
}

/// A writer on a new journal in its own temporary directory (removed when dropped, untimed),
/// under the build's scratch directory: on the build's disk, where an fsync costs what it costs.
fn fresh() -> (tempfile::TempDir, JournalWriter) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temporary directory");
    let w = JournalWriter::create(&dir.path().join("run.jsonl")).expect("new journal");
    (dir, w)
}

fn appends(c: &mut Criterion) {
    let events = non_boundary();
    assert!(events.iter().all(|e| !e.is_boundary()));
    let boundary = entry(
        EVENTS,
        Event::StepStarted {
            step: "rollout".into(),
            attempt: 1,
            by: "ana@box".into(),
            what: Some("set_image deployment/web web=registry/web:2.0".into()),
        },
    );
    assert!(boundary.is_boundary());
    let mut g = c.benchmark_group("journal");
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(8));
    g.bench_function("append_10000_non_boundary", |b| {
        b.iter_batched(
            fresh,
            |(dir, mut w)| {
                for e in &events {
                    w.append(e).expect("append");
                }
                (dir, w)
            },
            BatchSize::PerIteration,
        )
    });
    // One boundary event (one fsync) per iteration, onto one journal that grows by a line each.
    let (_dir, mut w) = fresh();
    g.bench_function("append_1_boundary_fsync", |b| {
        b.iter(|| w.append(black_box(&boundary)).expect("append"))
    });
    g.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
