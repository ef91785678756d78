//! SQL over the store with the embedded engine (Apache DataFusion).
//!
//! Each kind is a table over its partitioned layout: `items_all`, `trail_all`,
//! `evaluations_all`, `remediations_all` hold every row stored, with `account`, `region` and
//! `date` read from the directory names; `items`, `trail`, `evaluations` and `remediations`
//! are views of the same with the copies of a record (same `key`) dropped.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
pub use datafusion::error::DataFusionError as Error;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::batch;
use crate::rows::Kind;
use crate::store::Store;

/// The partition columns, in directory order.
pub const PARTITION_COLUMNS: [&str; 3] = ["account", "region", "date"];

/// A session with the store's tables registered.
pub async fn session(store: &Store) -> Result<SessionContext, DataFusionError> {
    let ctx = SessionContext::new();
    for kind in Kind::ALL {
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(
                PARTITION_COLUMNS
                    .iter()
                    .map(|c| ((*c).to_owned(), DataType::Utf8))
                    .collect(),
            );
        let dir = store.table_dir(kind);
        let path = format!("{}/", dir.display());
        ctx.register_listing_table(
            format!("{}_all", kind.name()),
            path,
            options,
            Some(batch::schema(kind)),
            None,
        )
        .await?;
        ctx.sql(&view(kind)).await?.collect().await?;
    }
    Ok(ctx)
}

/// The view that keeps one row per key.
fn view(kind: Kind) -> String {
    let schema = batch::schema(kind);
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .chain(PARTITION_COLUMNS.iter().map(|c| (*c).to_owned()))
        .collect();
    let list = columns.join(", ");
    format!(
        "CREATE VIEW {name} AS SELECT {list} FROM \
         (SELECT *, row_number() OVER (PARTITION BY key) AS copy FROM {name}_all) WHERE copy = 1",
        name = kind.name()
    )
}

/// Runs one SQL statement.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, DataFusionError> {
    ctx.sql(sql).await?.collect().await
}

/// A result as text: column names and one row of cells per row (null is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// Renders batches as text cells (timestamps in RFC 3339).
pub fn table(schema: &Schema, batches: &[RecordBatch]) -> Result<Table, DataFusionError> {
    let options = FormatOptions::default().with_null("\u{0}");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, column)| (!column.is_null(row)).then(|| f.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(Table {
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        rows,
    })
}

/// Batches as JSON objects, one per row.
pub fn json_rows(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>, DataFusionError> {
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| DataFusionError::External(Box::new(e)))
}
