//! # iam-policy-no-admin-wildcards
//!
//! ## What it checks
//! No IAM permissions policy allows every action on every resource (`*` on `*`), and none allows
//! an action of the `forbiddenActions` list. It reads the permissions policies each item carries:
//!
//! | resource type | policies read |
//! |---|---|
//! | `AWS::IAM::Policy` | the default version in `policyVersionList` (other versions are ignored: they grant nothing until made the default, which records a new item) |
//! | `AWS::IAM::Role` | inline policies in `rolePolicyList`; the trust policy `assumeRolePolicyDocument` is not a permissions policy and is not read |
//! | `AWS::IAM::User` | inline policies in `userPolicyList` |
//! | `AWS::IAM::Group` | inline policies in `groupPolicyList` |
//!
//! Managed policies attached to roles, users and groups are evaluated once, as the
//! `AWS::IAM::Policy` items they are, not again with every identity they are attached to.
//!
//! A statement is reported when it:
//! - allows every action (`*`, `*:*`, or patterns that between them name every action) on
//!   `Resource: "*"`, or on all but a `NotResource` list: `... allows * on *`. An ARN pattern
//!   whose wildcards cover every ARN of its partition (`arn:*`, `arn:aws:*`, `arn:*:*`,
//!   `arn:aws:*:*:*:*`) is every resource too: `... allows * on arn:*`. Other resource
//!   patterns, even broad ones such as `arn:aws:s3:::*`, count as some resources;
//! - allows all but a `NotAction` list on every resource, which is administrator access with
//!   exceptions: `... allows * except iam:* on *`;
//! - allows an action a `forbiddenActions` entry names. Patterns are compared as IAM compares
//!   them (`*` and `?` wildcards, case ignored), and a wildcard on either side counts when some
//!   action matches both: `iam:*` in a policy reaches the forbidden `iam:CreateUser`, and the
//!   forbidden `iam:*` reaches `iam:PassRole` in a policy. Through `NotAction`, a forbidden
//!   action is granted unless the `NotAction` list covers it all. Resources do not matter here:
//!   a forbidden action is forbidden on any resource.
//!
//! Only `Allow` statements grant. A `Deny` does not make an `Allow` acceptable, and conditions are
//! not read: a condition narrows when an allow applies, not what it allows (AWS's managed rule
//! `iam-policy-no-statements-with-admin-access` ignores conditions too).
//!
//! Annotations name the policy, the statement (by `Sid`, or `#N` counting from 1) and what it
//! allows, `*` on `*` findings first, several joined by `; `:
//! `policy ops-admin statement "AllowAll" allows * on *`,
//! `inline policy deploy statement #2 allows iam:* (forbidden: iam:CreateUser)`. Annotations are
//! cut to 256 characters, the most Config accepts.
//!
//! A document the rule cannot read (not URL-encoded JSON, or outside IAM's policy grammar) makes
//! the item NON_COMPLIANT with `cannot read policy NAME: why`. Failing the invocation instead
//! would leave Config showing the previous result, which may be COMPLIANT, and no compliance
//! change would notify anyone.
//!
//! ## Why it matters
//! `*` on `*` is administrator access: whoever holds it can grant themselves anything else, turn
//! off logging and leave no trace. Administrator access belongs to a few break-glass roles,
//! granted deliberately and exempted with an owner, a reason and an expiry. A forbidden-action
//! list catches the narrower grants that are as dangerous in a given organisation (creating IAM
//! users, leaving the organisation, stopping CloudTrail).
//!
//! ## Parameters
//! `forbiddenActions` (optional): comma-separated `service:Action` patterns, for example
//! `iam:*,organizations:LeaveOrganization,cloudtrail:StopLogging`. An entry that is not an
//! action pattern fails the invocation, naming the parameter.
//!
//! ## Remediation
//! Notification only: a policy is never rewritten automatically, because a broad grant is often
//! someone's working access, and narrowing it is a decision for its owner. A NON_COMPLIANT
//! result reaches the administrators through the compliance-change notification every Custos
//! rule has (EventBridge `Config Rules Compliance Change` to the notification topic), with the
//! annotation that says which statement allows what.
//!
//! ## Reads
//! Only the configuration item; the rule calls no AWS API. Documents are URL-encoded JSON text in
//! the item, as IAM returns them (see [`policy`]).

pub mod glob;
pub mod policy;

use config_rule_sdk::params::CommaList;
use config_rule_sdk::{Item, Rule, Verdict};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::Value;

use crate::glob::Pattern;
use crate::policy::Finding;

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::change(IamPolicyNoAdminWildcards, RULE_TOML).into()
}

pub struct IamPolicyNoAdminWildcards;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "forbiddenActions", default)]
    pub forbidden_actions: Option<ForbiddenActions>,
}

impl Params {
    fn forbidden(&self) -> &[Pattern] {
        self.forbidden_actions.as_ref().map_or(&[], |f| &f.0)
    }
}

/// The `forbiddenActions` parameter: a comma list of action patterns, each checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForbiddenActions(pub Vec<Pattern>);

impl<'de> Deserialize<'de> for ForbiddenActions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let CommaList(entries) = CommaList::deserialize(deserializer)?;
        entries
            .iter()
            .map(|entry| {
                if is_action_pattern(entry) {
                    Ok(Pattern::new(entry))
                } else {
                    Err(D::Error::custom(format!(
                        "`{entry}` is not an IAM action pattern (service:Action, with * and ? \
                         wildcards, for example iam:CreateUser or iam:*)"
                    )))
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// `*`, or `service:Action` where both parts are letters, digits, `-`, `_` and wildcards.
fn is_action_pattern(entry: &str) -> bool {
    let part = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_*?".contains(c))
    };
    entry == "*"
        || entry
            .split_once(':')
            .is_some_and(|(service, action)| part(service) && part(action))
}

/// The item's configuration as JSON. The four resource types keep their policies in different
/// places, and a shape the rule does not expect must give a verdict, not a failed invocation.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Configuration(pub Value);

impl Rule for IamPolicyNoAdminWildcards {
    type Params = Params;
    type Resource = Configuration;

    fn evaluate(&self, item: &Item<Configuration>, params: &Params) -> Verdict {
        let policies = match Policies::of(item) {
            Ok(policies) => policies,
            Err(why) => return Verdict::non_compliant(why),
        };
        let forbidden = params.forbidden();
        // (admin-like first, text), in document order otherwise.
        let mut problems: Vec<(bool, String)> = Vec::new();
        for source in &policies.sources {
            match policy::decode(source.document) {
                Err(why) => problems.push((false, format!("cannot read {}: {why}", source.label))),
                Ok(document) => problems.extend(
                    document
                        .findings(forbidden)
                        .iter()
                        .map(|f: &Finding| (f.is_everything(), format!("{} {f}", source.label))),
                ),
            }
        }
        if problems.is_empty() {
            return Verdict::compliant().because(policies.compliant_note(!forbidden.is_empty()));
        }
        problems.sort_by_key(|(everything, _)| !everything);
        let texts: Vec<String> = problems.into_iter().map(|(_, text)| text).collect();
        Verdict::non_compliant(texts.join("; "))
    }
}

/// The permissions policy documents of one item.
struct Policies<'a> {
    kind: Kind,
    sources: Vec<Source<'a>>,
}

enum Kind {
    /// A managed policy and its default version id.
    Managed { name: String, version: String },
    /// A role's, user's or group's inline policies.
    Inline,
}

/// One document and what annotations call it (`policy NAME`, `inline policy NAME`).
struct Source<'a> {
    label: String,
    document: &'a Value,
}

impl<'a> Policies<'a> {
    /// Finds the documents; `Err` is the NON_COMPLIANT annotation when the item's shape does not
    /// let the rule find them.
    fn of(item: &'a Item<Configuration>) -> Result<Self, String> {
        let configuration = &item.configuration.0;
        let inline_key = match item.key.resource_type.as_str() {
            "AWS::IAM::Policy" => return Self::managed(item, configuration),
            "AWS::IAM::Role" => "rolePolicyList",
            "AWS::IAM::User" => "userPolicyList",
            "AWS::IAM::Group" => "groupPolicyList",
            other => return Err(format!("cannot read a {other} item's policies")),
        };
        let entries = match configuration.get(inline_key) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(entries)) => entries.as_slice(),
            Some(_) => {
                return Err(format!(
                    "cannot read the inline policies: {inline_key} is not a list"
                ));
            }
        };
        let sources = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let name = entry
                    .get("policyName")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{}", i + 1), str::to_owned);
                let label = format!("inline policy {name}");
                match entry.get("policyDocument") {
                    Some(document) => Ok(Source { label, document }),
                    None => Err(format!("cannot read {label}: it has no policyDocument")),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kind: Kind::Inline,
            sources,
        })
    }

    fn managed(item: &'a Item<Configuration>, configuration: &'a Value) -> Result<Self, String> {
        let name = configuration
            .get("policyName")
            .and_then(Value::as_str)
            .or(item.resource_name.as_deref())
            .unwrap_or(&item.key.resource_id)
            .to_owned();
        let label = format!("policy {name}");
        let Some(Value::Array(versions)) = configuration.get("policyVersionList") else {
            return Err(format!("cannot read {label}: it has no policyVersionList"));
        };
        let defaults: Vec<&Value> = versions
            .iter()
            .filter(|v| {
                matches!(v.get("isDefaultVersion"), Some(Value::Bool(true)))
                    || v.get("isDefaultVersion").and_then(Value::as_str) == Some("true")
            })
            .collect();
        let [default] = defaults.as_slice() else {
            return Err(format!(
                "cannot read {label}: policyVersionList has {} default versions, not one",
                defaults.len()
            ));
        };
        let Some(document) = default.get("document") else {
            return Err(format!(
                "cannot read {label}: its default version has no document"
            ));
        };
        let version = default
            .get("versionId")
            .and_then(Value::as_str)
            .unwrap_or("(no id)")
            .to_owned();
        Ok(Self {
            kind: Kind::Managed { name, version },
            sources: vec![Source { label, document }],
        })
    }

    fn compliant_note(&self, forbidden_given: bool) -> String {
        let what = |verb: &str| {
            if forbidden_given {
                format!("{verb} neither * on * nor a forbidden action")
            } else {
                format!("{verb} no * on *")
            }
        };
        match &self.kind {
            Kind::Managed { name, version } => {
                format!(
                    "policy {name}, default version {version}, {}",
                    what("allows")
                )
            }
            Kind::Inline => {
                let inline = match self.sources.len() {
                    0 => "no inline policies".to_owned(),
                    1 => format!("1 inline policy {}", what("allows")),
                    n => format!("{n} inline policies {}", what("allow")),
                };
                format!(
                    "{inline}; attached managed policies are evaluated as AWS::IAM::Policy items"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_rule_sdk::Compliance;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn forbidden_action_entries_must_be_action_patterns() {
        for good in [
            "*",
            "iam:*",
            "iam:CreateUser",
            "s3:Get?bject",
            "*:Delete*",
            "ssm-incidents:*",
        ] {
            assert!(is_action_pattern(good), "{good}");
        }
        for bad in [
            "",
            "iam",
            "iam:",
            ":CreateUser",
            "iam:Create User",
            "iam:a:b",
            "arn:aws:iam::1:user/x",
        ] {
            assert!(!is_action_pattern(bad), "{bad}");
        }
    }

    fn evaluate(resource_type: &str, configuration: &Value, forbidden: &str) -> Verdict {
        let item = config_rule_sdk::ConfigurationItem::from_json(json!({
            "resourceType": resource_type,
            "resourceId": "AIDAEXAMPLE",
            "resourceName": "example",
            "configuration": configuration,
        }))
        .unwrap()
        .decode::<Configuration>()
        .unwrap();
        let params: Params =
            serde_json::from_value(json!({"forbiddenActions": forbidden})).unwrap();
        IamPolicyNoAdminWildcards.evaluate(&item, &params)
    }

    fn annotation(verdict: &Verdict) -> &str {
        verdict.annotation.as_ref().map_or("", |a| a.as_str())
    }

    #[test]
    fn admin_findings_come_first_whatever_the_order_of_the_policies() {
        let forbidden_only = json!({"Statement": {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}});
        let admin =
            json!({"Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}});
        let verdict = evaluate(
            "AWS::IAM::Role",
            &json!({"rolePolicyList": [
                {"policyName": "pass", "policyDocument": forbidden_only.to_string()},
                {"policyName": "admin", "policyDocument": admin.to_string()},
            ]}),
            "iam:*",
        );
        assert_eq!(verdict.compliance, Compliance::NonCompliant);
        assert_eq!(
            annotation(&verdict),
            "inline policy admin statement \"All\" allows * on *; \
             inline policy pass statement \"Pass\" allows iam:PassRole (forbidden: iam:*)"
        );
    }

    #[test]
    fn an_item_whose_policies_cannot_be_found_is_not_compliant() {
        let no_versions = evaluate("AWS::IAM::Policy", &json!({"policyName": "p"}), "");
        assert_eq!(no_versions.compliance, Compliance::NonCompliant);
        assert_eq!(
            annotation(&no_versions),
            "cannot read policy p: it has no policyVersionList"
        );

        let two_defaults = evaluate(
            "AWS::IAM::Policy",
            &json!({"policyName": "p", "policyVersionList": [
                {"versionId": "v1", "isDefaultVersion": true, "document": "{}"},
                {"versionId": "v2", "isDefaultVersion": true, "document": "{}"},
            ]}),
            "",
        );
        assert_eq!(
            annotation(&two_defaults),
            "cannot read policy p: policyVersionList has 2 default versions, not one"
        );

        let not_a_list = evaluate("AWS::IAM::User", &json!({"userPolicyList": "none"}), "");
        assert_eq!(not_a_list.compliance, Compliance::NonCompliant);

        let no_document = evaluate(
            "AWS::IAM::Group",
            &json!({"groupPolicyList": [{"policyName": "g"}]}),
            "",
        );
        assert_eq!(
            annotation(&no_document),
            "cannot read inline policy g: it has no policyDocument"
        );

        let null_configuration = evaluate("AWS::IAM::Policy", &Value::Null, "");
        assert_eq!(null_configuration.compliance, Compliance::NonCompliant);
    }

    #[test]
    fn an_identity_without_inline_policies_is_compliant_and_says_where_managed_ones_are() {
        let verdict = evaluate(
            "AWS::IAM::User",
            &json!({"userName": "u", "userPolicyList": []}),
            "iam:*",
        );
        assert_eq!(verdict.compliance, Compliance::Compliant);
        assert_eq!(
            annotation(&verdict),
            "no inline policies; attached managed policies are evaluated as AWS::IAM::Policy items"
        );
    }

    /// A configuration carrying `document` where each resource type keeps its documents.
    fn carrying(resource_type: &str, document: &Value) -> Value {
        match resource_type {
            "AWS::IAM::Policy" => json!({"policyName": "p", "policyVersionList": [
                {"versionId": "v1", "isDefaultVersion": true, "document": document}
            ]}),
            "AWS::IAM::Role" => {
                json!({"rolePolicyList": [{"policyName": "p", "policyDocument": document}]})
            }
            "AWS::IAM::User" => {
                json!({"userPolicyList": [{"policyName": "p", "policyDocument": document}]})
            }
            _ => json!({"groupPolicyList": [{"policyName": "p", "policyDocument": document}]}),
        }
    }

    /// Encoded admin documents with damage: cut short, bytes replaced, stray `%`.
    fn garbled() -> impl Strategy<Value = String> {
        let admin = percent_encoding::utf8_percent_encode(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}}"#,
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        (
            0..=admin.len(),
            proptest::collection::vec((0..admin.len(), "[%0-9A-Fa-f{}\\[\\]\":,*]|\\PC"), 0..4),
        )
            .prop_map(move |(cut, edits)| {
                let mut chars: Vec<String> = admin.chars().map(String::from).collect();
                for (at, replacement) in edits {
                    chars[at] = replacement;
                }
                chars.truncate(cut);
                chars.concat()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn a_document_the_rule_cannot_read_is_never_compliant(
            document in garbled(),
            resource_type in prop_oneof![
                Just("AWS::IAM::Policy"), Just("AWS::IAM::Role"), Just("AWS::IAM::User"), Just("AWS::IAM::Group")
            ],
        ) {
            let verdict = evaluate(resource_type, &carrying(resource_type, &json!(document)), "iam:*");
            match policy::decode(&json!(document)) {
                Err(why) => {
                    prop_assert_eq!(verdict.compliance, Compliance::NonCompliant);
                    prop_assert_eq!(annotation(&verdict), format!("cannot read {}policy p: {why}",
                        if resource_type == "AWS::IAM::Policy" { "" } else { "inline " }));
                }
                // Damage can leave a readable document (a cut-off `%2A` is no `*`); then the
                // verdict is the document's.
                Ok(read) => {
                    let compliant = read.findings(&[Pattern::new("iam:*")]).is_empty();
                    prop_assert_eq!(verdict.compliance == Compliance::Compliant, compliant);
                }
            }
        }
    }
}
