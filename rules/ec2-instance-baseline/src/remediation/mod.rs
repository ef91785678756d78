//! The remediation: put a non-compliant instance right, through the SDK's
//! re-read -> exemption check -> plan -> apply -> re-read -> record sequence.
//!
//! [`assess`] and [`plan`] are pure and decide everything: an instance the rule's own
//! `evaluate` does not find NON_COMPLIANT, or one carrying the quarantine tag, is left alone;
//! otherwise only the missing tags are created (with their defaults), and the administrator group
//! is added to the groups the instance has when the change is made (read again just before it,
//! never a list from an earlier read). [`ec2`] makes the calls; [`deployed`] reads the rule's
//! parameters; [`lambda`] is what the SSM document invokes.
//!
//! EC2 refuses the group change for an instance with several network interfaces, or when the
//! administrator group belongs to another VPC; the remediation then fails with EC2's reason
//! (after creating the missing tags), and Config shows it as a failed remediation.

mod deployed;
mod ec2;
pub mod lambda;

use std::collections::BTreeMap;
use std::fmt;

use config_rule_sdk::AwsScope;
use config_rule_sdk::item::ItemStatus;
use config_rule_sdk::remediation::Remediation;
use config_rule_sdk::{Compliance, Item, ResourceKey, Rule, RuleError};
use serde::Serialize;
use serde_json::Value;

use crate::{
    Ec2InstanceBaseline, GroupIdentifier, Instance, InstanceState, Params, QuarantineTag, baseline,
};

/// An instance as `DescribeInstances` shows it now: what the plan needs, and what the record
/// keeps as `before` and `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveInstance {
    pub instance_id: String,
    /// `running`, `stopped`, ...
    pub state: String,
    pub tags: BTreeMap<String, String>,
    /// Security group ids, in the order EC2 lists them.
    pub security_groups: Vec<String>,
}

/// What the remediation does to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// `CreateTags`: the missing tags only, with their defaults.
    pub create_tags: BTreeMap<String, String>,
    /// The administrator group, when the instance is not in it: added to the groups the
    /// instance has when the change is made.
    pub add_security_group: Option<String>,
    /// Checked again on the instance just before each change.
    pub quarantine: QuarantineTag,
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.create_tags.is_empty() {
            let tags: Vec<String> = self
                .create_tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("tagged {}", tags.join(", ")));
        }
        if let Some(group) = &self.add_security_group {
            parts.push(format!(
                "added security group {group}, keeping the groups it was in"
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// What the rule makes of an instance as it is now, for the remediation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// The rule finds it NON_COMPLIANT: the remediation may act. The rule's annotation.
    NonCompliant(String),
    Compliant(String),
    NotApplicable(String),
    /// It carries the quarantine tag: left alone whatever the rule finds.
    Quarantined(String),
}

/// Pure: the quarantine tag first, then the rule's own `evaluate` of the live instance, so the
/// remediation acts on exactly what the rule reports and nothing a caller claims.
pub fn assess(live: &LiveInstance, params: &Params) -> Assessment {
    if params.quarantine_tag.marks(&live.tags) {
        return Assessment::Quarantined(format!(
            "the instance carries the quarantine tag {}; incident response owns its groups and tags",
            params.quarantine_tag
        ));
    }
    let verdict = Ec2InstanceBaseline.evaluate(&item(live), params);
    let why = verdict
        .annotation
        .map(|a| a.to_string())
        .unwrap_or_default();
    match verdict.compliance {
        Compliance::NonCompliant => Assessment::NonCompliant(why),
        Compliance::Compliant => {
            Assessment::Compliant(format!("the rule finds it COMPLIANT: {why}"))
        }
        Compliance::NotApplicable => {
            Assessment::NotApplicable(format!("the rule finds it NOT_APPLICABLE: {why}"))
        }
    }
}

/// The live instance as the configuration item the rule evaluates.
fn item(live: &LiveInstance) -> Item<Instance> {
    Item {
        key: ResourceKey::new("AWS::EC2::Instance", &live.instance_id),
        resource_name: None,
        arn: None,
        account_id: None,
        region: None,
        availability_zone: None,
        capture_time: None,
        status: ItemStatus::Ok,
        tags: live.tags.clone(),
        supplementary: BTreeMap::new(),
        configuration: Instance {
            state: Some(InstanceState {
                name: Some(live.state.clone()),
            }),
            security_groups: Some(
                live.security_groups
                    .iter()
                    .map(|g| GroupIdentifier {
                        group_id: g.clone(),
                    })
                    .collect(),
            ),
            tags: None,
        },
        extra: BTreeMap::new(),
    }
}

/// Pure: what to do to `live` so it meets the baseline; `None` when it already does (or is
/// shutting down or terminated, or quarantined).
pub fn plan(live: &LiveInstance, params: &Params) -> Option<Fix> {
    if baseline::is_gone(&live.state) || params.quarantine_tag.marks(&live.tags) {
        return None;
    }
    let admin = &params.admin_security_group_id;
    let gaps = baseline::gaps(
        &params.required_tags.0,
        admin,
        &live.tags,
        &live.security_groups,
    );
    if gaps.is_empty() {
        return None;
    }
    let create_tags = gaps
        .missing_tags
        .into_iter()
        .map(|t| (t.key, t.default))
        .collect();
    Some(Fix {
        create_tags,
        add_security_group: gaps.outside_admin_group.then(|| admin.as_str().to_owned()),
        quarantine: params.quarantine_tag.clone(),
    })
}

/// Pure: the group list to write, from the groups read just before the write: every one of
/// them, then the administrator group; `None` when it is already there.
pub fn groups_with(current: &[String], admin: &str) -> Option<Vec<String>> {
    if current.iter().any(|g| g == admin) {
        return None;
    }
    let mut groups = current.to_vec();
    groups.push(admin.to_owned());
    Some(groups)
}

/// The remediation, with clients built from the scope's configuration, or given ones.
#[derive(Debug, Clone, Default)]
pub struct BaselineRemediation {
    ec2: Option<aws_sdk_ec2::Client>,
    config: Option<aws_sdk_config::Client>,
}

impl BaselineRemediation {
    /// Builds its clients from the scope it is given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `client` for every EC2 call (tests with mocked responses, interceptors).
    pub fn with_client(client: aws_sdk_ec2::Client) -> Self {
        Self {
            ec2: Some(client),
            config: None,
        }
    }

    /// Uses `client` to read the deployed rule (tests with mocked responses).
    #[must_use]
    pub fn with_config_client(mut self, client: aws_sdk_config::Client) -> Self {
        self.config = Some(client);
        self
    }

    fn client(&self, aws: &AwsScope) -> aws_sdk_ec2::Client {
        self.ec2
            .clone()
            .unwrap_or_else(|| aws_sdk_ec2::Client::new(aws.config()))
    }

    /// The `InputParameters` of the Config rule `rule` as deployed in this account and region.
    pub async fn deployed_parameters(
        &self,
        aws: &AwsScope,
        rule: &str,
    ) -> Result<BTreeMap<String, Value>, RuleError> {
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| aws_sdk_config::Client::new(aws.config()));
        deployed::rule_parameters(&config, rule).await
    }
}

impl Remediation for BaselineRemediation {
    type Params = Params;
    type State = LiveInstance;
    type Action = Fix;

    fn resource_type(&self) -> &'static str {
        "AWS::EC2::Instance"
    }

    fn tags(state: &LiveInstance) -> BTreeMap<String, String> {
        state.tags.clone()
    }

    fn plan(&self, state: &LiveInstance, params: &Params) -> Option<Fix> {
        plan(state, params)
    }

    async fn read(&self, aws: &AwsScope, resource_id: &str) -> Result<LiveInstance, RuleError> {
        ec2::describe(&self.client(aws), resource_id).await
    }

    async fn apply(&self, aws: &AwsScope, resource_id: &str, fix: &Fix) -> Result<(), RuleError> {
        ec2::apply(&self.client(aws), resource_id, fix).await
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod plan_tests;

#[cfg(test)]
#[path = "remediate_tests.rs"]
mod remediate_tests;
