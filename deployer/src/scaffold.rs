//! `new-rule`: a rule crate that builds and passes its test the moment it is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Longest rule name: the Lambda function is `custos-<name>` (64 characters at most).
const MAX_NAME: usize = 57;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a rule name: expected kebab-case (lowercase letters, digits, single \
         hyphens), starting with a letter, at most {MAX_NAME} characters"
    )]
    InvalidName(String),
    #[error("`{0}` is not a resource type: expected `AWS::Service::Resource`")]
    InvalidResourceType(String),
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files of a new rule, by path relative to the rule's directory.
pub fn files(
    name: &str,
    resource_type: &str,
) -> Result<BTreeMap<&'static str, String>, ScaffoldError> {
    if !is_rule_name(name) {
        return Err(ScaffoldError::InvalidName(name.to_owned()));
    }
    let parts: Vec<&str> = resource_type.split("::").collect();
    if parts.len() != 3 || parts[0] != "AWS" || parts.iter().any(|p| p.is_empty()) {
        return Err(ScaffoldError::InvalidResourceType(resource_type.to_owned()));
    }
    let type_name: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{Type}}", &type_name)
            .replace("{{resource_type}}", resource_type)
    };
    Ok(BTreeMap::from([
        ("Cargo.toml", fill(CARGO_TOML)),
        ("rule.toml", fill(RULE_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("src/main.rs", fill(MAIN_RS)),
        ("fixtures/compliant-tagged.json", fill(COMPLIANT)),
        ("fixtures/non-compliant-untagged.json", fill(NON_COMPLIANT)),
    ]))
}

/// Writes `rules_dir/<name>/`; refuses to touch an existing directory.
pub fn write(rules_dir: &Path, name: &str, resource_type: &str) -> Result<PathBuf, ScaffoldError> {
    let files = files(name, resource_type)?;
    let dir = rules_dir.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    for (relative, contents) in files {
        let path = dir.join(relative);
        let write = |path: &Path| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, contents)
        };
        write(&path).map_err(|source| ScaffoldError::Write { path, source })?;
    }
    Ok(dir)
}

fn is_rule_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
description = "Every {{resource_type}} carries the required tag."
version.workspace = true
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[dependencies]
config-rule-sdk.workspace = true
lambda_runtime.workspace = true
serde.workspace = true
tokio = { workspace = true, features = ["rt-multi-thread"] }

[dev-dependencies]
config-rule-sdk = { workspace = true, features = ["testing"] }

[lints]
workspace = true
"#;

const RULE_TOML: &str = r#"name = "{{name}}"
description = "Every {{resource_type}} carries the required tag."
resource-types = ["{{resource_type}}"]

[trigger]
change = true

[parameters.tagKey]
type = "string"
description = "The tag key every resource carries."
default = "owner"

# The IAM actions the rule calls beyond what the SDK needs; the deployer builds the Lambda's
# policy from this list only.
[permissions]
rule = []
"#;

const LIB_RS: &str = r#"//! # {{name}}
//!
//! ## What it checks
//! Every `{{resource_type}}` carries the tag named by `tagKey`.
//!
//! ## Why it matters
//! Say which requirement this rule enforces and what goes wrong without it.
//!
//! ## Parameters
//! - `tagKey`: the tag key every resource carries (default `owner`).
//!
//! ## Remediation
//! None: a person adds the tag.

use config_rule_sdk::{Item, Rule, Verdict};
use serde::Deserialize;

pub struct {{Type}};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "tagKey")]
    pub tag_key: String,
}

/// The part of the configuration this rule reads: nothing yet, the tags are on the item.
#[derive(Debug, Deserialize)]
pub struct Resource {}

impl Rule for {{Type}} {
    type Params = Params;
    type Resource = Resource;

    fn evaluate(&self, item: &Item<Resource>, params: &Params) -> Verdict {
        if item.tags.contains_key(&params.tag_key) {
            Verdict::compliant()
        } else {
            Verdict::non_compliant(format!("no `{}` tag", params.tag_key))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use config_rule_sdk::{RuleMeta, testing};

    use super::*;

    fn meta() -> RuleMeta {
        RuleMeta::from_toml(include_str!("../rule.toml")).unwrap()
    }

    /// Each file in fixtures/ is one case, named after its outcome.
    #[test]
    fn every_fixture_gives_its_expected_compliance() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            testing::check_file(&{{Type}}, &meta(), &entry.unwrap().path());
            checked += 1;
        }
        assert!(checked >= 2, "expected fixtures, found {checked}");
    }

    #[test]
    fn rule_toml_and_params_agree() {
        testing::check_params_agree::<Params>(&meta());
    }
}
"#;

const MAIN_RS: &str = r#"#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let rule = {{crate}}::{{Type}};
    config_rule_sdk::runtime::run(rule, include_str!("../rule.toml")).await
}
"#;

const COMPLIANT: &str = r#"{
  "name": "a resource with the owner tag is COMPLIANT",
  "expect": "COMPLIANT",
  "params": {},
  "configurationItem": {
    "configurationItemCaptureTime": "2026-05-01T10:00:00.000Z",
    "configurationItemStatus": "OK",
    "awsAccountId": "123456789012",
    "awsRegion": "eu-west-1",
    "resourceType": "{{resource_type}}",
    "resourceId": "example-1",
    "tags": { "owner": "platform-team" },
    "configuration": {}
  }
}
"#;

const NON_COMPLIANT: &str = r#"{
  "name": "a resource without the owner tag is NON_COMPLIANT",
  "expect": "NON_COMPLIANT",
  "annotationContains": "no `owner` tag",
  "params": {},
  "configurationItem": {
    "configurationItemCaptureTime": "2026-05-01T10:00:00.000Z",
    "configurationItemStatus": "OK",
    "awsAccountId": "123456789012",
    "awsRegion": "eu-west-1",
    "resourceType": "{{resource_type}}",
    "resourceId": "example-2",
    "tags": {},
    "configuration": {}
  }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case() {
        for ok in ["ebs-volume-encrypted", "s3-bucket-encryption", "a"] {
            assert!(is_rule_name(ok), "{ok}");
        }
        for bad in ["Ebs", "ebs_volume", "-x", "x-", "a--b", "3d", ""] {
            assert!(!is_rule_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_files_name_the_crate_and_type() {
        let files = files("ebs-volume-encrypted", "AWS::EC2::Volume").unwrap();
        assert!(
            files["src/main.rs"].contains("let rule = ebs_volume_encrypted::EbsVolumeEncrypted;")
        );
        assert!(files["rule.toml"].contains("resource-types = [\"AWS::EC2::Volume\"]"));
        assert_eq!(files["src/main.rs"].lines().count(), 5);
    }

    #[test]
    fn the_rule_toml_is_valid_metadata() {
        let files = files("ebs-volume-encrypted", "AWS::EC2::Volume").unwrap();
        let meta = config_rule_sdk::RuleMeta::from_toml(&files["rule.toml"]).unwrap();
        assert_eq!(meta.name, "ebs-volume-encrypted");
    }

    #[test]
    fn an_existing_directory_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        let err = write(dir.path(), "taken", "AWS::S3::Bucket").unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
    }
}
