//! Records kept beside the lock in the lock table: one item per record, its JSON text in one
//! attribute. The overrides record and the rollout state are two of them.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::AwsError;
use super::lock::TABLE;

/// The partition key of every item in the lock table.
const KEY: &str = "pk";

/// The text in `attribute` of the item `key`, if there is one (read consistently: it was
/// written by the previous run). `what` names the record in errors.
pub async fn get(
    client: &Client,
    key: String,
    attribute: &str,
    what: &str,
) -> Result<Option<String>, AwsError> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key(KEY, AttributeValue::S(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("reading the {what}"), &e))?;
    match out.item().and_then(|i| i.get(attribute)) {
        Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
        _ => Ok(None),
    }
}

/// Writes `text` into `attribute` of the item `key`, replacing the item.
pub async fn put(
    client: &Client,
    key: String,
    attribute: &str,
    text: String,
    what: &str,
) -> Result<(), AwsError> {
    client
        .put_item()
        .table_name(TABLE)
        .item(KEY, AttributeValue::S(key))
        .item(attribute, AttributeValue::S(text))
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("writing the {what}"), &e))?;
    Ok(())
}

/// Removes the item `key`.
pub async fn remove(client: &Client, key: String, what: &str) -> Result<(), AwsError> {
    client
        .delete_item()
        .table_name(TABLE)
        .key(KEY, AttributeValue::S(key))
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("removing the {what}"), &e))?;
    Ok(())
}
