//! Remediation, as Config starts it for non-compliant resources, and the owners' part where a
//! rule only notifies.
//!
//! Config runs the SSM Automation document of a rule's remediation configuration on each
//! NON_COMPLIANT resource when the configuration is automatic; a manual one waits until someone
//! starts it. The emulator's CloudFormation only records the remediation configurations the
//! deployer deployed, so the harness first creates them in Config from the deployed templates
//! ([`crate::cloudformation`]), then reads them back from Config. The emulator records
//! automation executions but never runs them, so the harness carries out each document's steps
//! the way SSM would, with the input the configuration passes:
//! - `AWS-EnableS3BucketEncryption` (AWS-owned): its `PutBucketEncryption` step;
//! - `Custos-Ec2InstanceBaseline`: its one `aws:invokeLambdaFunction` step, by running the
//!   remediation Lambda's handler in-process.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Tag;
use config_rule_sdk::AwsScope;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::manifest::RemediationKind;
use config_rule_sdk::notify::Notifier;
use ec2_instance_baseline::remediation::BaselineRemediation;
use ec2_instance_baseline::remediation::lambda::{self, Invoked};
use serde_json::json;

use super::estate::Member;
use crate::config_service::ConfigService;
use crate::config_service::remediation::{DeployedRemediation, Execution};
use crate::emulator::REGION;

/// One thing done to one resource, for the demo's output.
pub struct Action {
    pub account: String,
    pub resource: String,
    pub how: String,
}

/// What Config does for every NON_COMPLIANT resource of the rules with a deployed remediation:
/// runs it when it is automatic; leaves it to be started by hand when it is manual.
pub async fn remediate(members: &[Member]) -> Result<Vec<Action>> {
    let mut done = Vec::new();
    for member in members {
        crate::cloudformation::provision_remediations(
            &member.account.config,
            "StackSet-custos-rule-",
        )
        .await
        .with_context(|| format!("remediation configurations of {}", member.account.id))?;
        let config = ConfigService::new(&member.account);
        for rule in [
            s3_bucket_encryption::RULE_TOML,
            ec2_instance_baseline::RULE_TOML,
        ] {
            let meta = RuleMeta::from_toml(rule)?;
            let Some(remediation) = config.remediation(&meta.name).await? else {
                continue;
            };
            for resource in non_compliant(&config, &meta.name).await? {
                let Some(execution) = remediation.on_non_compliant(&resource) else {
                    done.push(Action {
                        account: member.account.id.clone(),
                        resource,
                        how: format!(
                            "{} is manual: nothing runs until someone starts it \
                             (StartRemediationExecution)",
                            remediation.document
                        ),
                    });
                    continue;
                };
                let how = run(&config, &meta, &remediation, &execution).await?;
                done.push(Action {
                    account: member.account.id.clone(),
                    resource,
                    how,
                });
            }
        }
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

/// Carries out one run of the document, as SSM would; says what was done.
async fn run(
    config: &ConfigService,
    meta: &RuleMeta,
    remediation: &DeployedRemediation,
    execution: &Execution,
) -> Result<String> {
    let account = config.account();
    // A Lambda remediation's shipped document invokes the rule's remediation function;
    // the others are AWS-owned documents the harness carries out.
    let invokes_lambda = meta
        .remediation
        .as_ref()
        .is_some_and(|r| r.kind == RemediationKind::Lambda);
    if !invokes_lambda {
        crate::ssm::run(&account.config, execution).await?;
        let steps = execution
            .input
            .get("SSEAlgorithm")
            .map_or("AES256", String::as_str);
        return Ok(format!(
            "{}, step PutBucketEncryption {steps} (carried out by the harness as SSM would)",
            remediation.document
        ));
    }
    let scope = AwsScope::new(account.config.clone(), Some(account.id.clone()));
    let topic = crate::eventbridge::compliance_notification(&account.config, &meta.name)
        .await
        .map(|n| n.topic_arn)
        .ok();
    let notifier = topic
        .as_ref()
        .map(|t| Notifier::new(aws_sdk_sns::Client::new(&account.config), t));
    let document = crate::cloudformation::deployed_document(
        &account.config,
        "StackSet-custos-rule-",
        &execution.document,
    )
    .await?
    .with_context(|| format!("no stack deploys the document {}", execution.document))?;
    let invocation = crate::ssm::lambda_invocation(&document, &execution.input)?;
    // The function reads its settings from the Config rule its stack named in its environment.
    let config_rule =
        crate::ssm::function_config_rule(&account.config, &invocation.function_name).await?;
    let invoked = Invoked {
        account: &account.id,
        region: REGION,
        now: crate::now(),
        config_rule: &config_rule,
    };
    let response = lambda::handle(
        &BaselineRemediation::new(),
        meta,
        &scope,
        invocation.payload,
        invoked,
        notifier.as_ref(),
    )
    .await
    .with_context(|| format!("remediating {}", execution.resource_id))?;
    let what = match (&response.record, &topic) {
        (Some(r), Some(topic)) => format!(": {}; record published to {topic}", r.action),
        (Some(r), None) => format!(": {}", r.action),
        _ => String::new(),
    };
    Ok(format!(
        "{}, step aws:invokeLambdaFunction (the remediation Lambda's handler, run by the \
         harness): {}{what}",
        remediation.document, response.outcome
    ))
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
