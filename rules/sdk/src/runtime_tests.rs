//! The handlers end to end, with Config mocked at the SDK boundary.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_config::Client;
use aws_sdk_config::operation::get_compliance_details_by_config_rule::GetComplianceDetailsByConfigRuleOutput;
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_config::types::{
    ComplianceType, ConfigurationItem as SdkItem, ConfigurationItemStatus, EvaluationResult,
    EvaluationResultIdentifier, EvaluationResultQualifier, ResourceType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::*;
use crate::aws::{AwsScope, Edge};
use crate::compliance::{Compliance, Verdict};
use crate::item::{Item, ResourceKey};
use crate::meta::RuleMeta;
use crate::rule::Finding;
use crate::rule::{PeriodicRule, Rule, RunContext};

/// Instances whose name tag says "bad" are non-compliant.
struct NamedInstances;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    instance_type: String,
}

impl Rule for NamedInstances {
    type Params = BTreeMap<String, String>;
    type Resource = Instance;

    fn evaluate(&self, item: &Item<Instance>, _: &Self::Params) -> Verdict {
        Verdict::non_compliant(format!("type {}", item.configuration.instance_type))
    }
}

async fn handle_change<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
) -> Result<Vec<Evaluation>, RuleError> {
    Box::pin(crate::entry::handle_change(
        rule, None, meta, event, edge, mode, None,
    ))
    .await
}

async fn handle_periodic<R: PeriodicRule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
) -> Result<Vec<Evaluation>, RuleError> {
    Box::pin(crate::entry::handle_periodic(
        rule, meta, event, edge, mode, None,
    ))
    .await
}

fn meta(resource_type: &str) -> RuleMeta {
    RuleMeta::from_toml(&format!(
        "name = \"named\"\ndescription = \"x\"\nresource-types = [\"{resource_type}\"]\n[trigger]\nchange = true\n"
    ))
    .unwrap()
}

fn example(name: &str) -> Value {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn no_params(mut event: Value) -> Value {
    event["ruleParameters"] = json!("{}");
    event
}

fn edge(client: Client) -> Edge {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Edge::with_config_client(config, client)
}

#[tokio::test]
async fn an_oversized_notification_fetches_the_item_with_one_history_call() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let history = mock!(Client::get_resource_config_history).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.resource_type().cloned(),
            req.resource_id().map(str::to_owned),
            req.limit(),
        ));
        GetResourceConfigHistoryOutput::builder()
            .configuration_items(
                SdkItem::builder()
                    .resource_type(ResourceType::Instance)
                    .resource_id("i-00000000")
                    .account_id("123456789012")
                    .aws_region("us-west-2")
                    .configuration_item_status(ConfigurationItemStatus::Ok)
                    .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(
                        1_475_772_376,
                    ))
                    .configuration("{\"instanceType\":\"x1e.32xlarge\"}")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history]);

    let out = handle_change(
        &NamedInstances,
        &meta("AWS::EC2::Instance"),
        no_params(example("oversized-notification.json")),
        &edge(client),
        Mode::DryRun,
    )
    .await
    .unwrap();

    assert_eq!(
        *requests.lock().unwrap(),
        vec![(
            Some(ResourceType::Instance),
            Some("i-00000000".to_owned()),
            Some(1)
        )]
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].annotation.as_ref().unwrap().as_str(),
        "type x1e.32xlarge"
    );
    assert_eq!(
        out[0].ordering_timestamp.timestamp(),
        1_475_772_376,
        "ordered by the fetched item's capture time"
    );
}

#[tokio::test]
async fn a_change_event_puts_one_evaluation_under_the_result_token() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = tokens.clone();
    let put = mock!(Client::put_evaluations).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.result_token().unwrap().to_owned(),
            req.evaluations().len(),
        ));
        PutEvaluationsOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put]);
    let mut event = no_params(example("change-notification.json"));
    let mut invoking: Value =
        serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItem"]["configuration"] = json!({"instanceType": "t3.micro"});
    event["invokingEvent"] = json!(invoking.to_string());

    handle_change(
        &NamedInstances,
        &meta("AWS::EC2::Instance"),
        event,
        &edge(client),
        Mode::Put,
    )
    .await
    .unwrap();

    assert_eq!(
        *tokens.lock().unwrap(),
        vec![("myResultToken".to_owned(), 1)]
    );
}

struct Strict;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

impl Rule for Strict {
    type Params = NoParams;
    type Resource = Value;
    fn evaluate(&self, _: &Item<Value>, _: &NoParams) -> Verdict {
        Verdict::compliant()
    }
}

#[tokio::test]
async fn invalid_parameters_put_nothing() {
    let put =
        mock!(Client::put_evaluations).then_output(|| PutEvaluationsOutput::builder().build());
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put]);

    let err = handle_change(
        &Strict,
        &meta("AWS::EC2::Instance"),
        example("change-notification.json"),
        &edge(client),
        Mode::Put,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), "InvalidParameter");
    assert!(err.to_string().contains("myParameterKey"), "{err}");
    assert_eq!(put.num_calls(), 0);
}

/// A periodic rule over N synthetic resources, all non-compliant.
struct Many(usize);

impl PeriodicRule for Many {
    type Params = BTreeMap<String, String>;
    type Facts = usize;

    async fn gather(
        &self,
        _: &AwsScope,
        _: &Self::Params,
        _: &RunContext<'_>,
    ) -> Result<usize, RuleError> {
        Ok(self.0)
    }

    fn evaluate(&self, n: &usize, _: &Self::Params, _: DateTime<Utc>) -> Vec<Finding> {
        (0..*n)
            .map(|i| {
                Finding::new(
                    ResourceKey::new("AWS::EC2::Instance", format!("i-{i:05}")),
                    Verdict::non_compliant("x"),
                )
            })
            .collect()
    }
}

fn previously(ids: &[&str]) -> GetComplianceDetailsByConfigRuleOutput {
    GetComplianceDetailsByConfigRuleOutput::builder()
        .set_evaluation_results(Some(
            ids.iter()
                .map(|id| {
                    EvaluationResult::builder()
                        .compliance_type(ComplianceType::NonCompliant)
                        .evaluation_result_identifier(
                            EvaluationResultIdentifier::builder()
                                .evaluation_result_qualifier(
                                    EvaluationResultQualifier::builder()
                                        .config_rule_name("periodic-config-rule")
                                        .resource_type("AWS::EC2::Instance")
                                        .resource_id(*id)
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                })
                .collect(),
        ))
        .build()
}

#[tokio::test]
async fn a_periodic_run_puts_ceil_n_over_100_batches_including_vanished_resources() {
    let history = mock!(Client::get_compliance_details_by_config_rule)
        .match_requests(|req| req.config_rule_name() == Some("periodic-config-rule"))
        .then_output(|| previously(&["i-00001", "i-gone-1", "i-gone-2"]));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let put = mock!(Client::put_evaluations).then_compute_output(move |req| {
        seen.lock()
            .unwrap()
            .extend(req.evaluations().iter().map(|e| {
                (
                    e.compliance_resource_id().to_owned(),
                    e.compliance_type().clone(),
                )
            }));
        PutEvaluationsOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
    let meta = RuleMeta::from_toml(
        "name = \"many\"\ndescription = \"x\"\n[trigger]\nperiodic = \"TwentyFour_Hours\"\n",
    )
    .unwrap();

    let out = handle_periodic(
        &Many(299),
        &meta,
        no_params(example("scheduled-notification.json")),
        &edge(client),
        Mode::Put,
    )
    .await
    .unwrap();

    assert_eq!(out.len(), 301, "299 findings and 2 vanished resources");
    assert_eq!(put.num_calls(), 4, "ceil(301 / 100)");
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 301, "every evaluation reaches Config once");
    let gone: Vec<_> = sent
        .iter()
        .filter(|(id, _)| id.starts_with("i-gone"))
        .collect();
    assert_eq!(gone.len(), 2);
    assert!(
        gone.iter()
            .all(|(_, c)| *c == ComplianceType::NotApplicable)
    );
    assert!(
        out.iter()
            .all(|e| e.ordering_timestamp.to_rfc3339() == "2016-07-13T21:50:00.373+00:00")
    );
    assert_eq!(
        out.iter()
            .filter(|e| e.compliance_type == Compliance::NonCompliant)
            .count(),
        299
    );
}

#[tokio::test]
async fn a_periodic_rule_refuses_a_change_notification() {
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, []);
    let meta = RuleMeta::from_toml(
        "name = \"many\"\ndescription = \"x\"\n[trigger]\nperiodic = \"One_Hour\"\n",
    )
    .unwrap();
    let err = handle_periodic(
        &Many(1),
        &meta,
        no_params(example("change-notification.json")),
        &edge(client),
        Mode::DryRun,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "UnexpectedTrigger");
}

/// Every instance is compliant; remediated by an AWS-owned SSM document.
struct Fine;

impl Rule for Fine {
    type Params = BTreeMap<String, String>;
    type Resource = Value;
    fn evaluate(&self, _: &Item<Value>, _: &Self::Params) -> Verdict {
        Verdict::compliant()
    }
}

fn ssm_remediated_meta() -> RuleMeta {
    RuleMeta::from_toml(
        "name = \"named\"\ndescription = \"x\"\nresource-types = [\"AWS::EC2::Instance\"]\n\
         [trigger]\nchange = true\n[remediation]\nkind = \"ssm\"\ndocument = \"AWS-StopEC2Instance\"\n\
         [remediation.parameters]\nInstanceId = \"RESOURCE_ID\"\n",
    )
    .unwrap()
}

#[tokio::test]
async fn a_compliant_change_of_an_ssm_remediated_rule_looks_for_the_run_that_caused_it() {
    use aws_sdk_config::operation::describe_remediation_execution_status::DescribeRemediationExecutionStatusOutput;
    let put =
        mock!(Client::put_evaluations).then_output(|| PutEvaluationsOutput::builder().build());
    let status = mock!(Client::describe_remediation_execution_status)
        .match_requests(|r| {
            // The rule as Config names it in the event, not as rule.toml does.
            r.config_rule_name() == Some("change-triggered-config-rule")
                && r.resource_keys()
                    .first()
                    .is_some_and(|k| k.resource_id() == "i-00000000")
        })
        .then_output(|| DescribeRemediationExecutionStatusOutput::builder().build());
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put, &status]);

    handle_change(
        &Fine,
        &ssm_remediated_meta(),
        no_params(example("change-notification.json")),
        &edge(client),
        Mode::Put,
    )
    .await
    .unwrap();

    assert_eq!((put.num_calls(), status.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_record_that_cannot_be_made_fails_the_invocation_after_the_result_is_put() {
    use aws_sdk_config::operation::describe_remediation_execution_status::DescribeRemediationExecutionStatusError;
    use aws_sdk_config::types::error::InvalidParameterValueException;
    let put =
        mock!(Client::put_evaluations).then_output(|| PutEvaluationsOutput::builder().build());
    let status = mock!(Client::describe_remediation_execution_status).then_error(|| {
        DescribeRemediationExecutionStatusError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("bad key")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put, &status]);

    let err = handle_change(
        &Fine,
        &ssm_remediated_meta(),
        no_params(example("change-notification.json")),
        &edge(client),
        Mode::Put,
    )
    .await
    .unwrap_err();

    assert!(
        err.to_string()
            .contains("DescribeRemediationExecutionStatus"),
        "{err}"
    );
    assert_eq!(put.num_calls(), 1, "the result was put before the record");
}

/// A result of `named` as `GetComplianceDetailsByConfigRule` returns it.
fn named_result(id: &str, compliance: ComplianceType, annotation: &str) -> EvaluationResult {
    EvaluationResult::builder()
        .compliance_type(compliance)
        .annotation(annotation)
        .evaluation_result_identifier(
            EvaluationResultIdentifier::builder()
                .evaluation_result_qualifier(
                    EvaluationResultQualifier::builder()
                        .config_rule_name("periodic-config-rule")
                        .resource_type("AWS::EC2::Instance")
                        .resource_id(id)
                        .build(),
                )
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_scheduled_run_of_a_change_rule_re_evaluates_only_exempt_resources_at_its_time() {
    let details = mock!(Client::get_compliance_details_by_config_rule).then_output(|| {
        GetComplianceDetailsByConfigRuleOutput::builder()
            .evaluation_results(named_result(
                "i-exempt",
                ComplianceType::NotApplicable,
                "exempt until 2016-07-12 (tag custos:exempt, owner ops): migration",
            ))
            .evaluation_results(named_result(
                "i-plain",
                ComplianceType::NonCompliant,
                "type t2.micro",
            ))
            .build()
    });
    let read = Arc::new(Mutex::new(Vec::new()));
    let seen = read.clone();
    let history = mock!(Client::get_resource_config_history).then_compute_output(move |req| {
        let id = req.resource_id().unwrap_or_default().to_owned();
        seen.lock().unwrap().push(id.clone());
        GetResourceConfigHistoryOutput::builder()
            .configuration_items(
                SdkItem::builder()
                    .resource_type(ResourceType::Instance)
                    .resource_id(id)
                    .account_id("123456789012")
                    .aws_region("us-east-2")
                    .configuration_item_status(ConfigurationItemStatus::Ok)
                    .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(
                        1_400_000_000,
                    ))
                    .configuration("{\"instanceType\":\"m5.large\"}")
                    .tags(
                        "custos:exempt",
                        "named; until=2016-07-12; reason=migration; owner=ops",
                    )
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&details, &history]);

    let out = handle_change(
        &NamedInstances,
        &meta("AWS::EC2::Instance"),
        no_params(example("scheduled-notification.json")),
        &edge(client),
        Mode::DryRun,
    )
    .await
    .unwrap();

    assert_eq!(
        *read.lock().unwrap(),
        ["i-exempt"],
        "only the exempt one is read"
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].compliance_resource_id, "i-exempt");
    assert_eq!(out[0].compliance_type, Compliance::NonCompliant);
    assert_eq!(
        out[0].annotation.as_ref().unwrap().as_str(),
        "exemption expired 2016-07-12 (tag custos:exempt, owner ops: migration), evaluated \
         normally; type m5.large"
    );
    assert_eq!(
        out[0].ordering_timestamp.to_rfc3339(),
        "2016-07-13T21:50:00.373+00:00",
        "ordered by the scheduled run, not the old item"
    );
}
