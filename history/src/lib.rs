//! The history store: configuration items, CloudTrail events, evaluation results and
//! remediation records, appended from the files AWS delivers into partitioned Parquet
//! (`kind=/account=/region=/date=`), queried with SQL by an embedded engine (Apache
//! DataFusion) or, from S3, by Athena.
//!
//! - `decode`: the files' shapes into rows (pure);
//! - `rows`, `batch`: the rows, their partitions and their Arrow schemas;
//! - `store`, `ingest`: the layout on disk, the manifest of sources, batched writes;
//! - `query`: SQL sessions over the layout;
//! - `diff`, `timeline`: one resource's history, for people (pure).

pub mod batch;
pub mod decode;
pub mod diff;
pub mod ingest;
pub mod query;
pub mod rows;
pub mod show;
pub mod store;
pub mod timeline;

pub use ingest::{Ingest, Outcome, Report};
pub use rows::Kind;
pub use store::Store;
