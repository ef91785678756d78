//! An oversized notification run the way production runs it: the event carries only the item's
//! summary, and the handler fetches the item with `GetResourceConfigHistory(limit=1)`, here
//! answered by a mock with the fixture's item in the API's shape.

use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::primitives::{DateTime, DateTimeFormat};
use aws_sdk_config::types::{ConfigurationItem, ConfigurationItemStatus, ResourceType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::Value;

use super::Fixture;
use crate::aws::Edge;
use crate::evaluation::Evaluation;
use crate::meta::RuleMeta;
use crate::rule::Rule;

/// Runs `fixture` as an oversized notification; nothing is put. Returns the result and how many
/// times the item was fetched (each fetch asked for the fixture's resource, limit 1).
pub async fn run_oversized<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    fixture: &Fixture,
) -> (Result<Evaluation, crate::RuleError>, usize) {
    let item = api_item(&fixture.configuration_item);
    let wanted = (
        item.resource_type().cloned(),
        item.resource_id().map(str::to_owned),
    );
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .match_requests(move |req| {
            (
                req.resource_type().cloned(),
                req.resource_id().map(str::to_owned),
            ) == wanted
                && req.limit() == Some(1)
        })
        .then_output(move || {
            GetResourceConfigHistoryOutput::builder()
                .configuration_items(item.clone())
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let edge = Edge::with_config_client(config, client);
    // Boxed: the handler's future is large.
    let result = Box::pin(crate::entry::handle_change(
        rule,
        None,
        meta,
        fixture.oversized_event(&meta.name),
        &edge,
        crate::entry::Mode::DryRun,
        None,
    ))
    .await
    .map(|mut evaluations| evaluations.remove(0));
    (result, history.num_calls())
}

/// A notification's configuration item in the shape `GetResourceConfigHistory` returns it:
/// configuration and supplementary values as JSON strings, tags as a map.
pub fn api_item(item: &Value) -> ConfigurationItem {
    let text = |field: &str| item.get(field).and_then(Value::as_str);
    let as_string = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut builder =
        ConfigurationItem::builder()
            .set_account_id(text("awsAccountId").map(str::to_owned))
            .set_aws_region(text("awsRegion").map(str::to_owned))
            .set_availability_zone(text("availabilityZone").map(str::to_owned))
            .set_arn(text("ARN").map(str::to_owned))
            .set_resource_type(text("resourceType").map(ResourceType::from))
            .set_resource_id(text("resourceId").map(str::to_owned))
            .set_resource_name(text("resourceName").map(str::to_owned))
            .set_configuration_item_status(
                text("configurationItemStatus").map(ConfigurationItemStatus::from),
            )
            .set_configuration_item_capture_time(text("configurationItemCaptureTime").map(|t| {
                DateTime::from_str(t, DateTimeFormat::DateTime).expect("an RFC 3339 time")
            }))
            .set_configuration(
                item.get("configuration")
                    .filter(|c| !c.is_null())
                    .map(as_string),
            );
    if let Some(Value::Object(supplementary)) = item.get("supplementaryConfiguration") {
        for (name, value) in supplementary {
            builder = builder.supplementary_configuration(name, as_string(value));
        }
    }
    if let Some(Value::Object(tags)) = item.get("tags") {
        for (key, value) in tags {
            builder = builder.tags(key, as_string(value));
        }
    }
    builder.build()
}
