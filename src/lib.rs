//! shipdeck: a terminal cockpit for driving a production release.

pub mod config;
pub mod core;
pub mod sources;
