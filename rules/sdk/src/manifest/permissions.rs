//! `[permissions]`: the IAM actions the rule and its remediation call, and the resources each is
//! granted on.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Problems;

/// IAM actions beyond the ones every rule needs ([`Permissions::SDK_ACTIONS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Permissions {
    /// Actions the rule Lambda calls.
    #[serde(default)]
    pub rule: Vec<IamAction>,
    /// Actions the remediation calls.
    #[serde(default)]
    pub remediation: Vec<IamAction>,
    /// Action -> the resources it is granted on, as ARN templates in which
    /// `${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}` are the account and region
    /// the rule runs in. An action not listed is granted on `*`: right only for actions that AWS
    /// authorises on no narrower resource (the policy table test checks each one).
    #[serde(default)]
    pub resources: BTreeMap<IamAction, Vec<String>>,
}

/// One IAM action, `service:Action`, without wildcards: no policy Custos renders grants `*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct IamAction(String);

impl IamAction {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the colon (`s3` in `s3:GetObject`).
    pub fn service(&self) -> &str {
        self.0.split_once(':').map_or("", |(service, _)| service)
    }
}

impl TryFrom<String> for IamAction {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let valid = text.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && !name.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if valid {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not an IAM action without wildcards (service:Action)"
            ))
        }
    }
}

impl TryFrom<&str> for IamAction {
    type Error = String;

    fn try_from(text: &str) -> Result<Self, String> {
        Self::try_from(text.to_owned())
    }
}

impl From<IamAction> for String {
    fn from(action: IamAction) -> Self {
        action.0
    }
}

impl Borrow<str> for IamAction {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IamAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for IamAction {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IamAction {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Permissions {
    /// What the SDK itself calls for every rule: put results, expand oversized items, find stale
    /// results of periodic rules.
    pub const SDK_ACTIONS: [&'static str; 3] = [
        "config:PutEvaluations",
        "config:GetResourceConfigHistory",
        "config:GetComplianceDetailsByConfigRule",
    ];

    /// What the SDK calls to record the runs of a rule's SSM remediation document
    /// ([`crate::host::observed`]).
    pub const OBSERVED_SSM_ACTIONS: [&'static str; 1] =
        ["config:DescribeRemediationExecutionStatus"];

    /// The resources of the SDK's actions that AWS authorises per resource: the Config rules
    /// and remediation configurations of the rule's own account and region. (Their ARNs carry ids
    /// Config generates, so no narrower pattern names the rule's own.)
    pub const SDK_RESOURCES: [(&'static str, &'static str); 2] = [
        (
            "config:GetComplianceDetailsByConfigRule",
            "arn:${AWS::Partition}:config:${AWS::Region}:${AWS::AccountId}:config-rule/*",
        ),
        (
            "config:DescribeRemediationExecutionStatus",
            "arn:${AWS::Partition}:config:${AWS::Region}:${AWS::AccountId}:remediation-configuration/*",
        ),
    ];

    /// The resources `action` is granted on: as declared, else the SDK's own, else none (`*`).
    pub fn resources_of(&self, action: &str) -> Vec<String> {
        if let Some(declared) = self.resources.get(action) {
            return declared.clone();
        }
        Self::SDK_RESOURCES
            .iter()
            .filter(|(a, _)| *a == action)
            .map(|(_, arn)| (*arn).to_owned())
            .collect()
    }

    /// Every `[permissions.resources]` entry names a declared action and lists ARN templates.
    pub(super) fn check(&self, problems: &mut Problems) {
        for (action, resources) in &self.resources {
            let path = format!("permissions.resources.\"{action}\"");
            if !self
                .rule
                .iter()
                .chain(&self.remediation)
                .any(|a| a == action)
            {
                problems.push(
                    &path,
                    format!("names `{action}`, which neither `rule` nor `remediation` declares"),
                );
            }
            for (i, resource) in resources.iter().enumerate() {
                if !is_arn_template(resource) {
                    problems.push(
                        &format!("{path}[{i}]"),
                        format!(
                            "`{resource}` is not an ARN template (`arn:` followed by ARN \
                             characters, `*`, and only `${{AWS::Partition}}`, `${{AWS::Region}}`, \
                             `${{AWS::AccountId}}`)"
                        ),
                    );
                }
            }
        }
    }
}

/// An ARN CloudFormation's `!Sub` fills with the stack's own partition, account and region.
fn is_arn_template(resource: &str) -> bool {
    const PLACEHOLDERS: [&str; 3] = ["${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}"];
    let mut rest = resource.to_owned();
    for placeholder in PLACEHOLDERS {
        rest = rest.replace(placeholder, "x");
    }
    resource.starts_with("arn:")
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/*-_.+=,@".contains(c))
}
