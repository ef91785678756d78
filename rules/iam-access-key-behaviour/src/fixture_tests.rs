//! Fixtures: each file under `fixtures/` is one case a reviewer can read on its own: parameters
//! as Config passes them, the notification time, the facts `gather` found (windows, users,
//! active keys and the services each window showed), the resources evaluated in an earlier run,
//! and the expected results. Each runs through the production path: the scheduled event decoded
//! by the SDK, `evaluate`, then the SDK's `decide::periodic` (exemptions, stale resources).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use config_rule_sdk::event::Invocation;
use config_rule_sdk::{Evaluation, PeriodicRule, ResourceKey, RuleError, RuleMeta, decide};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::activity::RESOURCE_TYPE;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    name: String,
    /// `notificationCreationTime` of the scheduled event.
    now: String,
    /// `ruleParameters`, as Config passes them (strings).
    #[serde(default)]
    params: BTreeMap<String, Value>,
    /// User ids this rule reported on in an earlier run.
    #[serde(default)]
    previously_evaluated: Vec<String>,
    facts: Facts,
    /// Expected result by user id; every evaluation must be listed.
    #[serde(default)]
    expect: BTreeMap<String, Expected>,
    /// Text the invocation's error must contain (instead of `expect`).
    #[serde(default)]
    expect_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expected {
    compliance: String,
    #[serde(default)]
    annotation_contains: Option<String>,
}

#[derive(Debug, Serialize)]
struct Outcome {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    evaluations: Option<Vec<Evaluation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

/// The scheduled event Config would send for this fixture.
fn event(fixture: &Fixture) -> Value {
    let invoking = json!({
        "awsAccountId": "123456789012",
        "notificationCreationTime": fixture.now,
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": Value::Object(fixture.params.clone().into_iter().collect()).to_string(),
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "configRuleName": "iam-access-key-behaviour",
        "accountId": "123456789012",
        "version": "1.0",
    })
}

fn run(meta: &RuleMeta, fixture: &Fixture) -> Result<Vec<Evaluation>, RuleError> {
    let invocation = Invocation::from_json(event(fixture))?;
    let settings = decide::settings::<Params>(meta, &invocation)?;
    let now = invocation.notification_time.ok_or(RuleError::MissingTime)?;
    let findings = IamAccessKeyBehaviour::new().evaluate(&fixture.facts, &settings.params, now);
    let previous: BTreeSet<ResourceKey> = fixture
        .previously_evaluated
        .iter()
        .map(|id| ResourceKey::new(RESOURCE_TYPE, id))
        .collect();
    Ok(decide::periodic(
        &meta.name,
        findings,
        &previous,
        &settings.registry,
        now,
    ))
}

fn check(meta: &RuleMeta, path: &Path) -> Outcome {
    let text = std::fs::read_to_string(path).unwrap();
    let fixture: Fixture = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()));
    let name = fixture.name.clone();
    match (run(meta, &fixture), &fixture.expect_error) {
        (Err(err), Some(want)) => {
            assert!(err.to_string().contains(want.as_str()), "{name}: {err}");
            Outcome {
                name,
                evaluations: None,
                error: Some(format!("{}: {err}", err.kind())),
            }
        }
        (Err(err), None) => panic!("{name}: unexpected error {err}"),
        (Ok(evaluations), Some(want)) => {
            panic!("{name}: expected an error containing {want:?}, got {evaluations:?}")
        }
        (Ok(evaluations), None) => {
            let got: Vec<&str> = evaluations
                .iter()
                .map(|e| e.compliance_resource_id.as_str())
                .collect();
            let expected: Vec<&str> = fixture.expect.keys().map(String::as_str).collect();
            assert_eq!(got, expected, "{name}: evaluated resources");
            for e in &evaluations {
                let want = &fixture.expect[&e.compliance_resource_id];
                let annotation = e.annotation.as_ref().map_or("", |a| a.as_str());
                assert_eq!(
                    e.compliance_type.as_str(),
                    want.compliance,
                    "{name}: {} ({annotation})",
                    e.compliance_resource_id
                );
                if let Some(text) = &want.annotation_contains {
                    assert!(
                        annotation.contains(text.as_str()),
                        "{name}: {}: {annotation:?} does not contain {text:?}",
                        e.compliance_resource_id
                    );
                }
                assert_eq!(e.compliance_resource_type, RESOURCE_TYPE);
            }
            Outcome {
                name,
                evaluations: Some(evaluations),
                error: None,
            }
        }
    }
}

#[test]
fn fixtures() {
    let meta = meta();
    insta::glob!("../fixtures", "*.json", |path| {
        insta::assert_yaml_snapshot!(check(&meta, path));
    });
}

#[test]
fn rule_toml_and_params_agree() {
    config_rule_sdk::testing::check_params_agree::<Params>(&meta());
}

#[test]
fn rule_toml_declares_the_periodic_trigger_and_exactly_the_calls_made() {
    let meta = meta();
    assert_eq!(meta.name, env!("CARGO_PKG_NAME"));
    assert_eq!(meta.name, RULE_NAME);
    assert_eq!(
        meta.trigger.periodic,
        Some(config_rule_sdk::meta::Frequency::TwentyFourHours)
    );
    assert!(!meta.trigger.change);
    assert_eq!(meta.resource_types, [RESOURCE_TYPE]);
    assert_eq!(
        meta.permissions.rule,
        [
            "iam:ListUsers",
            "iam:ListAccessKeys",
            "iam:ListUserTags",
            "cloudtrail:LookupEvents"
        ]
    );
    assert_eq!(
        meta.permissions.remediation,
        ["iam:UpdateAccessKey", "sns:Publish"]
    );
    // The remediation runs inline; Config's RemediationConfiguration is not used.
    assert!(meta.remediation.is_none());
}
