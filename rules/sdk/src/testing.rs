//! Fixture harness for rule crates (`features = ["testing"]` in dev-dependencies).
//!
//! A fixture is one case a reviewer can read on its own:
//! `{"name": "...", "expect": "NON_COMPLIANT", "params": {...}, "configurationItem": {...}}`.
//! It is wrapped in the Config Lambda event AWS sends and run through the same decoding and
//! decision path as production (`decide::settings` + `decide::change`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aws::Edge;
use crate::decide;
use crate::evaluation::Evaluation;
use crate::event::{Invocation, Trigger};
use crate::meta::RuleMeta;
use crate::params;
use crate::rule::Rule;

/// What a fixture expects: a compliance value, or `error` (the invocation fails).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Expect {
    Compliant,
    NonCompliant,
    NotApplicable,
    #[serde(rename = "error")]
    Error,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    pub expect: Expect,
    /// Text the annotation (or the error) must contain.
    #[serde(default)]
    pub annotation_contains: Option<String>,
    /// `ruleParameters` as Config would pass them (strings).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    #[serde(default)]
    pub event_left_scope: bool,
    /// The event's notion of "now" (exemption expiry); defaults to a fixed date.
    #[serde(default = "default_notification_time")]
    pub notification_creation_time: String,
    pub configuration_item: Value,
}

fn default_notification_time() -> String {
    "2026-06-01T12:00:00.000Z".to_owned()
}

/// The result of running a fixture, for snapshots.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Fixture {
    /// The Config Lambda event this fixture stands for.
    pub fn event(&self, rule_name: &str) -> Value {
        let invoking = json!({
            "configurationItem": self.configuration_item,
            "notificationCreationTime": self.notification_creation_time,
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3",
        });
        json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": Value::Object(self.params.clone().into_iter().collect()).to_string(),
            "resultToken": "TESTMODE",
            "eventLeftScope": self.event_left_scope,
            "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
            "configRuleArn": format!("arn:aws:config:us-east-1:123456789012:config-rule/{rule_name}"),
            "configRuleName": rule_name,
            "accountId": "123456789012",
            "version": "1.0",
        })
    }
}

/// Runs one fixture through the production decision path.
pub fn run<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    fixture: &Fixture,
) -> Result<Evaluation, crate::RuleError> {
    let invocation = Invocation::from_json(fixture.event(&meta.name))?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    let Trigger::Change(item) = invocation.trigger else {
        unreachable!("fixtures are change notifications")
    };
    decide::change(
        rule,
        meta,
        &settings,
        *item,
        invocation.event_left_scope,
        invocation.notification_time,
    )
}

/// Loads the fixture at `path`, runs it, asserts its expectation, and returns the outcome.
pub fn check_file<R: Rule>(rule: &R, meta: &RuleMeta, path: &Path) -> Outcome {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fixture: Fixture = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()));
    let result = run(rule, meta, &fixture);
    let (got, text) = match &result {
        Ok(e) => (
            match e.compliance_type {
                crate::Compliance::Compliant => Expect::Compliant,
                crate::Compliance::NonCompliant => Expect::NonCompliant,
                crate::Compliance::NotApplicable => Expect::NotApplicable,
            },
            e.annotation
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        ),
        Err(err) => (Expect::Error, err.to_string()),
    };
    assert_eq!(
        got,
        fixture.expect,
        "fixture {:?} ({}): {text}",
        fixture.name,
        path.display()
    );
    if let Some(want) = &fixture.annotation_contains {
        assert!(
            text.contains(want.as_str()),
            "fixture {:?}: {text:?} does not contain {want:?}",
            fixture.name
        );
    }
    match result {
        Ok(evaluation) => Outcome {
            name: fixture.name,
            evaluation: Some(evaluation),
            error: None,
        },
        Err(err) => Outcome {
            name: fixture.name,
            evaluation: None,
            error: Some(format!("{}: {err}", err.kind())),
        },
    }
}

/// Checks that `rule.toml` and `P` agree: every declared parameter, given its example (or
/// default), decodes into `P`, and `P` needs nothing `rule.toml` does not declare.
pub fn check_params_agree<P: DeserializeOwned>(meta: &RuleMeta) {
    let mut given = BTreeMap::new();
    for (name, spec) in &meta.parameters {
        let value = spec
            .example
            .as_ref()
            .or(spec.default.as_ref())
            .unwrap_or_else(|| {
                panic!("rule.toml: parameter `{name}` needs an `example` or a `default`")
            });
        given.insert(name.clone(), Value::String(value.clone()));
    }
    if let Err(e) = params::decode::<P>(meta, &given) {
        panic!("rule.toml and Params disagree: {e}");
    }
}

/// Runs `rule` on an oversized notification for `item`, the way production does: the event
/// carries only the item's summary, and the handler fetches the item with
/// `GetResourceConfigHistory(limit=1)`, here answered by a mock with `item` (AWS's API shape:
/// configuration and supplementary values as JSON strings). Nothing is put.
pub async fn run_oversized<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    params: &BTreeMap<String, Value>,
    item: aws_sdk_config::types::ConfigurationItem,
) -> Result<Evaluation, crate::RuleError> {
    use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    let resource_id = item.resource_id().unwrap_or_default().to_owned();
    let summary = json!({
        "changeType": "UPDATE",
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2026-05-20T08:15:30.123Z",
        "configurationStateId": 1,
        "awsAccountId": item.account_id(),
        "configurationItemStatus": item.configuration_item_status().map(aws_sdk_config::types::ConfigurationItemStatus::as_str),
        "resourceType": item.resource_type().map(aws_sdk_config::types::ResourceType::as_str),
        "resourceId": resource_id,
        "ARN": item.arn(),
        "awsRegion": item.aws_region(),
    });
    let invoking = json!({
        "configurationItemSummary": summary,
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": default_notification_time(),
        "recordVersion": "1.0",
    });
    let event = json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": Value::Object(params.clone().into_iter().collect()).to_string(),
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "configRuleName": meta.name,
        "accountId": item.account_id(),
    });
    let wanted = resource_id.clone();
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .match_requests(move |req| {
            req.resource_id() == Some(wanted.as_str()) && req.limit() == Some(1)
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
    let mut evaluations =
        crate::runtime::handle_change(rule, meta, event, &edge, crate::runtime::Mode::DryRun)
            .await?;
    assert_eq!(
        history.num_calls(),
        1,
        "the oversized item is fetched once, with limit 1"
    );
    Ok(evaluations.remove(0))
}
