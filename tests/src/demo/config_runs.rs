//! The rules run the way Config runs them, in each member account: for every resource of a
//! change rule's type, an item in AWS's shape recorded from live state and the rule's handler
//! on its change notification; for a periodic rule, the scheduled notification. Results go
//! through the real `PutEvaluations` of each account, under the rule the deployer deployed.
//!
//! The emulator never invokes a custom rule's Lambda (that needs a container runtime), so the
//! harness runs each handler in-process with the event Config would send.

use anyhow::{Context, Result};
use config_rule_sdk::Entry;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::entry::Kind;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use serde_json::Value;

use super::estate::Member;
use crate::config_service::events::{change_event, scheduled_event};
use crate::config_service::{ConfigService, DeployedRule};
use crate::recorder;

/// Every rule of the catalogue, once, in every member; how many evaluations were put.
pub async fn run_all(members: &[Member]) -> Result<usize> {
    let mut put = 0;
    for member in members {
        put += Box::pin(run_member(member)).await?;
    }
    Ok(put)
}

async fn run_member(member: &Member) -> Result<usize> {
    let config = ConfigService::new(&member.account);
    let mut put = 0;
    for entry in custos_rules::all() {
        put += match entry.kind() {
            Kind::Change(_) => Box::pin(change(&config, member, &entry)).await?,
            Kind::Periodic(_) => Box::pin(periodic(&config, &entry)).await?,
        };
    }
    Ok(put)
}

/// The member's resources of `resource_type`, recorded as Config records them now.
async fn items(member: &Member, resource_type: &str) -> Result<Vec<Value>> {
    let (cfg, id) = (&member.account.config, member.account.id.as_str());
    let mut items = Vec::new();
    match resource_type {
        "AWS::S3::Bucket" => {
            for bucket in &member.buckets {
                items.push(recorder::s3_bucket(cfg, id, bucket).await?);
            }
        }
        "AWS::EC2::Instance" => {
            for instance in &member.instances {
                items.push(recorder::ec2::ec2_instance(cfg, id, instance).await?);
            }
        }
        "AWS::EC2::VPC" => {
            for vpc in &member.vpcs {
                items.push(recorder::ec2::ec2_vpc(cfg, id, vpc).await?);
            }
        }
        "AWS::IAM::Policy" => {
            for policy in &member.policies {
                items.push(recorder::iam::iam_policy(cfg, id, &policy.arn).await?);
            }
        }
        // The estate has none of the other types.
        _ => {}
    }
    Ok(items)
}

/// The rule as the deployer stored it in this account (its parameters included).
async fn deployed(config: &ConfigService, meta: &RuleMeta) -> Result<DeployedRule> {
    config
        .deployed_rule(&meta.name)
        .await
        .with_context(|| format!("{} was not deployed to {}", meta.name, config.account().id))
}

async fn change(config: &ConfigService, member: &Member, entry: &Entry) -> Result<usize> {
    let deployed = deployed(config, entry.meta()).await?;
    let mut put = 0;
    for resource_type in &entry.meta().resource_types {
        for item in items(member, resource_type).await? {
            put += config
                .run_change_rule(entry, &deployed, &item, Mode::Put)
                .await?
                .len();
        }
    }
    Ok(put)
}

async fn periodic(config: &ConfigService, entry: &Entry) -> Result<usize> {
    let meta = entry.meta();
    let deployed = deployed(config, meta).await?;
    let account = config.account();
    let event = scheduled_event(&deployed, &account.id, crate::now());
    let edge = Edge::from_config(account.config.clone());
    let evaluations = entry
        .handle(event, &edge, Mode::Put)
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
