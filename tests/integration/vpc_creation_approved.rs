//! vpc-creation-approved end to end: VPCs in an account, the rule run on items recorded from
//! their live state, Config's verdict read back, and the administrators' email: an EventBridge
//! rule with the SDK's compliance-change pattern and input transformer, sending to an SNS topic
//! with an email subscription, as the deployer renders it.
//!
//! The emulator's Config emits no compliance-change events, so the harness sends the event
//! Config would send (source `aws.config`) for each result Config reports; EventBridge matching,
//! the transformer and SNS delivery are the emulator's own.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_eventbridge::types::{InputTransformer, PutEventsRequestEntry, Target};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::notify::{compliance_change_pattern, compliance_change_transformer};
use config_rule_sdk::runtime::Mode;
use serde_json::json;
use vpc_creation_approved::{RULE_TOML, VpcCreationApproved};
use workspace_tests::config_service::{ConfigService, ResourceCompliance, function_arn};
use workspace_tests::emulator::{Account, Emulator, REGION};
use workspace_tests::{recorder, unique_name};

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

/// An SNS topic with an email subscription, and the EventBridge rule that sends it this rule's
/// NON_COMPLIANT changes, rendered from the SDK's pattern and transformer.
async fn administrators_mail(account: &Account, rule_name: &str) -> String {
    let sns = aws_sdk_sns::Client::new(&account.config);
    let topic = sns
        .create_topic()
        .name(unique_name("custos-notifications"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("email")
        .endpoint("cloud-security@example.com")
        .send()
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&account.config);
    let name = unique_name("custos-compliance-changes");
    events
        .put_rule()
        .name(&name)
        .event_pattern(compliance_change_pattern(&[rule_name], &["NON_COMPLIANT"]).to_string())
        .send()
        .await
        .unwrap();
    let (paths, template) = compliance_change_transformer();
    let paths: HashMap<String, String> = paths
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let transformer = InputTransformer::builder()
        .set_input_paths_map(Some(paths))
        .input_template(template)
        .build()
        .unwrap();
    let target = Target::builder()
        .id("administrators")
        .arn(&topic)
        .input_transformer(transformer)
        .build()
        .unwrap();
    events
        .put_targets()
        .rule(&name)
        .targets(target)
        .send()
        .await
        .unwrap();
    topic
}

/// Sends the `Config Rules Compliance Change` event Config would send for `result`.
async fn announce(
    account: &Account,
    rule_name: &str,
    resource_id: &str,
    result: &ResourceCompliance,
) {
    let detail = json!({
        "resourceId": resource_id,
        "awsRegion": REGION,
        "awsAccountId": account.id,
        "configRuleName": rule_name,
        "recordVersion": "1.0",
        "messageType": "ComplianceChangeNotification",
        "resourceType": "AWS::EC2::VPC",
        "newEvaluationResult": {
            "complianceType": result.compliance,
            "annotation": result.annotation,
        },
    });
    let entry = PutEventsRequestEntry::builder()
        .source("aws.config")
        .detail_type("Config Rules Compliance Change")
        .detail(detail.to_string())
        .build();
    let out = aws_sdk_eventbridge::Client::new(&account.config)
        .put_events()
        .entries(entry)
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_entry_count(), 0);
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
            .run_change_rule(&VpcCreationApproved, meta, &rule, &item, Mode::Put)
            .await
            .unwrap();
    }
    config.compliance_by_resource(&meta.name).await.unwrap()
}

#[tokio::test]
async fn an_unapproved_vpc_is_reported_and_mailed_until_it_is_approved() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let unapproved = create_vpc(&ec2, "10.51.0.0/16", &[("Name", "shadow-it")]).await;
    let approved = create_vpc(
        &ec2,
        "10.52.0.0/16",
        &[("custos:approved", "netops 2026-05-19 CHG-9")],
    )
    .await;
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let topic = administrators_mail(&account, &meta.name).await;
    let config = ConfigService::new(&account);
    config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&account.id, &meta.name),
            &meta.resource_types,
            &BTreeMap::new(),
        )
        .await
        .unwrap();

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
}

/// The messages the emulator delivered to `topic`.
async fn messages(topic: &str) -> Vec<String> {
    Emulator::from_env().sns_messages(topic).await.unwrap()
}
