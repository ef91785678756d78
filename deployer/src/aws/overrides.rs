//! The overrides record (`overrides.rs`) in the lock table: one item per deployment.

use aws_sdk_dynamodb::Client;

use super::{AwsError, records};
use crate::overrides::Record;

const RECORD: &str = "record";
const WHAT: &str = "overrides record";
/// DynamoDB takes items of at most 400 KB; a larger record is not kept (instances are read).
const MAX_BYTES: usize = 350_000;

fn key(deployment: &str) -> String {
    format!("overrides#{deployment}")
}

/// The record, or `None` when there is none or it cannot be read (every instance is then read
/// back, as without a record).
pub async fn read(client: &Client, deployment: &str) -> Option<Record> {
    let text = records::get(client, key(deployment), RECORD, WHAT)
        .await
        .ok()??;
    serde_json::from_str(&text).ok()
}

/// Removes the record: done under the lock before an apply writes, so that a run stopped
/// half-way leaves none to trust.
pub async fn forget(client: &Client, deployment: &str) -> Result<(), AwsError> {
    records::remove(client, key(deployment), WHAT).await
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
    records::put(client, key(deployment), RECORD, text, WHAT).await
}
