//! `new-rule`: a rule crate that builds and passes its test the moment it is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Longest rule name: the rule's function is `<name>` and a Lambda remediation's
/// `<name>-remediation`, and Lambda allows 64 characters.
const MAX_NAME: usize = 52;

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
    #[error("{} has no `[dependencies]` table to list the rule in", .0.display())]
    NoCatalogue(PathBuf),
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
        ("tests/rule.rs", fill(TESTS_RS)),
        ("fixtures/compliant-tagged.json", fill(COMPLIANT)),
        ("fixtures/non-compliant-untagged.json", fill(NON_COMPLIANT)),
    ]))
}

/// Writes `rules_dir/<name>/` and lists the rule in the catalogue (`rules_dir/all/Cargo.toml`):
/// nothing else names a rule. Refuses to touch an existing directory.
pub fn write(rules_dir: &Path, name: &str, resource_type: &str) -> Result<PathBuf, ScaffoldError> {
    let files = files(name, resource_type)?;
    let dir = rules_dir.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    let catalogue = rules_dir.join("all/Cargo.toml");
    let listed = std::fs::read_to_string(&catalogue)
        .map_err(|source| ScaffoldError::Write {
            path: catalogue.clone(),
            source,
        })
        .and_then(|text| {
            with_catalogue_line(&text, name).ok_or(ScaffoldError::NoCatalogue(catalogue.clone()))
        })?;
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
    std::fs::write(&catalogue, listed).map_err(|source| ScaffoldError::Write {
        path: catalogue,
        source,
    })?;
    Ok(dir)
}

/// The catalogue's `Cargo.toml` with `name`'s dependency line added in name order among the
/// rule lines of `[dependencies]`; `None` without that table.
fn with_catalogue_line(catalogue: &str, name: &str) -> Option<String> {
    let line = format!("{name} = {{ path = \"../{name}\" }}");
    let mut lines: Vec<&str> = catalogue.lines().collect();
    let table = lines.iter().position(|l| l.trim() == "[dependencies]")?;
    let end = lines[table + 1..]
        .iter()
        .position(|l| l.trim().is_empty() || l.starts_with('['))
        .map_or(lines.len(), |i| table + 1 + i);
    let at = (table + 1..end)
        .find(|&i| lines[i].contains("path =") && lines[i] > line.as_str())
        .unwrap_or(end);
    lines.insert(at, &line);
    Some(lines.join("\n") + "\n")
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
tokio.workspace = true

[dev-dependencies]
config-rule-sdk = { workspace = true, features = ["testing"] }
insta.workspace = true

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

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::change({{Type}}, RULE_TOML).into()
}

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
"#;

const MAIN_RS: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::serve({{crate}}::entry()).await
}
"#;

const TESTS_RS: &str = r"//! The fixture, parameter, oversized and command-line tests every rule has.

config_rule_sdk::rule_tests!(change: {{crate}}::{{Type}}, {{crate}}::RULE_TOML);
";

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
        assert!(files["src/main.rs"].contains("serve(ebs_volume_encrypted::entry())"));
        assert!(files["src/main.rs"].contains("current_thread"));
        assert!(
            files["tests/rule.rs"].contains("change: ebs_volume_encrypted::EbsVolumeEncrypted")
        );
        assert!(files["rule.toml"].contains("resource-types = [\"AWS::EC2::Volume\"]"));
    }

    #[test]
    fn the_rule_toml_is_valid_metadata() {
        let files = files("ebs-volume-encrypted", "AWS::EC2::Volume").unwrap();
        let meta = config_rule_sdk::RuleMeta::from_toml(&files["rule.toml"]).unwrap();
        assert_eq!(meta.name, "ebs-volume-encrypted");
    }

    #[test]
    fn the_rule_is_listed_once_in_name_order() {
        let catalogue = "[package]\nname = \"custos-rules\"\n\n[dependencies]\n\
                         config-rule-sdk.workspace = true\n\
                         a-rule = { path = \"../a-rule\" }\n\
                         z-rule = { path = \"../z-rule\" }\n\n[lints]\nworkspace = true\n";
        let listed = with_catalogue_line(catalogue, "m-rule").unwrap();
        let added: Vec<&str> = listed
            .lines()
            .filter(|l| !catalogue.lines().any(|c| c == *l))
            .collect();
        assert_eq!(added, ["m-rule = { path = \"../m-rule\" }"]);
        assert!(listed.find("a-rule").unwrap() < listed.find("m-rule").unwrap());
        assert!(listed.find("m-rule").unwrap() < listed.find("z-rule").unwrap());
        assert_eq!(listed.lines().count(), catalogue.lines().count() + 1);
        assert!(with_catalogue_line("[package]\n", "m-rule").is_none());
    }

    #[test]
    fn an_existing_directory_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        let err = write(dir.path(), "taken", "AWS::S3::Bucket").unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
    }
}
