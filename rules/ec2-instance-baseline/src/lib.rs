//! # ec2-instance-baseline
//!
//! ## What it checks
//! Every EC2 instance carries each tag of `requiredTags` with a non-blank value, and is in the
//! administrator security group `adminSecurityGroupId`. Instances that are shutting down or
//! terminated are NOT_APPLICABLE.
//!
//! ## Why it matters
//! Untagged instances have no owner to ask and no cost centre to bill, and an instance outside the
//! administrator group cannot be reached by the people who must patch it or respond to an
//! incident on it.
//!
//! ## Parameters
//! - `requiredTags` (JSON object): tag key -> the default the remediation writes when the tag is
//!   missing, e.g. `{"Owner":"unassigned","CostCenter":"0000"}`. Keys are case-sensitive, as in
//!   EC2.
//! - `adminSecurityGroupId`: the group every instance must be in. A security group belongs to
//!   one VPC, so accounts with several VPCs need a value per VPC (per-account or per-OU overrides).
//! - `quarantineTag` (default `custos:quarantine`): `KEY` or `KEY=VALUE`; the remediation never
//!   changes an instance carrying it (incident responders isolate instances by their groups).
//!
//! ## Remediation
//! The `ec2-instance-baseline-remediation` Lambda ([`remediation`]), run by Config through the
//! shipped SSM document `ssm/Custos-Ec2InstanceBaseline.yaml`. It takes the instance id alone; the
//! parameters are those of the deployed Config rule (`DescribeConfigRules`). It re-reads the
//! instance, changes nothing unless the rule finds it NON_COMPLIANT now or if it is quarantined,
//! creates only the missing tags with their defaults (existing values are never overwritten),
//! and adds the administrator group to the groups read just before the change. It records what
//! it changed and publishes the record to the notification topic.
//!
//! ## Reads
//! `configuration.state.name`, `configuration.securityGroups[].groupId` and the item's tags
//! (`tags`, or `configuration.tags` in shapes that carry no top-level tags) of the
//! `AWS::EC2::Instance` configuration item.

mod baseline;
pub mod params;
pub mod remediation;

use config_rule_sdk::item::ListedTag;
use config_rule_sdk::params::Json;
use config_rule_sdk::{Item, Rule, Verdict};
use serde::Deserialize;

pub use params::{QuarantineTag, RequiredTags, SecurityGroupId};

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::change(Ec2InstanceBaseline, RULE_TOML).into()
}

pub struct Ec2InstanceBaseline;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "requiredTags")]
    pub required_tags: Json<RequiredTags>,
    #[serde(rename = "adminSecurityGroupId")]
    pub admin_security_group_id: SecurityGroupId,
    /// Instances carrying this tag are left alone by the remediation (incident response).
    #[serde(rename = "quarantineTag")]
    pub quarantine_tag: QuarantineTag,
}

/// The part of an `AWS::EC2::Instance` configuration the rule reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(default)]
    pub state: Option<InstanceState>,
    #[serde(default)]
    pub security_groups: Option<Vec<GroupIdentifier>>,
    /// The instance's tags as EC2 lists them; the item's top-level `tags` say the same.
    #[serde(default)]
    pub tags: Option<Vec<ListedTag>>,
}

#[derive(Debug, Deserialize)]
pub struct InstanceState {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupIdentifier {
    pub group_id: String,
}

impl Rule for Ec2InstanceBaseline {
    type Params = Params;
    type Resource = Instance;

    fn evaluate(&self, item: &Item<Instance>, params: &Params) -> Verdict {
        let instance = &item.configuration;
        if let Some(state) = instance
            .state
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .filter(|s| baseline::is_gone(s))
        {
            return Verdict::not_applicable(format!("instance is {state}"));
        }
        let groups: Vec<&str> = instance
            .security_groups
            .iter()
            .flatten()
            .map(|g| g.group_id.as_str())
            .collect();
        let required = &params.required_tags.0;
        let admin = &params.admin_security_group_id;
        let gaps = baseline::gaps(
            required,
            admin,
            &item.tags_with(item.configuration.tags.as_deref()),
            &groups,
        );
        if !gaps.is_empty() {
            return Verdict::non_compliant(baseline::describe(&gaps, admin, &groups));
        }
        let keys: Vec<&str> = required.keys().collect();
        let tags = if keys.is_empty() {
            "no tags are required".to_owned()
        } else {
            format!("carries {}", keys.join(", "))
        };
        Verdict::compliant().because(format!("{tags}; in administrator security group {admin}"))
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
