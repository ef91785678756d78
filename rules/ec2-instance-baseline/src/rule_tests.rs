use std::sync::{Arc, Mutex};

use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::types::{ConfigurationItem, ConfigurationItemStatus, ResourceType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use config_rule_sdk::Mode;
use config_rule_sdk::aws::Edge;
use config_rule_sdk::{Compliance, RuleMeta, testing};
use serde_json::{Value, json};

use super::*;

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

#[test]
fn fixtures() {
    let meta = meta();
    insta::glob!("../fixtures", "*.json", |path| {
        insta::assert_yaml_snapshot!(testing::check_file(&Ec2InstanceBaseline, &meta, path));
    });
}

#[test]
fn rule_toml_and_params_agree() {
    testing::check_params_agree::<Params>(&meta());
}

/// Resource type, resource id and limit of one `GetResourceConfigHistory` request.
type HistoryRequest = (String, String, Option<i32>);

/// An oversized notification carries only a summary; the rule must judge the item Config
/// returns from `GetResourceConfigHistory`, where `configuration` is a JSON string.
#[tokio::test]
async fn an_oversized_instance_is_fetched_and_judged_on_its_full_item() {
    let configuration = json!({
        "instanceId": "i-0fedcba9876543210",
        "state": {"code": 16, "name": "running"},
        "securityGroups": [{"groupId": "sg-0b0b0b0b0b0b0b0b0", "groupName": "web"}],
        "tags": [{"key": "Owner", "value": "alice"}],
    });
    let asked: Arc<Mutex<Vec<HistoryRequest>>> = Arc::default();
    let seen = asked.clone();
    let history = mock!(aws_sdk_config::Client::get_resource_config_history).then_compute_output(
        move |req| {
            seen.lock().unwrap().push((
                req.resource_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                req.resource_id().unwrap_or_default().to_owned(),
                req.limit(),
            ));
            let item = ConfigurationItem::builder()
                .resource_type(ResourceType::Instance)
                .resource_id("i-0fedcba9876543210")
                .account_id("123456789012")
                .aws_region("us-east-1")
                .configuration_item_status(ConfigurationItemStatus::Ok)
                .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(
                    1_779_264_930,
                ))
                .configuration(configuration.to_string())
                .tags("Owner", "alice")
                .build();
            GetResourceConfigHistoryOutput::builder()
                .configuration_items(item)
                .build()
        },
    );
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history]);
    let sdk_config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let edge = Edge::with_config_client(sdk_config, client);
    let summary = json!({
        "changeType": "UPDATE",
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2026-05-20T08:15:30.123Z",
        "awsAccountId": "123456789012",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::EC2::Instance",
        "resourceId": "i-0fedcba9876543210",
        "ARN": "arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210",
        "awsRegion": "us-east-1",
    });
    let event = oversized_event(&summary);

    let evaluations = entry().handle(event, &edge, Mode::DryRun).await.unwrap();

    assert_eq!(
        *asked.lock().unwrap(),
        vec![(
            "AWS::EC2::Instance".to_owned(),
            "i-0fedcba9876543210".to_owned(),
            Some(1)
        )]
    );
    assert_eq!(evaluations.len(), 1);
    let evaluation = &evaluations[0];
    assert_eq!(evaluation.compliance_resource_id, "i-0fedcba9876543210");
    assert_eq!(evaluation.compliance_type, Compliance::NonCompliant);
    assert_eq!(
        evaluation.annotation.as_ref().unwrap().as_str(),
        "missing required tags CostCenter; not in administrator security group \
         sg-0aaaa1111bbbb2222 (in sg-0b0b0b0b0b0b0b0b0)"
    );
}

fn oversized_event(summary: &Value) -> Value {
    let invoking = json!({
        "configurationItemSummary": summary,
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": "2026-05-20T08:16:01.000Z",
        "recordVersion": "1.0",
    });
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": json!({"adminSecurityGroupId": "sg-0aaaa1111bbbb2222"}).to_string(),
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
        "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abcdef",
        "configRuleName": "ec2-instance-baseline",
        "accountId": "123456789012",
        "version": "1.0",
    })
}

const SSM_DOCUMENT: &str = include_str!("../ssm/Custos-Ec2InstanceBaseline.yaml");

/// The document Config runs and the remediation declared in rule.toml must name the same
/// parameters, and the Lambda must read each one; a rename on one side breaks remediation in
/// AWS only, so it is caught here.
#[test]
fn the_ssm_document_passes_every_remediation_parameter_to_the_lambda() {
    let meta = meta();
    let remediation = meta
        .remediation
        .as_ref()
        .expect("rule.toml declares remediation");
    assert_eq!(
        remediation.document.as_deref(),
        Some("Custos-Ec2InstanceBaseline")
    );
    assert!(SSM_DOCUMENT.contains("schemaVersion: '0.3'"));
    assert!(SSM_DOCUMENT.contains("assumeRole: '{{ AutomationAssumeRole }}'"));
    assert_eq!(
        SSM_DOCUMENT
            .matches("action: aws:invokeLambdaFunction")
            .count(),
        1
    );
    for name in remediation.parameters.keys() {
        assert!(
            SSM_DOCUMENT.contains(&format!("\n  {name}:\n")),
            "the document declares no parameter {name}"
        );
        assert!(
            SSM_DOCUMENT.contains(&format!("{name}: '{{{{ {name} }}}}'")),
            "the document does not pass {name} to the Lambda"
        );
    }
    let mut input = serde_json::Map::new();
    for name in remediation.parameters.keys() {
        input.insert(name.clone(), json!("i-0123456789abcdef0"));
    }
    let request = remediation::lambda::Request::from_payload(Value::Object(input)).unwrap();
    assert_eq!(request.instance_id, "i-0123456789abcdef0");
    assert_eq!(
        remediation.parameters.keys().collect::<Vec<_>>(),
        ["InstanceId"],
        "the caller names the instance; every setting comes from the deployed rule"
    );
}
