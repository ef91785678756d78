//! Conformance packs: their definitions (`conformance-packs/NAME.toml`), rendering them into
//! conformance pack templates within Config's limits, and checking any pack template against
//! those limits (`validate`, which `deployer pack validate` runs).
//!
//! A pack groups Custos rules (named in `deployer.toml`, deployed by their own stack sets) with
//! AWS managed rules and their remediation (named in the pack's file). The managed rules are
//! rendered into conformance packs, deployed per account through a stack set of their own or
//! organisation-wide (`PutOrganizationConformancePack`); `audit` reads both kinds back.

pub mod organization;
pub mod render;
pub mod split;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where pack definitions live, beside `deployer.toml`.
pub const DIRECTORY: &str = "conformance-packs";

/// How a pack's conformance packs reach the accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deployment {
    /// Through the stack set `custos-pack-NAME`, to the accounts and regions the rules target.
    #[default]
    Account,
    /// With `PutOrganizationConformancePack` from the administering account, in each region, to
    /// every account of the organisation except those not targeted (`ExcludedAccounts`).
    Organization,
}

/// One pack's file: its AWS managed rules, with remediation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Definition {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub managed: Vec<ManagedRule>,
}

/// An AWS managed rule (`Source.Owner: AWS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ManagedRule {
    /// The Config rule name, e.g. `s3-bucket-server-side-encryption-enabled`.
    pub name: String,
    /// The managed rule's identifier, e.g. `S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED`.
    pub identifier: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub resource_types: Vec<String>,
    #[serde(default)]
    pub input_parameters: BTreeMap<String, String>,
    /// For periodic managed rules: `One_Hour` ... `TwentyFour_Hours`.
    #[serde(default)]
    pub maximum_execution_frequency: Option<String>,
    #[serde(default)]
    pub remediation: Option<Remediation>,
}

/// An SSM Automation remediation of a managed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Remediation {
    pub document: String,
    /// The IAM actions the document performs: the pack's remediation role gets these (and no
    /// others), and Config runs the document as that role (`AutomationAssumeRole`).
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub automatic: bool,
    #[serde(default = "default_attempts")]
    pub maximum_attempts: u32,
    #[serde(default = "default_retry_seconds")]
    pub retry_seconds: u32,
    #[serde(default)]
    pub parameters: BTreeMap<String, RemediationValue>,
}

fn default_attempts() -> u32 {
    5
}

fn default_retry_seconds() -> u32 {
    60
}

/// A remediation parameter: the non-compliant resource's id, or fixed values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationValue {
    /// `{ resource-value = "RESOURCE_ID" }`
    ResourceValue(String),
    /// `{ static = ["AES256"] }`
    Static(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Definition {
    /// Parses a pack file and checks what TOML cannot: names and identifiers Config accepts.
    pub fn parse(path: &Path, text: &str) -> Result<Self, DefinitionError> {
        let invalid = |message: String| DefinitionError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let definition: Self = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            invalid(match line {
                Some(line) => format!("line {line}: {}", e.message().trim_end()),
                None => e.message().trim_end().to_owned(),
            })
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for rule in &definition.managed {
            let name_ok = !rule.name.is_empty()
                && rule.name.len() <= 128
                && rule
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(invalid(format!(
                    "`{}` is not a Config rule name (1-128 of letters, digits, - and _)",
                    rule.name
                )));
            }
            if !seen.insert(rule.name.clone()) {
                return Err(invalid(format!("rule `{}` is listed twice", rule.name)));
            }
            if rule.identifier.is_empty()
                || !rule
                    .identifier
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(format!(
                    "{}: `{}` is not a managed rule identifier (e.g. S3_BUCKET_VERSIONING_ENABLED)",
                    rule.name, rule.identifier
                )));
            }
            if let Some(remediation) = &rule.remediation {
                check_actions(&rule.name, remediation).map_err(invalid)?;
            }
        }
        Ok(definition)
    }

    /// Reads `dir/NAME.toml`; a pack without a file has no managed rules.
    pub fn load(dir: &Path, name: &str) -> Result<Self, DefinitionError> {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(DefinitionError::Read { path, source }),
        }
    }
}

/// A remediation names the IAM actions its document needs, each one exactly (`service:Action`).
fn check_actions(rule: &str, remediation: &Remediation) -> Result<(), String> {
    if remediation.actions.is_empty() {
        return Err(format!(
            "{rule}: its remediation lists no `actions`: the IAM actions {} performs, which the \
             pack's remediation role is given (e.g. actions = [\"s3:PutEncryptionConfiguration\"])",
            remediation.document
        ));
    }
    for action in &remediation.actions {
        let well_formed = action.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !well_formed {
            return Err(format!(
                "{rule}: `{action}` is not an IAM action of the form service:Action (no wildcards)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Definition, String> {
        Definition::parse(Path::new("conformance-packs/p.toml"), text).map_err(|e| e.to_string())
    }

    const RULE: &str = r#"
[[managed]]
name = "s3-bucket-versioning-enabled"
identifier = "S3_BUCKET_VERSIONING_ENABLED"

[managed.remediation]
document = "AWS-ConfigureS3BucketVersioning"
"#;

    #[test]
    fn a_remediation_declares_the_actions_its_role_gets() {
        let with = format!("{RULE}actions = [\"s3:PutBucketVersioning\"]\n");
        let definition = parse(&with).unwrap();
        let remediation = definition.managed[0].remediation.as_ref().unwrap();
        assert_eq!(remediation.actions, ["s3:PutBucketVersioning"]);

        let error = parse(RULE).unwrap_err();
        assert!(
            error.starts_with("conformance-packs/p.toml: s3-bucket-versioning-enabled: its remediation lists no `actions`"),
            "{error}"
        );
    }

    #[test]
    fn wildcard_or_malformed_actions_are_refused() {
        for action in [
            "s3:*",
            "s3:Put*",
            "*",
            "PutBucketVersioning",
            "S3:PutBucketVersioning",
        ] {
            let error = parse(&format!("{RULE}actions = [\"{action}\"]\n")).unwrap_err();
            assert!(
                error.contains(&format!("`{action}` is not an IAM action")),
                "{action}: {error}"
            );
        }
    }
}
