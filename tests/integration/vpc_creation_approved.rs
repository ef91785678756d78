//! vpc-creation-approved end to end, as the deployer deploys it: `apply` puts the rule, its
//! EventBridge rule and the notification topic (with the administrators' email subscription)
//! in a member account; VPCs are created there, the rule runs on items recorded from their live
//! state, Config's verdict is read back, and the administrators' email is whatever the deployed
//! EventBridge rule (read back with ListRules, DescribeRule and ListTargetsByRule) lets through
//! to the deployed topic.
//!
//! The emulator's Config emits no compliance-change events, so the harness sends the event
//! Config would send (source `aws.config`) for each result Config reports; EventBridge matching,
//! the transformer and SNS delivery are the emulator's own.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use serde_json::json;
use vpc_creation_approved::RULE_TOML;
use workspace_tests::config_service::{ConfigService, ResourceCompliance};
use workspace_tests::emulator::{Account, Emulator, REGION};
use workspace_tests::eventbridge::{self, ComplianceChange};
use workspace_tests::org::ACCESS_ROLE;
use workspace_tests::recorder;

use crate::deployer::deployer_for;
use crate::faults::small_organisation;

const SETTINGS: &str = r#"
[organization]
role-name = "OrganizationAccountAccessRole"
regions = ["us-east-1"]
target-ous = ["Workloads"]

[artifacts]
distribution = "per-account"

[notifications]
emails = ["cloud-security@example.com"]

[rules.vpc-creation-approved]
"#;

/// A member account in which the deployer applied [`SETTINGS`].
async fn deployed_member() -> Account {
    let emulator = Emulator::from_env();
    let (org, _, members) = small_organisation(&emulator, 1).await;
    let deployer = deployer_for(&emulator, &org).await;
    deployer.write_settings(SETTINGS);
    let applied = deployer.apply();
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    Account {
        id: members[0].clone(),
        config: org.assume_role(&members[0], ACCESS_ROLE).await.unwrap(),
    }
}

async fn create_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str, tags: &[(&str, &str)]) -> String {
    let mut request = ec2.create_vpc().cidr_block(cidr);
    if !tags.is_empty() {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Vpc);
        for (key, value) in tags {
            spec = spec.tags(Tag::builder().key(*key).value(*value).build());
        }
        request = request.tag_specifications(spec.build());
    }
    let out = request.send().await.unwrap();
    out.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned()
}

/// Sends the `Config Rules Compliance Change` event Config would send for `result`.
async fn announce(
    account: &Account,
    rule_name: &str,
    resource_id: &str,
    result: &ResourceCompliance,
) {
    let change = ComplianceChange {
        account: &account.id,
        region: REGION,
        config_rule: rule_name,
        resource_type: "AWS::EC2::VPC",
        resource_id,
        compliance: &result.compliance,
        annotation: result.annotation.as_deref(),
    };
    eventbridge::announce(&account.config, &change)
        .await
        .unwrap();
}

/// Records each VPC now, runs the rule on it, and returns what Config then reports.
async fn evaluate(
    account: &Account,
    config: &ConfigService,
    meta: &RuleMeta,
    vpcs: &[&str],
) -> BTreeMap<String, ResourceCompliance> {
    let rule = config.deployed_rule(&meta.name).await.unwrap();
    for vpc in vpcs {
        let item = recorder::ec2::ec2_vpc(&account.config, &account.id, vpc)
            .await
            .unwrap();
        config
            .run_change_rule(&vpc_creation_approved::entry(), &rule, &item, Mode::Put)
            .await
            .unwrap();
    }
    config.compliance_by_resource(&meta.name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unapproved_vpc_is_reported_and_mailed_until_it_is_approved() {
    let account = deployed_member().await;
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let notification = eventbridge::compliance_notification(&account.config, &meta.name)
        .await
        .unwrap();
    assert_eq!(
        notification.pattern["detail"]["newEvaluationResult"],
        json!({ "complianceType": ["NON_COMPLIANT"] }),
        "the deployed rule lets NON_COMPLIANT changes through only: {notification:#?}"
    );
    let topic = notification.topic_arn.clone();
    let subscriptions = aws_sdk_sns::Client::new(&account.config)
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert!(
        subscriptions.subscriptions().iter().any(|s| {
            s.protocol() == Some("email") && s.endpoint() == Some("cloud-security@example.com")
        }),
        "the deployed topic mails the administrators: {subscriptions:?}"
    );
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let unapproved = create_vpc(&ec2, "10.51.0.0/16", &[("Name", "shadow-it")]).await;
    let approved = create_vpc(
        &ec2,
        "10.52.0.0/16",
        &[("custos:approved", "netops 2026-05-19 CHG-9")],
    )
    .await;
    let config = ConfigService::new(&account);

    let reported = evaluate(&account, &config, &meta, &[&unapproved, &approved]).await;
    for (vpc, result) in &reported {
        announce(&account, &meta.name, vpc, result).await;
    }

    assert_eq!(reported[&approved].compliance, "COMPLIANT", "{reported:?}");
    let result = &reported[&unapproved];
    assert_eq!(result.compliance, "NON_COMPLIANT");
    assert_eq!(
        result.annotation.as_deref(),
        Some(
            format!(
                "VPC {unapproved} (10.51.0.0/16) is not approved: tag it \
                 custos:approved=<who approved> to approve it, or delete it"
            )
            .as_str()
        )
    );
    let mail = messages(&topic).await;
    assert_eq!(
        mail.len(),
        1,
        "one email, for the unapproved VPC only: {mail:?}"
    );
    for must in [
        unapproved.as_str(),
        account.id.as_str(),
        REGION,
        "10.51.0.0/16",
    ] {
        assert!(mail[0].contains(must), "{must} not in {}", mail[0]);
    }

    ec2.create_tags()
        .resources(&unapproved)
        .tags(
            Tag::builder()
                .key("custos:approved")
                .value("alice 2026-05-20 CHG-11")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let after = evaluate(&account, &config, &meta, &[&unapproved]).await;
    announce(&account, &meta.name, &unapproved, &after[&unapproved]).await;

    assert_eq!(after[&unapproved].compliance, "COMPLIANT", "{after:?}");
    assert_eq!(
        after[&unapproved].annotation.as_deref(),
        Some("approved: custos:approved=alice 2026-05-20 CHG-11")
    );
    assert_eq!(messages(&topic).await.len(), 1, "approval sends no email");

    // A VPC deleted is NOT_APPLICABLE: no email either.
    let gone = ResourceCompliance {
        compliance: "NOT_APPLICABLE".to_owned(),
        annotation: None,
    };
    announce(&account, &meta.name, &approved, &gone).await;
    assert_eq!(messages(&topic).await.len(), 1, "a deletion sends no email");
}

/// The messages the emulator delivered to `topic`.
async fn messages(topic: &str) -> Vec<String> {
    Emulator::from_env().sns_messages(topic).await.unwrap()
}
