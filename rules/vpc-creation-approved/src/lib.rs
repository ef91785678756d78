//! # vpc-creation-approved
//!
//! ## What it checks
//! Every VPC carries the approval tag `approvalTagKey` (default `custos:approved`) with a
//! non-blank value, which says who approved it (`custos:approved=alice 2026-05-19 CHG-1042`).
//! Default VPCs are checked too: nobody approved them either.
//!
//! ## Why it matters
//! A new VPC is new network surface: routes, gateways and peering that the network and security
//! teams did not design. Creating one is exceptional, so each one is reported until someone
//! takes responsibility for it, and the administrators hear about it when it appears.
//!
//! ## Parameters
//! - `approvalTagKey`: the tag that records an approval.
//!
//! ## Remediation
//! None changes the VPC: deleting a network is never automatic. Each NON_COMPLIANT result is
//! mailed to the administrators: the deployer renders [`notify::compliance_change_pattern`] for
//! this rule and `NON_COMPLIANT` into an EventBridge rule that sends Config's compliance change to
//! the notification topic. Approving (tagging) the VPC makes it COMPLIANT; an exemption (tag
//! `custos:exempt` or the registry) makes it NOT_APPLICABLE.
//!
//! ## Reads
//! `configuration.cidrBlock`, `configuration.isDefault` and the item's tags (`tags`, or
//! `configuration.tags` in shapes that carry no top-level tags) of the `AWS::EC2::VPC`
//! configuration item.
//!
//! [`notify::compliance_change_pattern`]: config_rule_sdk::notify::compliance_change_pattern

use config_rule_sdk::item::ListedTag;
use config_rule_sdk::{Item, Rule, Verdict};
use serde::Deserialize;

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::change(VpcCreationApproved, RULE_TOML).into()
}

pub struct VpcCreationApproved;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "approvalTagKey")]
    pub approval_tag_key: TagKey,
}

/// A tag key EC2 accepts: 1 to 128 characters, not starting with `aws:`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TagKey(String);

impl TagKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TagKey {
    type Error = String;

    fn try_from(key: String) -> Result<Self, String> {
        let key = key.trim().to_owned();
        if key.chars().count() > 128 {
            return Err(format!("tag key `{key}` is longer than 128 characters"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!("tag key `{key}` uses the reserved prefix aws:"));
        }
        Ok(Self(key))
    }
}

/// The part of an `AWS::EC2::VPC` configuration the rule reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vpc {
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default)]
    pub is_default: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<ListedTag>>,
}

impl Rule for VpcCreationApproved {
    type Params = Params;
    type Resource = Vpc;

    fn evaluate(&self, item: &Item<Vpc>, params: &Params) -> Verdict {
        let key = params.approval_tag_key.as_str();
        let tags = item.tags_with(item.configuration.tags.as_deref());
        let approval = tags.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(approval) = approval {
            return Verdict::compliant().because(format!("approved: {key}={approval}"));
        }
        let vpc = &item.configuration;
        let kind = if vpc.is_default == Some(true) {
            "default VPC"
        } else {
            "VPC"
        };
        let cidr = vpc.cidr_block.as_deref().unwrap_or("no IPv4 CIDR");
        let id = &item.key.resource_id;
        let problem = if tags.contains_key(key) {
            format!("{kind} {id} ({cidr}) has an empty {key} tag")
        } else {
            format!("{kind} {id} ({cidr}) is not approved")
        };
        Verdict::non_compliant(format!(
            "{problem}: tag it {key}=<who approved> to approve it, or delete it"
        ))
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
