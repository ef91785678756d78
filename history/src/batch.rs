//! The Arrow schema of each table and the record batches built from rows.
//!
//! Partition columns (`account`, `region`, `date`) live in the directory names, not in the
//! files: the query engine and Athena add them from the path.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder, TimestampMillisecondBuilder};
pub use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;

use crate::rows::{EvaluationRow, ItemRow, Kind, RemediationRow, TrailRow};

/// Columns in the order they are stored; `true` when the column may be null.
fn columns(kind: Kind) -> &'static [(&'static str, Column)] {
    use Column::{Text, Time};
    match kind {
        Kind::Items => &[
            ("key", Text(false)),
            ("resource_type", Text(false)),
            ("resource_id", Text(false)),
            ("resource_name", Text(true)),
            ("arn", Text(true)),
            ("capture_time", Time(false)),
            ("status", Text(true)),
            ("item", Text(false)),
        ],
        Kind::Trail => &[
            ("key", Text(false)),
            ("event_time", Time(false)),
            ("event_source", Text(false)),
            ("event_name", Text(false)),
            ("user_arn", Text(true)),
            ("access_key_id", Text(true)),
            ("source_ip", Text(true)),
            ("error_code", Text(true)),
            ("resources", Text(false)),
            ("record", Text(false)),
        ],
        Kind::Evaluations => &[
            ("key", Text(false)),
            ("rule", Text(false)),
            ("resource_type", Text(false)),
            ("resource_id", Text(false)),
            ("compliance", Text(false)),
            ("annotation", Text(true)),
            ("ordering_time", Time(false)),
            ("recorded_time", Time(true)),
        ],
        Kind::Remediations => &[
            ("key", Text(false)),
            ("rule", Text(false)),
            ("resource_type", Text(false)),
            ("resource_id", Text(false)),
            ("action", Text(false)),
            ("trigger", Text(false)),
            ("time", Time(false)),
            ("changed", Text(false)),
            ("before", Text(false)),
            ("after", Text(false)),
        ],
    }
}

#[derive(Debug, Clone, Copy)]
enum Column {
    Text(bool),
    Time(bool),
}

/// The Arrow type of timestamps: milliseconds, UTC (Parquet `TIMESTAMP(MILLIS, true)`).
pub fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The schema of a kind's files (without the partition columns).
pub fn schema(kind: Kind) -> SchemaRef {
    let fields: Vec<Field> = columns(kind)
        .iter()
        .map(|(name, column)| match column {
            Column::Text(nullable) => Field::new(*name, DataType::Utf8, *nullable),
            Column::Time(nullable) => Field::new(*name, time_type(), *nullable),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// One row's values, in the order of `columns`.
pub enum Cell<'a> {
    Text(Option<&'a str>),
    Time(Option<DateTime<Utc>>),
}

/// A row that can be stored.
pub trait Row {
    const KIND: Kind;
    fn cells(&self) -> Vec<Cell<'_>>;
}

impl Row for ItemRow {
    const KIND: Kind = Kind::Items;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(Some(&self.key)),
            Cell::Text(Some(&self.resource_type)),
            Cell::Text(Some(&self.resource_id)),
            Cell::Text(self.resource_name.as_deref()),
            Cell::Text(self.arn.as_deref()),
            Cell::Time(Some(self.capture_time)),
            Cell::Text(self.status.as_deref()),
            Cell::Text(Some(&self.item)),
        ]
    }
}

impl Row for TrailRow {
    const KIND: Kind = Kind::Trail;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(Some(&self.key)),
            Cell::Time(Some(self.event_time)),
            Cell::Text(Some(&self.event_source)),
            Cell::Text(Some(&self.event_name)),
            Cell::Text(self.user_arn.as_deref()),
            Cell::Text(self.access_key_id.as_deref()),
            Cell::Text(self.source_ip.as_deref()),
            Cell::Text(self.error_code.as_deref()),
            Cell::Text(Some(&self.resources)),
            Cell::Text(Some(&self.record)),
        ]
    }
}

impl Row for EvaluationRow {
    const KIND: Kind = Kind::Evaluations;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(Some(&self.key)),
            Cell::Text(Some(&self.rule)),
            Cell::Text(Some(&self.resource_type)),
            Cell::Text(Some(&self.resource_id)),
            Cell::Text(Some(&self.compliance)),
            Cell::Text(self.annotation.as_deref()),
            Cell::Time(Some(self.ordering_time)),
            Cell::Time(self.recorded_time),
        ]
    }
}

impl Row for RemediationRow {
    const KIND: Kind = Kind::Remediations;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::Text(Some(&self.key)),
            Cell::Text(Some(&self.rule)),
            Cell::Text(Some(&self.resource_type)),
            Cell::Text(Some(&self.resource_id)),
            Cell::Text(Some(&self.action)),
            Cell::Text(Some(&self.trigger)),
            Cell::Time(Some(self.time)),
            Cell::Text(Some(&self.changed)),
            Cell::Text(Some(&self.before)),
            Cell::Text(Some(&self.after)),
        ]
    }
}

enum Builder {
    Text(StringBuilder),
    Time(TimestampMillisecondBuilder),
}

/// A record batch of rows of one kind.
pub fn batch<R: Row>(rows: &[R]) -> Result<RecordBatch, ArrowError> {
    let mut builders: Vec<Builder> = columns(R::KIND)
        .iter()
        .map(|(_, column)| match column {
            Column::Text(_) => Builder::Text(StringBuilder::with_capacity(rows.len(), 0)),
            Column::Time(_) => Builder::Time(
                TimestampMillisecondBuilder::with_capacity(rows.len()).with_timezone("UTC"),
            ),
        })
        .collect();
    for row in rows {
        for (builder, cell) in builders.iter_mut().zip(row.cells()) {
            match (builder, cell) {
                (Builder::Text(b), Cell::Text(v)) => b.append_option(v),
                (Builder::Time(b), Cell::Time(v)) => {
                    b.append_option(v.map(|t| t.timestamp_millis()));
                }
                _ => unreachable!("cells follow the columns of their kind"),
            }
        }
    }
    let arrays: Vec<ArrayRef> = builders
        .into_iter()
        .map(|b| match b {
            Builder::Text(mut b) => Arc::new(b.finish()) as ArrayRef,
            Builder::Time(mut b) => Arc::new(b.finish()) as ArrayRef,
        })
        .collect();
    RecordBatch::try_new(schema(R::KIND), arrays)
}
