//! `rule.toml`: the rule's metadata, read by the rule at run time, by the deployer, and by the
//! harness. [`RuleMeta::from_toml`] checks it once, fully: every problem is reported with its
//! field path and, where the file gives one, its line and column.

mod parameters;
mod permissions;
mod reads;
mod remediation;
mod trigger;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use parameters::{
    ParameterFormat, ParameterSpec, ParameterType, is_cidr, is_security_group_id,
};
pub use permissions::{IamAction, Permissions};
pub use reads::Reads;
pub use remediation::{RemediationKind, RemediationSpec, RemediationValue};
pub use trigger::{Frequency, TriggerKind, TriggerSpec};

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
    /// The item fields the verdict depends on ([`Reads`]).
    #[serde(default)]
    pub reads: Reads,
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

/// One thing wrong in `rule.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as `parameters.mode.default` or `permissions.resources."s3:GetObject"[0]`.
    pub path: String,
    /// Line and column (from 1), where the file gives them.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}", self.path)?;
        }
        if let Some((line, column)) = self.at {
            write!(f, " (line {line}, column {column})")?;
        }
        if !self.path.is_empty() || self.at.is_some() {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why `rule.toml` is not valid: every problem found, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MetaError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "rule.toml: {one}"),
            many => {
                write!(f, "rule.toml: {} problems", many.len())?;
                for problem in many {
                    write!(f, "\n  {problem}")?;
                }
                Ok(())
            }
        }
    }
}

/// The problems a check collects, in the order found.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.to_owned(),
            at: None,
            message: message.into(),
        });
    }
}

impl RuleMeta {
    /// Reads and checks `rule.toml`: its syntax and types, then every semantic check of
    /// [`RuleMeta::check`], the problems located in `text`.
    pub fn from_toml(text: &str) -> Result<Self, MetaError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| toml_error(text, "", &e))?;
        let meta: Self = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            toml_error(text, if path == "." { "" } else { &path }, e.inner())
        })?;
        meta.check().map_err(|mut error| {
            for problem in &mut error.problems {
                problem.at = locate(text, &problem.path);
            }
            error
        })?;
        Ok(meta)
    }

    /// The semantic checks: exactly one trigger kind, resource types for a change rule,
    /// parameter specs consistent with themselves, a remediation mapping that reads declared
    /// parameters, resources of declared actions as ARN templates, `reads` of the rule's own
    /// resource types. (IAM actions and mapping syntax are checked as they are read.)
    pub fn check(&self) -> Result<(), MetaError> {
        let mut problems = Problems::default();
        let valid_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_name {
            problems.push(
                "name",
                format!("`{}` is not lowercase letters, digits and `-`", self.name),
            );
        }
        self.trigger.check(&self.resource_types, &mut problems);
        for (name, spec) in &self.parameters {
            spec.check(&format!("parameters.{name}"), &mut problems);
        }
        if let Some(remediation) = &self.remediation {
            remediation.check(&self.parameters, &mut problems);
        }
        self.permissions.check(&mut problems);
        self.reads.check(&self.resource_types, &mut problems);
        if problems.0.is_empty() {
            Ok(())
        } else {
            Err(MetaError {
                problems: problems.0,
            })
        }
    }

    /// Whether `resource_type` is in the rule's scope.
    pub fn covers(&self, resource_type: &str) -> bool {
        self.resource_types.iter().any(|t| t == resource_type)
    }

    /// The one trigger kind, which the rule's entry point must match (`None` only for a meta
    /// built without [`RuleMeta::check`]).
    pub fn trigger_kind(&self) -> Option<TriggerKind> {
        self.trigger.kind()
    }

    /// The item fields the verdict depends on, for items of `resource_type`.
    pub fn reads_for(&self, resource_type: &str) -> &[String] {
        self.reads.of(resource_type)
    }
}

fn toml_error(text: &str, path: &str, error: &toml::de::Error) -> MetaError {
    MetaError {
        problems: vec![Problem {
            path: path.to_owned(),
            at: error.span().map(|span| line_column(text, span.start)),
            message: error.message().trim_end().to_owned(),
        }],
    }
}

/// Line and column (from 1) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where the value at `path` is written: the deepest part of the path the file has.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    let mut found = None;
    for segment in segments(path) {
        let value = match segment {
            Segment::Key(key) => {
                let (_, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key)?;
                value
            }
            Segment::Index(i) => array?.get(i)?,
        };
        found = Some(value.span().start);
        array = None;
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            DeValue::Array(items) => array = Some(items.as_ref()),
            _ => {}
        }
    }
    found.map(|offset| line_column(text, offset))
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a."b.c"[0].d` -> `a`, `b.c`, 0, `d`.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.trim_start_matches('.');
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(Segment::Key(&quoted[..end]));
            rest = quoted.get(end + 1..).unwrap_or_default();
        } else if let Some(indexed) = rest.strip_prefix('[') {
            let end = indexed.find(']').unwrap_or(indexed.len());
            out.extend(indexed[..end].parse().ok().map(Segment::Index));
            rest = indexed.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end > 0 {
                out.push(Segment::Key(&rest[..end]));
            }
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
#[cfg(test)]
mod existing_tests {
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
