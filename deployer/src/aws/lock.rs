//! The lock table (DynamoDB, in the administering account and region): the apply lock of each
//! deployment, taken with a conditional put, and the journal of the StackSets operations a run
//! started (so that a run after a crash waits for them instead of starting them again).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use chrono::{DateTime, Utc};

use super::AwsError;
use crate::lock::{LockRecord, journal_attribute, journal_key, lock_key};

/// The table, one per administering account and region, shared by its deployments.
pub const TABLE: &str = "custos-deployer-locks";
const KEY: &str = "pk";

fn built<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, AwsError> {
    r.map_err(|e| AwsError {
        message: format!("{what}: {e}"),
        code: None,
    })
}

/// Creates the table when it does not exist yet (the first apply), and waits until it can be
/// written to.
pub async fn ensure_table(client: &Client) -> Result<(), AwsError> {
    if table_status(client).await?.is_none() {
        let created = client
            .create_table()
            .table_name(TABLE)
            .attribute_definitions(built(
                "the lock table's key",
                AttributeDefinition::builder()
                    .attribute_name(KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build(),
            )?)
            .key_schema(built(
                "the lock table's key",
                KeySchemaElement::builder()
                    .attribute_name(KEY)
                    .key_type(KeyType::Hash)
                    .build(),
            )?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = created {
            let error = AwsError::new(&format!("creating the lock table {TABLE}"), &e);
            // Another run created it at the same moment.
            if !error.is("ResourceInUseException") {
                return Err(error);
            }
        }
    }
    let mut pause = Duration::from_millis(200);
    for _ in 0..30 {
        if table_status(client).await? == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    Err(AwsError {
        message: format!("the lock table {TABLE} did not become active"),
        code: None,
    })
}

async fn table_status(client: &Client) -> Result<Option<TableStatus>, AwsError> {
    match client.describe_table().table_name(TABLE).send().await {
        Ok(out) => Ok(Some(
            out.table()
                .and_then(|t| t.table_status())
                .cloned()
                .unwrap_or(TableStatus::Active),
        )),
        Err(e) => {
            let error = AwsError::new(&format!("reading the lock table {TABLE}"), &e);
            if error.is("ResourceNotFoundException") {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn seconds(time: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(time.timestamp().to_string())
}

/// Takes the lock `record` describes, unless it is held and its lease has not run out at `now`:
/// then the holder's record.
pub async fn acquire(
    client: &Client,
    record: &LockRecord,
    now: DateTime<Utc>,
) -> Result<Result<(), LockRecord>, AwsError> {
    let put = client
        .put_item()
        .table_name(TABLE)
        .item(KEY, text(&lock_key(&record.deployment)))
        .item("lock_id", text(&record.lock_id))
        .item("holder", text(&record.holder))
        .item("host", text(&record.host))
        .item("since", text(&record.since.to_rfc3339()))
        .item("expires", seconds(record.expires))
        .condition_expression("attribute_not_exists(#k) OR expires < :now")
        .expression_attribute_names("#k", KEY)
        .expression_attribute_values(":now", seconds(now))
        .send()
        .await;
    match put {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            let error = AwsError::new("taking the apply lock", &e);
            if !error.is("ConditionalCheckFailedException") {
                return Err(error);
            }
            // Held; by this run when an earlier attempt of this put worked and its answer was
            // lost.
            match holder(client, &record.deployment).await? {
                Some(held) if held.lock_id == record.lock_id => Ok(Ok(())),
                Some(held) => Ok(Err(held)),
                None => Err(error),
            }
        }
    }
}

/// The lock of `deployment`, if one is held.
pub async fn holder(client: &Client, deployment: &str) -> Result<Option<LockRecord>, AwsError> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key(KEY, text(&lock_key(deployment)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("reading the apply lock", &e))?;
    let Some(item) = out.item() else {
        return Ok(None);
    };
    let field = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
        _ => String::new(),
    };
    let since = DateTime::parse_from_rfc3339(&field("since"))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let expires = field("expires")
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or_default();
    Ok(Some(LockRecord {
        lock_id: field("lock_id"),
        deployment: deployment.to_owned(),
        holder: field("holder"),
        host: field("host"),
        since,
        expires,
    }))
}

/// Extends the lease of a lock this run holds; an error when it no longer holds it.
pub async fn renew(
    client: &Client,
    deployment: &str,
    lock_id: &str,
    expires: DateTime<Utc>,
) -> Result<(), AwsError> {
    client
        .update_item()
        .table_name(TABLE)
        .key(KEY, text(&lock_key(deployment)))
        .update_expression("SET expires = :e")
        .condition_expression("lock_id = :id")
        .expression_attribute_values(":e", seconds(expires))
        .expression_attribute_values(":id", text(lock_id))
        .send()
        .await
        .map_err(|e| AwsError::new("renewing the apply lock", &e))?;
    Ok(())
}

/// Removes the lock `lock_id` of `deployment`; `Ok(false)` when no lock of that id is held.
pub async fn release(client: &Client, deployment: &str, lock_id: &str) -> Result<bool, AwsError> {
    match client
        .delete_item()
        .table_name(TABLE)
        .key(KEY, text(&lock_key(deployment)))
        .condition_expression("lock_id = :id")
        .expression_attribute_values(":id", text(lock_id))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let error = AwsError::new("removing the apply lock", &e);
            if error.is("ConditionalCheckFailedException") {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}

/// Writes that `operation_id` is (about to be) started on `stack_set`.
pub async fn record_operation(
    client: &Client,
    deployment: &str,
    stack_set: &str,
    operation_id: &str,
) -> Result<(), AwsError> {
    client
        .update_item()
        .table_name(TABLE)
        .key(KEY, text(&journal_key(deployment)))
        .update_expression("SET #op = :id")
        .expression_attribute_names("#op", journal_attribute(stack_set))
        .expression_attribute_values(":id", text(operation_id))
        .send()
        .await
        .map_err(|e| AwsError::new("recording the operation id", &e))?;
    Ok(())
}

/// The operations an earlier run recorded: stack set -> operation id.
pub async fn journal(
    client: &Client,
    deployment: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key(KEY, text(&journal_key(deployment)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("reading the operation journal", &e))?;
    let mut operations = BTreeMap::new();
    if let Some(item) = out.item() {
        let names: std::collections::BTreeSet<&String> = item.keys().collect();
        for name in names {
            if let (Some(stack_set), Some(AttributeValue::S(id))) =
                (name.strip_prefix("op:"), item.get(name))
            {
                operations.insert(stack_set.to_owned(), id.clone());
            }
        }
    }
    Ok(operations)
}

/// Forgets the journal once every operation in it has ended.
pub async fn clear_journal(client: &Client, deployment: &str) -> Result<(), AwsError> {
    client
        .delete_item()
        .table_name(TABLE)
        .key(KEY, text(&journal_key(deployment)))
        .send()
        .await
        .map_err(|e| AwsError::new("clearing the operation journal", &e))?;
    Ok(())
}
