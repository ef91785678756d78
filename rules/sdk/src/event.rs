//! The Lambda event AWS Config sends, decoded once into types.
//!
//! `invokingEvent` and `ruleParameters` arrive as JSON inside JSON strings.

use std::collections::BTreeMap;

use aws_lambda_events::event::config::ConfigEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::item::{ConfigurationItem, ItemError};

/// What made Config invoke the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A configuration item changed; the item is in the event.
    Change(Box<ConfigurationItem>),
    /// A configuration item changed but was too large for the event: only its summary is here,
    /// and the item must be fetched with `GetResourceConfigHistory`.
    Oversized(Box<ConfigurationItem>),
    /// The periodic schedule fired.
    Scheduled,
}

/// A decoded Config rule invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub trigger: Trigger,
    /// `ruleParameters`, decoded from its JSON string; values as Config sent them.
    pub parameters: BTreeMap<String, Value>,
    pub result_token: String,
    /// The resource is no longer in the rule's scope: NOT_APPLICABLE.
    pub event_left_scope: bool,
    /// Config's service-linked role. Never assumed: cross-account runs use `ExecutionRoleName`.
    pub execution_role_arn: Option<String>,
    pub account_id: Option<String>,
    pub config_rule_name: Option<String>,
    pub config_rule_arn: Option<String>,
    /// `notificationCreationTime`, the event's notion of "now".
    pub notification_time: Option<DateTime<Utc>>,
}

/// Why an event could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    #[error("the event is not a Config rule event: {0}")]
    Envelope(String),
    #[error("the event has no `{0}`")]
    Missing(&'static str),
    #[error("`invokingEvent` is not valid: {0}")]
    InvokingEvent(String),
    #[error("`ruleParameters` is not a JSON object: {0}")]
    RuleParameters(String),
    #[error("the configuration item is not valid: {0}")]
    Item(String),
}

#[derive(Deserialize)]
#[serde(tag = "messageType")]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are named as Config names the message types"
)]
enum WireInvokingEvent {
    #[serde(rename_all = "camelCase")]
    ConfigurationItemChangeNotification {
        configuration_item: Option<Value>,
        #[serde(default)]
        notification_creation_time: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    OversizedConfigurationItemChangeNotification {
        configuration_item_summary: Value,
        #[serde(default)]
        notification_creation_time: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    ScheduledNotification {
        #[serde(default)]
        notification_creation_time: Option<String>,
    },
}

impl Invocation {
    /// Decodes the raw Lambda payload.
    pub fn from_json(raw: Value) -> Result<Self, EventError> {
        let envelope: ConfigEvent = serde_path_to_error::deserialize(raw)
            .map_err(|e| EventError::Envelope(located(e.path(), e.inner())))?;
        let invoking = envelope
            .invoking_event
            .ok_or(EventError::Missing("invokingEvent"))?;
        let result_token = envelope
            .result_token
            .ok_or(EventError::Missing("resultToken"))?;
        let wire: WireInvokingEvent =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&invoking))
                .map_err(|e| EventError::InvokingEvent(located(e.path(), e.inner())))?;

        let (trigger, time) = match wire {
            WireInvokingEvent::ConfigurationItemChangeNotification {
                configuration_item,
                notification_creation_time,
            } => {
                let item = configuration_item
                    .ok_or(EventError::InvokingEvent("no `configurationItem`".into()))?;
                (
                    Trigger::Change(Box::new(item_from(item)?)),
                    notification_creation_time,
                )
            }
            WireInvokingEvent::OversizedConfigurationItemChangeNotification {
                configuration_item_summary,
                notification_creation_time,
            } => (
                Trigger::Oversized(Box::new(item_from(configuration_item_summary)?)),
                notification_creation_time,
            ),
            WireInvokingEvent::ScheduledNotification {
                notification_creation_time,
            } => (Trigger::Scheduled, notification_creation_time),
        };
        let notification_time = time.as_deref().map(parse_time).transpose()?;

        Ok(Self {
            trigger,
            parameters: parse_parameters(envelope.rule_parameters.as_deref())?,
            result_token,
            event_left_scope: envelope.event_left_scope,
            execution_role_arn: envelope.execution_role_arn,
            account_id: envelope.account_id,
            config_rule_name: envelope.config_rule_name,
            config_rule_arn: envelope.config_rule_arn,
            notification_time,
        })
    }

    /// Decodes the raw Lambda payload from text (a file, stdin).
    pub fn from_text(text: &str) -> Result<Self, EventError> {
        let raw: Value =
            serde_json::from_str(text).map_err(|e| EventError::Envelope(e.to_string()))?;
        Self::from_json(raw)
    }
}

/// A decoding error with where it is: the field's path (serde_json adds the line and column
/// when decoding text).
fn located(path: &serde_path_to_error::Path, error: &serde_json::Error) -> String {
    match path.to_string().as_str() {
        "." => format!("at the top level: {error}"),
        p => format!("at `{p}`: {error}"),
    }
}

fn item_from(value: Value) -> Result<ConfigurationItem, EventError> {
    ConfigurationItem::from_json(value).map_err(|e: ItemError| EventError::Item(e.to_string()))
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, EventError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| EventError::InvokingEvent(format!("`notificationCreationTime` `{text}`: {e}")))
}

fn parse_parameters(text: Option<&str>) -> Result<BTreeMap<String, Value>, EventError> {
    match text.map(str::trim) {
        None | Some("") => Ok(BTreeMap::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| EventError::RuleParameters(e.to_string()))
        }
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "event_fuzz.rs"]
mod fuzz;
