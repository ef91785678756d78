//! The Lambda events AWS Config sends a custom rule, encoded once for every test: the envelope
//! with `invokingEvent` and `ruleParameters` as JSON documents inside strings, around a change,
//! an oversized change or a schedule. The decoder these must satisfy is `Invocation::from_json`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The account every test event comes from unless it says otherwise.
pub const ACCOUNT: &str = "123456789012";

/// The fields Config puts around `invokingEvent`.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub rule_name: String,
    pub rule_arn: String,
    /// `configRuleId`, which Config sends and the rules do not read.
    pub rule_id: Option<String>,
    pub account_id: String,
    /// `ruleParameters`: a JSON object inside a string, as Config passes it.
    pub rule_parameters: String,
    /// `TESTMODE` puts nothing.
    pub result_token: String,
    pub event_left_scope: bool,
    pub execution_role_arn: String,
}

impl Envelope {
    /// An event for `rule_name` in [`ACCOUNT`], `us-east-1`, with no parameters, in test mode.
    pub fn new(rule_name: &str) -> Self {
        Self {
            rule_name: rule_name.to_owned(),
            rule_arn: format!("arn:aws:config:us-east-1:{ACCOUNT}:config-rule/{rule_name}"),
            rule_id: None,
            account_id: ACCOUNT.to_owned(),
            rule_parameters: "{}".to_owned(),
            result_token: "TESTMODE".to_owned(),
            event_left_scope: false,
            execution_role_arn: format!("arn:aws:iam::{ACCOUNT}:role/config-role"),
        }
    }

    /// The same envelope with `params` as `ruleParameters`.
    #[must_use]
    pub fn with_params(mut self, params: &BTreeMap<String, Value>) -> Self {
        self.rule_parameters = parameters(params);
        self
    }

    /// A `ConfigurationItemChangeNotification` for `item` (the notification's item shape).
    pub fn change(&self, item: &Value, notified_at: &str) -> Value {
        self.wrap(&json!({
            "configurationItemDiff": null,
            "configurationItem": item,
            "notificationCreationTime": notified_at,
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3",
        }))
    }

    /// An `OversizedConfigurationItemChangeNotification` for `item`: the event carries only the
    /// item's summary, and the rule reads the item from Config.
    pub fn oversized(&self, item: &Value, notified_at: &str) -> Value {
        self.wrap(&json!({
            "configurationItemSummary": summary(item),
            "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": notified_at,
            "recordVersion": "1.0",
        }))
    }

    /// A `ScheduledNotification`, as Config sends a periodic rule.
    pub fn scheduled(&self, notified_at: &str) -> Value {
        self.wrap(&json!({
            "awsAccountId": self.account_id,
            "notificationCreationTime": notified_at,
            "messageType": "ScheduledNotification",
            "recordVersion": "1.0",
        }))
    }

    fn wrap(&self, invoking: &Value) -> Value {
        let mut event = json!({
            "version": "1.0",
            "invokingEvent": invoking.to_string(),
            "ruleParameters": self.rule_parameters,
            "resultToken": self.result_token,
            "eventLeftScope": self.event_left_scope,
            "executionRoleArn": self.execution_role_arn,
            "configRuleArn": self.rule_arn,
            "configRuleName": self.rule_name,
            "accountId": self.account_id,
            "evaluationMode": "DETECTIVE",
        });
        if let Some(id) = &self.rule_id {
            event["configRuleId"] = json!(id);
        }
        event
    }
}

/// `ruleParameters` as Config passes them: one JSON object, in a string.
pub fn parameters(params: &BTreeMap<String, Value>) -> String {
    Value::Object(params.clone().into_iter().collect()).to_string()
}

/// The summary an oversized notification carries: the item without its configuration,
/// supplementary configuration, tags and relationships.
pub fn summary(item: &Value) -> Value {
    const KEPT: [&str; 12] = [
        "changeType",
        "configurationItemVersion",
        "configurationItemCaptureTime",
        "configurationStateId",
        "awsAccountId",
        "configurationItemStatus",
        "resourceType",
        "resourceId",
        "resourceName",
        "ARN",
        "awsRegion",
        "availabilityZone",
    ];
    let mut summary: Map<String, Value> = KEPT
        .iter()
        .filter_map(|&field| Some((field.to_owned(), item.get(field)?.clone())))
        .collect();
    summary
        .entry("changeType")
        .or_insert_with(|| json!("UPDATE"));
    Value::Object(summary)
}
