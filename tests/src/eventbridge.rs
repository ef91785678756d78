//! The EventBridge side of notifications: the rule the deployer deployed for a Config rule's
//! compliance changes, read back from an account, and the change events Config would send
//! (the emulator's Config sends none).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Value, json};

/// An EventBridge rule that sends compliance changes to a topic, as deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceNotification {
    pub name: String,
    pub pattern: Value,
    /// The SNS topic of its target.
    pub topic_arn: String,
    pub input_paths: BTreeMap<String, String>,
    pub input_template: String,
}

/// Whether `pattern` selects the compliance changes of `config_rule` (by name or prefix).
fn names_rule(pattern: &Value, config_rule: &str) -> bool {
    pattern["detail"]["configRuleName"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| {
            n == config_rule
                || n["prefix"]
                    .as_str()
                    .is_some_and(|p| config_rule.starts_with(p))
        })
}

/// The EventBridge rule of this account and region whose pattern selects `config_rule`'s
/// compliance changes (`ListRules`, `DescribeRule`, `ListTargetsByRule`).
pub async fn compliance_notification(
    config: &SdkConfig,
    config_rule: &str,
) -> Result<ComplianceNotification> {
    let events = aws_sdk_eventbridge::Client::new(config);
    let mut next = None;
    loop {
        let page = events
            .list_rules()
            .set_next_token(next)
            .send()
            .await
            .context("ListRules")?;
        for rule in page.rules() {
            let Some(name) = rule.name() else { continue };
            let described = events
                .describe_rule()
                .name(name)
                .send()
                .await
                .with_context(|| format!("DescribeRule {name}"))?;
            let pattern: Value = match described.event_pattern() {
                Some(text) => serde_json::from_str(text)
                    .with_context(|| format!("{name}'s pattern: {text}"))?,
                None => continue,
            };
            if !names_rule(&pattern, config_rule) {
                continue;
            }
            let targets = events
                .list_targets_by_rule()
                .rule(name)
                .send()
                .await
                .with_context(|| format!("ListTargetsByRule {name}"))?;
            let target = targets
                .targets()
                .first()
                .with_context(|| format!("{name} has no target"))?;
            let transformer = target.input_transformer();
            return Ok(ComplianceNotification {
                name: name.to_owned(),
                pattern,
                topic_arn: target.arn().to_owned(),
                input_paths: transformer
                    .and_then(|t| t.input_paths_map())
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                input_template: transformer
                    .map(|t| t.input_template().to_owned())
                    .unwrap_or_default(),
            });
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            anyhow::bail!("no EventBridge rule selects the compliance changes of {config_rule}");
        }
    }
}

/// A compliance change of one resource, as Config reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceChange<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub config_rule: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub compliance: &'a str,
    pub annotation: Option<&'a str>,
}

/// Sends the `Config Rules Compliance Change` event Config would send for `change` to the
/// account's default event bus.
pub async fn announce(config: &SdkConfig, change: &ComplianceChange<'_>) -> Result<()> {
    let detail = json!({
        "resourceId": change.resource_id,
        "awsRegion": change.region,
        "awsAccountId": change.account,
        "configRuleName": change.config_rule,
        "recordVersion": "1.0",
        "messageType": "ComplianceChangeNotification",
        "resourceType": change.resource_type,
        "newEvaluationResult": {
            "complianceType": change.compliance,
            "annotation": change.annotation,
        },
    });
    let entry = PutEventsRequestEntry::builder()
        .source("aws.config")
        .detail_type("Config Rules Compliance Change")
        .detail(detail.to_string())
        .build();
    let out = aws_sdk_eventbridge::Client::new(config)
        .put_events()
        .entries(entry)
        .send()
        .await
        .context("PutEvents")?;
    anyhow::ensure!(out.failed_entry_count() == 0, "PutEvents failed: {out:?}");
    Ok(())
}
