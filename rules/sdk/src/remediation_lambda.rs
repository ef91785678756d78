//! A remediation run as its own Lambda function. Config's remediation runs the SSM document the
//! deployer renders for the rule; its one `aws:invokeLambdaFunction` step sends
//! `{"custosRemediation":{"rule":"…","parameters":{…}}}`, the parameters being the rule.toml's
//! `[remediation.parameters]` as SSM filled them.
//!
//! The caller names a resource and no more: the settings are the deployed Config rule's own
//! parameters, read with `DescribeConfigRules` for the rule named in the function's environment
//! ([`CONFIG_RULE_ENV`], set by the template, not by the caller), and decoded exactly as the rule
//! decodes them. The resource is read and [`LambdaRemediation::hold`] decides whether it is left
//! alone; otherwise the SDK's [`remediate`] re-reads, plans, acts and records. A failure is the
//! Lambda's error, which fails the SSM step, so Config retries within `maximum-attempts`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::aws::{AwsScope, Edge};
use crate::decide;
use crate::entry::{BoxFuture, Entry, Kind};
use crate::error::RuleError;
use crate::event::{EventError, parse_parameters};
use crate::meta::RuleMeta;
use crate::notify::Notifier;
use crate::params::ParameterError;
use crate::remediation::{
    CONFIG_RULE_ENV, Context, Outcome, Remediation, RemediationRecord, RemediationTrigger,
    remediate,
};

/// The payload's one key.
pub const PAYLOAD_KEY: &str = "custosRemediation";

/// A remediation that runs as its own Lambda function ([`Entry::remediation`]).
pub trait LambdaRemediation: Remediation + Send + Sync
where
    Self::Params: Send + Sync,
    Self::State: Send + Sync,
{
    /// The resource to put right, from the document's parameters. Anything else a caller sends
    /// is refused, naming it, so no caller can believe it steered the remediation.
    fn resource_id(&self, parameters: &Map<String, Value>) -> Result<String, RuleError>;

    /// Pure: why the resource, as read now, is left alone (the answer's `outcome` and its
    /// reason), or `None` to remediate it.
    fn hold(&self, state: &Self::State, params: &Self::Params) -> Option<(&'static str, String)>;
}

/// The payload: the rule the document was rendered for, and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub rule: String,
    pub parameters: Map<String, Value>,
}

fn refuse(name: &str, problem: impl Into<String>) -> RuleError {
    RuleError::from(ParameterError {
        name: name.to_owned(),
        problem: problem.into(),
    })
}

impl Request {
    /// Takes `{"custosRemediation":{"rule":"…","parameters":{…}}}` for `rule` and nothing else.
    pub fn from_payload(payload: Value, rule: &str) -> Result<Self, RuleError> {
        let Value::Object(mut outer) = payload else {
            return Err(refuse(PAYLOAD_KEY, "the payload is not a JSON object"));
        };
        if let Some(other) = outer.keys().find(|k| *k != PAYLOAD_KEY) {
            return Err(refuse(other, format!("the payload has only {PAYLOAD_KEY}")));
        }
        let Some(Value::Object(mut inner)) = outer.remove(PAYLOAD_KEY) else {
            return Err(refuse(PAYLOAD_KEY, "missing, or not a JSON object"));
        };
        let named = inner.remove("rule");
        if named.as_ref().and_then(Value::as_str) != Some(rule) {
            return Err(refuse(
                "rule",
                format!("this function remediates {rule}, the payload names {named:?}"),
            ));
        }
        let parameters = match inner.remove("parameters") {
            Some(Value::Object(parameters)) => parameters,
            None => Map::new(),
            Some(_) => return Err(refuse("parameters", "not a JSON object")),
        };
        if let Some(other) = inner.keys().next() {
            return Err(refuse(other, "the payload has only rule and parameters"));
        }
        Ok(Self {
            rule: rule.to_owned(),
            parameters,
        })
    }
}

/// Where and when the function runs, and for which Config rule; taken at the edge.
#[derive(Debug, Clone, Copy)]
pub struct Invoked<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub now: DateTime<Utc>,
    /// The Config rule the function was deployed for (its environment); its parameters decide.
    pub config_rule: &'a str,
}

/// What the function answers; the SSM step keeps it as its `Payload` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub resource_id: String,
    /// `remediated`, `already-compliant`, `exempt`, or what [`LambdaRemediation::hold`] said.
    pub outcome: &'static str,
    /// Why nothing was changed, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RemediationRecord>,
}

impl Response {
    fn unchanged(resource_id: &str, outcome: &'static str, reason: String) -> Self {
        Self {
            resource_id: resource_id.to_owned(),
            outcome,
            reason: Some(reason),
            exemption: None,
            record: None,
        }
    }
}

/// Handles one invocation: decodes the payload, reads the deployed rule's parameters, reads the
/// resource and asks `hold`, then re-reads, plans, fixes and records through [`remediate`].
pub async fn handle<M>(
    remediation: &M,
    meta: &RuleMeta,
    aws: &AwsScope,
    payload: Value,
    invoked: Invoked<'_>,
    notifier: Option<&Notifier>,
) -> Result<Response, RuleError>
where
    M: LambdaRemediation,
    M::Params: Send + Sync,
    M::State: Send + Sync,
{
    let request = Request::from_payload(payload, &meta.name)?;
    let id = remediation.resource_id(&request.parameters)?;
    let id = id.as_str();
    let deployed = rule_parameters(aws.config_client(), invoked.config_rule).await?;
    let settings = decide::parameter_settings::<M::Params>(meta, &deployed)?;
    let live = remediation.read(aws, id).await?;
    if let Some((outcome, reason)) = remediation.hold(&live, &settings.params) {
        tracing::info!(rule = invoked.config_rule, resource_id = id, outcome, reason = %reason, "not remediated");
        return Ok(Response::unchanged(id, outcome, reason));
    }
    let context = Context {
        rule: &meta.name,
        account: invoked.account,
        region: invoked.region,
        registry: &settings.registry,
        trigger: RemediationTrigger::Lambda,
        now: invoked.now,
    };
    let outcome = remediate(remediation, aws, id, &settings.params, &context, notifier).await?;
    Ok(match outcome {
        // Changed between the two reads: the second one decides.
        Outcome::AlreadyCompliant => Response::unchanged(
            id,
            "already-compliant",
            "the resource needs no change when read again".into(),
        ),
        Outcome::Exempt(note) => Response {
            exemption: Some(note),
            ..Response::unchanged(id, "exempt", "an active exemption".into())
        },
        Outcome::Remediated(record) => Response {
            resource_id: id.to_owned(),
            outcome: "remediated",
            reason: None,
            exemption: None,
            record: Some(*record),
        },
    })
}

/// `DescribeConfigRules` for `rule`: its `InputParameters`, decoded as an event's
/// `ruleParameters` are.
pub async fn rule_parameters(
    config: &aws_sdk_config::Client,
    rule: &str,
) -> Result<BTreeMap<String, Value>, RuleError> {
    let out = config
        .describe_config_rules()
        .config_rule_names(rule)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeConfigRules", e))?;
    let found = out
        .config_rules()
        .iter()
        .find(|r| r.config_rule_name() == Some(rule))
        .ok_or_else(|| RuleError::Aws {
            operation: "DescribeConfigRules",
            message: format!("the Config rule {rule} is not in the answer"),
        })?;
    decode_parameters(rule, found.input_parameters())
}

/// Pure: `InputParameters` read as the SDK reads an event's `ruleParameters`.
pub fn decode_parameters(
    rule: &str,
    text: Option<&str>,
) -> Result<BTreeMap<String, Value>, RuleError> {
    parse_parameters(text).map_err(|e| {
        let why = match e {
            EventError::RuleParameters(why) => why,
            other => other.to_string(),
        };
        RuleError::Aws {
            operation: "DescribeConfigRules",
            message: format!("the InputParameters of {rule} are not a JSON object: {why}"),
        }
    })
}

/// A remediation function, type-erased.
pub trait RemediationHost: Send + Sync {
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        aws: &'a AwsScope,
        payload: Value,
        invoked: Invoked<'a>,
        notifier: Option<&'a Notifier>,
    ) -> BoxFuture<'a, Result<Response, RuleError>>;
}

pub(crate) struct Host<M>(pub M);

impl<M> RemediationHost for Host<M>
where
    M: LambdaRemediation,
    M::Params: Send + Sync,
    M::State: Send + Sync,
{
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        aws: &'a AwsScope,
        payload: Value,
        invoked: Invoked<'a>,
        notifier: Option<&'a Notifier>,
    ) -> BoxFuture<'a, Result<Response, RuleError>> {
        Box::pin(handle(&self.0, meta, aws, payload, invoked, notifier))
    }
}

/// Partition, region and account of a function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
fn function_arn_parts(arn: &str) -> (&str, &str, &str) {
    let mut parts = arn.split(':').skip(1);
    let partition = parts.next().filter(|p| !p.is_empty()).unwrap_or("aws");
    let mut parts = parts.skip(1);
    let region = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    (partition, region, account)
}

/// Serves a remediation entry in Lambda; elsewhere says how it is started and exits 2.
#[expect(
    clippy::disallowed_methods,
    reason = "the entry point is the edge: it reads the environment and the clock"
)]
pub(crate) async fn serve(entry: &Entry, in_lambda: bool) -> Result<(), lambda_runtime::Error> {
    let Kind::Remediation(host) = entry.kind() else {
        unreachable!("serve dispatches remediation entries only here");
    };
    let meta = entry.meta();
    let function = format!("{}-remediation", meta.name);
    if !in_lambda {
        eprintln!(
            "error: {function} runs in AWS Lambda, started by Config remediation through the \
             SSM document the deployer renders for {}",
            meta.name
        );
        std::process::exit(2);
    }
    // The template names the rule; without it the function could only trust its caller.
    let Some(config_rule) = std::env::var(CONFIG_RULE_ENV)
        .ok()
        .filter(|r| !r.trim().is_empty())
    else {
        eprintln!(
            "error: {CONFIG_RULE_ENV} is not set: the remediation reads its settings from that Config rule"
        );
        std::process::exit(2);
    };
    lambda_runtime::tracing::init_default_subscriber();
    // Configuration and clients are made on the first invocation, not during init.
    let edge = Edge::from_env();
    let topic = entry.topic();
    let (edge, config_rule) = (&edge, &config_rule);
    Box::pin(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            let (partition, region, account) =
                function_arn_parts(&event.context.invoked_function_arn);
            let scope = edge.scope(Some(account), None, partition).await;
            let notifier = topic.map(|t| Notifier::new(scope.client(), t));
            let invoked = Invoked {
                account,
                region,
                now: Utc::now(),
                config_rule,
            };
            host.handle(meta, &scope, event.payload, invoked, notifier.as_ref())
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
    fn the_payload_is_the_rendered_documents_and_nothing_else() {
        let payload = json!({"custosRemediation": {"rule": "r", "parameters": {"Id": "x"}}});
        let request = Request::from_payload(payload, "r").unwrap();
        assert_eq!(request.parameters["Id"], "x");
        for (payload, named) in [
            (json!({"Id": "x"}), "Id"),
            (json!({"custosRemediation": {"rule": "other"}}), "rule"),
            (
                json!({"custosRemediation": {"rule": "r", "extra": 1}}),
                "extra",
            ),
            (
                json!({"custosRemediation": {"rule": "r", "parameters": []}}),
                "parameters",
            ),
            (json!("r"), PAYLOAD_KEY),
        ] {
            let err = Request::from_payload(payload, "r").unwrap_err().to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn input_parameters_are_a_json_object_in_a_string() {
        assert_eq!(
            decode_parameters("r", Some(r#"{"adminSecurityGroupId":"sg-0a0a0a0a"}"#)).unwrap(),
            BTreeMap::from([("adminSecurityGroupId".to_owned(), json!("sg-0a0a0a0a"))])
        );
        assert!(decode_parameters("r", None).unwrap().is_empty());
        assert!(
            decode_parameters("r", Some("[1]"))
                .unwrap_err()
                .to_string()
                .contains("r are not")
        );
    }
}
