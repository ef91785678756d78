//! Fixtures: each file under `fixtures/` is one case a reviewer can read on its own: parameters
//! as Config passes them, the notification time, the facts `gather` found (windows, users, active keys and the services each window showed) as `facts`, the resources evaluated in an
//! earlier run, and the expected results. Each runs through the production path
//! (`config_rule_sdk::testing::check_periodic_file`): the scheduled event decoded by the SDK,
//! `evaluate`, then the SDK's `decide::periodic` (exemptions, stale resources).

use config_rule_sdk::{RuleMeta, testing};

use super::*;
use crate::activity::RESOURCE_TYPE;

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

#[test]
fn fixtures() {
    let meta = meta();
    insta::glob!("../fixtures", "*.json", |path| {
        insta::assert_yaml_snapshot!(testing::check_periodic_file(
            &IamAccessKeyBehaviour::new(),
            &meta,
            path
        ));
    });
}

#[test]
fn rule_toml_and_params_agree() {
    testing::check_params_agree::<Params>(&meta());
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
        [
            "iam:UpdateAccessKey",
            "ssm:GetParameter",
            "ssm:PutParameter",
            "sns:Publish"
        ]
    );
    // The remediation runs inline; Config's RemediationConfiguration is not used.
    assert!(meta.remediation.is_none());
}
