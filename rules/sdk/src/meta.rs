//! `rule.toml`: the rule's metadata, read by the rule at run time and by the deployer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A rule's metadata as written in its `rule.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleMeta {
    /// The crate, binary and Config rule name.
    pub name: String,
    pub description: String,
    /// The resource types in the rule's scope (empty for a periodic rule over the account).
    #[serde(default)]
    pub resource_types: Vec<String>,
    pub trigger: TriggerSpec,
    /// Parameters, by the name Config passes them under.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default)]
    pub remediation: Option<RemediationSpec>,
    /// The IAM actions the rule and its remediation call, beyond what every rule needs.
    #[serde(default)]
    pub permissions: Permissions,
    /// Which exemptions the rule honours (default: tags and registry, at most 90 days ahead).
    #[serde(default)]
    pub exemptions: crate::exemption::Policy,
    /// The compliance types whose changes are mailed to the administrators (the EventBridge
    /// rule's filter); empty: every compliance change.
    #[serde(default)]
    pub notify: Vec<crate::Compliance>,
}

/// When Config invokes the rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TriggerSpec {
    /// Invoked on configuration changes of `resource-types`.
    #[serde(default)]
    pub change: bool,
    /// Invoked periodically at this `MaximumExecutionFrequency`.
    #[serde(default)]
    pub periodic: Option<Frequency>,
}

/// Config's `MaximumExecutionFrequency` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Frequency {
    #[serde(rename = "One_Hour")]
    OneHour,
    #[serde(rename = "Three_Hours")]
    ThreeHours,
    #[serde(rename = "Six_Hours")]
    SixHours,
    #[serde(rename = "Twelve_Hours")]
    TwelveHours,
    #[serde(rename = "TwentyFour_Hours")]
    TwentyFourHours,
}

/// The kind of value a parameter holds. Config passes every value as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterType {
    String,
    /// Comma-separated list.
    CommaList,
    /// A JSON document in a string.
    Json,
    Number,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ParameterSpec {
    #[serde(rename = "type")]
    pub kind: ParameterType,
    pub description: String,
    /// Used when Config passes no value (or an empty one).
    #[serde(default)]
    pub default: Option<String>,
    /// A valid value, shown in docs and used by the test that checks `rule.toml` against `Params`.
    #[serde(default)]
    pub example: Option<String>,
    /// The only values accepted, when the parameter is an enumeration.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// The rule cannot run without a value: the deployer refuses settings that give none.
    #[serde(default)]
    pub required: bool,
    /// The shape of the value (of each item, for a comma-list), checked by the deployer.
    #[serde(default)]
    pub format: Option<ParameterFormat>,
}

/// Value shapes the deployer checks before rollout, so a typo fails `plan` rather than every
/// invocation in every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterFormat {
    /// `sg-` and 8 or 17 lowercase hexadecimal digits.
    SecurityGroupId,
    /// An IPv4 or IPv6 CIDR range: an address, `/`, a prefix length the family allows.
    Cidr,
}

/// Remediation as the deployer renders it (`AWS::Config::RemediationConfiguration`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RemediationSpec {
    pub kind: RemediationKind,
    /// SSM document: an AWS-owned one for `ssm`, the shipped invoke-Lambda one for `lambda`.
    #[serde(default)]
    pub document: Option<String>,
    /// Document parameter -> value: `RESOURCE_ID`; `param:NAME`, the rule parameter's value
    /// (the document parameter is omitted when unset); `param:NAME or VALUE if OTHER`, VALUE
    /// when NAME is unset and OTHER is set; `first:NAME`, the first item of a comma-list
    /// parameter; or a literal.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub automatic: bool,
    #[serde(default = "default_attempts")]
    pub maximum_attempts: u32,
    #[serde(default = "default_retry_seconds")]
    pub retry_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationKind {
    /// An SSM Automation document run by Config's remediation.
    Ssm,
    /// A Rust remediation Lambda, reached through the shipped invoke-Lambda document.
    Lambda,
}

fn default_attempts() -> u32 {
    5
}

fn default_retry_seconds() -> u32 {
    60
}

/// IAM actions beyond the ones every rule needs ([`Permissions::SDK_ACTIONS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Permissions {
    /// Actions the rule Lambda calls.
    #[serde(default)]
    pub rule: Vec<String>,
    /// Actions the remediation calls.
    #[serde(default)]
    pub remediation: Vec<String>,
    /// Action -> the resources it is granted on, as ARN templates in which
    /// `${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}` are the account and region
    /// the rule runs in. An action not listed is granted on `*`: right only for actions that AWS
    /// authorises on no narrower resource (the policy table test checks each one).
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
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
    /// ([`crate::observed`]).
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
}

/// Why `rule.toml` could not be read; the message carries line and column.
#[derive(Debug, thiserror::Error)]
#[error("rule.toml: {0}")]
pub struct MetaError(#[from] toml::de::Error);

impl RuleMeta {
    pub fn from_toml(text: &str) -> Result<Self, MetaError> {
        Ok(toml::from_str(text)?)
    }

    /// Whether `resource_type` is in the rule's scope.
    pub fn covers(&self, resource_type: &str) -> bool {
        self.resource_types.iter().any(|t| t == resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
name = "example"
description = "An example."
resource-types = ["AWS::S3::Bucket"]

[trigger]
change = true

[parameters.mode]
type = "string"
description = "How strict."
default = "strict"
allowed = ["strict", "lax"]
"#;

    #[test]
    fn reads_a_rule_toml() {
        let meta = RuleMeta::from_toml(EXAMPLE).unwrap();
        assert_eq!(meta.name, "example");
        assert!(meta.covers("AWS::S3::Bucket"));
        assert_eq!(meta.parameters["mode"].default.as_deref(), Some("strict"));
    }

    #[test]
    fn declared_resources_come_first_then_the_sdk_ones_then_none() {
        let text = format!(
            "{EXAMPLE}\n[permissions]\nrule = [\"iam:ListAccessKeys\"]\n\n[permissions.resources]\n\
             \"iam:ListAccessKeys\" = [\"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:user/*\"]\n"
        );
        let meta = RuleMeta::from_toml(&text).unwrap();
        let p = &meta.permissions;
        assert_eq!(
            p.resources_of("iam:ListAccessKeys"),
            ["arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"]
        );
        assert_eq!(
            p.resources_of("config:GetComplianceDetailsByConfigRule"),
            ["arn:${AWS::Partition}:config:${AWS::Region}:${AWS::AccountId}:config-rule/*"]
        );
        assert!(p.resources_of("config:PutEvaluations").is_empty());
    }

    #[test]
    fn the_exemption_policy_defaults_to_both_sources_and_90_days() {
        use crate::exemption::{Policy, Source};
        assert_eq!(
            RuleMeta::from_toml(EXAMPLE).unwrap().exemptions,
            Policy::default()
        );
        let text = format!("{EXAMPLE}\n[exemptions]\nsources = [\"registry\"]\nmax-days = 30\n");
        let policy = RuleMeta::from_toml(&text).unwrap().exemptions;
        assert_eq!(policy.sources, [Source::Registry]);
        assert_eq!(policy.max_days, 30);
        let bad = format!("{EXAMPLE}\n[exemptions]\nsources = [\"tag\"]\n");
        assert!(RuleMeta::from_toml(&bad).is_err());
    }

    #[test]
    fn notify_names_compliance_types_config_reports() {
        let text = EXAMPLE.replace(
            "resource-types = [\"AWS::S3::Bucket\"]",
            "resource-types = [\"AWS::S3::Bucket\"]\nnotify = [\"NON_COMPLIANT\"]",
        );
        let meta = RuleMeta::from_toml(&text).unwrap();
        assert_eq!(meta.notify, [crate::Compliance::NonCompliant]);
        assert!(RuleMeta::from_toml(EXAMPLE).unwrap().notify.is_empty());
        let err = RuleMeta::from_toml(&text.replace("NON_COMPLIANT", "BROKEN"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BROKEN") && err.contains("line 5"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_reported_with_its_line() {
        let text = EXAMPLE.replace("resource-types", "resource-type");
        let err = RuleMeta::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("resource-type"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }
}
