//! `shipdeck watch [RUN]`: follow a live run read-only from another terminal.

use crate::cli::{Global, WatchArgs};

pub async fn run(global: &Global, args: &WatchArgs) -> i32 {
    let _ = (global, args);
    eprintln!("shipdeck: watch is not available yet");
    1
}
