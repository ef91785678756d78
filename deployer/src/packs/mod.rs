//! Conformance packs: their definitions (`conformance-packs/NAME.toml`), rendering them into
//! conformance pack templates within Config's limits, and checking any pack template
//! (`deployer pack validate`).
//!
//! A pack groups Custos rules (named in `deployer.toml`, deployed by their own stack sets) with
//! AWS managed rules and their remediation (named in the pack's file). The managed rules are
//! rendered into conformance packs, deployed through a stack set of their own; `audit` reads
//! both kinds back.

pub mod render;
pub mod split;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::cli::OutputFormat;
use crate::exit::ExitStatus;

/// Where pack definitions live, beside `deployer.toml`.
pub const DIRECTORY: &str = "conformance-packs";

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

/// `deployer pack validate FILE`: 0 when valid; 2 when it has problems (they are printed) or
/// cannot be read.
pub fn validate_command(file: &Path, format: OutputFormat) -> anyhow::Result<ExitStatus> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let outcome = validate::validate(&text);
    match format {
        OutputFormat::Json => crate::status::print_json(&outcome)?,
        OutputFormat::Table => {
            for p in &outcome.problems {
                println!("{}:{}:{}: {}", file.display(), p.line, p.column, p.message);
            }
            for n in &outcome.notes {
                eprintln!(
                    "{}:{}:{}: note: {}",
                    file.display(),
                    n.line,
                    n.column,
                    n.message
                );
            }
            let s = &outcome.summary;
            eprintln!(
                "{}: {} rules, {} remediations, {} parameters, {} bytes: {}",
                file.display(),
                s.rules,
                s.remediations,
                s.parameters,
                s.bytes,
                if outcome.problems.is_empty() {
                    "valid".to_owned()
                } else {
                    format!("{} problems", outcome.problems.len())
                }
            );
        }
    }
    Ok(if outcome.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}
