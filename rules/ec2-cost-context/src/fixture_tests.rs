//! Fixtures: each file under `fixtures/` is one case a reviewer can read on its own: parameters
//! as Config passes them, the notification time, the instances `DescribeInstances` listed as `facts`, the resources evaluated in an
//! earlier run, and the expected results. Each runs through the production path
//! (`config_rule_sdk::testing::check_periodic_file`): the scheduled event decoded by the SDK,
//! `evaluate`, then the SDK's `decide::periodic` (exemptions, stale resources).

use config_rule_sdk::{RuleMeta, testing};

use super::*;
use crate::estimate::RESOURCE_TYPE;

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

#[test]
fn fixtures() {
    let meta = meta();
    insta::glob!("../fixtures", "*.json", |path| {
        insta::assert_yaml_snapshot!(testing::check_periodic_file(
            &Ec2CostContext::new(),
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
    assert_eq!(
        meta.trigger.periodic,
        Some(config_rule_sdk::meta::Frequency::TwentyFourHours)
    );
    assert!(!meta.trigger.change);
    assert_eq!(meta.resource_types, [RESOURCE_TYPE]);
    assert_eq!(meta.permissions.rule, ["ec2:DescribeInstances"]);
    assert!(meta.permissions.remediation.is_empty());
    assert!(meta.remediation.is_none());
}
