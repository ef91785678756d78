//! The overrides record (`overrides.rs`) in the lock table: one item per deployment.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::AwsError;
use super::lock::TABLE;
use crate::overrides::Record;

const KEY: &str = "pk";
const RECORD: &str = "record";
/// DynamoDB takes items of at most 400 KB; a larger record is not kept (instances are read).
const MAX_BYTES: usize = 350_000;

fn key(deployment: &str) -> AttributeValue {
    AttributeValue::S(format!("overrides#{deployment}"))
}

/// The record, or `None` when there is none or it cannot be read (every instance is then read
/// back, as without a record).
pub async fn read(client: &Client, deployment: &str) -> Option<Record> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key(KEY, key(deployment))
        .consistent_read(true)
        .send()
        .await
        .ok()?;
    match out.item().and_then(|i| i.get(RECORD)) {
        Some(AttributeValue::S(text)) => serde_json::from_str(text).ok(),
        _ => None,
    }
}

/// Removes the record: done under the lock before an apply writes, so that a run stopped
/// half-way leaves none to trust.
pub async fn forget(client: &Client, deployment: &str) -> Result<(), AwsError> {
    client
        .delete_item()
        .table_name(TABLE)
        .key(KEY, key(deployment))
        .send()
        .await
        .map_err(|e| AwsError::new("removing the overrides record", &e))?;
    Ok(())
}

/// Keeps `record` (unless too large for one item).
pub async fn write(client: &Client, deployment: &str, record: &Record) -> Result<(), AwsError> {
    let text = serde_json::to_string(record).map_err(|e| AwsError {
        message: format!("writing the overrides record: {e}"),
        code: None,
    })?;
    if text.len() > MAX_BYTES {
        return Ok(());
    }
    client
        .put_item()
        .table_name(TABLE)
        .item(KEY, key(deployment))
        .item(RECORD, AttributeValue::S(text))
        .send()
        .await
        .map_err(|e| AwsError::new("writing the overrides record", &e))?;
    Ok(())
}
