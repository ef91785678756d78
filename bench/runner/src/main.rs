//! `custos-bench`: the steps of `make bench` (see `scripts/bench`), each writing its figures as
//! JSON into one results directory, and `report`, which prints them as one table.

mod accounting;
mod cold_start;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use custos_bench::{Subject, corpus, corpus_file, generate, tally};
use serde_json::json;
use workspace_tests::emulator::Emulator;

#[derive(Debug, Parser)]
#[command(about = "Custos benchmarks: throughput, cold start, API-call accounting.")]
struct Args {
    #[command(subcommand)]
    command: Step,
}

#[derive(Debug, Subcommand)]
enum Step {
    /// Writes the corpus (one event per line per rule) and the Rust rules' verdict counts.
    Corpus {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Starts the release rule binary against a local Runtime API; writes cold-start.json.
    ColdStart {
        #[arg(long)]
        binary: PathBuf,
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100)]
        starts: usize,
        #[arg(long, default_value_t = 1000)]
        evaluations: usize,
    },
    /// Counts calls on the running emulator (AWS_ENDPOINT_URL); writes accounting.json.
    Accounting {
        #[arg(long)]
        out: PathBuf,
        /// Resource counts of the periodic runs.
        #[arg(long, value_delimiter = ',', default_value = "1,100,101,250,1000")]
        resources: Vec<usize>,
        /// Member accounts of the organisation (0: skip the organisation run).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// The deployer binary.
        #[arg(long)]
        deployer: PathBuf,
    },
    /// Prints the table of every figure in DIR.
    Report {
        #[arg(long)]
        dir: PathBuf,
        /// criterion's output directory (target/criterion).
        #[arg(long)]
        criterion: PathBuf,
        /// The cargo-lambda zip of s3-bucket-encryption, if built.
        #[arg(long)]
        zip: PathBuf,
    },
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::main]
async fn main() -> Result<()> {
    match Args::parse().command {
        Step::Corpus { out, count } => {
            std::fs::create_dir_all(&out)?;
            let mut tallies = serde_json::Map::new();
            for rule in [corpus::S3, corpus::EC2] {
                let events = generate(rule, count);
                std::fs::write(corpus_file(&out, rule), events.join("\n") + "\n")?;
                let subject = Subject::new(rule).context("a corpus rule")?;
                tallies.insert(rule.to_owned(), json!(tally(&subject, &events)));
            }
            write_json(&out.join("rust-tally.json"), &tallies)?;
            eprintln!(
                "bench: corpus of {count} events per rule in {}",
                out.display()
            );
        }
        Step::ColdStart {
            binary,
            corpus,
            out,
            starts,
            evaluations,
        } => {
            let events = custos_bench::load(Some(&corpus), corpus::S3, 0)?;
            let result = cold_start::run(&binary, &events, starts, evaluations)?;
            eprintln!(
                "bench: init median {:.2} ms, p90 {:.2} ms; peak RSS {} kB over {} evaluations",
                result.init_median_ms, result.init_p90_ms, result.peak_rss_kb, result.evaluations
            );
            write_json(&out, &result)?;
        }
        Step::Accounting {
            out,
            resources,
            accounts,
            deployer,
        } => {
            let emulator = Emulator::try_from_env()?;
            let mut periodic = Vec::new();
            for n in resources {
                let run = Box::pin(accounting::periodic(&emulator, n)).await?;
                eprintln!(
                    "bench: periodic N={n}: {} PutEvaluations (expected {}), largest batch {}, {} results in Config",
                    run.put_evaluations_calls,
                    run.expected_calls,
                    run.largest_batch,
                    run.results_in_config
                );
                periodic.push(run);
            }
            let organisation = if accounts > 0 {
                Some(accounting::organisation_apply(&emulator, accounts, &deployer, &repo()).await?)
            } else {
                None
            };
            write_json(
                &out,
                &json!({ "periodic": periodic, "organisation": organisation }),
            )?;
        }
        Step::Report {
            dir,
            criterion,
            zip,
        } => {
            println!("{}", report::table(&dir, &criterion, &zip)?);
        }
    }
    Ok(())
}
