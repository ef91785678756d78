//! `RULE replay --events FILE [--dry-run]`: recorded Config events, one JSON event a line, run
//! through the rule one after another, the way users try a rule on real events before rollout.
//! One result line per event on stdout (`{"line":N,"evaluations":[...]}` or
//! `{"line":N,"error":"..."}`), a summary on stderr, and a failure when any line failed.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::Value;

use crate::compliance::Compliance;
use crate::error::RuleError;
use crate::evaluation::Evaluation;

/// What a replay saw: events run, verdicts by kind, and the lines that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub events: usize,
    pub verdicts: BTreeMap<Compliance, usize>,
    /// (line number, why) of each line that failed.
    pub errors: Vec<(usize, String)>,
}

impl Tally {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl fmt::Display for Tally {
    /// `replayed 3 events: 1 COMPLIANT, 1 NON_COMPLIANT; 1 failed (line 2: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replayed {} events", self.events)?;
        let verdicts: Vec<String> = self
            .verdicts
            .iter()
            .map(|(verdict, n)| format!("{n} {verdict}"))
            .collect();
        if !verdicts.is_empty() {
            write!(f, ": {}", verdicts.join(", "))?;
        }
        if self.failed() {
            let lines: Vec<String> = self
                .errors
                .iter()
                .map(|(line, why)| format!("line {line}: {why}"))
                .collect();
            write!(f, "; {} failed ({})", self.errors.len(), lines.join("; "))?;
        }
        Ok(())
    }
}

/// One result line.
#[derive(Serialize)]
struct ResultLine<'a> {
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    evaluations: Option<&'a [Evaluation]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Runs `handle` on each event of `events` (blank lines skipped), writing one result line per
/// event to `out`. A line that is not JSON, or that the rule fails on, is reported and the
/// replay goes on; only a failure to read `events` or write `out` stops it.
pub async fn replay<H, F>(
    events: impl BufRead,
    handle: H,
    out: &mut impl Write,
) -> std::io::Result<Tally>
where
    H: Fn(Value) -> F,
    F: Future<Output = Result<Vec<Evaluation>, RuleError>>,
{
    let mut tally = Tally::default();
    for (index, text) in events.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let line = index + 1;
        tally.events += 1;
        let result = match serde_json::from_str::<Value>(&text) {
            Ok(event) => Box::pin(handle(event)).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("not JSON: {e}")),
        };
        match result {
            Ok(evaluations) => {
                for evaluation in &evaluations {
                    *tally
                        .verdicts
                        .entry(evaluation.compliance_type)
                        .or_default() += 1;
                }
                write_line(
                    out,
                    &ResultLine {
                        line,
                        evaluations: Some(&evaluations),
                        error: None,
                    },
                )?;
            }
            Err(why) => {
                write_line(
                    out,
                    &ResultLine {
                        line,
                        evaluations: None,
                        error: Some(&why),
                    },
                )?;
                tally.errors.push((line, why));
            }
        }
    }
    out.flush()?;
    Ok(tally)
}

fn write_line(out: &mut impl Write, line: &ResultLine<'_>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
