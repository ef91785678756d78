//! Notifications: compliance changes of Custos rules, and remediation records, to an SNS topic.
//!
//! The deployer renders an EventBridge rule with [`compliance_change_pattern`] and an input
//! transformer from [`compliance_change_transformer`]; remediations publish through [`Notifier`].

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::RuleError;

/// The Lambda environment variable that names the notification topic.
pub const TOPIC_ENV: &str = "CUSTOS_NOTIFICATION_TOPIC_ARN";

/// Publishes to one SNS topic.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Notifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    pub async fn publish(&self, subject: &str, message: &str) -> Result<(), RuleError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| RuleError::aws("Publish", e))?;
        Ok(())
    }
}

/// The EventBridge pattern for compliance changes of the named rules to `compliance_types`
/// (for example only `NON_COMPLIANT`). Config names a rule deployed by a conformance pack or an
/// organisation rule with a suffix, so names match by prefix.
pub fn compliance_change_pattern(rule_names: &[&str], compliance_types: &[&str]) -> Value {
    let names: Vec<Value> = rule_names.iter().map(|n| json!({ "prefix": n })).collect();
    let mut detail =
        json!({ "configRuleName": names, "messageType": ["ComplianceChangeNotification"] });
    if !compliance_types.is_empty() {
        detail["newEvaluationResult"] = json!({ "complianceType": compliance_types });
    }
    json!({
        "source": ["aws.config"],
        "detail-type": ["Config Rules Compliance Change"],
        "detail": detail,
    })
}

/// EventBridge input transformer (paths, template) that turns a compliance change into the
/// email text of [`ComplianceChange::message`].
pub fn compliance_change_transformer() -> (Vec<(&'static str, &'static str)>, &'static str) {
    (
        vec![
            ("account", "$.detail.awsAccountId"),
            ("region", "$.detail.awsRegion"),
            ("rule", "$.detail.configRuleName"),
            ("type", "$.detail.resourceType"),
            ("id", "$.detail.resourceId"),
            ("new", "$.detail.newEvaluationResult.complianceType"),
            ("annotation", "$.detail.newEvaluationResult.annotation"),
        ],
        "\"Custos: <type> <id> in account <account> (<region>) is now <new> for rule <rule>: <annotation>\"",
    )
}

/// A `Config Rules Compliance Change` event, as EventBridge delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceChange {
    pub aws_account_id: String,
    pub aws_region: String,
    pub config_rule_name: String,
    pub resource_type: String,
    pub resource_id: String,
    pub new_evaluation_result: EvaluationResult,
    #[serde(default)]
    pub old_evaluation_result: Option<EvaluationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResult {
    pub compliance_type: String,
    #[serde(default)]
    pub annotation: Option<String>,
}

impl ComplianceChange {
    /// Reads the `detail` of an EventBridge event.
    pub fn from_event(event: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(event.get("detail").unwrap_or(&Value::Null))
    }

    /// The same text the input transformer produces.
    pub fn message(&self) -> String {
        format!(
            "Custos: {} {} in account {} ({}) is now {} for rule {}: {}",
            self.resource_type,
            self.resource_id,
            self.aws_account_id,
            self.aws_region,
            self.new_evaluation_result.compliance_type,
            self.config_rule_name,
            self.new_evaluation_result
                .annotation
                .as_deref()
                .unwrap_or(""),
        )
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
