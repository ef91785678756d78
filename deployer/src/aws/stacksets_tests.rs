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

/// The write ids these tests send with.
const OURS: &str = "0d6c9d3e-5f55-4d3a-9a1e-5b8f2a3c4d5e";

fn write(call_as: CallAs) -> Write {
    Write {
        id: OURS.to_owned(),
        call_as,
        polling: fast(),
    }
}

fn claim() -> Claim {
    Claim {
        deployment_id: "111111111111".into(),
        adopt: false,
    }
}

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
        tags: BTreeMap::from([("custos:managed".into(), "111111111111".into())]),
        config_rule: None,
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
    let sets = StackSets::same(client);
    let operation = update_stack_set(
        &sets,
        &spec(),
        &preferences(),
        None,
        &write(CallAs::SelfValue),
    )
    .await
    .unwrap();
    assert_eq!(
        operation, OURS,
        "the operation is known by the id the deployer chose"
    );
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
    let sets = StackSets::same(client);
    let err = update_stack_set(
        &sets,
        &spec(),
        &preferences(),
        None,
        &write(CallAs::SelfValue),
    )
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
    delete_stack_set(
        &StackSets::same(client),
        "custos-rule-a",
        &write(CallAs::SelfValue),
    )
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
    delete_stack_set(
        &StackSets::same(client),
        "custos-rule-a",
        &write(CallAs::SelfValue),
    )
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
    let sets = StackSets::same(client);
    update_stack_set(
        &sets,
        &spec(),
        &preferences(),
        None,
        &write(CallAs::SelfValue),
    )
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
    let call_as = caller.call_as(spec().permission_model);
    let operation = update_stack_set(
        &StackSets::same(client),
        &spec(),
        &preferences(),
        None,
        &write(call_as),
    )
    .await
    .unwrap();
    assert_eq!(operation, OURS);
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
                    .tags(
                        Tag::builder()
                            .key("custos:managed")
                            .value("111111111111")
                            .build(),
                    )
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

    let (observed, foreign) = observe(
        &client,
        "custos-",
        Caller {
            delegated_admin: true,
        },
        &claim(),
    )
    .await
    .unwrap();
    assert_eq!(foreign, []);

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

#[tokio::test]
async fn a_stack_set_without_this_deployments_tag_is_reported_and_never_read_further() {
    use aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetOutput;
    use aws_sdk_cloudformation::operation::list_stack_sets::ListStackSetsOutput;
    use aws_sdk_cloudformation::types::{StackSet, StackSetSummary};

    let list = mock!(Client::list_stack_sets).then_output(|| {
        let summary = |name: &str| {
            StackSetSummary::builder()
                .stack_set_name(name)
                .permission_model(PermissionModels::SelfManaged)
                .status(StackSetStatus::Active)
                .build()
        };
        ListStackSetsOutput::builder()
            .summaries(summary("custos-other-team"))
            .summaries(summary("custos-untagged"))
            .summaries(summary("custos-legacy"))
            .build()
    });
    let describe = mock!(Client::describe_stack_set).then_compute_output(|r| {
        let name = r.stack_set_name().unwrap_or_default().to_owned();
        let owner = match name.as_str() {
            "custos-other-team" => Some("staging"),
            "custos-legacy" => Some("true"),
            _ => None,
        };
        let mut set = StackSet::builder().stack_set_name(name);
        if let Some(owner) = owner {
            set = set.tags(Tag::builder().key("custos:managed").value(owner).build());
        }
        DescribeStackSetOutput::builder()
            .stack_set(set.build())
            .build()
    });
    // No instance listing is mocked: reading a foreign set further would fail the test.
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&list, &describe]
    );
    let (ours, foreign) = observe(&client, "custos-", Caller::default(), &claim())
        .await
        .unwrap();
    assert!(ours.is_empty(), "{ours:?}");
    let lines: Vec<String> = foreign.iter().map(Foreign::line).collect();
    assert_eq!(
        lines,
        [
            "stack set custos-other-team: not managed by this deployment, left alone (it belongs \
             to deployment staging)",
            "stack set custos-untagged: not managed by this deployment, left alone (it carries no \
             Custos owner)",
            "stack set custos-legacy: not managed by this deployment, left alone (made by an \
             earlier Custos (custos:managed=true); `--adopt` takes it over)",
        ]
    );
}

/// An answer of the script: status and body, or `None` for a connection lost after the
/// request was sent.
type Answer = Option<(u16, String)>;

/// CloudFormation answering from a script, one answer per call in order, recording each
/// request's body.
#[derive(Debug, Clone, Default)]
struct Scripted {
    answers: std::sync::Arc<std::sync::Mutex<Vec<Answer>>>,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Scripted {
    fn new(answers: Vec<Option<(u16, &str)>>) -> Self {
        let mut answers: Vec<Answer> = answers
            .into_iter()
            .map(|a| a.map(|(s, b)| (s, b.to_owned())))
            .collect();
        answers.reverse();
        Self {
            answers: std::sync::Arc::new(std::sync::Mutex::new(answers)),
            bodies: std::sync::Arc::default(),
        }
    }

    fn actions(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                b.split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

impl aws_smithy_runtime_api::client::http::HttpConnector for Scripted {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use aws_smithy_runtime_api::client::http::HttpConnectorFuture;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        self.bodies.lock().unwrap().push(body);
        let answer = self
            .answers
            .lock()
            .unwrap()
            .pop()
            .expect("an answer for every call");
        HttpConnectorFuture::ready(match answer {
            Some((status, body)) => Ok(
                aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
                    StatusCode::try_from(status).unwrap(),
                    SdkBody::from(body),
                ),
            ),
            None => Err(ConnectorError::io(
                "connection closed before the answer".into(),
            )),
        })
    }
}

async fn scripted(connector: &Scripted) -> StackSets {
    use aws_smithy_runtime_api::client::http::{SharedHttpConnector, http_client_fn};
    let connector = SharedHttpConnector::new(connector.clone());
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    StackSets::same(Client::new(&config))
}

const NS: &str = "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"";

fn started() -> String {
    format!(
        "<CreateStackInstancesResponse {NS}><CreateStackInstancesResult><OperationId>{OURS}</OperationId></CreateStackInstancesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateStackInstancesResponse>"
    )
}

fn operation(status: &str) -> String {
    format!(
        "<DescribeStackSetOperationResponse {NS}><DescribeStackSetOperationResult><StackSetOperation><OperationId>{OURS}</OperationId><Action>CREATE</Action><Status>{status}</Status></StackSetOperation></DescribeStackSetOperationResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackSetOperationResponse>"
    )
}

fn error(code: &str) -> String {
    format!(
        "<ErrorResponse {NS}><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

fn instance_change() -> InstanceChange {
    InstanceChange {
        stack_set: "custos-rule-a".into(),
        ous: std::collections::BTreeSet::new(),
        accounts: std::collections::BTreeSet::from(["222222222222".to_owned()]),
        filter: None,
        regions: std::collections::BTreeSet::from(["eu-west-1".to_owned()]),
        overrides: BTreeMap::new(),
        instances: std::collections::BTreeSet::from([InstanceKey {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
        }]),
        reason: "new target".into(),
    }
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_looked_up_and_not_sent_again() {
    let cloudformation = Scripted::new(vec![None, Some((200, &operation("RUNNING")))]);
    let sets = scripted(&cloudformation).await;
    let operation = create_instances(
        &sets,
        &instance_change(),
        &preferences(),
        &write(CallAs::SelfValue),
    )
    .await
    .unwrap();
    assert_eq!(operation, OURS);
    assert_eq!(
        cloudformation.actions(),
        ["CreateStackInstances", "DescribeStackSetOperation"]
    );
    let bodies = cloudformation.bodies.lock().unwrap().clone();
    assert!(
        bodies[0].contains(&format!("OperationId={OURS}")),
        "{}",
        bodies[0]
    );
    assert!(
        bodies[1].contains(&format!("OperationId={OURS}")),
        "{}",
        bodies[1]
    );
}

#[tokio::test]
async fn a_write_that_was_not_carried_out_is_sent_again_with_the_same_id() {
    let cloudformation = Scripted::new(vec![
        None,
        Some((400, &error("OperationNotFoundException"))),
        Some((200, &started())),
    ]);
    let sets = scripted(&cloudformation).await;
    create_instances(
        &sets,
        &instance_change(),
        &preferences(),
        &write(CallAs::SelfValue),
    )
    .await
    .unwrap();
    assert_eq!(
        cloudformation.actions(),
        [
            "CreateStackInstances",
            "DescribeStackSetOperation",
            "CreateStackInstances"
        ]
    );
    let bodies = cloudformation.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies[0], bodies[2],
        "the same request, the same operation id"
    );
}

#[tokio::test]
async fn a_retried_write_that_aws_already_started_is_taken_as_started() {
    // AWS's answer when an operation id was used already: the first attempt was carried out.
    let cloudformation = Scripted::new(vec![
        Some((500, &error("InternalFailure"))),
        Some((400, &error("OperationNotFoundException"))),
        Some((400, &error("OperationIdAlreadyExistsException"))),
    ]);
    let sets = scripted(&cloudformation).await;
    let operation = create_instances(
        &sets,
        &instance_change(),
        &preferences(),
        &write(CallAs::SelfValue),
    )
    .await
    .unwrap();
    assert_eq!(operation, OURS);
    assert_eq!(cloudformation.actions().len(), 3);
}

#[tokio::test]
async fn a_lost_answer_that_cannot_be_looked_up_is_never_sent_again() {
    let cloudformation = Scripted::new(vec![None, Some((403, &error("AccessDenied")))]);
    let sets = scripted(&cloudformation).await;
    let err = create_instances(
        &sets,
        &instance_change(),
        &preferences(),
        &write(CallAs::SelfValue),
    )
    .await
    .unwrap_err();
    assert!(err.message.contains("was not sent again"), "{err}");
    assert_eq!(
        cloudformation.actions(),
        ["CreateStackInstances", "DescribeStackSetOperation"]
    );
}

#[tokio::test]
async fn a_wait_ends_at_its_limit_naming_what_still_runs() {
    let describe = mock!(Client::describe_stack_set_operation)
        .match_requests(|_| true)
        .then_output(|| {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(
                    StackSetOperation::builder()
                        .status(StackSetOperationStatus::Running)
                        .build(),
                )
                .build()
        });
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("222222222222")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Succeeded)
                    .build(),
            )
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("333333333333")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Running)
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &results]
    );
    let polling = Polling {
        first: Duration::from_millis(1),
        longest: Duration::from_millis(2),
        give_up_after: Duration::from_millis(20),
    };
    let err = wait(&client, "custos-rule-a", "op-1", CallAs::SelfValue, polling)
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("operation op-1 on custos-rule-a is still RUNNING after 0 minutes"),
        "{err}"
    );
    assert!(
        err.message
            .ends_with("still running in: 333333333333/eu-west-1"),
        "{err}"
    );
}
