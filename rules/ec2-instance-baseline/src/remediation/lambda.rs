//! The remediation Lambda, as the SSM document's one `aws:invokeLambdaFunction` step invokes it.
//!
//! The step's `InputPayload` is `{"InstanceId", "RequiredTags", "AdminSecurityGroupId",
//! "Exemptions"}`, each value a string as Config passes remediation parameters (`RequiredTags` and
//! `Exemptions` are JSON documents in strings; a JSON object is accepted too). Rule parameters
//! left out or empty take their `rule.toml` defaults, and are checked exactly as the rule checks
//! them. A failure is returned as the Lambda error, which fails the SSM step, so Config retries
//! within `maximum-attempts` and shows the error in the console.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use config_rule_sdk::aws::{AwsScope, Edge};
use config_rule_sdk::exemption::Registry;
use config_rule_sdk::notify::{Notifier, TOPIC_ENV};
use config_rule_sdk::params::{self, ParameterError, RawParameters};
use config_rule_sdk::remediation::{
    Context, Outcome, RemediationRecord, RemediationTrigger, remediate,
};
use config_rule_sdk::{RuleError, RuleMeta};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BaselineRemediation;
use crate::{Params, RULE_TOML};

/// The SSM step's input.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub instance_id: String,
    #[serde(default)]
    pub required_tags: Option<Value>,
    #[serde(default)]
    pub admin_security_group_id: Option<Value>,
    #[serde(default)]
    pub exemptions: Option<Value>,
}

impl Request {
    pub fn from_payload(payload: Value) -> Result<Self, RuleError> {
        serde_json::from_value(payload).map_err(|e| {
            RuleError::from(ParameterError {
                name: "InstanceId".into(),
                problem: format!("the remediation input is not valid: {e}"),
            })
        })
    }

    /// The values under the names the rule's parameters have (`exemptions` is the SDK's own).
    fn rule_parameters(&self) -> BTreeMap<String, Value> {
        [
            ("requiredTags", &self.required_tags),
            ("adminSecurityGroupId", &self.admin_security_group_id),
            ("exemptions", &self.exemptions),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), as_text(value.as_ref()?))))
        .collect()
    }
}

/// Strings stay as they are; a JSON document given as an object is written back to its text.
fn as_text(value: &Value) -> Value {
    match value {
        Value::String(_) | Value::Null => value.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Where and when the Lambda runs; taken at the edge.
#[derive(Debug, Clone, Copy)]
pub struct Invoked<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub now: DateTime<Utc>,
}

/// What the Lambda answers; the SSM step keeps it as its `Payload` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub instance_id: String,
    /// `remediated`, `already-compliant` or `exempt`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RemediationRecord>,
}

/// Handles one SSM step invocation: decodes the input, then re-reads, plans, fixes and records
/// through the SDK's `remediate`.
pub async fn handle(
    remediation: &BaselineRemediation,
    meta: &RuleMeta,
    aws: &AwsScope,
    payload: Value,
    invoked: Invoked<'_>,
    notifier: Option<&Notifier>,
) -> Result<Response, RuleError> {
    let request = Request::from_payload(payload)?;
    let raw = RawParameters::split(&request.rule_parameters());
    let params: Params = params::decode(meta, &raw.rule)?;
    let registry = raw
        .exemptions
        .as_deref()
        .map(Registry::parse)
        .transpose()?
        .unwrap_or_default();
    let context = Context {
        rule: &meta.name,
        account: invoked.account,
        region: invoked.region,
        registry: &registry,
        trigger: RemediationTrigger::Lambda,
        now: invoked.now,
    };
    let outcome = remediate(
        remediation,
        aws,
        &request.instance_id,
        &params,
        &context,
        notifier,
    )
    .await?;
    let (outcome, exemption, record) = match outcome {
        Outcome::AlreadyCompliant => ("already-compliant", None, None),
        Outcome::Exempt(note) => ("exempt", Some(note), None),
        Outcome::Remediated(record) => ("remediated", None, Some(*record)),
    };
    Ok(Response {
        instance_id: request.instance_id,
        outcome,
        exemption,
        record,
    })
}

/// Partition, region and account of the function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
fn function_arn_parts(arn: &str) -> (&str, &str, &str) {
    let mut parts = arn.split(':').skip(1);
    let partition = parts.next().filter(|p| !p.is_empty()).unwrap_or("aws");
    let mut parts = parts.skip(1);
    let region = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    (partition, region, account)
}

/// The entry point of the `ec2-instance-baseline-remediation` binary.
#[expect(
    clippy::disallowed_methods,
    reason = "the entry point is the edge: it reads the environment and the clock"
)]
pub async fn run() -> Result<(), lambda_runtime::Error> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "error: ec2-instance-baseline-remediation runs in AWS Lambda, started by Config \
             remediation through the SSM document Custos-Ec2InstanceBaseline"
        );
        std::process::exit(2);
    }
    lambda_runtime::tracing::init_default_subscriber();
    let meta = RuleMeta::from_toml(RULE_TOML)?;
    // Configuration and clients are made on the first invocation, not during init.
    let edge = Edge::from_env();
    let remediation = BaselineRemediation::new();
    let topic = std::env::var(TOPIC_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let (meta, edge, remediation, topic) = (&meta, &edge, &remediation, &topic);
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| async move {
            let (partition, region, account) =
                function_arn_parts(&event.context.invoked_function_arn);
            let scope = edge.scope(Some(account), None, partition).await;
            let notifier = topic
                .as_ref()
                .map(|t| Notifier::new(aws_sdk_sns::Client::new(scope.config()), t));
            let now = Utc::now();
            let invoked = Invoked {
                account,
                region,
                now,
            };
            Box::pin(handle(
                remediation,
                meta,
                &scope,
                event.payload,
                invoked,
                notifier.as_ref(),
            ))
            .await
        },
    )))
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_function_arn_names_partition_region_and_account() {
        assert_eq!(
            function_arn_parts(
                "arn:aws-cn:lambda:cn-north-1:111122223333:function:ec2-instance-baseline-remediation"
            ),
            ("aws-cn", "cn-north-1", "111122223333")
        );
    }

    #[test]
    fn json_documents_given_as_objects_become_the_strings_config_would_pass() {
        let request = Request::from_payload(json!({
            "InstanceId": "i-0abc",
            "RequiredTags": {"Owner": "unassigned"},
            "AdminSecurityGroupId": "sg-0a0a0a0a",
            "Exemptions": "",
            "AutomationAssumeRole": "arn:aws:iam::111122223333:role/x"
        }))
        .unwrap();
        assert_eq!(
            request.rule_parameters(),
            BTreeMap::from([
                ("adminSecurityGroupId".to_owned(), json!("sg-0a0a0a0a")),
                ("exemptions".to_owned(), json!("")),
                (
                    "requiredTags".to_owned(),
                    json!(r#"{"Owner":"unassigned"}"#)
                ),
            ])
        );
    }

    #[test]
    fn an_input_without_an_instance_id_is_refused_naming_it() {
        let err = Request::from_payload(json!({"AdminSecurityGroupId": "sg-0a0a0a0a"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("InstanceId"), "{err}");
    }
}
