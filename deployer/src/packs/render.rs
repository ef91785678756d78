//! Rendering a pack's managed rules into conformance pack templates, split to Config's limits,
//! each with the CloudFormation template of its stack set: the remediation role, and (deployed
//! per account) the conformance pack itself.

use std::collections::BTreeMap;

use serde::Serialize;
use tera::{Context, Tera};

use super::organization::TEMPLATE_HASH_PARAMETER;
use super::split::{self, TooLarge};
use super::validate::{MAX_RULES, MAX_TEMPLATE_BODY_BYTES};
use super::{Definition, Deployment, ManagedRule, RemediationValue};

const BODY: &str = include_str!("../../../templates/conformance-pack.yaml.tera");
const STACK: &str = include_str!("../../../templates/pack.yaml.tera");

/// The parameter every AWS remediation document takes for the role it runs as.
const ASSUME_ROLE: &str = "AutomationAssumeRole";

/// One conformance pack to deploy: its name, its template, and the stack template deployed to
/// every target account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `custos-NAME`, or `custos-NAME-N` when the pack is split.
    pub name: String,
    pub body: String,
    /// The remediation role and, deployed per account, the pack; none for an organisation pack
    /// without remediation, which needs nothing in the accounts beforehand.
    pub stack: Option<String>,
}

/// The remediation role of a part in one region (IAM names are global, stack instances are
/// regional): `custos-baseline-ssm-eu-west-1`. Pack names are at most 32 characters, so it
/// stays within IAM's 64.
pub fn role_name_prefix(part: &str) -> String {
    format!("{part}-ssm")
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackRenderError {
    #[error("cannot render pack {pack}")]
    Tera { pack: String, source: tera::Error },
    #[error("pack {pack}: {source}")]
    TooLarge { pack: String, source: TooLarge },
}

#[derive(Serialize)]
struct ValueView {
    resource: Option<String>,
    values: Vec<String>,
}

#[derive(Serialize)]
struct RemediationView {
    document: String,
    /// Whether the deployer passes the pack's role as `AutomationAssumeRole` (unless the
    /// pack's file sets that parameter itself).
    assume_role: bool,
    automatic: bool,
    maximum_attempts: u32,
    retry_seconds: u32,
    parameters: BTreeMap<String, ValueView>,
}

#[derive(Serialize)]
struct RuleView<'a> {
    logical_id: String,
    name: &'a str,
    identifier: &'a str,
    description: Option<&'a str>,
    resource_types: &'a [String],
    input_parameters: &'a BTreeMap<String, String>,
    maximum_execution_frequency: Option<&'a str>,
    remediation: Option<RemediationView>,
}

/// `s3-bucket-versioning-enabled` -> `S3BucketVersioningEnabled`.
fn logical_id(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn view(rule: &ManagedRule) -> RuleView<'_> {
    RuleView {
        logical_id: logical_id(&rule.name),
        name: &rule.name,
        identifier: &rule.identifier,
        description: rule.description.as_deref(),
        resource_types: &rule.resource_types,
        input_parameters: &rule.input_parameters,
        maximum_execution_frequency: rule.maximum_execution_frequency.as_deref(),
        remediation: rule.remediation.as_ref().map(|r| RemediationView {
            document: r.document.clone(),
            assume_role: !r.parameters.contains_key(ASSUME_ROLE),
            automatic: r.automatic,
            maximum_attempts: r.maximum_attempts,
            retry_seconds: r.retry_seconds,
            parameters: r
                .parameters
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        RemediationValue::ResourceValue(id) => ValueView {
                            resource: Some(id.clone()),
                            values: Vec::new(),
                        },
                        RemediationValue::Static(values) => ValueView {
                            resource: None,
                            values: values.clone(),
                        },
                    };
                    (k.clone(), value)
                })
                .collect(),
        }),
    }
}

struct Engine {
    tera: Tera,
    pack: String,
    deployment: Deployment,
}

impl Engine {
    fn render(
        &self,
        name: &str,
        rules: &[&ManagedRule],
        part: usize,
        parts: usize,
    ) -> Result<Part, tera::Error> {
        let mut context = Context::new();
        context.insert("pack", &self.pack);
        context.insert("name", name);
        context.insert("part", &part);
        context.insert("parts", &parts);
        let views: Vec<RuleView<'_>> = rules.iter().copied().map(view).collect();
        context.insert("rules", &views);
        let organization = self.deployment == Deployment::Organization;
        context.insert("organization", &organization);
        context.insert("hash_parameter", TEMPLATE_HASH_PARAMETER);
        context.insert("role_prefix", &role_name_prefix(name));
        let actions: std::collections::BTreeSet<&str> = rules
            .iter()
            .filter_map(|r| r.remediation.as_ref())
            .flat_map(|r| r.actions.iter().map(String::as_str))
            .collect();
        context.insert("actions", &actions);
        let body = self.tera.render("conformance-pack.yaml", &context)?;
        context.insert("body", &body);
        let stack = if organization && actions.is_empty() {
            None
        } else {
            Some(self.tera.render("pack.yaml", &context)?)
        };
        Ok(Part {
            name: name.to_owned(),
            body,
            stack,
        })
    }
}

fn part_name(pack: &str, part: usize, parts: usize) -> String {
    if parts == 1 {
        format!("custos-{pack}")
    } else {
        format!("custos-{pack}-{part}")
    }
}

/// Renders `definition`'s managed rules as conformance packs of at most 130 rules whose
/// templates (the pack's, and the stack template that carries it inline) stay within 51,200
/// bytes. No managed rules: no part.
pub fn render(
    pack: &str,
    definition: &Definition,
    deployment: Deployment,
) -> Result<Vec<Part>, PackRenderError> {
    let tera_error = |source| PackRenderError::Tera {
        pack: pack.to_owned(),
        source,
    };
    let mut tera = Tera::default();
    tera.add_raw_templates([("conformance-pack.yaml", BODY), ("pack.yaml", STACK)])
        .map_err(tera_error)?;
    let engine = Engine {
        tera,
        pack: pack.to_owned(),
        deployment,
    };
    let rules: Vec<&ManagedRule> = definition.managed.iter().collect();
    // Measured with the longest name a part can get, so the real rendering is never larger.
    let size = |candidate: &[&ManagedRule]| {
        engine
            .render(&part_name(pack, 999, 999), candidate, 999, 999)
            .map_or(usize::MAX, |p| {
                p.stack.as_ref().map_or(0, String::len).max(p.body.len())
            })
    };
    let groups =
        split::split(&rules, MAX_RULES, MAX_TEMPLATE_BODY_BYTES, size).map_err(|source| {
            PackRenderError::TooLarge {
                pack: pack.to_owned(),
                source,
            }
        })?;
    let parts = groups.len();
    groups
        .iter()
        .enumerate()
        .map(|(i, group)| {
            engine
                .render(&part_name(pack, i + 1, parts), group, i + 1, parts)
                .map_err(tera_error)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packs::validate::validate;

    fn managed(i: usize, description: &str) -> ManagedRule {
        ManagedRule {
            name: format!("generated-rule-{i}"),
            identifier: "S3_BUCKET_VERSIONING_ENABLED".into(),
            description: Some(description.into()),
            resource_types: vec!["AWS::S3::Bucket".into()],
            input_parameters: BTreeMap::new(),
            maximum_execution_frequency: None,
            remediation: None,
        }
    }

    fn baseline() -> Definition {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance-packs/baseline.toml");
        Definition::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn the_baseline_pack_renders_one_valid_pack_with_remediation() {
        let parts = render("baseline", &baseline(), Deployment::Account).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "custos-baseline");
        let outcome = validate(&parts[0].body);
        assert_eq!(outcome.problems, vec![]);
        assert!(outcome.summary.remediations >= 1);
        insta::assert_snapshot!("conformance-pack-baseline", &parts[0].body);
        // The stack template is itself a valid template that carries the body.
        let stack = parts[0].stack.as_deref().unwrap();
        assert!(stack.contains("Type: AWS::Config::ConformancePack"));
        // Its remediations run as the role the stack creates, named for the region.
        assert!(stack.contains("RoleName: !Sub \"custos-baseline-ssm-${AWS::Region}\""));
        assert!(parts[0].body.contains(
            "- !Sub \"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/custos-baseline-ssm-${AWS::Region}\""
        ));
    }

    #[test]
    fn a_generated_pack_of_300_rules_is_split_into_valid_parts() {
        let definition = Definition {
            description: None,
            managed: (0..300).map(|i| managed(i, "short")).collect(),
        };
        let parts = render("big", &definition, Deployment::Account).unwrap();
        let rules: Vec<usize> = parts
            .iter()
            .map(|p| validate(&p.body).summary.rules)
            .collect();
        assert_eq!(rules, [130, 130, 40]);
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["custos-big-1", "custos-big-2", "custos-big-3"]);
        for p in &parts {
            assert_eq!(validate(&p.body).problems, vec![], "{}", p.name);
            assert!(p.stack.as_ref().unwrap().len() <= MAX_TEMPLATE_BODY_BYTES);
        }
    }

    #[test]
    fn a_generated_pack_over_the_size_limit_is_split_by_bytes() {
        let long = "d".repeat(200);
        let definition = Definition {
            description: None,
            managed: (0..120).map(|i| managed(i, &long)).collect(),
        };
        let parts = render("wordy", &definition, Deployment::Account).unwrap();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        let total: usize = parts.iter().map(|p| validate(&p.body).summary.rules).sum();
        assert_eq!(total, 120);
        assert!(parts.iter().all(
            |p| p.stack.as_ref().unwrap().len() <= MAX_TEMPLATE_BODY_BYTES
                && validate(&p.body).problems.is_empty()
        ));
    }

    #[test]
    fn an_organisation_pack_declares_its_fingerprint_and_its_stack_holds_only_the_role() {
        let parts = render("baseline", &baseline(), Deployment::Organization).unwrap();
        assert_eq!(parts.len(), 1);
        let outcome = validate(&parts[0].body);
        assert_eq!(outcome.problems, vec![]);
        assert_eq!(outcome.summary.parameters, 2);
        assert!(
            parts[0]
                .body
                .contains("  CustosTemplateHash:\n    Type: String")
        );
        assert!(
            parts[0]
                .body
                .contains("  CustosDeployment:\n    Type: String")
        );
        let stack = parts[0].stack.as_deref().unwrap();
        assert!(stack.contains("Type: AWS::IAM::Role"));
        assert!(stack.contains("- s3:PutEncryptionConfiguration"));
        assert!(!stack.contains("AWS::Config::ConformancePack"), "{stack}");
    }

    #[test]
    fn an_organisation_pack_without_remediation_needs_no_stack() {
        let definition = Definition {
            description: None,
            managed: vec![managed(1, "no remediation")],
        };
        let parts = render("plain", &definition, Deployment::Organization).unwrap();
        assert_eq!(parts[0].stack, None);
        let per_account = render("plain", &definition, Deployment::Account).unwrap();
        let stack = per_account[0].stack.as_deref().unwrap();
        assert!(stack.contains("AWS::Config::ConformancePack"));
        assert!(!stack.contains("AWS::IAM::Role"));
    }

    #[test]
    fn a_remediation_that_names_its_own_role_keeps_it() {
        let mut rule = managed(1, "own role");
        rule.remediation = Some(crate::packs::Remediation {
            document: "AWS-ConfigureS3BucketVersioning".into(),
            actions: vec!["s3:PutBucketVersioning".into()],
            automatic: false,
            maximum_attempts: 5,
            retry_seconds: 60,
            parameters: BTreeMap::from([(
                ASSUME_ROLE.to_owned(),
                RemediationValue::Static(vec!["arn:aws:iam::111111111111:role/mine".into()]),
            )]),
        });
        let definition = Definition {
            description: None,
            managed: vec![rule],
        };
        let body = &render("own", &definition, Deployment::Account).unwrap()[0].body;
        assert_eq!(body.matches("AutomationAssumeRole:").count(), 1, "{body}");
        assert!(body.contains("arn:aws:iam::111111111111:role/mine"));
        assert_eq!(validate(body).problems, vec![]);
    }

    #[test]
    fn names_become_logical_ids() {
        assert_eq!(
            logical_id("s3-bucket-versioning-enabled"),
            "S3BucketVersioningEnabled"
        );
    }
}
