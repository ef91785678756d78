//! The Lambda loop and the local command line every rule binary runs through [`serve`].

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::aws::Edge;
use crate::entry::Entry;
pub use crate::entry::Mode;
use crate::error::RuleError;
use crate::evaluation::Evaluation;
use crate::notify::TOPIC_ENV;
use crate::replay;

/// Runs a rule outside Lambda on a Config event file, or replays a file of recorded events.
#[derive(Debug, Parser)]
#[command(
    about = "Run this Config rule on a Config Lambda event file.",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
struct LocalArgs {
    /// A Config rule Lambda event (JSON), as Config sends it.
    #[arg(long, value_name = "FILE", required = true)]
    event: Option<PathBuf>,
    /// Print the evaluations as JSON and put nothing. Oversized and periodic events still read
    /// from AWS.
    #[arg(long)]
    dry_run: bool,
    #[command(subcommand)]
    replay: Option<Replay>,
}

#[derive(Debug, clap::Subcommand)]
enum Replay {
    /// Run the rule on recorded events, one JSON event a line: one result line per event, a
    /// summary on stderr, exit status 1 when any line failed.
    Replay {
        /// The events, one Config rule Lambda event (JSON) a line.
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Put nothing (as for --event).
        #[arg(long)]
        dry_run: bool,
    },
}

impl LocalArgs {
    fn mode(dry_run: bool) -> Mode {
        if dry_run { Mode::DryRun } else { Mode::Put }
    }
}

fn summary(evaluations: &[Evaluation]) -> Value {
    json!({ "evaluations": evaluations.len() })
}

fn in_lambda() -> bool {
    #[expect(
        clippy::disallowed_methods,
        reason = "the entry point decides where it runs"
    )]
    let set = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    set && std::env::args_os().len() <= 1
}

/// Serves `entry` as the Lambda function in AWS (putting results, records to the topic named in
/// the environment), or runs it once on `--event FILE [--dry-run]` (or `replay`) elsewhere and
/// exits.
pub async fn serve(entry: Entry) -> Result<(), lambda_runtime::Error> {
    let entry = entry.notifying(topic_from_env());
    let edge = Edge::from_env();
    let handle = |event: Value, mode: Mode| entry.handle(event, &edge, mode);
    if in_lambda() {
        lambda_runtime::tracing::init_default_subscriber();
        let handle = &handle;
        // Boxed: the runtime's and the handlers' futures are large.
        return Box::pin(lambda_runtime::run(service_fn(
            move |event: LambdaEvent<Value>| async move {
                Box::pin(handle(event.payload, Mode::Put))
                    .await
                    .map(|e| summary(&e))
            },
        )))
        .await;
    }
    let args = LocalArgs::parse();
    if let Some(Replay::Replay { events, dry_run }) = &args.replay {
        let mode = LocalArgs::mode(*dry_run);
        std::process::exit(replay_file(events, |event| handle(event, mode)).await);
    }
    let (event, mode) = local_event(&args).unwrap_or_else(|e| fail(&e));
    std::process::exit(report(Box::pin(handle(event, mode)).await));
}

/// The notification topic named in the Lambda environment ([`TOPIC_ENV`]), if any.
pub fn topic_from_env() -> Option<String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the Lambda environment is read at the edge"
    )]
    std::env::var(TOPIC_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// `--event FILE [--dry-run]`: reads the event, or says on stderr why it cannot.
fn local_event(args: &LocalArgs) -> Result<(Value, Mode), String> {
    let path = args.event.as_deref().ok_or("--event FILE is required")?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let event =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Ok((event, LocalArgs::mode(args.dry_run)))
}

/// `replay --events FILE`: the result lines on stdout, the summary on stderr; the exit status.
async fn replay_file<H, F>(path: &std::path::Path, handle: H) -> i32
where
    H: Fn(Value) -> F,
    F: Future<Output = Result<Vec<Evaluation>, RuleError>>,
{
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match replay::replay(std::io::BufReader::new(file), handle, &mut out).await {
        Ok(tally) => {
            eprintln!("{tally}");
            i32::from(tally.failed())
        }
        Err(e) => fail(&format!("replaying {}: {e}", path.display())),
    }
}

/// Prints the evaluations as a JSON array on stdout, or the error on stderr; the exit status.
fn report(result: Result<Vec<Evaluation>, RuleError>) -> i32 {
    match result {
        Ok(evaluations) => {
            let out = serde_json::to_string_pretty(&evaluations).expect("evaluations serialise");
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = writeln!(std::io::stdout().lock(), "{out}");
            0
        }
        Err(e) => {
            eprintln!("error: {e} ({})", e.kind());
            1
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
