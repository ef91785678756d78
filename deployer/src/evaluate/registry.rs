//! The rules `evaluate` can run in-process: rule name -> the rule crate, run through the SDK's
//! pure decide path (`decide::change` for change rules; gather in dry-run mode, then
//! `decide::periodic`, for periodic rules). The only place the deployer links rule code.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use config_rule_sdk::decide::{self, Settings};
use config_rule_sdk::{
    AwsScope, ConfigurationItem, Evaluation, PeriodicRule, Rule, RuleError, RuleMeta, RunContext,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aws::Aws;

/// A periodic preview's future (boxed: the rules' gather futures differ in type).
pub type Gathering<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Evaluation>, RuleError>> + Send + 'a>>;

/// How one rule is previewed.
pub enum Previewer {
    Change(Box<dyn ChangePreview>),
    Periodic(Box<dyn PeriodicPreview>),
}

/// A change-triggered rule, run on one recorded item.
pub trait ChangePreview: Send + Sync {
    fn evaluate(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError>;
}

/// A periodic rule, gathering its facts read-only (`may_act` false) in one account and region.
pub trait PeriodicPreview: Send + Sync {
    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        member: &'a Aws,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> Gathering<'a>;
}

/// The previewer of `rule`, when the deployer carries an in-process build of it.
pub fn lookup(rule: &str) -> Option<Previewer> {
    let change = |p: Box<dyn ChangePreview>| Some(Previewer::Change(p));
    match rule {
        "s3-bucket-encryption" => change(Box::new(Change {
            rule: s3_bucket_encryption::S3BucketEncryption,
        })),
        "ec2-instance-baseline" => change(Box::new(Change {
            rule: ec2_instance_baseline::Ec2InstanceBaseline,
        })),
        "vpc-creation-approved" => change(Box::new(Change {
            rule: vpc_creation_approved::VpcCreationApproved,
        })),
        "iam-policy-no-admin-wildcards" => change(Box::new(Change {
            rule: iam_policy_no_admin_wildcards::IamPolicyNoAdminWildcards,
        })),
        "ec2-cost-context" => Some(Previewer::Periodic(Box::new(Periodic(cost_context)))),
        "iam-access-key-behaviour" => Some(Previewer::Periodic(Box::new(Periodic(
            access_key_behaviour,
        )))),
        _ => None,
    }
}

fn cost_context(member: &Aws, region: &str) -> ec2_cost_context::Ec2CostContext {
    ec2_cost_context::Ec2CostContext::with_client(clients::ec2(member, region))
}

fn access_key_behaviour(
    member: &Aws,
    region: &str,
) -> iam_access_key_behaviour::IamAccessKeyBehaviour {
    iam_access_key_behaviour::IamAccessKeyBehaviour::new().with_clients(
        iam_access_key_behaviour::Clients {
            iam: clients::iam(member),
            cloudtrail: clients::cloudtrail(member, region),
            // Read-only: no deactivation, so no count of them.
            ssm: None,
            notifier: None,
        },
    )
}

/// Every rule name [`lookup`] knows, for messages.
pub const KNOWN: [&str; 6] = [
    "ec2-cost-context",
    "ec2-instance-baseline",
    "iam-access-key-behaviour",
    "iam-policy-no-admin-wildcards",
    "s3-bucket-encryption",
    "vpc-creation-approved",
];

/// The rule's parameters as one invocation would carry them, decoded the way the SDK decodes
/// `ruleParameters` (defaults filled, unknown names refused, exemption registry read).
pub fn settings<P: DeserializeOwned>(
    meta: &RuleMeta,
    parameters: &BTreeMap<String, Value>,
) -> Result<Settings<P>, RuleError> {
    // The preview already reads with the member's own credentials: no role to assume.
    Ok(Settings {
        execution_role_name: None,
        ..decide::parameter_settings(meta, parameters)?
    })
}

struct Change<R> {
    rule: R,
}

impl<R: Rule + Send + Sync> ChangePreview for Change<R> {
    fn evaluate(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError> {
        let settings = settings::<R::Params>(meta, parameters)?;
        decide::change(&self.rule, meta, &settings, item, false, Some(now))
    }
}

/// A periodic rule built per account and region with the deployer's own clients, so its reads
/// are counted with every other call.
struct Periodic<F>(F);

impl<R, F> PeriodicPreview for Periodic<F>
where
    R: PeriodicRule + Send + Sync,
    R::Params: Send,
    F: Fn(&Aws, &str) -> R + Send + Sync,
{
    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        member: &'a Aws,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> Gathering<'a> {
        Box::pin(async move {
            let settings = settings::<R::Params>(meta, parameters)?;
            let rule = (self.0)(member, region);
            let regional = member
                .config
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build();
            let scope = AwsScope::new(regional, None);
            let run = RunContext {
                rule: &meta.name,
                now,
                registry: &settings.registry,
                may_act: false,
                notifier: None,
                region,
            };
            let facts = rule.gather(&scope, &settings.params, &run).await?;
            let findings = rule.evaluate(&facts, &settings.params, now);
            // Before rollout there are no earlier results to retire.
            Ok(decide::periodic(
                &meta.name,
                findings,
                &BTreeSet::new(),
                &settings.registry,
                now,
            ))
        })
    }
}

/// Clients for periodic gathers, carrying the call counter.
mod clients {
    use crate::aws::Aws;

    pub fn ec2(member: &Aws, region: &str) -> aws_sdk_ec2::Client {
        let conf = aws_sdk_ec2::config::Builder::from(&member.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(member.calls.clone())
            .build();
        aws_sdk_ec2::Client::from_conf(conf)
    }

    pub fn iam(member: &Aws) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&member.config)
            .interceptor(member.calls.clone())
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    pub fn cloudtrail(member: &Aws, region: &str) -> aws_sdk_cloudtrail::Client {
        let conf = aws_sdk_cloudtrail::config::Builder::from(&member.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(member.calls.clone())
            .build();
        aws_sdk_cloudtrail::Client::from_conf(conf)
    }
}
