//! `[remediation]`: the Config remediation configuration the deployer renders, and the typed
//! mapping of the document's parameters.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Problems;
use super::parameters::{ParameterSpec, ParameterType};
use crate::params::reserved;

/// Remediation as the deployer renders it (`AWS::Config::RemediationConfiguration`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RemediationSpec {
    pub kind: RemediationKind,
    /// SSM document: an AWS-owned one for `ssm`, the shipped invoke-Lambda one for `lambda`.
    #[serde(default)]
    pub document: Option<String>,
    /// Document parameter -> its value ([`RemediationValue`]).
    #[serde(default)]
    pub parameters: BTreeMap<String, RemediationValue>,
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

/// Config's `MaximumAutomaticAttempts` range is 1-25.
pub const MAX_ATTEMPTS: u32 = 25;
/// Config's `RetryAttemptSeconds` range is 1-2,678,000 (31 days).
pub const MAX_RETRY_SECONDS: u32 = 2_678_000;

fn default_attempts() -> u32 {
    5
}

fn default_retry_seconds() -> u32 {
    60
}

/// The value of one document parameter, written in `rule.toml` as a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum RemediationValue {
    /// `RESOURCE_ID`: the non-compliant resource's id.
    ResourceId,
    /// `param:NAME`: the rule parameter's value; the document parameter is left out when unset,
    /// so the document's default applies.
    Param(String),
    /// `first:NAME`: the first item of a comma-list parameter (left out when unset).
    FirstOf(String),
    /// `param:NAME or VALUE if OTHER`: NAME's value; when NAME is unset, VALUE if OTHER is set,
    /// so the document's default never stands in for what the rule requires.
    ParamOrIf {
        param: String,
        otherwise: String,
        if_set: String,
    },
    /// Anything else: passed as written.
    Literal(String),
}

impl RemediationValue {
    /// The value the document gets for `resource_id` under these rule parameter values; `None`
    /// leaves the document parameter out. Empty values count as unset, as Config's console
    /// sends them.
    pub fn resolve(&self, resource_id: &str, params: &BTreeMap<String, String>) -> Option<String> {
        let set = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        match self {
            Self::ResourceId => Some(resource_id.to_owned()),
            Self::Param(name) => set(name).map(str::to_owned),
            Self::FirstOf(name) => set(name)
                .and_then(|list| list.split(',').map(str::trim).find(|i| !i.is_empty()))
                .map(str::to_owned),
            Self::ParamOrIf {
                param,
                otherwise,
                if_set,
            } => set(param)
                .map(str::to_owned)
                .or_else(|| set(if_set).map(|_| otherwise.clone())),
            Self::Literal(value) => Some(value.clone()),
        }
    }

    /// The rule parameters the value reads.
    pub fn parameters(&self) -> Vec<&str> {
        match self {
            Self::Param(name) | Self::FirstOf(name) => vec![name],
            Self::ParamOrIf { param, if_set, .. } => vec![param, if_set],
            Self::ResourceId | Self::Literal(_) => Vec::new(),
        }
    }
}

impl TryFrom<String> for RemediationValue {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value == "RESOURCE_ID" {
            return Ok(Self::ResourceId);
        }
        if let Some(rest) = value.strip_prefix("first:") {
            return name(rest, &value).map(Self::FirstOf);
        }
        let Some(rest) = value.strip_prefix("param:") else {
            return Ok(Self::Literal(value));
        };
        let Some((param, tail)) = rest.split_once(" or ") else {
            return name(rest, &value).map(Self::Param);
        };
        let Some((otherwise, if_set)) = tail.split_once(" if ") else {
            return Err(format!(
                "`{value}`: expected `param:NAME or VALUE if OTHER`"
            ));
        };
        Ok(Self::ParamOrIf {
            param: name(param, &value)?,
            otherwise: otherwise.trim().to_owned(),
            if_set: name(if_set, &value)?,
        })
    }
}

/// A parameter name inside a mapping: letters, digits and `_`, not empty.
fn name(text: &str, whole: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`{whole}`: `{text}` is not a parameter name"));
    }
    Ok(text.to_owned())
}

impl fmt::Display for RemediationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ResourceId => f.write_str("RESOURCE_ID"),
            Self::Param(name) => write!(f, "param:{name}"),
            Self::FirstOf(name) => write!(f, "first:{name}"),
            Self::ParamOrIf {
                param,
                otherwise,
                if_set,
            } => write!(f, "param:{param} or {otherwise} if {if_set}"),
            Self::Literal(value) => f.write_str(value),
        }
    }
}

impl From<RemediationValue> for String {
    fn from(value: RemediationValue) -> Self {
        value.to_string()
    }
}

impl RemediationSpec {
    /// An `ssm` remediation names its document; attempts and retry seconds are within Config's
    /// limits (outside them the rule's stack fails in every account); every mapping reads
    /// declared parameters (or the reserved `exemptions`), and `first:` reads a comma-list.
    pub(super) fn check(
        &self,
        parameters: &BTreeMap<String, ParameterSpec>,
        problems: &mut Problems,
    ) {
        if self.kind == RemediationKind::Ssm && self.document.is_none() {
            problems.push(
                "remediation.document",
                "an `ssm` remediation names its document",
            );
        }
        let bounds = [
            (
                "maximum-attempts",
                self.maximum_attempts,
                MAX_ATTEMPTS,
                "MaximumAutomaticAttempts",
            ),
            (
                "retry-seconds",
                self.retry_seconds,
                MAX_RETRY_SECONDS,
                "RetryAttemptSeconds",
            ),
        ];
        for (key, value, max, field) in bounds {
            if !(1..=max).contains(&value) {
                problems.push(
                    &format!("remediation.{key}"),
                    format!("{value} is outside Config's {field} range, 1 to {max}"),
                );
            }
        }
        for (key, value) in &self.parameters {
            let path = format!("remediation.parameters.{key}");
            for name in value.parameters() {
                match parameters.get(name) {
                    None if name == reserved::EXEMPTIONS => {}
                    None => problems.push(
                        &path,
                        format!("`{value}` names `{name}`, which `[parameters]` does not declare"),
                    ),
                    Some(spec)
                        if matches!(value, RemediationValue::FirstOf(_))
                            && spec.kind != ParameterType::CommaList =>
                    {
                        problems.push(&path, format!("`{value}`: `{name}` is not a comma-list"));
                    }
                    Some(_) => {}
                }
            }
        }
    }
}
