//! Remediation, as Config starts it for non-compliant resources, and the owners' part where a
//! rule only notifies.
//!
//! Config starts a rule's SSM Automation document on each NON_COMPLIANT resource. The emulator
//! records automation executions but never runs them, so the harness carries out each
//! document's steps the way SSM would, with the input `rule.toml` maps from the stored rule's
//! parameters:
//! - `AWS-EnableS3BucketEncryption` (AWS-owned): its `PutBucketEncryption` step;
//! - `Custos-Ec2InstanceBaseline`: its one `aws:invokeLambdaFunction` step, by running the
//!   remediation Lambda's handler in-process.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Tag;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::aws::AwsScope;
use config_rule_sdk::notify::Notifier;
use ec2_instance_baseline::remediation::BaselineRemediation;
use ec2_instance_baseline::remediation::lambda::{self, Invoked};
use serde_json::{Value, json};

use super::estate::Member;
use crate::config_service::{ConfigService, DeployedRule};
use crate::emulator::REGION;

/// The notification topic the deployer's base stack creates in every target account.
const TOPIC_NAME: &str = "custos-notifications";

/// One thing done to one resource, for the demo's output.
pub struct Action {
    pub account: String,
    pub resource: String,
    pub how: String,
}

/// Starts the remediation of every NON_COMPLIANT resource of the rules that have one.
pub async fn remediate(members: &[Member]) -> Result<Vec<Action>> {
    let mut done = Vec::new();
    for member in members {
        let config = ConfigService::new(&member.account);
        done.extend(s3(&config).await?);
        done.extend(ec2_baseline(&config).await?);
    }
    Ok(done)
}

/// The resources Config reports NON_COMPLIANT for `rule`.
async fn non_compliant(config: &ConfigService, rule: &str) -> Result<Vec<String>> {
    Ok(config
        .compliance_by_resource(rule)
        .await?
        .into_iter()
        .filter(|(_, c)| c.compliance == "NON_COMPLIANT")
        .map(|(id, _)| id)
        .collect())
}

/// The document's input: each parameter as `rule.toml` maps it, from the stored rule's
/// parameters (`ssm::document_input`). Parameters the rule leaves unset are left to the
/// document's defaults.
pub fn document_input(
    meta: &RuleMeta,
    rule: &DeployedRule,
    resource_id: &str,
) -> Result<BTreeMap<String, String>> {
    let stored: BTreeMap<String, String> = serde_json::from_str(&rule.input_parameters)
        .with_context(|| format!("{}'s InputParameters", rule.name))?;
    let mapping = meta
        .remediation
        .as_ref()
        .with_context(|| format!("{} has no remediation", meta.name))?;
    Ok(crate::ssm::document_input(
        &mapping.parameters,
        &stored,
        resource_id,
    ))
}

async fn s3(config: &ConfigService) -> Result<Vec<Action>> {
    let meta = RuleMeta::from_toml(s3_bucket_encryption::RULE_TOML)?;
    let rule = config.deployed_rule(&meta.name).await?;
    let mut done = Vec::new();
    for bucket in non_compliant(config, &meta.name).await? {
        let input = document_input(&meta, &rule, &bucket)?;
        let algorithm = input.get("SSEAlgorithm").map(String::as_str);
        crate::ssm::enable_s3_bucket_encryption(
            &config.account().config,
            &bucket,
            algorithm,
            input.get("KMSMasterKey").map(String::as_str),
        )
        .await?;
        done.push(Action {
            account: config.account().id.clone(),
            resource: bucket,
            how: format!(
                "AWS-EnableS3BucketEncryption, step PutBucketEncryption {} (carried out by the harness as SSM would)",
                algorithm.unwrap_or("AES256")
            ),
        });
    }
    Ok(done)
}

async fn ec2_baseline(config: &ConfigService) -> Result<Vec<Action>> {
    let meta = RuleMeta::from_toml(ec2_instance_baseline::RULE_TOML)?;
    let rule = config.deployed_rule(&meta.name).await?;
    let account = config.account();
    let scope = AwsScope::new(account.config.clone(), Some(account.id.clone()));
    let topic = topic_arn(&account.config).await?;
    let notifier = topic
        .as_ref()
        .map(|t| Notifier::new(aws_sdk_sns::Client::new(&account.config), t));
    let mut done = Vec::new();
    for instance in non_compliant(config, &meta.name).await? {
        let input: serde_json::Map<String, Value> = document_input(&meta, &rule, &instance)?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let invoked = Invoked {
            account: &account.id,
            region: REGION,
            now: crate::now(),
            config_rule: &meta.name,
        };
        let response = lambda::handle(
            &BaselineRemediation::new(),
            &meta,
            &scope,
            Value::Object(input),
            invoked,
            notifier.as_ref(),
        )
        .await
        .with_context(|| format!("remediating {instance}"))?;
        let what = response
            .record
            .as_ref()
            .map(|r| format!(": {}; record published to {TOPIC_NAME}", r.action))
            .unwrap_or_default();
        done.push(Action {
            account: account.id.clone(),
            resource: instance,
            how: format!(
                "Custos-Ec2InstanceBaseline, step aws:invokeLambdaFunction (the remediation \
                 Lambda's handler, run by the harness): {}{what}",
                response.outcome
            ),
        });
    }
    Ok(done)
}

async fn topic_arn(config: &aws_config::SdkConfig) -> Result<Option<String>> {
    let topics = aws_sdk_sns::Client::new(config)
        .list_topics()
        .send()
        .await
        .context("ListTopics")?;
    Ok(topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|arn| arn.ends_with(&format!(":{TOPIC_NAME}")))
        .map(str::to_owned))
}

/// What the owners do where a rule only notifies: approve their VPC by tag, and replace the
/// break-glass policy's default version with a narrower one. (Costs and access keys stay as
/// they are: the notification is the whole response.)
pub async fn owners_respond(members: &[Member]) -> Result<Vec<Action>> {
    let mut done = Vec::new();
    for member in members {
        let account = &member.account;
        let ec2 = aws_sdk_ec2::Client::new(&account.config);
        let config = ConfigService::new(account);
        for vpc in non_compliant(&config, "vpc-creation-approved").await? {
            ec2.create_tags()
                .resources(&vpc)
                .tags(
                    Tag::builder()
                        .key("custos:approved")
                        .value("platform-lead")
                        .build(),
                )
                .send()
                .await
                .with_context(|| format!("CreateTags on {vpc}"))?;
            done.push(Action {
                account: account.id.clone(),
                resource: vpc,
                how: "the owner approved it: tag custos:approved=platform-lead".into(),
            });
        }
        let iam = aws_sdk_iam::Client::new(&account.config);
        let narrower = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*", "s3:ListAllMyBuckets"], "Resource": "*"}]});
        let flagged = non_compliant(&config, "iam-policy-no-admin-wildcards").await?;
        for policy in member.policies.iter().filter(|p| flagged.contains(&p.id)) {
            iam.create_policy_version()
                .policy_arn(&policy.arn)
                .policy_document(narrower.to_string())
                .set_as_default(true)
                .send()
                .await
                .with_context(|| format!("CreatePolicyVersion on {}", policy.arn))?;
            done.push(Action {
                account: account.id.clone(),
                resource: policy.id.clone(),
                how: "the owner replaced the default version: no more * on *".into(),
            });
        }
    }
    Ok(done)
}
