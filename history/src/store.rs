//! The store on disk: partitioned Parquet files and the manifest of ingested sources.
//!
//! ```text
//! <store>/kind=items/account=111122223333/region=eu-west-1/date=2026-12-05/part-<digest>.parquet
//! <store>/_manifest/<sha256 of a source's content>.json
//! ```
//!
//! Nothing is ever rewritten or deleted: a part is written to a temporary name and renamed,
//! and its name is the digest of its rows, so writing the same rows again writes the same
//! file. A source is entered in the manifest only after all its rows are in parts, so a source
//! that failed or was interrupted is ingested again next time (its rows already written are
//! then duplicates, which the views drop by key).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::batch::{self, Row};
use crate::rows::{Kind, Partition, Rows};

/// Errors of the store itself (a source that cannot be decoded is not one: see `ingest`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot encode {path} as Parquet")]
    Parquet {
        path: PathBuf,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One manifest entry: a source ingested, by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub digest: String,
    /// Where it was read from the first time.
    pub source: String,
    pub rows: BTreeMap<String, usize>,
}

impl Store {
    /// Opens a store, creating its directories when missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self { root: root.into() };
        for kind in Kind::ALL {
            let dir = store.table_dir(kind);
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        let manifest = store.manifest_dir();
        fs::create_dir_all(&manifest).map_err(io_error(&manifest))?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one table (`kind=<name>`), the root of its partitions.
    pub fn table_dir(&self, kind: Kind) -> PathBuf {
        self.root.join(format!("kind={}", kind.name()))
    }

    fn manifest_dir(&self) -> PathBuf {
        self.root.join("_manifest")
    }

    fn entry_path(&self, digest: &str) -> PathBuf {
        self.manifest_dir().join(format!("{digest}.json"))
    }

    /// Whether a source with this content digest was ingested before.
    pub fn has(&self, digest: &str) -> bool {
        self.entry_path(digest).exists()
    }

    /// Enters a source in the manifest (after its rows are written).
    pub fn record(&self, entry: &Entry) -> Result<(), StoreError> {
        let path = self.entry_path(&entry.digest);
        let text = serde_json::to_vec_pretty(entry).expect("an entry is plain data");
        write_atomically(&path, &text)
    }

    /// Writes one part of a partition; its name is the digest of its row keys.
    fn write_part<R: Row + Keyed>(
        &self,
        partition: &Partition,
        rows: &[R],
    ) -> Result<PathBuf, StoreError> {
        let mut hash = Sha256::new();
        for row in rows {
            hash.update(row.key().as_bytes());
            hash.update([0]);
        }
        let digest = hex::encode(&hash.finalize()[..12]);
        let dir = self.root.join(partition.dir());
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let path = dir.join(format!("part-{digest}.parquet"));
        if path.exists() {
            return Ok(path);
        }
        let batch = batch::batch(rows).map_err(|e| StoreError::Parquet {
            path: path.clone(),
            source: e.into(),
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut bytes = Vec::new();
        let parquet = |source| StoreError::Parquet {
            path: path.clone(),
            source,
        };
        let mut writer =
            ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).map_err(parquet)?;
        writer.write(&batch).map_err(parquet)?;
        writer.close().map_err(parquet)?;
        write_atomically(&path, &bytes)?;
        Ok(path)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))
}

/// A row's identity: the same record has the same key wherever it came from.
pub trait Keyed {
    fn key(&self) -> &str;
    fn partition(&self) -> Partition;
}

macro_rules! keyed {
    ($row:ty, $time:ident) => {
        impl Keyed for $row {
            fn key(&self) -> &str {
                &self.key
            }
            fn partition(&self) -> Partition {
                Partition::new(<$row as Row>::KIND, &self.account, &self.region, self.$time)
            }
        }
    };
}

keyed!(crate::rows::ItemRow, capture_time);
keyed!(crate::rows::TrailRow, event_time);
keyed!(crate::rows::EvaluationRow, ordering_time);
keyed!(crate::rows::RemediationRow, time);

/// Rows waiting to be written, by partition, and the sources they complete.
#[derive(Debug, Default)]
pub struct Buffer {
    parts: BTreeMap<Partition, Rows>,
    len: usize,
    pending: Vec<Entry>,
}

impl Buffer {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a source's rows; the source enters the manifest at the next flush.
    pub fn add(&mut self, rows: Rows, entry: Entry) {
        self.len += rows.len();
        for row in rows.items {
            self.parts
                .entry(row.partition())
                .or_default()
                .items
                .push(row);
        }
        for row in rows.trail {
            self.parts
                .entry(row.partition())
                .or_default()
                .trail
                .push(row);
        }
        for row in rows.evaluations {
            self.parts
                .entry(row.partition())
                .or_default()
                .evaluations
                .push(row);
        }
        for row in rows.remediations {
            self.parts
                .entry(row.partition())
                .or_default()
                .remediations
                .push(row);
        }
        self.pending.push(entry);
    }

    /// Writes every buffered partition, then the manifest entries of the sources written.
    pub fn flush(&mut self, store: &Store) -> Result<usize, StoreError> {
        let mut files = 0;
        for (partition, rows) in std::mem::take(&mut self.parts) {
            match partition.kind {
                Kind::Items => store.write_part(&partition, &rows.items)?,
                Kind::Trail => store.write_part(&partition, &rows.trail)?,
                Kind::Evaluations => store.write_part(&partition, &rows.evaluations)?,
                Kind::Remediations => store.write_part(&partition, &rows.remediations)?,
            };
            files += 1;
        }
        for entry in std::mem::take(&mut self.pending) {
            store.record(&entry)?;
        }
        self.len = 0;
        Ok(files)
    }
}
