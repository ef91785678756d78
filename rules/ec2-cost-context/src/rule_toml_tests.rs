//! What `rule.toml` declares, against what the rule does.

use config_rule_sdk::manifest::Frequency;
use config_rule_sdk::{RuleMeta, testing};

use super::*;
use crate::estimate::RESOURCE_TYPE;

#[test]
fn rule_toml_declares_the_periodic_trigger_and_exactly_the_calls_made() {
    let meta = RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid");
    assert_eq!(meta.name, env!("CARGO_PKG_NAME"));
    testing::assert_periodic(&meta, Frequency::TwentyFourHours, RESOURCE_TYPE);
    assert_eq!(meta.permissions.rule, ["ec2:DescribeInstances"]);
    assert!(meta.permissions.remediation.is_empty());
    assert!(meta.remediation.is_none());
}
