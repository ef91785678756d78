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

/// `invokingEvent`, flat: an internally tagged enum would make serde buffer the whole item
/// before it reads the tag.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInvokingEvent {
    message_type: String,
    #[serde(default)]
    configuration_item: Option<Value>,
    #[serde(default)]
    configuration_item_summary: Option<Value>,
    #[serde(default)]
    notification_creation_time: Option<String>,
}

const MESSAGE_TYPES: [&str; 3] = [
    "ConfigurationItemChangeNotification",
    "OversizedConfigurationItemChangeNotification",
    "ScheduledNotification",
];

impl Invocation {
    /// Decodes the raw Lambda payload.
    pub fn from_json(raw: Value) -> Result<Self, EventError> {
        // The path of a problem is tracked only when there is one: tracking costs time.
        let envelope = match ConfigEvent::deserialize(&raw) {
            Ok(envelope) => envelope,
            Err(_) => serde_path_to_error::deserialize(raw)
                .map_err(|e| EventError::Envelope(located(e.path(), e.inner())))?,
        };
        Self::from_envelope(envelope)
    }

    fn from_envelope(envelope: ConfigEvent) -> Result<Self, EventError> {
        let invoking = envelope
            .invoking_event
            .ok_or(EventError::Missing("invokingEvent"))?;
        let result_token = envelope
            .result_token
            .ok_or(EventError::Missing("resultToken"))?;
        let wire: WireInvokingEvent = match serde_json::from_str(&invoking) {
            Ok(wire) => wire,
            Err(plain) => {
                let mut text = serde_json::Deserializer::from_str(&invoking);
                let message =
                    match serde_path_to_error::deserialize::<_, WireInvokingEvent>(&mut text) {
                        Err(e) => located(e.path(), e.inner()),
                        Ok(_) => plain.to_string(),
                    };
                return Err(EventError::InvokingEvent(message));
            }
        };

        let trigger = match wire.message_type.as_str() {
            "ConfigurationItemChangeNotification" => {
                let item = wire
                    .configuration_item
                    .filter(|i| !i.is_null())
                    .ok_or(EventError::InvokingEvent("no `configurationItem`".into()))?;
                Trigger::Change(Box::new(item_from(item)?))
            }
            "OversizedConfigurationItemChangeNotification" => {
                let summary = wire
                    .configuration_item_summary
                    .ok_or(EventError::InvokingEvent(
                        "missing field `configurationItemSummary`".into(),
                    ))?;
                Trigger::Oversized(Box::new(item_from(summary)?))
            }
            "ScheduledNotification" => Trigger::Scheduled,
            other => {
                return Err(EventError::InvokingEvent(format!(
                    "unknown `messageType` `{other}`, expected one of `{}`",
                    MESSAGE_TYPES.join("`, `")
                )));
            }
        };
        let notification_time = wire
            .notification_creation_time
            .as_deref()
            .map(parse_time)
            .transpose()?;

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
        match serde_json::from_str::<ConfigEvent>(text) {
            Ok(envelope) => Self::from_envelope(envelope),
            // Not JSON at all: serde_json's message has the line and column.
            Err(e) if e.is_syntax() || e.is_eof() => Err(EventError::Envelope(e.to_string())),
            // JSON of the wrong shape: decoded again as a value, to say where.
            Err(_) => {
                let raw: Value =
                    serde_json::from_str(text).map_err(|e| EventError::Envelope(e.to_string()))?;
                Self::from_json(raw)
            }
        }
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

/// A rule's parameters as Config holds them (`ruleParameters` of an event, `InputParameters`
/// of `DescribeConfigRules`): a JSON object in a string; absent or blank is no parameters.
pub fn parse_parameters(text: Option<&str>) -> Result<BTreeMap<String, Value>, EventError> {
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
