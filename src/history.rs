//! `shipdeck history CHECKLIST`: past runs of a checklist, read from the runs dir.

use crate::cli::{Format, Global};

pub fn print(global: &Global, checklist: &str, format: Format) -> i32 {
    let _ = (global, checklist, format);
    eprintln!("shipdeck: history is not available yet");
    1
}
