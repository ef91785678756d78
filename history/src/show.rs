//! Loading one resource's rows from the store for its timeline.

use chrono::{DateTime, TimeZone, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde_json::Value;

use crate::timeline::{self, Fix, State, Timeline, Verdict};

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let array = batch.column_by_name(column)?.as_string::<i32>();
    (!array.is_null(row)).then(|| array.value(row).to_owned())
}

fn time(batch: &RecordBatch, column: &str, row: usize) -> Option<DateTime<Utc>> {
    let array = batch
        .column_by_name(column)?
        .as_primitive::<TimestampMillisecondType>();
    if array.is_null(row) {
        return None;
    }
    Utc.timestamp_millis_opt(array.value(row)).single()
}

fn json(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// The timeline of the resource with this id or ARN, at `at` (or now).
pub async fn timeline(
    ctx: &SessionContext,
    resource: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Timeline, DataFusionError> {
    let wanted = quote(resource);
    // The raw tables with a filter on the resource: only its partitions' row groups are
    // decoded; copies are dropped by key in `timeline::build`.
    let items = ctx
        .sql(&format!(
            "SELECT key, capture_time, item, resource_id FROM items_all \
             WHERE resource_id = {wanted} OR arn = {wanted}"
        ))
        .await?
        .collect()
        .await?;
    let mut states = Vec::new();
    let mut ids = vec![resource.to_owned()];
    for batch in &items {
        for row in 0..batch.num_rows() {
            if let Some(id) = text(batch, "resource_id", row)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
            states.push(State {
                key: text(batch, "key", row).unwrap_or_default(),
                time: time(batch, "capture_time", row).unwrap_or_default(),
                item: json(text(batch, "item", row)),
            });
        }
    }
    let id_list: Vec<String> = ids.iter().map(|i| quote(i)).collect();
    let id_list = id_list.join(", ");
    let verdict_rows = ctx
        .sql(&format!(
            "SELECT key, ordering_time, rule, compliance, annotation FROM evaluations_all \
             WHERE resource_id IN ({id_list})"
        ))
        .await?
        .collect()
        .await?;
    let mut verdicts = Vec::new();
    for batch in &verdict_rows {
        for row in 0..batch.num_rows() {
            verdicts.push(Verdict {
                key: text(batch, "key", row).unwrap_or_default(),
                time: time(batch, "ordering_time", row).unwrap_or_default(),
                rule: text(batch, "rule", row).unwrap_or_default(),
                compliance: text(batch, "compliance", row).unwrap_or_default(),
                annotation: text(batch, "annotation", row),
            });
        }
    }
    let fix_rows = ctx
        .sql(&format!(
            "SELECT key, time, rule, action, trigger, before, after FROM remediations_all \
             WHERE resource_id IN ({id_list})"
        ))
        .await?
        .collect()
        .await?;
    let mut fixes = Vec::new();
    for batch in &fix_rows {
        for row in 0..batch.num_rows() {
            fixes.push(Fix {
                key: text(batch, "key", row).unwrap_or_default(),
                time: time(batch, "time", row).unwrap_or_default(),
                rule: text(batch, "rule", row).unwrap_or_default(),
                action: text(batch, "action", row).unwrap_or_default(),
                trigger: text(batch, "trigger", row).unwrap_or_default(),
                changes: timeline::fix_changes(
                    &json(text(batch, "before", row)),
                    &json(text(batch, "after", row)),
                ),
            });
        }
    }
    let id = ids.get(1).unwrap_or(&ids[0]);
    Ok(timeline::build(id, states, verdicts, fixes, at))
}
