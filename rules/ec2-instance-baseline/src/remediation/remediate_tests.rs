//! The remediation through the SDK's `remediate`, against an EC2 client whose responses come from
//! a small in-memory instance: `DescribeInstances` shows what `CreateTags` and
//! `ModifyInstanceAttribute` did, so before/after and idempotency are observed, not scripted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesOutput;
use aws_sdk_config::types::ConfigRule;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::modify_instance_attribute::ModifyInstanceAttributeOutput;
use aws_sdk_ec2::types::{
    GroupIdentifier, Instance, InstanceState, InstanceStateName, Reservation, Tag,
};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{Rule as MockRule, RuleMode, mock, mock_client};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::exemption::Registry;
use config_rule_sdk::notify::Notifier;
use config_rule_sdk::remediation::{Context, Outcome, RemediationTrigger, remediate};
use serde_json::json;

use super::lambda::{Invoked, handle};
use super::*;
use crate::RULE_TOML;

const INSTANCE: &str = "i-0123456789abcdef0";
const ADMIN: &str = "sg-0aaaa1111bbbb2222";
const ACCOUNT: &str = "111122223333";

/// The instance EC2 holds, and the write requests it received.
#[derive(Debug, Default)]
struct FakeEc2 {
    tags: Vec<(String, String)>,
    groups: Vec<String>,
    created_tags: Vec<Vec<(String, String)>>,
    group_changes: Vec<Vec<String>>,
    /// `DescribeInstances` answered so far.
    reads: usize,
    /// Someone else's change, made to the instance just after that many reads.
    change_after_read: Option<(usize, Change)>,
}

/// A change made by someone else while the remediation runs.
#[derive(Debug, Clone)]
enum Change {
    Groups(Vec<String>),
    Tag(String, String),
}

type Shared = Arc<Mutex<FakeEc2>>;

fn fake(tags: &[(&str, &str)], groups: &[&str]) -> Shared {
    Arc::new(Mutex::new(FakeEc2 {
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        ..FakeEc2::default()
    }))
}

fn describe_output(ec2: &FakeEc2) -> DescribeInstancesOutput {
    let mut instance = Instance::builder().instance_id(INSTANCE).state(
        InstanceState::builder()
            .name(InstanceStateName::Running)
            .code(16)
            .build(),
    );
    for (key, value) in &ec2.tags {
        instance = instance.tags(Tag::builder().key(key).value(value).build());
    }
    for group in &ec2.groups {
        instance = instance.security_groups(GroupIdentifier::builder().group_id(group).build());
    }
    DescribeInstancesOutput::builder()
        .reservations(Reservation::builder().instances(instance.build()).build())
        .build()
}

/// Mock rules that serve `state`: describe, create tags, modify the group list.
fn rules(state: &Shared) -> [MockRule; 3] {
    let seen = state.clone();
    let describe = mock!(Client::describe_instances)
        .match_requests(|req| req.instance_ids() == [INSTANCE])
        .then_compute_output(move |_| {
            let mut ec2 = seen.lock().unwrap();
            let out = describe_output(&ec2);
            ec2.reads += 1;
            if let Some((after, change)) = ec2.change_after_read.clone()
                && after == ec2.reads
            {
                match change {
                    Change::Groups(groups) => ec2.groups = groups,
                    Change::Tag(key, value) => ec2.tags.push((key, value)),
                }
            }
            out
        });
    let seen = state.clone();
    let create_tags = mock!(Client::create_tags).then_compute_output(move |req| {
        let mut ec2 = seen.lock().unwrap();
        assert_eq!(req.resources(), [INSTANCE], "tags go on the instance only");
        let tags: Vec<(String, String)> = req
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        for (key, value) in &tags {
            ec2.tags.retain(|(k, _)| k != key);
            ec2.tags.push((key.clone(), value.clone()));
        }
        ec2.created_tags.push(tags);
        CreateTagsOutput::builder().build()
    });
    let seen = state.clone();
    let modify = mock!(Client::modify_instance_attribute).then_compute_output(move |req| {
        let mut ec2 = seen.lock().unwrap();
        assert_eq!(req.instance_id(), Some(INSTANCE));
        let groups = req.groups().to_vec();
        ec2.groups.clone_from(&groups);
        ec2.group_changes.push(groups);
        ModifyInstanceAttributeOutput::builder().build()
    });
    [describe, create_tags, modify]
}

fn client(rules: &[MockRule]) -> Client {
    mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules)
}

fn scope() -> AwsScope {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    AwsScope::new(config, Some(ACCOUNT.into()))
}

fn params() -> Params {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let given = BTreeMap::from([("adminSecurityGroupId".to_owned(), json!(ADMIN))]);
    // The rule.toml default: {"Owner":"unassigned","CostCenter":"0000"}.
    config_rule_sdk::params::decode(&meta, &given).unwrap()
}

fn context(registry: &Registry) -> Context<'_> {
    Context {
        rule: "ec2-instance-baseline",
        account: ACCOUNT,
        region: "eu-west-1",
        registry,
        trigger: RemediationTrigger::Lambda,
        now: "2026-06-01T09:00:00Z".parse().unwrap(),
    }
}

fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn only_missing_tags_are_created_and_the_group_list_keeps_existing_groups() {
    let state = fake(&[("Owner", "alice")], &["sg-0b0b0b0b"]);
    let rules = rules(&state);
    let remediation = BaselineRemediation::with_client(client(&rules));
    let registry = Registry::default();

    let outcome = remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap();

    let ec2 = state.lock().unwrap();
    assert_eq!(
        ec2.created_tags,
        vec![pairs(&[("CostCenter", "0000")])],
        "one CreateTags call, with the missing tag only: Owner=alice is not rewritten"
    );
    assert_eq!(
        ec2.group_changes,
        vec![vec!["sg-0b0b0b0b".to_owned(), ADMIN.to_owned()]],
        "one ModifyInstanceAttribute call: the groups it had, then the admin group"
    );
    let Outcome::Remediated(record) = outcome else {
        panic!("expected a remediation, got {outcome:?}")
    };
    assert_eq!(record.resource_type, "AWS::EC2::Instance");
    assert_eq!(record.resource_id, INSTANCE);
    assert_eq!(
        record.action,
        format!(
            "tagged CostCenter=0000; added security group {ADMIN}, keeping the groups it was in"
        )
    );
    assert_eq!(record.before["tags"], json!({"Owner": "alice"}));
    assert_eq!(record.before["securityGroups"], json!(["sg-0b0b0b0b"]));
    assert_eq!(
        record.after["tags"],
        json!({"CostCenter": "0000", "Owner": "alice"}),
        "after is read back from EC2, not assumed"
    );
    assert_eq!(
        record.after["securityGroups"],
        json!(["sg-0b0b0b0b", ADMIN])
    );
}

#[tokio::test]
async fn a_second_run_finds_the_instance_compliant_and_writes_nothing() {
    let state = fake(&[], &[]);
    let rules = rules(&state);
    let remediation = BaselineRemediation::with_client(client(&rules));
    let registry = Registry::default();
    let (scope, params, context) = (scope(), params(), context(&registry));
    let run = || remediate(&remediation, &scope, INSTANCE, &params, &context, None);

    let first = run().await.unwrap();
    let second = run().await.unwrap();

    assert!(matches!(first, Outcome::Remediated(_)), "{first:?}");
    assert_eq!(second, Outcome::AlreadyCompliant);
    let [describe, create_tags, modify] = &rules;
    assert_eq!(create_tags.num_calls(), 1);
    assert_eq!(modify.num_calls(), 1);
    assert_eq!(
        describe.num_calls(),
        5,
        "before, before each of the two writes and after the fix, then once more"
    );
}

#[tokio::test]
async fn an_instance_exempt_by_tag_is_read_but_never_written() {
    let state = fake(
        &[(
            "custos:exempt",
            "ec2-instance-baseline; until=2026-08-15; reason=vendor appliance; owner=net-team",
        )],
        &[],
    );
    let rules = rules(&state);
    let remediation = BaselineRemediation::with_client(client(&rules));
    let registry = Registry::default();

    let outcome = remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap();

    assert_eq!(
        outcome,
        Outcome::Exempt(
            "exempt until 2026-08-15 (tag custos:exempt, owner net-team): vendor appliance".into()
        )
    );
    let [_, create_tags, modify] = &rules;
    assert_eq!(create_tags.num_calls() + modify.num_calls(), 0);
}

/// The body of an EC2 error answer, as its Query protocol sends it with status 400.
fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    )
}

#[tokio::test]
async fn a_group_aws_refuses_fails_the_remediation_with_ec2s_reason_after_tagging() {
    // AWS refuses a group of another VPC; the local emulator accepts it, so this is tested here.
    let state = fake(&[], &["sg-0b0b0b0b"]);
    let [describe, create_tags, _] = rules(&state);
    let refuse = mock!(Client::modify_instance_attribute)
        .sequence()
        .http_status(
            400,
            Some(ec2_error(
                "InvalidGroup.NotFound",
                "You have specified two resources that belong to different networks.",
            )),
        )
        .build();
    let remediation = BaselineRemediation::with_client(client(&[describe, create_tags, refuse]));
    let registry = Registry::default();

    let err = remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), "AwsError");
    let message = err.to_string();
    assert!(
        message.starts_with("ModifyInstanceAttribute failed")
            && message.contains("InvalidGroup.NotFound")
            && message.contains("different networks"),
        "{message}"
    );
    assert_eq!(
        state.lock().unwrap().created_tags.len(),
        1,
        "tags were set first"
    );
}

#[tokio::test]
async fn an_unknown_instance_is_an_error_naming_it() {
    let missing = mock!(Client::describe_instances)
        .sequence()
        .http_status(
            400,
            Some(ec2_error(
                "InvalidInstanceID.NotFound",
                "The instance ID 'i-0123456789abcdef0' does not exist",
            )),
        )
        .build();
    let remediation = BaselineRemediation::with_client(client(&[missing]));
    let registry = Registry::default();

    let err = remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap_err();

    let message = err.to_string();
    assert!(
        message.contains("InvalidInstanceID.NotFound") && message.contains(INSTANCE),
        "{message}"
    );
}

fn invoked() -> Invoked<'static> {
    Invoked {
        account: ACCOUNT,
        region: "eu-west-1",
        now: "2026-06-01T09:00:00Z".parse().unwrap(),
        config_rule: "ec2-instance-baseline",
    }
}

/// The Config rule as deployed: `DescribeConfigRules` answers these `InputParameters` for it.
fn deployed(parameters: &Value) -> (MockRule, aws_sdk_config::Client) {
    let text = parameters.to_string();
    let rule = mock!(aws_sdk_config::Client::describe_config_rules)
        .match_requests(|req| req.config_rule_names() == ["ec2-instance-baseline"])
        .then_output(move || {
            DescribeConfigRulesOutput::builder()
                .config_rules(
                    ConfigRule::builder()
                        .config_rule_name("ec2-instance-baseline")
                        .input_parameters(text.clone())
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);
    (rule, client)
}

fn deployed_parameters(exemptions: &str) -> Value {
    json!({
        "requiredTags": r#"{"Owner":"unassigned","CostCenter":"0000","Backup":"daily"}"#,
        "adminSecurityGroupId": ADMIN,
        "exemptions": exemptions,
    })
}

/// The input the SSM document's step sends: the instance id alone.
fn ssm_input() -> Value {
    json!({"InstanceId": INSTANCE})
}

#[tokio::test]
async fn the_deployed_rules_parameters_drive_the_fix_and_the_record_is_published() {
    let state = fake(&[("Owner", "alice"), ("CostCenter", "42")], &[ADMIN]);
    let rules = rules(&state);
    let (described, config) = deployed(&deployed_parameters("{}"));
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let published: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = published.clone();
    let publish = mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.subject().unwrap_or_default().to_owned(),
            req.message().unwrap_or_default().to_owned(),
        ));
        PublishOutput::builder().message_id("m-1").build()
    });
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
    let notifier = Notifier::new(sns, "arn:aws:sns:eu-west-1:111122223333:custos");
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let response = handle(
        &remediation,
        &meta,
        &scope(),
        ssm_input(),
        invoked(),
        Some(&notifier),
    )
    .await
    .unwrap();

    assert_eq!(response.outcome, "remediated");
    assert_eq!(
        described.num_calls(),
        1,
        "the rule named by the environment is read"
    );
    assert_eq!(
        state.lock().unwrap().created_tags,
        vec![pairs(&[("Backup", "daily")])],
        "the deployed rule's parameters, not rule.toml's default, decide"
    );
    let published = published.lock().unwrap();
    assert_eq!(published.len(), 1);
    let (subject, message) = &published[0];
    assert_eq!(
        subject,
        "Custos remediated AWS::EC2::Instance i-0123456789abcdef0 (ec2-instance-baseline)"
    );
    assert!(
        message.contains("in account 111122223333, region eu-west-1: tagged Backup=daily."),
        "{message}"
    );
}

#[tokio::test]
async fn a_caller_naming_another_group_tags_or_exemptions_is_refused_before_any_call() {
    let state = fake(&[], &["sg-0b0b0b0b"]);
    let rules = rules(&state);
    let (described, config) = deployed(&deployed_parameters("{}"));
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let attacks = [
        ("AdminSecurityGroupId", json!("sg-0e0e0e0e")),
        ("RequiredTags", json!(r#"{"Owner":"mallory"}"#)),
        ("Exemptions", json!("{}")),
    ];

    for (key, value) in attacks {
        let mut input = ssm_input();
        input[key] = value;
        let err = handle(&remediation, &meta, &scope(), input, invoked(), None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidParameter");
        assert!(err.to_string().contains("takes only InstanceId"), "{err}");
    }

    let ec2 = state.lock().unwrap();
    assert_eq!(
        rules[0].num_calls() + described.num_calls(),
        0,
        "nothing was read"
    );
    assert!(ec2.created_tags.is_empty() && ec2.group_changes.is_empty());
}

#[tokio::test]
async fn an_instance_the_rule_does_not_find_non_compliant_is_left_alone_saying_why() {
    let state = fake(
        &[("Owner", "a"), ("CostCenter", "1"), ("Backup", "no")],
        &[ADMIN],
    );
    let rules = rules(&state);
    let (_, config) = deployed(&deployed_parameters("{}"));
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let response = handle(&remediation, &meta, &scope(), ssm_input(), invoked(), None)
        .await
        .unwrap();

    assert_eq!(response.outcome, "already-compliant");
    let reason = response.reason.unwrap();
    assert!(
        reason.starts_with("the rule finds it COMPLIANT: carries"),
        "{reason}"
    );
    let [_, create_tags, modify] = &rules;
    assert_eq!(create_tags.num_calls() + modify.num_calls(), 0);
}

#[tokio::test]
async fn a_quarantined_instance_is_never_changed() {
    let state = fake(&[("custos:quarantine", "IR-4711")], &["sg-0f0f0f0f"]);
    let rules = rules(&state);
    let (_, config) = deployed(&deployed_parameters("{}"));
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let response = handle(&remediation, &meta, &scope(), ssm_input(), invoked(), None)
        .await
        .unwrap();

    assert_eq!(response.outcome, "quarantined");
    assert!(
        response
            .reason
            .as_deref()
            .unwrap()
            .contains("quarantine tag custos:quarantine"),
        "{response:?}"
    );
    let [_, create_tags, modify] = &rules;
    assert_eq!(create_tags.num_calls() + modify.num_calls(), 0);
}

#[tokio::test]
async fn the_quarantine_tag_given_in_the_deployed_rule_is_the_one_honoured() {
    let state = fake(&[("ir-status", "isolated")], &["sg-0f0f0f0f"]);
    let rules = rules(&state);
    let mut parameters = deployed_parameters("{}");
    parameters["quarantineTag"] = json!("ir-status=isolated");
    let (_, config) = deployed(&parameters);
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let response = handle(&remediation, &meta, &scope(), ssm_input(), invoked(), None)
        .await
        .unwrap();

    assert_eq!(response.outcome, "quarantined");
    assert_eq!(rules[1].num_calls() + rules[2].num_calls(), 0);
}

#[tokio::test]
async fn groups_changed_after_the_first_read_are_kept_when_the_admin_group_is_added() {
    // Responders swap the instance's groups between the remediation's first read and its write.
    let state = fake(&[("Owner", "a"), ("CostCenter", "1")], &["sg-0b0b0b0b"]);
    state.lock().unwrap().change_after_read =
        Some((1, Change::Groups(vec!["sg-0c0c0c0c".to_owned()])));
    let rules = rules(&state);
    let remediation = BaselineRemediation::with_client(client(&rules));
    let registry = Registry::default();

    remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap();

    assert_eq!(
        state.lock().unwrap().group_changes,
        vec![vec!["sg-0c0c0c0c".to_owned(), ADMIN.to_owned()]],
        "the list read just before the write, plus the admin group; sg-0b0b0b0b is not put back"
    );
}

#[tokio::test]
async fn a_quarantine_tag_added_during_the_remediation_stops_the_group_change() {
    let state = fake(&[("Owner", "a")], &["sg-0b0b0b0b"]);
    state.lock().unwrap().change_after_read = Some((
        2,
        Change::Tag("custos:quarantine".to_owned(), "IR-4712".to_owned()),
    ));
    let rules = rules(&state);
    let remediation = BaselineRemediation::with_client(client(&rules));
    let registry = Registry::default();

    let err = remediate(
        &remediation,
        &scope(),
        INSTANCE,
        &params(),
        &context(&registry),
        None,
    )
    .await
    .unwrap_err();

    assert!(
        err.to_string().contains("quarantine tag custos:quarantine"),
        "{err}"
    );
    assert!(state.lock().unwrap().group_changes.is_empty());
}

#[tokio::test]
async fn the_exemption_registry_of_the_deployed_rule_stops_the_fix() {
    let state = fake(&[], &[]);
    let rules = rules(&state);
    let registry =
        format!(r#"{{"{INSTANCE}": "ec2-instance-baseline; until=2026-07-01; reason=migration"}}"#);
    let (_, config) = deployed(&deployed_parameters(&registry));
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let response = handle(&remediation, &meta, &scope(), ssm_input(), invoked(), None)
        .await
        .unwrap();

    assert_eq!(response.outcome, "exempt");
    assert_eq!(
        response.exemption.as_deref(),
        Some("exempt until 2026-07-01 (exemption registry): migration")
    );
    assert!(state.lock().unwrap().created_tags.is_empty());
}

#[tokio::test]
async fn a_bad_parameter_in_the_deployed_rule_fails_before_ec2_is_read() {
    let state = fake(&[], &[]);
    let rules = rules(&state);
    let mut parameters = deployed_parameters("{}");
    parameters["adminSecurityGroupId"] = json!("admins");
    let (_, config) = deployed(&parameters);
    let remediation = BaselineRemediation::with_client(client(&rules)).with_config_client(config);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();

    let err = handle(&remediation, &meta, &scope(), ssm_input(), invoked(), None)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "InvalidParameter");
    assert!(
        err.to_string().starts_with(
            "invalid parameter `adminSecurityGroupId`: `admins` is not a security group id"
        ),
        "{err}"
    );
    assert_eq!(rules[0].num_calls(), 0, "nothing was read");
}
