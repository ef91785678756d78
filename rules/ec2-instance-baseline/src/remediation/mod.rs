//! The remediation: put a non-compliant instance right, through the SDK's
//! re-read -> exemption check -> plan -> apply -> re-read -> record sequence.
//!
//! [`plan`] is pure and decides everything: only the missing tags are created (with their
//! defaults), and the administrator group is added to the groups the instance already has.
//! [`ec2`] makes the calls; [`lambda`] is what the SSM document invokes.
//!
//! EC2 refuses the group change for an instance with several network interfaces, or when the
//! administrator group belongs to another VPC; the remediation then fails with EC2's reason
//! (after creating the missing tags), and Config shows it as a failed remediation.

mod ec2;
pub mod lambda;

use std::collections::BTreeMap;
use std::fmt;

use config_rule_sdk::RuleError;
use config_rule_sdk::aws::AwsScope;
use config_rule_sdk::remediation::Remediation;
use serde::Serialize;

use crate::Params;
use crate::baseline;

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
    /// `ModifyInstanceAttribute`: the complete new group list (it replaces the old one), when
    /// the administrator group must be added: the existing groups, then the administrator group.
    pub security_groups: Option<Vec<String>>,
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
        if let Some(groups) = &self.security_groups {
            // The plan puts the administrator group last.
            let added = groups.last().map_or("", String::as_str);
            parts.push(format!(
                "added security group {added} (groups now {})",
                groups.join(", ")
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Pure: what to do to `live` so it meets the baseline; `None` when it already does (or is
/// shutting down or terminated).
pub fn plan(live: &LiveInstance, params: &Params) -> Option<Fix> {
    if baseline::is_gone(&live.state) {
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
    let security_groups = gaps.outside_admin_group.then(|| {
        let mut groups = live.security_groups.clone();
        groups.push(admin.as_str().to_owned());
        groups
    });
    Some(Fix {
        create_tags,
        security_groups,
    })
}

/// The remediation, with EC2 clients built from the scope's configuration, or one given client.
#[derive(Debug, Clone, Default)]
pub struct BaselineRemediation {
    ec2: Option<aws_sdk_ec2::Client>,
}

impl BaselineRemediation {
    /// Builds its EC2 client from the scope it is given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `client` for every call (tests with mocked responses, interceptors).
    pub fn with_client(client: aws_sdk_ec2::Client) -> Self {
        Self { ec2: Some(client) }
    }

    fn client(&self, aws: &AwsScope) -> aws_sdk_ec2::Client {
        self.ec2
            .clone()
            .unwrap_or_else(|| aws_sdk_ec2::Client::new(aws.config()))
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
