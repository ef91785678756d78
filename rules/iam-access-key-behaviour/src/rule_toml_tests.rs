//! What `rule.toml` declares, against what the rule does.

use config_rule_sdk::manifest::Frequency;
use config_rule_sdk::{RuleMeta, testing};

use super::*;
use crate::activity::RESOURCE_TYPE;

#[test]
fn rule_toml_declares_the_periodic_trigger_and_exactly_the_calls_made() {
    let meta = RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid");
    assert_eq!(meta.name, RULE_NAME);
    testing::assert_periodic(&meta, Frequency::TwentyFourHours, RESOURCE_TYPE);
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
