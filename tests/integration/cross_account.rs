//! Rules run centrally: one function in the management account evaluates a member account's
//! resources by assuming the role named in `ExecutionRoleName` there, and puts the results into
//! that account's Config, never its own.

use std::collections::BTreeMap;

use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use s3_bucket_encryption::RULE_TOML;
use workspace_tests::config_service::{ConfigService, events, function_arn};
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::{now, recorder, unique_name};

/// A member account whose Config runs the central function with `ExecutionRoleName =
/// role_name`, and the result of running that function, with the management account's own
/// credentials, on a change of an unencrypted bucket in the member.
struct CentralRun {
    org: Organization,
    member_config: ConfigService,
    meta: RuleMeta,
    bucket: String,
    result: Result<Vec<config_rule_sdk::host::Evaluation>, config_rule_sdk::RuleError>,
}

async fn central_run(role_name: &str) -> CentralRun {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let member = org.create_member("workloads").await.unwrap();
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let member_config = ConfigService::new(&member);
    let parameters = BTreeMap::from([("ExecutionRoleName".to_owned(), role_name.to_owned())]);
    let rule = member_config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&org.management_account_id, &meta.name),
            &meta.resource_types,
            &parameters,
        )
        .await
        .unwrap();
    let bucket = unique_name("custos-central");
    aws_sdk_s3::Client::new(&member.config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let item = recorder::s3_bucket(&member.config, &member.id, &bucket)
        .await
        .unwrap();
    let event = events::change_event(&rule, &member.id, &item, now());
    let central = Edge::from_config(org.management_config().clone());
    let result = Box::pin(s3_bucket_encryption::entry().handle(event, &central, Mode::Put)).await;
    CentralRun {
        org,
        member_config,
        meta,
        bucket,
        result,
    }
}

#[tokio::test]
async fn a_central_rule_reports_into_the_member_account_through_the_execution_role() {
    let run = central_run(ACCESS_ROLE).await;
    run.result.unwrap();

    let in_member = run
        .member_config
        .compliance_by_resource(&run.meta.name)
        .await
        .unwrap();
    assert_eq!(
        in_member[&run.bucket].compliance, "NON_COMPLIANT",
        "{in_member:?}"
    );
    let management = Account {
        id: run.org.management_account_id.clone(),
        config: run.org.management_config().clone(),
    };
    let in_management = ConfigService::new(&management)
        .compliance_by_resource(&run.meta.name)
        .await
        .unwrap();
    assert!(
        in_management.is_empty(),
        "nothing lands in the central account: {in_management:?}"
    );
}

#[tokio::test]
async fn a_role_the_member_does_not_have_fails_the_invocation_and_puts_nothing() {
    let run = central_run("no-such-role").await;
    let err = run.result.unwrap_err();

    assert_eq!(err.kind(), "AwsError", "{err}");
    assert!(err.to_string().contains("PutEvaluations"), "{err}");
    assert!(
        run.member_config
            .compliance_by_resource(&run.meta.name)
            .await
            .unwrap()
            .is_empty()
    );
}
