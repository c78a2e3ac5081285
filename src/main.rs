//! The `shipdeck` binary: parse the command line and dispatch.

use clap::{CommandFactory, Parser};
use shipdeck::cli::{Cli, Command};
use shipdeck::commands;

/// Runs an async command on a small runtime. The command's own future (the cockpit's app loop)
/// runs on this thread; one worker runs the sources beside it. A second worker bought nothing
/// measurable but thread hand-offs: 9 % more CPU in the steady state (BENCHMARKS.md).
fn block_on(f: impl Future<Output = i32>) -> i32 {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("shipdeck: cannot start the runtime: {e}");
            1
        }
    }
}

fn main() {
    // A file-size limit (`ulimit -f`) reached while writing the journal must be an error the run
    // stops on cleanly, like a full disk, not a signal that kills it mid-write.
    // SAFETY: ignoring a signal before any thread exists.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGXFSZ,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
    let cli = Cli::parse();
    if !matches!(&cli.command, Command::Run(a) if !a.dry_run)
        && !matches!(cli.command, Command::Demo(_) | Command::Watch(_))
    {
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
        Command::Runs { checklist } => commands::runs(&cli.global, checklist.as_deref()),
        Command::Report { run, format } => commands::report(&cli.global, run, *format),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "shipdeck",
                &mut std::io::stdout(),
            );
            0
        }
        Command::History { checklist, format } => {
            shipdeck::history::print(&cli.global, checklist, *format)
        }
        Command::Watch(args) => block_on(shipdeck::watch::run(&cli.global, args)),
        Command::Demo(args) => block_on(shipdeck::demo::run(&cli.global, args)),
        Command::Run(args) => block_on(commands::run(&cli.global, args)),
    };
    std::process::exit(code);
}
