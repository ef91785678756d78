//! The rollout's record in the lock table: one item per deployment, the state as JSON.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::AwsError;
use super::lock::TABLE;
use crate::rollout::state::RolloutState;

const KEY: &str = "pk";
const STATE: &str = "state";

fn key(deployment: &str) -> AttributeValue {
    AttributeValue::S(format!("rollout#{deployment}"))
}

/// The recorded state of `deployment`'s rollout, if any (the table must exist).
pub async fn read(client: &Client, deployment: &str) -> Result<Option<RolloutState>, AwsError> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key(KEY, key(deployment))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("reading the rollout record", &e))?;
    let Some(AttributeValue::S(text)) = out.item().and_then(|i| i.get(STATE)) else {
        return Ok(None);
    };
    serde_json::from_str(text).map(Some).map_err(|e| AwsError {
        message: format!("the rollout record in {TABLE} is not readable: {e}"),
        code: None,
    })
}

pub async fn write(
    client: &Client,
    deployment: &str,
    state: &RolloutState,
) -> Result<(), AwsError> {
    let text = serde_json::to_string(state).map_err(|e| AwsError {
        message: format!("writing the rollout record: {e}"),
        code: None,
    })?;
    client
        .put_item()
        .table_name(TABLE)
        .item(KEY, key(deployment))
        .item(STATE, AttributeValue::S(text))
        .send()
        .await
        .map_err(|e| AwsError::new("writing the rollout record", &e))?;
    Ok(())
}
