//! Ingesting sources into the store: decompress, skip what was ingested before, decode,
//! buffer, write in batches. A source that cannot be read or decoded is reported with its
//! name and position, and the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::decode::{self, DecodeError, Decoded, Origin};
use crate::rows::Kind;
use crate::store::{Buffer, Entry, Store, StoreError};

/// Rows buffered before they are written: memory stays bounded by this and the largest
/// source, whatever the number of sources.
pub const DEFAULT_BATCH_ROWS: usize = 50_000;

/// What became of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its rows were added (written at the next flush).
    Added(usize),
    /// Its content was ingested before (in this run or an earlier one).
    Duplicate,
    /// A JSON file of no kind the store keeps, and why.
    Skipped(String),
    /// It could not be read or decoded.
    Failed(String),
}

/// A source that failed, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub source: String,
    pub error: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub sources: usize,
    pub added: BTreeMap<String, usize>,
    pub duplicates: usize,
    pub skipped: Vec<Failure>,
    pub failed: Vec<Failure>,
    pub files_written: usize,
}

/// An ingest run into one store.
#[derive(Debug)]
pub struct Ingest {
    store: Store,
    buffer: Buffer,
    batch_rows: usize,
    seen: BTreeSet<String>,
    report: Report,
}

impl Ingest {
    pub fn new(store: Store) -> Self {
        Self::with_batch(store, DEFAULT_BATCH_ROWS)
    }

    pub fn with_batch(store: Store, batch_rows: usize) -> Self {
        Self {
            store,
            buffer: Buffer::default(),
            batch_rows: batch_rows.max(1),
            seen: BTreeSet::new(),
            report: Report::default(),
        }
    }

    /// Ingests one source: `name` is its path or S3 URI (which also gives the account and
    /// region when the records lack them), `content` its bytes, gzip or plain.
    pub fn add(&mut self, name: &str, content: &[u8]) -> Result<Outcome, StoreError> {
        self.report.sources += 1;
        let outcome = self.decode_one(name, content);
        match &outcome {
            Ok((outcome, _)) | Err(outcome) => match outcome {
                Outcome::Duplicate => self.report.duplicates += 1,
                Outcome::Skipped(why) => self.report.skipped.push(Failure {
                    source: name.to_owned(),
                    error: why.clone(),
                }),
                Outcome::Failed(why) => self.report.failed.push(Failure {
                    source: name.to_owned(),
                    error: why.clone(),
                }),
                Outcome::Added(_) => {}
            },
        }
        let (outcome, pending) = match outcome {
            Ok(done) => done,
            Err(outcome) => return Ok(outcome),
        };
        if let Some((rows, entry)) = pending {
            for (kind, count) in &entry.rows {
                *self.report.added.entry(kind.clone()).or_default() += count;
            }
            self.buffer.add(rows, entry);
            if self.buffer.len() >= self.batch_rows {
                self.report.files_written += self.buffer.flush(&self.store)?;
            }
        }
        Ok(outcome)
    }

    fn decode_one(
        &mut self,
        name: &str,
        content: &[u8],
    ) -> Result<(Outcome, Option<(crate::rows::Rows, Entry)>), Outcome> {
        let bytes = decompress(content).map_err(Outcome::Failed)?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if self.seen.contains(&digest) || self.store.has(&digest) {
            return Err(Outcome::Duplicate);
        }
        let rows = match decode::decode(&bytes, &Origin::from_path(name)) {
            Ok(Decoded::Rows(rows)) => rows,
            Ok(Decoded::Other(what)) => {
                return Err(Outcome::Skipped(format!(
                    "not a Config, CloudTrail, evaluation or remediation file: {what}"
                )));
            }
            Err(DecodeError {
                line,
                column,
                message,
            }) => {
                return Err(Outcome::Failed(format!(
                    "line {line}, column {column}: {message}"
                )));
            }
        };
        self.seen.insert(digest.clone());
        let counts = [
            (Kind::Items, rows.items.len()),
            (Kind::Trail, rows.trail.len()),
            (Kind::Evaluations, rows.evaluations.len()),
            (Kind::Remediations, rows.remediations.len()),
        ];
        let entry = Entry {
            digest,
            source: name.to_owned(),
            rows: counts
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.name().to_owned(), *n))
                .collect(),
        };
        Ok((Outcome::Added(rows.len()), Some((rows, entry))))
    }

    /// A source that could not even be read (an S3 error): reported as failed, like the others.
    pub fn unreadable(&mut self, name: &str, why: &str) {
        self.report.sources += 1;
        self.report.failed.push(Failure {
            source: name.to_owned(),
            error: why.to_owned(),
        });
    }

    /// Writes what is buffered and returns the report.
    pub fn finish(mut self) -> Result<Report, StoreError> {
        self.report.files_written += self.buffer.flush(&self.store)?;
        Ok(self.report)
    }
}

/// Gzip (by its magic bytes, whatever the name) or plain. A truncated gzip stream says how
/// far it got.
fn decompress(content: &[u8]) -> Result<Vec<u8>, String> {
    if !content.starts_with(&[0x1f, 0x8b]) {
        return Ok(content.to_vec());
    }
    let mut out = Vec::with_capacity(content.len() * 8);
    let mut decoder = MultiGzDecoder::new(content);
    match decoder.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) => Err(format!(
            "gzip stream broken after {} decompressed bytes: {e}",
            out.len()
        )),
    }
}

/// Whether a file is one the store reads: `.json.gz` or `.json`, and not a CloudTrail digest
/// (`CloudTrail-Digest/`, which proves the log files and holds no events).
pub fn is_source(path: &Path) -> bool {
    let name = path.to_string_lossy();
    (name.ends_with(".json.gz") || name.ends_with(".json")) && !name.contains("CloudTrail-Digest")
}

/// Every source file under `dir`, recursively, in name order.
pub fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
            } else if is_source(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
