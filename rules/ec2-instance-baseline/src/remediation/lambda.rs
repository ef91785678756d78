//! The remediation Lambda, as the SSM document's one `aws:invokeLambdaFunction` step invokes it.
//!
//! The step's `InputPayload` is `{"InstanceId"}` and nothing else. Whoever can invoke the
//! function names an instance and no more: the required tags, administrator group, quarantine
//! tag and exemption registry are the deployed Config rule's own parameters, read with
//! `DescribeConfigRules` for the rule named in the function's environment (set by the template,
//! not by the caller), and checked exactly as the rule checks them. Any other input key is
//! refused. The instance is then read and judged by the rule's own `evaluate`: unless the rule
//! finds it NON_COMPLIANT now, and it carries no quarantine tag, nothing is changed and the
//! answer says why. A failure is returned as the Lambda error, which fails the SSM step, so
//! Config retries within `maximum-attempts` and shows the error in the console.

use chrono::{DateTime, Utc};
use config_rule_sdk::AwsScope;
use config_rule_sdk::exemption::Registry;
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::notify::{Notifier, TOPIC_ENV};
use config_rule_sdk::params::{self, ParameterError, RawParameters};
use config_rule_sdk::remediation::{
    CONFIG_RULE_ENV, Context, Outcome, Remediation, RemediationRecord, RemediationTrigger,
    remediate,
};
use config_rule_sdk::{RuleError, RuleMeta};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

use super::{Assessment, BaselineRemediation, assess};
use crate::{Params, RULE_TOML};

/// The one input key the function takes.
const INSTANCE_ID: &str = "InstanceId";

/// The SSM step's input: the instance to put right, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub instance_id: String,
}

impl Request {
    /// Takes `{"InstanceId": "i-…"}`; any other key is refused, naming it, so a caller cannot
    /// believe it steered the remediation.
    pub fn from_payload(payload: Value) -> Result<Self, RuleError> {
        let refuse = |name: &str, problem: String| {
            RuleError::from(ParameterError {
                name: name.to_owned(),
                problem,
            })
        };
        let Value::Object(input) = payload else {
            return Err(refuse(
                INSTANCE_ID,
                "the remediation input is not a JSON object".into(),
            ));
        };
        if let Some(other) = input.keys().find(|k| *k != INSTANCE_ID) {
            return Err(refuse(
                other,
                format!(
                    "the remediation takes only {INSTANCE_ID}; required tags, administrator group, \
                     quarantine tag and exemptions are the deployed Config rule's parameters"
                ),
            ));
        }
        let id = input
            .get(INSTANCE_ID)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let valid = id.strip_prefix("i-").is_some_and(|hex| {
            (8..=17).contains(&hex.len())
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        });
        if !valid {
            return Err(refuse(
                INSTANCE_ID,
                format!("the remediation input needs an instance id (i-…), got `{id}`"),
            ));
        }
        Ok(Self {
            instance_id: id.to_owned(),
        })
    }
}

/// Where and when the Lambda runs, and for which Config rule; taken at the edge.
#[derive(Debug, Clone, Copy)]
pub struct Invoked<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub now: DateTime<Utc>,
    /// The Config rule the function was deployed for (its environment); its parameters decide.
    pub config_rule: &'a str,
}

/// What the Lambda answers; the SSM step keeps it as its `Payload` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub instance_id: String,
    /// `remediated`, `already-compliant`, `not-applicable`, `quarantined` or `exempt`.
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
    fn unchanged(instance_id: &str, outcome: &'static str, reason: String) -> Self {
        Self {
            instance_id: instance_id.to_owned(),
            outcome,
            reason: Some(reason),
            exemption: None,
            record: None,
        }
    }
}

/// Handles one SSM step invocation: decodes the input, reads the deployed rule's parameters,
/// judges the live instance, then re-reads, plans, fixes and records through the SDK's
/// `remediate`.
pub async fn handle(
    remediation: &BaselineRemediation,
    meta: &RuleMeta,
    aws: &AwsScope,
    payload: Value,
    invoked: Invoked<'_>,
    notifier: Option<&Notifier>,
) -> Result<Response, RuleError> {
    let request = Request::from_payload(payload)?;
    let id = request.instance_id.as_str();
    let deployed = remediation
        .deployed_parameters(aws, invoked.config_rule)
        .await?;
    let raw = RawParameters::split(&deployed);
    let params: Params = params::decode(meta, &raw.rule)?;
    let registry = raw
        .exemptions
        .as_deref()
        .map(Registry::parse)
        .transpose()?
        .unwrap_or_default()
        .with_policy(meta.exemptions.clone());
    let live = remediation.read(aws, id).await?;
    let (outcome, reason) = match assess(&live, &params) {
        Assessment::NonCompliant(_) => (None, String::new()),
        Assessment::Quarantined(why) => (Some("quarantined"), why),
        Assessment::Compliant(why) => (Some("already-compliant"), why),
        Assessment::NotApplicable(why) => (Some("not-applicable"), why),
    };
    if let Some(outcome) = outcome {
        tracing::info!(
            rule = invoked.config_rule,
            resource_id = id,
            outcome,
            reason = %reason,
            "not remediated"
        );
        return Ok(Response::unchanged(id, outcome, reason));
    }
    let context = Context {
        rule: &meta.name,
        account: invoked.account,
        region: invoked.region,
        registry: &registry,
        trigger: RemediationTrigger::Lambda,
        now: invoked.now,
    };
    let outcome = remediate(remediation, aws, id, &params, &context, notifier).await?;
    Ok(match outcome {
        // Changed between the two reads: the second one decides.
        Outcome::AlreadyCompliant => Response::unchanged(
            id,
            "already-compliant",
            "the instance needs no change when read again".into(),
        ),
        Outcome::Exempt(note) => Response {
            exemption: Some(note),
            ..Response::unchanged(id, "exempt", "an active exemption".into())
        },
        Outcome::Remediated(record) => Response {
            instance_id: id.to_owned(),
            outcome: "remediated",
            reason: None,
            exemption: None,
            record: Some(*record),
        },
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
    let (meta, edge, remediation, topic, config_rule) =
        (&meta, &edge, &remediation, &topic, &config_rule);
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
                config_rule,
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
    fn the_input_names_the_instance_and_nothing_else() {
        let request = Request::from_payload(json!({"InstanceId": "i-0123456789abcdef0"})).unwrap();
        assert_eq!(request.instance_id, "i-0123456789abcdef0");
        for (key, value) in [
            ("AdminSecurityGroupId", json!("sg-0a0a0a0a")),
            (
                "RequiredTags",
                json!({"custos:exempt": "ec2-instance-baseline"}),
            ),
            ("Exemptions", json!("{}")),
        ] {
            let mut input = json!({"InstanceId": "i-0123456789abcdef0"});
            input[key] = value;
            let err = Request::from_payload(input).unwrap_err().to_string();
            assert!(
                err.contains(key) && err.contains("takes only InstanceId"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_input_without_an_instance_id_is_refused_naming_it() {
        for payload in [
            json!({}),
            json!({"InstanceId": "sg-0a0a0a0a"}),
            json!("i-0abc"),
        ] {
            let err = Request::from_payload(payload).unwrap_err().to_string();
            assert!(err.contains("InstanceId"), "{err}");
        }
    }
}
