//! StackSet calls against documented responses, where the emulator does not behave like AWS
//! (it runs targets one at a time and its `DeleteStackSet` answer lacks its result element).

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_stack_set::DeleteStackSetError;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::operation::update_stack_set::{
    UpdateStackSetError, UpdateStackSetOutput,
};
use aws_sdk_cloudformation::types::error::{
    OperationInProgressException, StackSetNotFoundException,
};
use aws_sdk_cloudformation::types::{
    StackSetOperation, StackSetOperationResultStatus, StackSetOperationResultSummary,
    StackSetOperationStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

use super::*;
use crate::desired::{PermissionModel, StackSetSpec};
use crate::render::TemplateId;

fn fast() -> Polling {
    Polling {
        first: Duration::from_millis(1),
        longest: Duration::from_millis(2),
        give_up_after: Duration::from_secs(5),
    }
}

fn spec() -> StackSetSpec {
    StackSetSpec {
        name: "custos-rule-a".into(),
        template: TemplateId::Rule("a".into()),
        permission_model: PermissionModel::ServiceManaged,
        description: "Custos rule a".into(),
        body: "{}".into(),
        parameters: BTreeMap::new(),
        retain_stacks_on_account_removal: false,
        instances: BTreeMap::new(),
        partial_ous: std::collections::BTreeSet::new(),
    }
}

fn in_progress() -> UpdateStackSetError {
    UpdateStackSetError::OperationInProgressException(
        OperationInProgressException::builder()
            .message("Another Operation on StackSet custos-rule-a is in progress")
            .meta(
                ErrorMetadata::builder()
                    .code("OperationInProgressException")
                    .build(),
            )
            .build(),
    )
}

fn preferences() -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder().build()
}

#[tokio::test]
async fn an_operation_in_progress_is_waited_for_then_started() {
    let update = mock!(Client::update_stack_set)
        .sequence()
        .error(in_progress)
        .times(2)
        .output(|| UpdateStackSetOutput::builder().operation_id("op-2").build())
        .build();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&update]);
    let operation = update_stack_set(&client, &spec(), Caller::default(), &preferences(), fast())
        .await
        .unwrap();
    assert_eq!(operation, "op-2");
    assert_eq!(update.num_calls(), 3);
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let update = mock!(Client::update_stack_set).then_error(|| {
        UpdateStackSetError::StackSetNotFoundException(
            StackSetNotFoundException::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("StackSetNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&update]);
    let err = update_stack_set(&client, &spec(), Caller::default(), &preferences(), fast())
        .await
        .unwrap_err();
    assert!(err.is("StackSetNotFoundException"), "{err}");
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn waiting_ends_with_the_operation_and_reports_each_target() {
    let operation = |status: StackSetOperationStatus| {
        move || {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(StackSetOperation::builder().status(status.clone()).build())
                .build()
        }
    };
    let describe = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(operation(StackSetOperationStatus::Queued))
        .output(operation(StackSetOperationStatus::Running))
        .output(operation(StackSetOperationStatus::Failed))
        .build();
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        let result = |account: &str, status, reason: Option<&str>| {
            StackSetOperationResultSummary::builder()
                .account(account)
                .region("eu-west-1")
                .status(status)
                .set_status_reason(reason.map(str::to_owned))
                .build()
        };
        ListStackSetOperationResultsOutput::builder()
            .summaries(result(
                "333333333333",
                StackSetOperationResultStatus::Failed,
                Some("AccessDenied"),
            ))
            .summaries(result(
                "222222222222",
                StackSetOperationResultStatus::Succeeded,
                None,
            ))
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &results]
    );
    let outcome = wait(&client, "custos-rule-a", "op-1", CallAs::SelfValue, fast())
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 3);
    assert_eq!(outcome.status, "FAILED");
    // Sorted by account, whatever order the service listed them in.
    assert_eq!(
        outcome.results,
        [
            TargetResult {
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                status: "SUCCEEDED".into(),
                reason: None,
            },
            TargetResult {
                account: "333333333333".into(),
                region: "eu-west-1".into(),
                status: "FAILED".into(),
                reason: Some("AccessDenied".into()),
            },
        ]
    );
}

/// `DeleteStackSet` as the emulator answers it: no `DeleteStackSetResult` element.
fn deletion_without_result() -> Response {
    Response::new(
        StatusCode::try_from(200).unwrap(),
        SdkBody::from(
            "<DeleteStackSetResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
             <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\
             </DeleteStackSetResponse>",
        ),
    )
}

#[tokio::test]
async fn a_deletion_answer_without_its_result_element_is_accepted() {
    let delete = mock!(Client::delete_stack_set).then_http_response(deletion_without_result);
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&delete]);
    delete_stack_set(&client, "custos-rule-a", CallAs::SelfValue, fast())
        .await
        .unwrap();
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_stack_set_already_gone_counts_as_deleted() {
    let delete = mock!(Client::delete_stack_set).then_error(|| {
        // Not in DeleteStackSet's model; AWS sends it as an unmodelled error code.
        DeleteStackSetError::generic(
            ErrorMetadata::builder()
                .code("StackSetNotFoundException")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&delete]);
    delete_stack_set(&client, "custos-rule-a", CallAs::SelfValue, fast())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_call_log_counts_writes_and_reads_by_operation() {
    let update = mock!(Client::update_stack_set)
        .sequence()
        .error(in_progress)
        .output(|| UpdateStackSetOutput::builder().operation_id("op-2").build())
        .build();
    let log = crate::aws::CallLog::default();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        [&update],
        |config| config.interceptor(log.clone())
    );
    update_stack_set(&client, &spec(), Caller::default(), &preferences(), fast())
        .await
        .unwrap();
    let counts = log.counts();
    // Each attempt is an operation of its own: the refused one and the one that started.
    assert_eq!(
        counts.writes,
        BTreeMap::from([("CloudFormation:UpdateStackSet".to_owned(), 2)])
    );
    assert!(counts.reads.is_empty());
}

#[test]
fn a_delegated_administrator_addresses_service_managed_sets_only_as_delegated() {
    let delegated = Caller {
        delegated_admin: true,
    };
    assert_eq!(
        delegated.call_as(PermissionModel::ServiceManaged),
        CallAs::DelegatedAdmin
    );
    assert_eq!(
        delegated.call_as(PermissionModel::SelfManaged),
        CallAs::SelfValue
    );
    assert_eq!(
        Caller::default().call_as(PermissionModel::ServiceManaged),
        CallAs::SelfValue
    );
}

#[tokio::test]
async fn a_delegated_administrator_updates_a_service_managed_set_as_delegated() {
    let update = mock!(Client::update_stack_set)
        .match_requests(|r| r.call_as() == Some(&CallAs::DelegatedAdmin))
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op-1").build());
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&update]);
    let caller = Caller {
        delegated_admin: true,
    };
    let operation = update_stack_set(&client, &spec(), caller, &preferences(), fast())
        .await
        .unwrap();
    assert_eq!(operation, "op-1");
}

#[tokio::test]
async fn a_delegated_administrator_sees_its_own_and_the_organisations_stack_sets() {
    use aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetOutput;
    use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
    use aws_sdk_cloudformation::operation::list_stack_sets::ListStackSetsOutput;
    use aws_sdk_cloudformation::types::{StackSet, StackSetSummary};

    let summary = |name: &str, model: PermissionModels| {
        StackSetSummary::builder()
            .stack_set_name(name)
            .permission_model(model)
            .status(StackSetStatus::Active)
            .build()
    };
    let own = mock!(Client::list_stack_sets)
        .match_requests(|r| r.call_as() == Some(&CallAs::SelfValue))
        .then_output(move || {
            ListStackSetsOutput::builder()
                .summaries(summary(
                    "custos-rule-a-accounts",
                    PermissionModels::SelfManaged,
                ))
                .summaries(summary("someone-elses", PermissionModels::SelfManaged))
                .build()
        });
    let organisation = mock!(Client::list_stack_sets)
        .match_requests(|r| r.call_as() == Some(&CallAs::DelegatedAdmin))
        .then_output(move || {
            ListStackSetsOutput::builder()
                .summaries(summary("custos-rule-a", PermissionModels::ServiceManaged))
                .build()
        });
    let describe = mock!(Client::describe_stack_set).then_compute_output(|r| {
        let name = r.stack_set_name().unwrap_or_default().to_owned();
        let model = if r.call_as() == Some(&CallAs::DelegatedAdmin) {
            PermissionModels::ServiceManaged
        } else {
            PermissionModels::SelfManaged
        };
        DescribeStackSetOutput::builder()
            .stack_set(
                StackSet::builder()
                    .stack_set_name(name)
                    .permission_model(model)
                    .build(),
            )
            .build()
    });
    let instances = mock!(Client::list_stack_instances)
        .match_requests(|r| {
            let delegated = r.call_as() == Some(&CallAs::DelegatedAdmin);
            delegated == (r.stack_set_name() == Some("custos-rule-a"))
        })
        .then_output(|| ListStackInstancesOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&own, &organisation, &describe, &instances]
    );

    let observed = observe(
        &client,
        "custos-",
        Caller {
            delegated_admin: true,
        },
    )
    .await
    .unwrap();

    let models: Vec<(&str, PermissionModel)> = observed
        .iter()
        .map(|(name, set)| (name.as_str(), set.permission_model))
        .collect();
    assert_eq!(
        models,
        [
            ("custos-rule-a", PermissionModel::ServiceManaged),
            ("custos-rule-a-accounts", PermissionModel::SelfManaged)
        ]
    );
    assert_eq!(instances.num_calls(), 2);
}
