//! The rules run the way Config runs them, in each member account: for every resource of a
//! change rule's type, an item in AWS's shape recorded from live state and the rule's handler
//! on its change notification; for a periodic rule, the scheduled notification. Results go
//! through the real `PutEvaluations` of each account, under the rule the deployer deployed.
//!
//! The emulator never invokes a custom rule's Lambda (that needs a container runtime), so the
//! harness runs each handler in-process with the event Config would send.

use anyhow::{Context, Result};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::aws::Edge;
use config_rule_sdk::runtime::{self, Mode};
use config_rule_sdk::{PeriodicRule, Rule};
use serde_json::Value;

use super::estate::Member;
use crate::config_service::events::{change_event, scheduled_event};
use crate::config_service::{ConfigService, DeployedRule};
use crate::recorder;

/// Every seed rule, once, in every member; how many evaluations were put.
pub async fn run_all(members: &[Member]) -> Result<usize> {
    let mut put = 0;
    for member in members {
        put += Box::pin(run_member(member)).await?;
    }
    Ok(put)
}

async fn run_member(member: &Member) -> Result<usize> {
    let account = &member.account;
    let config = ConfigService::new(account);
    let (cfg, id) = (&account.config, account.id.as_str());
    let mut put = 0;

    let mut items = Vec::new();
    for bucket in &member.buckets {
        items.push(recorder::s3_bucket(cfg, id, bucket).await?);
    }
    put += Box::pin(change(
        &config,
        &s3_bucket_encryption::S3BucketEncryption,
        s3_bucket_encryption::RULE_TOML,
        &items,
    ))
    .await?;

    let mut items = Vec::new();
    for instance in &member.instances {
        items.push(recorder::ec2::ec2_instance(cfg, id, instance).await?);
    }
    put += Box::pin(change(
        &config,
        &ec2_instance_baseline::Ec2InstanceBaseline,
        ec2_instance_baseline::RULE_TOML,
        &items,
    ))
    .await?;

    let mut items = Vec::new();
    for vpc in &member.vpcs {
        items.push(recorder::ec2::ec2_vpc(cfg, id, vpc).await?);
    }
    put += Box::pin(change(
        &config,
        &vpc_creation_approved::VpcCreationApproved,
        vpc_creation_approved::RULE_TOML,
        &items,
    ))
    .await?;

    let mut items = Vec::new();
    for policy in &member.policies {
        items.push(recorder::iam::iam_policy(cfg, id, &policy.arn).await?);
    }
    put += Box::pin(change(
        &config,
        &iam_policy_no_admin_wildcards::IamPolicyNoAdminWildcards,
        iam_policy_no_admin_wildcards::RULE_TOML,
        &items,
    ))
    .await?;

    put += Box::pin(periodic(
        &config,
        &ec2_cost_context::Ec2CostContext::new(),
        ec2_cost_context::RULE_TOML,
    ))
    .await?;
    put += Box::pin(periodic(
        &config,
        &iam_access_key_behaviour::IamAccessKeyBehaviour::new(),
        iam_access_key_behaviour::RULE_TOML,
    ))
    .await?;
    Ok(put)
}

/// The rule as the deployer stored it in this account (its parameters included).
async fn deployed(config: &ConfigService, meta: &RuleMeta) -> Result<DeployedRule> {
    config
        .deployed_rule(&meta.name)
        .await
        .with_context(|| format!("{} was not deployed to {}", meta.name, config.account().id))
}

async fn change<R: Rule>(
    config: &ConfigService,
    rule: &R,
    rule_toml: &str,
    items: &[Value],
) -> Result<usize> {
    let meta = RuleMeta::from_toml(rule_toml)?;
    let deployed = deployed(config, &meta).await?;
    let mut put = 0;
    for item in items {
        put += config
            .run_change_rule(rule, &meta, &deployed, item, Mode::Put)
            .await?
            .len();
    }
    Ok(put)
}

async fn periodic<R: PeriodicRule>(
    config: &ConfigService,
    rule: &R,
    rule_toml: &str,
) -> Result<usize> {
    let meta = RuleMeta::from_toml(rule_toml)?;
    let deployed = deployed(config, &meta).await?;
    let account = config.account();
    let event = scheduled_event(&deployed, &account.id, crate::now());
    let edge = Edge::from_config(account.config.clone());
    let evaluations = runtime::handle_periodic(rule, &meta, event, &edge, Mode::Put)
        .await
        .with_context(|| format!("{} in {}", meta.name, account.id))?;
    Ok(evaluations.len())
}

/// The change notification Config would send `s3-bucket-encryption` for the member's first
/// bucket now: an event file to run the rule binary on.
pub async fn example_event(member: &Member) -> Result<Value> {
    let account = &member.account;
    let bucket = member.buckets.first().context("the member has no bucket")?;
    let item = recorder::s3_bucket(&account.config, &account.id, bucket).await?;
    let meta = RuleMeta::from_toml(s3_bucket_encryption::RULE_TOML)?;
    let deployed = deployed(&ConfigService::new(account), &meta).await?;
    Ok(change_event(&deployed, &account.id, &item, crate::now()))
}
