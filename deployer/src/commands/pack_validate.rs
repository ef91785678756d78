//! `deployer pack validate FILE`: checks a conformance pack template against Config's rules for
//! packs (`crate::packs::validate`), each problem with its line.

use std::path::Path;

use anyhow::Context;

use super::print_json;
use crate::cli::{GlobalArgs, OutputFormat, PackValidateArgs};
use crate::exit::ExitStatus;
use crate::packs::validate::validate;

pub fn run(global: &GlobalArgs, args: &PackValidateArgs) -> anyhow::Result<ExitStatus> {
    validate_file(&args.file, global.output.plain()?)
}

/// `deployer pack validate FILE`: 0 when valid; 2 when it has problems (they are printed) or
/// cannot be read.
fn validate_file(file: &Path, format: OutputFormat) -> anyhow::Result<ExitStatus> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let outcome = validate(&text);
    match format {
        OutputFormat::Json => print_json(&outcome)?,
        OutputFormat::Table => {
            for p in &outcome.problems {
                println!("{}:{}:{}: {}", file.display(), p.line, p.column, p.message);
            }
            for n in &outcome.notes {
                eprintln!(
                    "{}:{}:{}: note: {}",
                    file.display(),
                    n.line,
                    n.column,
                    n.message
                );
            }
            let s = &outcome.summary;
            eprintln!(
                "{}: {} rules, {} remediations, {} parameters, {} bytes: {}",
                file.display(),
                s.rules,
                s.remediations,
                s.parameters,
                s.bytes,
                if outcome.problems.is_empty() {
                    "valid".to_owned()
                } else {
                    format!("{} problems", outcome.problems.len())
                }
            );
        }
    }
    Ok(if outcome.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}
