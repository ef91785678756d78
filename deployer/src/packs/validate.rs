//! Checks a conformance pack template the way Config will read it, and says where each problem
//! is. What is checked: the file parses (YAML or JSON, CloudFormation short tags); its sections;
//! only `AWS::Config::ConfigRule` and `AWS::Config::RemediationConfiguration` resources; every
//! rule has a `Source` with an `Owner` (and a `SourceIdentifier` unless it is a Guard policy);
//! every remediation names a rule of the pack, a target and a target type; `Ref`, `GetAtt`,
//! `Sub` variables, `Condition`s, `Fn::If` and `DependsOn` name something that exists; Config's
//! limits (130 rules, 60 parameters, 51,200 bytes of template body). What is not checked: the
//! managed rule identifiers and their input parameters, resource types in scopes, and the
//! content of SSM documents.

use std::collections::BTreeSet;

use serde::Serialize;

use super::yaml::{self, Mark, Node, Value};

/// Config's limits for one conformance pack.
pub const MAX_RULES: usize = 130;
pub const MAX_TEMPLATE_BODY_BYTES: usize = 51_200;
/// A template read from S3 (`TemplateS3Uri`) may be larger: up to 300 KB.
pub const MAX_TEMPLATE_S3_BYTES: usize = 300 * 1024;
pub const MAX_PARAMETERS: usize = 60;

const CONFIG_RULE: &str = "AWS::Config::ConfigRule";
const REMEDIATION: &str = "AWS::Config::RemediationConfiguration";
const SECTIONS: [&str; 8] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];
const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];
/// CloudFormation's short tags, without `!`.
const SHORT_TAGS: [&str; 17] = [
    "Ref",
    "Sub",
    "GetAtt",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Join",
    "Select",
    "Split",
    "FindInMap",
    "Base64",
    "Cidr",
    "GetAZs",
    "ImportValue",
    "Condition",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What a valid template holds, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub rules: usize,
    pub remediations: usize,
    pub parameters: usize,
    pub bytes: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub summary: Summary,
    pub problems: Vec<Problem>,
    /// What is worth knowing but does not stop Config from taking the template.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Problem>,
}

struct Names {
    parameters: BTreeSet<String>,
    conditions: BTreeSet<String>,
    resources: BTreeSet<String>,
    rule_ids: BTreeSet<String>,
    /// `ConfigRuleName` values given as plain strings.
    rules_by_name: BTreeSet<String>,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn at(&mut self, mark: Mark, message: impl Into<String>) {
        self.problems.push(Problem {
            line: mark.line,
            column: mark.col,
            message: message.into(),
        });
    }
}

/// Where `key` of mapping `node` is written.
fn key_mark(node: &Node, key: &str) -> Option<Mark> {
    node.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(k, _)| k.mark)
}

/// Keys of a mapping section, or nothing.
fn keys(node: Option<&Node>) -> BTreeSet<String> {
    node.and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks `text`, the whole template.
pub fn validate(text: &str) -> Outcome {
    let mut check = Checker {
        problems: Vec::new(),
    };
    let mut summary = Summary {
        bytes: text.len(),
        ..Summary::default()
    };
    let doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            check.at(e.mark, format!("not YAML or JSON: {}", e.message));
            return Outcome {
                summary,
                problems: check.problems,
                notes: Vec::new(),
            };
        }
    };
    let Some(sections) = doc.as_map() else {
        check.at(
            doc.mark,
            "expected a mapping of template sections (Parameters, Resources, ...)",
        );
        return Outcome {
            summary,
            problems: check.problems,
            notes: Vec::new(),
        };
    };
    check_sections(&mut check, sections);
    let resources = doc.get("Resources");
    let mut names = Names {
        parameters: keys(doc.get("Parameters")),
        conditions: keys(doc.get("Conditions")),
        resources: keys(resources),
        rule_ids: BTreeSet::new(),
        rules_by_name: BTreeSet::new(),
    };
    summary.parameters = names.parameters.len();
    if let Some(parameters) = doc.get("Parameters") {
        check_parameters(&mut check, parameters);
    }
    if summary.parameters > MAX_PARAMETERS {
        let mark = key_mark(&doc, "Parameters").unwrap_or_default();
        check.at(
            mark,
            format!(
                "too many parameters: {} (a conformance pack takes at most {MAX_PARAMETERS})",
                summary.parameters
            ),
        );
    }
    let Some(entries) = resources.and_then(Node::as_map).filter(|m| !m.is_empty()) else {
        let mark = key_mark(&doc, "Resources").unwrap_or(doc.mark);
        check.at(
            mark,
            "no Resources: a conformance pack needs at least one AWS::Config::ConfigRule",
        );
        return Outcome {
            summary,
            problems: check.problems,
            notes: Vec::new(),
        };
    };
    names.collect_rules(entries);
    check_resources(&mut check, entries, &names, &mut summary);
    // References anywhere in the template.
    for section in ["Resources", "Conditions", "Outputs"] {
        if let Some(node) = doc.get(section) {
            check_references(&mut check, node, &names);
        }
    }
    check_limits(&mut check, &doc, &summary);
    check.problems.sort();
    Outcome {
        notes: notes(&summary),
        summary,
        problems: check.problems,
    }
}

fn check_sections(check: &mut Checker, sections: &[(Node, Node)]) {
    for (key, _) in sections {
        match key.as_str() {
            Some(name) if SECTIONS.contains(&name) => {}
            other => check.at(
                key.mark,
                format!(
                    "unknown template section `{}` (expected one of: {})",
                    other.unwrap_or("?"),
                    SECTIONS.join(", ")
                ),
            ),
        }
    }
}

impl Names {
    /// Which resources are rules, and the rule names given as text.
    fn collect_rules(&mut self, entries: &[(Node, Node)]) {
        for (id, resource) in entries {
            if resource.get("Type").and_then(Node::as_str) == Some(CONFIG_RULE) {
                self.rule_ids
                    .insert(id.as_str().unwrap_or_default().to_owned());
                if let Some(name) = resource
                    .get("Properties")
                    .and_then(|p| p.get("ConfigRuleName"))
                    .filter(|n| n.tag.is_none())
                    .and_then(Node::as_str)
                {
                    self.rules_by_name.insert(name.to_owned());
                }
            }
        }
    }
}

fn check_limits(check: &mut Checker, doc: &Node, summary: &Summary) {
    if summary.rules > MAX_RULES {
        check.at(
            key_mark(doc, "Resources").unwrap_or_default(),
            format!(
                "too many rules: {} (a conformance pack holds at most {MAX_RULES}; \
                 `deployer` splits its own packs)",
                summary.rules
            ),
        );
    }
    if summary.bytes > MAX_TEMPLATE_S3_BYTES {
        check.at(
            Mark { line: 1, col: 1 },
            format!(
                "too large: {} bytes (Config reads at most {MAX_TEMPLATE_S3_BYTES} bytes, from \
                 S3 with TemplateS3Uri)",
                summary.bytes
            ),
        );
    }
}

/// Observations that do not make the template invalid.
fn notes(summary: &Summary) -> Vec<Problem> {
    let mut notes = Vec::new();
    if summary.bytes > MAX_TEMPLATE_BODY_BYTES && summary.bytes <= MAX_TEMPLATE_S3_BYTES {
        notes.push(Problem {
            line: 1,
            column: 1,
            message: format!(
                "{} bytes: more than the {MAX_TEMPLATE_BODY_BYTES} Config takes inline \
                 (TemplateBody), so it is deployed from S3 (TemplateS3Uri), as AWS's larger \
                 sample packs are",
                summary.bytes
            ),
        });
    }
    notes
}

fn check_resources(
    check: &mut Checker,
    entries: &[(Node, Node)],
    names: &Names,
    summary: &mut Summary,
) {
    for (id, resource) in entries {
        let id_text = id.as_str().unwrap_or_default();
        if resource.as_map().is_none() {
            check.at(
                resource.mark,
                format!("resource {id_text}: expected a mapping with Type and Properties"),
            );
            continue;
        }
        match resource.get("Type").map(|t| (t, t.as_str())) {
            None => check.at(id.mark, format!("resource {id_text} has no Type")),
            Some((_, Some(CONFIG_RULE))) => {
                summary.rules += 1;
                check_rule(check, id_text, id.mark, resource);
            }
            Some((_, Some(REMEDIATION))) => {
                summary.remediations += 1;
                check_remediation(check, id_text, id.mark, resource, names);
            }
            Some((t, other)) => check.at(
                t.mark,
                format!(
                    "resource {id_text}: unknown resource type `{}` (a conformance pack holds only \
                     {CONFIG_RULE} and {REMEDIATION})",
                    other.unwrap_or("?")
                ),
            ),
        }
        if let Some(condition) = resource.get("Condition") {
            match condition.as_str() {
                Some(c) if names.conditions.contains(c) => {}
                _ => check.at(
                    condition.mark,
                    format!(
                        "resource {id_text}: Condition `{}` is not in Conditions",
                        condition.as_str().unwrap_or("?")
                    ),
                ),
            }
        }
        if let Some(depends) = resource.get("DependsOn") {
            let listed: Vec<&Node> = match depends.as_seq() {
                Some(items) => items.iter().collect(),
                None => vec![depends],
            };
            for d in listed {
                if !d.as_str().is_some_and(|n| names.resources.contains(n)) {
                    check.at(
                        d.mark,
                        format!(
                            "resource {id_text}: DependsOn `{}` is not a resource of the template",
                            d.as_str().unwrap_or("?")
                        ),
                    );
                }
            }
        }
    }
}

fn check_parameters(check: &mut Checker, parameters: &Node) {
    let Some(entries) = parameters.as_map() else {
        check.at(
            parameters.mark,
            "Parameters: expected a mapping of parameter names",
        );
        return;
    };
    for (name, spec) in entries {
        if spec.get("Type").and_then(Node::as_str).is_none() {
            check.at(
                name.mark,
                format!("parameter {} has no Type", name.as_str().unwrap_or("?")),
            );
        }
    }
}

fn check_rule(check: &mut Checker, id: &str, mark: Mark, resource: &Node) {
    let Some(properties) = resource.get("Properties") else {
        check.at(
            mark,
            format!("rule {id} has no Properties (Source is required)"),
        );
        return;
    };
    let Some(source) = properties.get("Source") else {
        check.at(mark, format!("rule {id} has no Source"));
        return;
    };
    let owner = source.get("Owner").and_then(Node::as_str);
    match owner {
        None => check.at(source.mark, format!("rule {id}: Source has no Owner")),
        Some("AWS" | "CUSTOM_LAMBDA" | "CUSTOM_POLICY") => {}
        Some(other) => check.at(
            source.get("Owner").map_or(source.mark, |o| o.mark),
            format!("rule {id}: Source Owner `{other}` is not AWS, CUSTOM_LAMBDA or CUSTOM_POLICY"),
        ),
    }
    if owner != Some("CUSTOM_POLICY") && source.get("SourceIdentifier").is_none() {
        check.at(
            source.mark,
            format!("rule {id}: Source has no SourceIdentifier"),
        );
    }
    if owner == Some("CUSTOM_POLICY") && source.get("CustomPolicyDetails").is_none() {
        check.at(
            source.mark,
            format!("rule {id}: a CUSTOM_POLICY Source needs CustomPolicyDetails"),
        );
    }
}

fn check_remediation(check: &mut Checker, id: &str, mark: Mark, resource: &Node, names: &Names) {
    let Some(properties) = resource.get("Properties") else {
        check.at(mark, format!("remediation {id} has no Properties"));
        return;
    };
    for required in ["TargetId", "TargetType"] {
        if properties.get(required).is_none() {
            check.at(mark, format!("remediation {id} has no {required}"));
        }
    }
    match properties.get("ConfigRuleName") {
        None => check.at(mark, format!("remediation {id} has no ConfigRuleName")),
        Some(name) => match (name.tag.as_deref(), name.as_str()) {
            (None, Some(text)) if !names.rules_by_name.contains(text) => check.at(
                name.mark,
                format!(
                    "remediation {id}: ConfigRuleName `{text}` is not a rule of this pack \
                     (its rules: {})",
                    names
                        .rules_by_name
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            (Some("Ref"), Some(target)) if !names.rule_ids.contains(target) => check.at(
                name.mark,
                format!(
                    "remediation {id}: ConfigRuleName refers to `{target}`, not a rule of this pack"
                ),
            ),
            _ => {}
        },
    }
}

/// An intrinsic function at `node`: its name and argument (short tag or one-key `Fn::` map).
fn intrinsic(node: &Node) -> Option<(&str, &Node)> {
    if let Some(tag) = node.tag.as_deref() {
        return Some((tag, node));
    }
    let entries = node.as_map()?;
    let [(key, value)] = entries else {
        return None;
    };
    let name = key.as_str()?;
    let short = name
        .strip_prefix("Fn::")
        .or_else(|| (name == "Ref" || name == "Condition").then_some(name))?;
    Some((short, value))
}

fn check_references(check: &mut Checker, node: &Node, names: &Names) {
    if let Some(tag) = node.tag.as_deref()
        && !SHORT_TAGS.contains(&tag)
    {
        check.at(
            node.mark,
            format!("unknown tag `!{tag}` (not a CloudFormation intrinsic function)"),
        );
    }
    if let Some((function, arg)) = intrinsic(node) {
        match function {
            "Ref" => {
                if let Some(target) = arg.as_str()
                    && !names.parameters.contains(target)
                    && !names.resources.contains(target)
                    && !PSEUDO_PARAMETERS.contains(&target)
                {
                    check.at(
                        arg.mark,
                        format!("Ref `{target}` names no parameter, resource or pseudo parameter"),
                    );
                }
            }
            "GetAtt" => {
                let target = match &arg.value {
                    Value::Scalar { text, .. } => text.split('.').next().map(str::to_owned),
                    Value::Seq(items) => items.first().and_then(Node::as_str).map(str::to_owned),
                    Value::Map(_) => None,
                };
                if let Some(target) = target
                    && !names.resources.contains(&target)
                {
                    check.at(
                        arg.mark,
                        format!("GetAtt `{target}` is not a resource of the template"),
                    );
                }
            }
            "Sub" => {
                let (template, locals) = match &arg.value {
                    Value::Scalar { text, .. } => (Some(text.as_str()), BTreeSet::new()),
                    Value::Seq(items) => (items.first().and_then(Node::as_str), keys(items.get(1))),
                    Value::Map(_) => (None, BTreeSet::new()),
                };
                for variable in template.map(sub_variables).unwrap_or_default() {
                    let base = variable.split('.').next().unwrap_or_default();
                    let known = locals.contains(&variable)
                        || names.parameters.contains(&variable)
                        || PSEUDO_PARAMETERS.contains(&variable.as_str())
                        || names.resources.contains(base);
                    if !known {
                        check.at(
                            arg.mark,
                            format!("Sub variable `${{{variable}}}` names no parameter, resource or pseudo parameter"),
                        );
                    }
                }
            }
            "If" => {
                if let Some(condition) = arg.as_seq().and_then(|items| items.first())
                    && !condition
                        .as_str()
                        .is_some_and(|c| names.conditions.contains(c))
                {
                    check.at(
                        condition.mark,
                        format!(
                            "Fn::If names condition `{}`, which is not in Conditions",
                            condition.as_str().unwrap_or("?")
                        ),
                    );
                }
            }
            "Condition" => {
                if let Some(condition) = arg.as_str()
                    && !names.conditions.contains(condition)
                {
                    check.at(
                        arg.mark,
                        format!("Condition `{condition}` is not in Conditions"),
                    );
                }
            }
            _ => {}
        }
    }
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                check_references(check, item, names);
            }
        }
        Value::Map(entries) => {
            for (_, value) in entries {
                check_references(check, value, names);
            }
        }
        Value::Scalar { .. } => {}
    }
}

/// The `${Name}` variables of a `Sub` string (`${!Literal}` is text, not a variable).
fn sub_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.push(name.trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
