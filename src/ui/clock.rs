//! Wall-clock times on screen: `HH:MM:SS` in the local zone, or UTC once [`force_utc`] was called.
//!
//! The screen shows local time because that is what the people at the terminal read. Snapshot
//! tests need the same text on every machine; rather than mutate `TZ` (unsafe with test threads),
//! they call [`force_utc`], a process-wide, one-way switch. Only timestamps from the model are
//! formatted here: the UI never reads the clock.

use chrono::{DateTime, Local, Utc};
use std::sync::atomic::{AtomicBool, Ordering};

static UTC: AtomicBool = AtomicBool::new(false);

/// Show every time in UTC from now on (tests, and users who want the journal's zone).
pub fn force_utc() {
    UTC.store(true, Ordering::Relaxed);
}

/// `12:04:05` in the local zone (or UTC, see [`force_utc`]).
pub fn hms(t: DateTime<Utc>) -> String {
    if UTC.load(Ordering::Relaxed) {
        t.format("%H:%M:%S").to_string()
    } else {
        t.with_timezone(&Local).format("%H:%M:%S").to_string()
    }
}

/// Time from `from` to `to` as `4.2s`, `5m12s` (zero when `to` is earlier).
pub fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0) as u64;
    crate::config::units::format_duration(std::time::Duration::from_millis(ms))
}

/// Milliseconds as `4.2s`.
pub fn millis(ms: u64) -> String {
    crate::config::units::format_duration(std::time::Duration::from_millis(ms))
}
