//! shipdeck: a terminal cockpit for driving a production release.

pub mod app;
pub mod bench_exit;
pub mod cli;
pub mod cockpit;
pub mod commands;
pub mod config;
pub mod core;
pub mod demo;
pub mod exec;
pub mod headless;
pub mod history;
pub mod journal_io;
pub mod lock;
pub mod paths;
pub mod session;
pub mod sim;
pub mod sources;
pub mod tui;
pub mod ui;
pub mod watch;
