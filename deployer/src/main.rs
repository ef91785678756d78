//! The `deployer` binary: parses the command line and hands each verb to `deployer::commands`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::FromArgMatches;

use deployer::cli::{Cli, Command, GraphCommand, PackCommand};
use deployer::commands;
use deployer::exit::ExitStatus;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli =
        Cli::from_arg_matches(&deployer::cli::command().get_matches()).unwrap_or_else(|e| e.exit());
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            report(&error);
            ExitStatus::Error.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let Cli { global, command } = cli;
    match command {
        Command::Plan(args) => commands::plan::run(&global, &args),
        Command::Apply(args) => commands::apply::run(&global, &args),
        Command::Destroy(args) => commands::destroy::run(&global, &args),
        Command::Unlock(args) => commands::unlock::run(&global, &args),
        Command::Render(args) => commands::render::run(&global, &args),
        Command::NewRule(args) => commands::new_rule::run(&global, &args),
        Command::Doctor(args) => commands::doctor::run(&global, &args),
        Command::Evaluate(args) => commands::evaluate::run(&global, &args),
        Command::Status(args) => commands::status::run(&global, &args),
        Command::Audit(args) => commands::audit::run(&global, &args),
        Command::Pack(PackCommand::Validate(args)) => commands::pack_validate::run(&global, &args),
        Command::History(args) => commands::history::run(&global, &args),
        Command::Graph(GraphCommand::Impact(args)) => commands::graph::impact(&global, &args),
        Command::Graph(GraphCommand::Export(args)) => commands::graph::export(&global, &args),
    }
}

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// One cause per line, outermost first.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
