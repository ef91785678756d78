//! Apply against CloudFormation's documented answers (the emulator runs one operation at a time
//! and never answers `OperationInProgressException`): a stack set busy with another operation
//! is waited for and the operation started again; a target that fails is reported for its
//! account while the other stack sets' changes go on, but no rule stack goes where its base
//! stack failed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::desired::{InstanceKey, PermissionModel};
use crate::plan::InstanceChange;
use crate::render::TemplateId;

const BUSY: &str = "custos-rule-busy";
const FAILING: &str = "custos-rule-failing";
const BASE: &str = "custos-base";

/// CloudFormation, answering the query protocol as AWS documents: `BUSY` is in the middle of
/// another operation for its first two `CreateStackInstances`; the operations of `FAILING` and
/// `BASE` fail in account 333333333333.
#[derive(Debug, Default, Clone)]
struct CloudFormation {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn field(body: &str, name: &str) -> String {
    body.split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

fn xml(status: u16, body: String) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

impl HttpConnector for CloudFormation {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())
            .unwrap_or_default()
            .to_owned();
        let (action, stack_set) = (field(&body, "Action"), field(&body, "StackSetName"));
        self.bodies.lock().unwrap().push(body.clone());
        let earlier = {
            let mut calls = self.calls.lock().unwrap();
            let earlier = calls
                .iter()
                .filter(|c| **c == (action.clone(), stack_set.clone()))
                .count();
            calls.push((action.clone(), stack_set.clone()));
            earlier
        };
        let ns = "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"";
        let meta = "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>";
        let response = match action.as_str() {
            "CreateStackInstances" if stack_set == BUSY && earlier < 2 => xml(
                409,
                format!(
                    "<ErrorResponse {ns}><Error><Type>Sender</Type><Code>OperationInProgressException</Code><Message>Another Operation on StackSet arn:aws:cloudformation:us-east-1:111111111111:stackset/{BUSY}:1 is in progress</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
                ),
            ),
            "CreateStackInstances" => xml(
                200,
                format!(
                    "<CreateStackInstancesResponse {ns}><CreateStackInstancesResult><OperationId>op-{stack_set}</OperationId></CreateStackInstancesResult>{meta}</CreateStackInstancesResponse>"
                ),
            ),
            "DescribeStackSetOperation" => {
                let status = if stack_set == FAILING || stack_set == BASE {
                    "FAILED"
                } else {
                    "SUCCEEDED"
                };
                xml(
                    200,
                    format!(
                        "<DescribeStackSetOperationResponse {ns}><DescribeStackSetOperationResult><StackSetOperation><OperationId>op-{stack_set}</OperationId><StackSetId>{stack_set}:1</StackSetId><Action>CREATE</Action><Status>{status}</Status></StackSetOperation></DescribeStackSetOperationResult>{meta}</DescribeStackSetOperationResponse>"
                    ),
                )
            }
            "ListStackSetOperationResults" => {
                let member = |account: &str, status: &str, reason: &str| {
                    format!(
                        "<member><Account>{account}</Account><Region>us-east-1</Region><Status>{status}</Status><StatusReason>{reason}</StatusReason></member>"
                    )
                };
                let members = if stack_set == FAILING || stack_set == BASE {
                    member("222222222222", "SUCCEEDED", "")
                        + &member(
                            "333333333333",
                            "FAILED",
                            "ResourceLogicalId:RuleFunction, ResourceType:AWS::Lambda::Function, ResourceStatusReason:Access denied.",
                        )
                } else {
                    member("222222222222", "SUCCEEDED", "")
                        + &member("333333333333", "SUCCEEDED", "")
                };
                xml(
                    200,
                    format!(
                        "<ListStackSetOperationResultsResponse {ns}><ListStackSetOperationResultsResult><Summaries>{members}</Summaries></ListStackSetOperationResultsResult>{meta}</ListStackSetOperationResultsResponse>"
                    ),
                )
            }
            other => panic!("unexpected CloudFormation call {other} on {stack_set}"),
        };
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn change(stack_set: &str) -> Change {
    let accounts: BTreeSet<String> = ["222222222222", "333333333333"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    Change::CreateInstances(InstanceChange {
        stack_set: stack_set.to_owned(),
        ous: BTreeSet::from(["ou-work".to_owned()]),
        accounts: BTreeSet::new(),
        filter: None,
        regions: BTreeSet::from(["us-east-1".to_owned()]),
        overrides: BTreeMap::new(),
        instances: accounts
            .iter()
            .map(|a| InstanceKey {
                account: a.clone(),
                region: "us-east-1".to_owned(),
            })
            .collect(),
        reason: "new target".to_owned(),
    })
}

fn spec(name: &str) -> StackSetSpec {
    StackSetSpec {
        name: name.to_owned(),
        template: TemplateId::Rule(name.to_owned()),
        permission_model: PermissionModel::ServiceManaged,
        description: name.to_owned(),
        body: "{}".to_owned(),
        parameters: BTreeMap::new(),
        retain_stacks_on_account_removal: false,
        instances: BTreeMap::new(),
        partial_ous: BTreeSet::new(),
        tags: BTreeMap::new(),
        config_rule: None,
    }
}

fn desired(names: &[&str]) -> Desired {
    Desired {
        stack_sets: names.iter().map(|n| ((*n).to_owned(), spec(n))).collect(),
        ..Desired::default()
    }
}

async fn context(cloudformation: &CloudFormation) -> ApplyContext {
    let connector = SharedHttpConnector::new(cloudformation.clone());
    let client: SharedHttpClient = http_client_fn(move |_, _| connector.clone());
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .http_client(client)
        .load()
        .await;
    let settings = Settings::parse(
        std::path::Path::new("deployer.toml"),
        "[organization]\nrole-name = \"OrganizationAccountAccessRole\"\nregions = [\"us-east-1\"]\ntarget-ous = [\"Workloads\"]\n",
        &crate::catalog::Catalog::discover(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut context = ApplyContext::new(
        Aws::from_config(config),
        "111111111111".to_owned(),
        &settings,
        BTreeMap::new(),
    );
    context.polling = Polling {
        first: Duration::from_millis(1),
        longest: Duration::from_millis(4),
        give_up_after: Duration::from_secs(5),
    };
    context
}

#[tokio::test]
async fn a_busy_stack_set_is_waited_for_and_a_failed_account_does_not_stop_the_others() {
    let cloudformation = CloudFormation::default();
    let changes = vec![change(BUSY), change(FAILING)];
    let results = apply(
        &context(&cloudformation).await,
        &desired(&[BUSY, FAILING]),
        &changes,
        false,
    )
    .await;

    let starts = |name: &str| {
        cloudformation
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, s)| a == "CreateStackInstances" && s == name)
            .count()
    };
    assert_eq!(
        starts(BUSY),
        3,
        "two answers of OperationInProgress, then started"
    );
    assert_eq!(starts(FAILING), 1);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].status, "SUCCEEDED", "{:?}", results[0]);
    assert_eq!(results[0].targets.len(), 2);
    assert_eq!(results[1].status, "FAILED", "{:?}", results[1]);
    assert_eq!(results[1].error, None, "the call worked; a target failed");

    // Per account: the failure is the failing account's, with CloudFormation's reason.
    let mut org = crate::org::fixture::organization();
    org.accounts.retain(|id, _| id != "444444444444");
    let accounts = crate::output::account_results(&org, &results);
    let failed: Vec<(&str, usize)> = accounts
        .iter()
        .map(|a| (a.account.as_str(), a.failed))
        .collect();
    assert_eq!(failed, [("222222222222", 0), ("333333333333", 1)]);
    assert!(
        accounts[1].failures[0].contains("Access denied"),
        "{:?}",
        accounts[1]
    );
}

#[tokio::test]
async fn no_rule_stack_goes_where_the_base_stack_failed() {
    let cloudformation = CloudFormation::default();
    let rule = "custos-rule-ok";
    let changes = vec![change(BASE), change(rule)];
    let results = apply(
        &context(&cloudformation).await,
        &desired(&[BASE, rule]),
        &changes,
        false,
    )
    .await;

    // The rule's instances were created in the account whose base succeeded only.
    let bodies = cloudformation.bodies.lock().unwrap().clone();
    let rule_create = bodies
        .iter()
        .find(|b| b.contains("Action=CreateStackInstances") && b.contains(rule))
        .unwrap();
    assert!(rule_create.contains("222222222222"), "{rule_create}");
    assert!(!rule_create.contains("333333333333"), "{rule_create}");
    // The report says which phase failed where.
    let skipped: Vec<(&str, &str, Option<&str>)> = results[1]
        .targets
        .iter()
        .map(|t| (t.account.as_str(), t.status.as_str(), t.reason.as_deref()))
        .filter(|(_, status, _)| *status == "SKIPPED")
        .collect();
    assert_eq!(
        skipped,
        [(
            "333333333333",
            "SKIPPED",
            Some("the base stack failed in 333333333333/us-east-1")
        )]
    );
    assert_eq!(results[1].status, "FAILED");
    assert!(results[1].error.is_none(), "{:?}", results[1]);
}
