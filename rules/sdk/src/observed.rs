//! Remediations that Config runs with an AWS-owned SSM Automation document call no Custos code,
//! so they are recorded when their effect is evaluated: the change the fix causes reaches the
//! rule as a new configuration item. When that item is COMPLIANT and Config's remediation of the
//! resource succeeded after the previous item was recorded and no later than this one, the rule
//! records the fix with the fields of Config's items that it changed, before and after.
//!
//! The window makes the record happen once: later changes of the same resource have a previous
//! item newer than the remediation.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::aws;
use crate::compliance::Compliance;
use crate::error::RuleError;
use crate::item::{ConfigurationItem, ResourceKey};
use crate::meta::{RemediationKind, RuleMeta};
use crate::notify::Notifier;
use crate::remediation::{self, Changes, RemediationRecord, RemediationTrigger};

/// One of Config's remediation executions of a resource, as
/// `DescribeRemediationExecutionStatus` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemediationRun {
    /// `QUEUED`, `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    pub invoked: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// The document's steps that ran, with their state.
    pub steps: Vec<(String, String)>,
}

/// The SSM document Config runs for this rule, when the rule is remediated that way.
pub fn observed_document(meta: &RuleMeta) -> Option<&str> {
    meta.remediation
        .as_ref()
        .filter(|r| r.kind == RemediationKind::Ssm)
        .and_then(|r| r.document.as_deref())
}

/// Pure: the run that caused `current`: succeeded, started after `previous` was captured and no
/// later than `current` was. The latest such run when there are several.
pub fn causing_run(
    runs: &[RemediationRun],
    previous_capture: Option<DateTime<Utc>>,
    current_capture: DateTime<Utc>,
) -> Option<&RemediationRun> {
    runs.iter()
        .filter(|r| r.state == "SUCCEEDED")
        .filter(|r| previous_capture.is_none_or(|p| r.invoked > p))
        .filter(|r| r.invoked <= current_capture)
        .max_by_key(|r| r.invoked)
}

/// What a record compares of a configuration item: the state, not the envelope.
fn state_of(item: &ConfigurationItem) -> Value {
    json!({
        "configuration": item.configuration,
        "supplementaryConfiguration": item.supplementary,
    })
}

/// Pure: the record of an observed SSM remediation.
pub fn record(
    rule: &str,
    document: &str,
    run: &RemediationRun,
    before: Option<&ConfigurationItem>,
    after: &ConfigurationItem,
) -> RemediationRecord {
    let steps: Vec<String> = run
        .steps
        .iter()
        .map(|(name, state)| format!("{name} {state}"))
        .collect();
    let mut action = if steps.is_empty() {
        format!("Config's remediation ran SSM Automation {document}")
    } else {
        format!(
            "Config's remediation ran SSM Automation {document} ({})",
            steps.join(", ")
        )
    };
    // The fields of `configuration` and `supplementaryConfiguration` that the fix changed; with
    // no earlier item there is nothing to compare, and the item is not copied whole.
    let changes = if let Some(before) = before {
        Changes::between(&state_of(before), &state_of(after), 2)
    } else {
        action.push_str("; Config holds no earlier item to compare with");
        Changes {
            changed: Vec::new(),
            before: Value::Null,
            after: Value::Null,
        }
    };
    RemediationRecord {
        record: RemediationRecord::SCHEMA.to_owned(),
        rule: rule.to_owned(),
        account: after.account_id.clone().unwrap_or_default(),
        region: after.region.clone().unwrap_or_default(),
        resource_type: after.key.resource_type.clone(),
        resource_id: after.key.resource_id.clone(),
        action,
        changed: changes.changed,
        before: changes.before,
        after: changes.after,
        time: run.updated.unwrap_or(run.invoked),
        trigger: RemediationTrigger::Ssm,
        cut: None,
    }
}

/// After a COMPLIANT evaluation of `current`: records (log and topic) the SSM remediation that
/// made it compliant, if there is one. `Ok(None)` when there is nothing to record.
pub async fn record_ssm_remediation(
    client: &aws_sdk_config::Client,
    meta: &RuleMeta,
    config_rule_name: &str,
    current: &ConfigurationItem,
    compliance: Compliance,
    notifier: Option<&Notifier>,
) -> Result<Option<RemediationRecord>, RuleError> {
    let Some(document) = observed_document(meta) else {
        return Ok(None);
    };
    let Some(current_capture) = current.capture_time else {
        return Ok(None);
    };
    if compliance != Compliance::Compliant || current.status.is_deleted() {
        return Ok(None);
    }
    let runs = aws::remediation_runs(client, config_rule_name, &current.key).await?;
    if runs.is_empty() {
        return Ok(None);
    }
    let previous = previous_item(client, &current.key, current_capture).await?;
    let previous_capture = previous.as_ref().and_then(|p| p.capture_time);
    let Some(run) = causing_run(&runs, previous_capture, current_capture) else {
        return Ok(None);
    };
    let record = record(&meta.name, document, run, previous.as_ref(), current);
    remediation::emit(&record, notifier).await?;
    Ok(Some(record))
}

/// The item Config recorded before the one captured at `current_capture`.
async fn previous_item(
    client: &aws_sdk_config::Client,
    key: &ResourceKey,
    current_capture: DateTime<Utc>,
) -> Result<Option<ConfigurationItem>, RuleError> {
    let items = aws::recent_items(client, key, 2).await?;
    Ok(items
        .into_iter()
        .find(|i| i.capture_time.is_some_and(|t| t < current_capture)))
}

#[cfg(test)]
#[path = "observed_tests.rs"]
mod tests;
