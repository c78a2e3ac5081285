//! The `shipdeck` binary: parse the command line and dispatch.

use clap::{CommandFactory, Parser};
use shipdeck::cli::{Cli, Command};
use shipdeck::commands;

fn main() {
    let cli = Cli::parse();
    if !matches!(&cli.command, Command::Run(a) if !a.dry_run) {
        // Printing commands end quietly when the reader goes away (`shipdeck runs | head`).
        // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            )
        };
    }
    let code = match &cli.command {
        Command::Check { files, vars } => commands::check(files, vars),
        Command::Import { markdown, output } => commands::import(markdown, output.as_deref()),
        Command::Runs { checklist } => commands::runs(&cli, checklist.as_deref()),
        Command::Report { run, format } => commands::report(&cli, run, *format),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "shipdeck",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Run(args) => match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(commands::run(&cli, args)),
            Err(e) => {
                eprintln!("shipdeck: cannot start the runtime: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
