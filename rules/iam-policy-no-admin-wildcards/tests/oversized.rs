//! An oversized notification: the rule fetches the policy's item (configuration as a JSON
//! string, documents URL-encoded) and judges it like any other.

use std::collections::BTreeMap;

use aws_sdk_config::types::{ConfigurationItem, ConfigurationItemStatus, ResourceType};
use config_rule_sdk::{Compliance, RuleMeta, testing};
use iam_policy_no_admin_wildcards::{IamPolicyNoAdminWildcards, RULE_TOML};
use serde_json::json;

/// A managed policy whose default version allows `action` on every resource.
fn policy_item(action: &str) -> ConfigurationItem {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Broad", "Effect": "Allow", "Action": action, "Resource": "*"}]
    });
    let encoded: String = document
        .to_string()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let configuration = json!({
        "policyName": "platform-ops",
        "arn": "arn:aws:iam::123456789012:policy/platform-ops",
        "defaultVersionId": "v3",
        "policyVersionList": [{"document": encoded, "versionId": "v3", "isDefaultVersion": true}]
    });
    ConfigurationItem::builder()
        .account_id("123456789012")
        .aws_region("global")
        .resource_type(ResourceType::Policy)
        .resource_id("ANPAPLATFORMOPS00001")
        .arn("arn:aws:iam::123456789012:policy/platform-ops")
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .configuration_item_capture_time(aws_sdk_config::primitives::DateTime::from_secs(
            1_779_264_930,
        ))
        .configuration(configuration.to_string())
        .build()
}

#[tokio::test]
async fn an_oversized_policy_is_fetched_and_judged() {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let none = BTreeMap::new();

    let admin = testing::run_oversized(&IamPolicyNoAdminWildcards, &meta, &none, policy_item("*"))
        .await
        .unwrap();
    assert_eq!(admin.compliance_type, Compliance::NonCompliant);
    assert!(admin.annotation.unwrap().as_str().contains("allows * on *"));

    let narrow = testing::run_oversized(
        &IamPolicyNoAdminWildcards,
        &meta,
        &none,
        policy_item("s3:GetObject"),
    )
    .await
    .unwrap();
    assert_eq!(narrow.compliance_type, Compliance::Compliant);
}
