//! Observed SSM remediations: which run caused a change (pure), and the record made from
//! Config's answers (mocked with the documented shapes).

use aws_sdk_config::Client;
use aws_sdk_config::operation::describe_remediation_execution_status::{
    DescribeRemediationExecutionStatusError, DescribeRemediationExecutionStatusOutput,
};
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::types::error::NoSuchRemediationConfigurationException;
use aws_sdk_config::types::{
    ConfigurationItem as SdkItem, ConfigurationItemStatus, RemediationExecutionState,
    RemediationExecutionStatus, RemediationExecutionStep, RemediationExecutionStepState,
    ResourceType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::TimeZone;
use serde_json::json;

use super::*;

const RULE_TOML: &str = r#"
name = "bucket-rule"
description = "x"
resource-types = ["AWS::S3::Bucket"]
[trigger]
change = true
[remediation]
kind = "ssm"
document = "AWS-EnableS3BucketEncryption"
automatic = true
[remediation.parameters]
BucketName = "RESOURCE_ID"
"#;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 10, minute, 0).unwrap()
}

fn run(state: &str, minute: u32) -> RemediationRun {
    RemediationRun {
        state: state.to_owned(),
        invoked: at(minute),
        updated: Some(at(minute + 1)),
        steps: vec![("PutBucketEncryption".into(), "SUCCEEDED".into())],
    }
}

#[test]
fn the_run_between_the_two_snapshots_caused_the_change() {
    let runs = [run("SUCCEEDED", 5), run("SUCCEEDED", 20)];
    let found = causing_run(&runs, Some(at(10)), at(30)).unwrap();
    assert_eq!(found.invoked, at(20));
}

#[test]
fn a_run_older_than_the_previous_snapshot_is_not_recorded_again() {
    let runs = [run("SUCCEEDED", 5)];
    assert_eq!(causing_run(&runs, Some(at(10)), at(30)), None);
}

#[test]
fn failed_and_later_runs_caused_nothing() {
    let runs = [run("FAILED", 15), run("SUCCEEDED", 40)];
    assert_eq!(causing_run(&runs, Some(at(10)), at(30)), None);
}

fn time(minute: u32) -> SmithyTime {
    SmithyTime::from_secs(at(minute).timestamp())
}

fn history_item(minute: u32, configuration: &str, encryption: Option<&str>) -> SdkItem {
    let mut item = SdkItem::builder()
        .resource_type(ResourceType::Bucket)
        .resource_id("logs")
        .account_id("111122223333")
        .aws_region("eu-west-1")
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .configuration_item_capture_time(time(minute))
        .configuration(configuration);
    if let Some(e) = encryption {
        item = item.supplementary_configuration("ServerSideEncryptionConfiguration", e);
    }
    item.build()
}

fn current() -> ConfigurationItem {
    ConfigurationItem::from_json(json!({
        "resourceType": "AWS::S3::Bucket",
        "resourceId": "logs",
        "accountId": "111122223333",
        "awsRegion": "eu-west-1",
        "configurationItemStatus": "OK",
        "configurationItemCaptureTime": "2026-11-30T10:30:00Z",
        "configuration": {"name": "logs"},
        "supplementaryConfiguration": {
            "ServerSideEncryptionConfiguration": {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
        }
    }))
    .unwrap()
}

fn statuses(invoked: u32) -> DescribeRemediationExecutionStatusOutput {
    DescribeRemediationExecutionStatusOutput::builder()
        .remediation_execution_statuses(
            RemediationExecutionStatus::builder()
                .state(RemediationExecutionState::Succeeded)
                .invocation_time(time(invoked))
                .last_updated_time(time(invoked + 1))
                .step_details(
                    RemediationExecutionStep::builder()
                        .name("PutBucketEncryption")
                        .state(RemediationExecutionStepState::Succeeded)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// What a COMPLIANT result of the S3 rule for `current()` records, Config answering through
/// `client`.
async fn record_compliant(client: &Client) -> Option<RemediationRecord> {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    record_ssm_remediation(
        client,
        &meta,
        "bucket-rule",
        &current(),
        Compliance::Compliant,
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_change_a_remediation_caused_is_recorded_with_configs_items_before_and_after() {
    let status = mock!(Client::describe_remediation_execution_status)
        .match_requests(|r| {
            r.config_rule_name() == Some("bucket-rule")
                && r.resource_keys()
                    .first()
                    .is_some_and(|k| k.resource_id() == "logs")
        })
        .then_output(|| statuses(20));
    let history = mock!(Client::get_resource_config_history).then_output(|| {
        GetResourceConfigHistoryOutput::builder()
            .configuration_items(history_item(30, r#"{"name":"logs"}"#, Some("{}")))
            .configuration_items(history_item(10, r#"{"name":"logs"}"#, None))
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&status, &history]);

    let record = record_compliant(&client).await.expect("a record");

    assert_eq!(record.trigger, RemediationTrigger::Ssm);
    assert_eq!(
        (
            record.rule.as_str(),
            record.account.as_str(),
            record.region.as_str()
        ),
        ("bucket-rule", "111122223333", "eu-west-1")
    );
    assert_eq!(record.resource_id, "logs");
    assert_eq!(record.time, at(21));
    assert!(
        record.action.contains("AWS-EnableS3BucketEncryption")
            && record.action.contains("PutBucketEncryption SUCCEEDED"),
        "{}",
        record.action
    );
    assert_eq!(
        record.changed,
        ["supplementaryConfiguration.ServerSideEncryptionConfiguration"],
        "only the field the fix changed"
    );
    assert_eq!(
        record.before,
        json!({"supplementaryConfiguration": {"ServerSideEncryptionConfiguration": null}}),
        "before: the item recorded at 10:10, without encryption; the unchanged configuration is not copied"
    );
    assert_eq!(
        record.after["supplementaryConfiguration"]["ServerSideEncryptionConfiguration"]["rules"][0]
            ["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
        "AES256"
    );
}

#[tokio::test]
async fn a_later_change_of_a_remediated_resource_records_nothing_again() {
    let status = mock!(Client::describe_remediation_execution_status).then_output(|| statuses(5));
    let history = mock!(Client::get_resource_config_history).then_output(|| {
        GetResourceConfigHistoryOutput::builder()
            .configuration_items(history_item(30, r#"{"name":"logs"}"#, Some("{}")))
            .configuration_items(history_item(10, r#"{"name":"logs"}"#, Some("{}")))
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&status, &history]);
    assert_eq!(record_compliant(&client).await, None);
}

#[tokio::test]
async fn without_a_remediation_configuration_there_is_nothing_to_record() {
    let status = mock!(Client::describe_remediation_execution_status).then_error(|| {
        DescribeRemediationExecutionStatusError::NoSuchRemediationConfigurationException(
            NoSuchRemediationConfigurationException::builder()
                .message("No RemediationConfiguration for rule exists.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&status]);
    assert_eq!(record_compliant(&client).await, None);
    assert_eq!(status.num_calls(), 1);
}

#[tokio::test]
async fn non_compliant_results_and_rules_without_an_ssm_document_make_no_call() {
    let status = mock!(Client::describe_remediation_execution_status).then_output(|| statuses(20));
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&status]);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let plain = RuleMeta::from_toml(
        "name = \"p\"\ndescription = \"x\"\nresource-types = [\"AWS::S3::Bucket\"]\n[trigger]\nchange = true\n",
    )
    .unwrap();
    for (meta, compliance) in [
        (&meta, Compliance::NonCompliant),
        (&plain, Compliance::Compliant),
    ] {
        let record =
            record_ssm_remediation(&client, meta, "bucket-rule", &current(), compliance, None)
                .await
                .unwrap();
        assert_eq!(record, None);
    }
    assert_eq!(status.num_calls(), 0);
}
