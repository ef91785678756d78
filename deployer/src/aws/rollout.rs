//! The rollout's record in the lock table: one item per deployment, the state as JSON.

use aws_sdk_dynamodb::Client;

use super::lock::TABLE;
use super::{AwsError, records};
use crate::rollout::state::RolloutState;

const STATE: &str = "state";
const WHAT: &str = "rollout record";

fn key(deployment: &str) -> String {
    format!("rollout#{deployment}")
}

/// The recorded state of `deployment`'s rollout, if any (the table must exist).
pub async fn read(client: &Client, deployment: &str) -> Result<Option<RolloutState>, AwsError> {
    let Some(text) = records::get(client, key(deployment), STATE, WHAT).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| AwsError {
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
    records::put(client, key(deployment), STATE, text, WHAT).await
}
