//! Drift: a Custos stack, rule or remediation changed or deleted by hand in a member account.
//! What each member holds is read back (`aws::members`) and compared here with what the
//! deployment's stack sets put there. Pure.

use std::collections::BTreeMap;

use crate::desired::{ConfigRuleSpec, InstanceKey, StackSetSpec};
use crate::observed::ObservedStackSet;

/// What one member account holds in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberView {
    /// Stack name (`StackSet-custos-…`) -> status.
    pub stacks: BTreeMap<String, String>,
    /// The Custos Config rules found, by name.
    pub rules: BTreeMap<String, SeenRule>,
    /// Remediation configurations found, by rule name.
    pub remediations: BTreeMap<String, SeenRemediation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenRule {
    pub input_parameters: Option<String>,
    pub source_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenRemediation {
    pub automatic: bool,
}

/// Stack statuses that leave no working stack behind.
const BROKEN: [&str; 5] = [
    "DELETE_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "ROLLBACK_COMPLETE",
    "CREATE_FAILED",
];

/// What was changed by hand in the instance `key` of `found` (wanted as `spec`), as `view`
/// shows it; nothing when it is as deployed.
pub fn findings(
    spec: &StackSetSpec,
    found: &ObservedStackSet,
    key: &InstanceKey,
    view: &MemberView,
) -> Vec<String> {
    let mut out = Vec::new();
    let prefix = format!("StackSet-{}-", spec.name);
    let stack = view.stacks.iter().find(|(name, _)| {
        name.strip_prefix(&prefix)
            .is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_hexdigit()))
    });
    match stack {
        None => out.push(format!("stack {prefix}… deleted")),
        Some((name, status)) if BROKEN.contains(&status.as_str()) => {
            out.push(format!("stack {name} is {status}"));
        }
        Some(_) => {}
    }
    let (Some(rule), Some(instance)) = (&spec.config_rule, found.instances.get(key)) else {
        return out;
    };
    // The rule as the deployed stack set put it there (a change still to be applied is no
    // drift); its remediation mode as the settings give it only while the template is the one
    // deployed.
    let wanted = rule.input_for(&found.parameters, &instance.overrides);
    let remediation = rule.remediation.filter(|_| spec.body == found.body);
    out.extend(rule_findings(rule, &wanted, remediation, view));
    out
}

fn rule_findings(
    rule: &ConfigRuleSpec,
    wanted: &BTreeMap<String, String>,
    remediation: Option<bool>,
    view: &MemberView,
) -> Vec<String> {
    let Some(seen) = view.rules.get(&rule.name) else {
        return vec![format!("Config rule {} deleted", rule.name)];
    };
    let mut out = Vec::new();
    let have = seen
        .input_parameters
        .as_deref()
        .map(parameters)
        .unwrap_or_default();
    let changed: Vec<String> = wanted
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(have.keys().filter(|k| !wanted.contains_key(*k)).cloned())
        .collect();
    if !changed.is_empty() {
        out.push(format!(
            "Config rule {} parameters changed ({})",
            rule.name,
            changed.join(", ")
        ));
    }
    let runs_ours = seen
        .source_identifier
        .as_deref()
        .is_some_and(|arn| arn.ends_with(&format!(":function:{}", rule.name)));
    if !runs_ours {
        out.push(format!(
            "Config rule {} no longer runs the Custos function",
            rule.name
        ));
    }
    if let (Some(automatic), Some(seen)) = (remediation, view.remediations.get(&rule.name))
        && seen.automatic != automatic
    {
        out.push(format!(
            "the remediation of {} was switched to {}",
            rule.name,
            if seen.automatic {
                "automatic"
            } else {
                "manual"
            }
        ));
    }
    out
}

/// `InputParameters` (a JSON object) as strings; what is not an object reads as empty.
fn parameters(text: &str) -> BTreeMap<String, String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::desired::{DesiredInstance, PermissionModel};
    use crate::observed::ObservedInstance;
    use crate::render::TemplateId;

    fn key() -> InstanceKey {
        InstanceKey {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
        }
    }

    fn spec() -> StackSetSpec {
        StackSetSpec {
            name: "custos-rule-a".into(),
            template: TemplateId::Rule("a".into()),
            permission_model: PermissionModel::ServiceManaged,
            description: String::new(),
            body: String::new(),
            parameters: BTreeMap::new(),
            retain_stacks_on_account_removal: false,
            instances: BTreeMap::from([(key(), DesiredInstance::default())]),
            partial_ous: BTreeSet::new(),
            tags: BTreeMap::new(),
            config_rule: Some(ConfigRuleSpec {
                name: "a".into(),
                cfn_names: BTreeMap::from([("ParamMode".into(), "mode".into())]),
                remediation: Some(true),
            }),
        }
    }

    fn found(overrides: &[(&str, &str)]) -> ObservedStackSet {
        ObservedStackSet {
            name: "custos-rule-a".into(),
            permission_model: PermissionModel::ServiceManaged,
            description: String::new(),
            body: String::new(),
            parameters: BTreeMap::from([
                ("Exemptions".into(), "{}".into()),
                ("ParamMode".into(), "strict".into()),
            ]),
            retain_stacks_on_account_removal: false,
            tags: BTreeMap::new(),
            instances: BTreeMap::from([(
                key(),
                ObservedInstance {
                    ou: None,
                    status: "CURRENT".into(),
                    overrides: overrides
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                },
            )]),
        }
    }

    fn deployed(mode: &str) -> MemberView {
        MemberView {
            stacks: BTreeMap::from([(
                "StackSet-custos-rule-a-0a1b2c3d".into(),
                "CREATE_COMPLETE".into(),
            )]),
            rules: BTreeMap::from([(
                "a".into(),
                SeenRule {
                    input_parameters: Some(format!(r#"{{"exemptions":"{{}}","mode":"{mode}"}}"#)),
                    source_identifier: Some(
                        "arn:aws:lambda:eu-west-1:222222222222:function:a".into(),
                    ),
                },
            )]),
            remediations: BTreeMap::from([("a".into(), SeenRemediation { automatic: true })]),
        }
    }

    #[test]
    fn an_instance_as_deployed_has_no_drift() {
        assert_eq!(
            findings(&spec(), &found(&[]), &key(), &deployed("strict")),
            Vec::<String>::new()
        );
        // Its own override is what it should have.
        assert_eq!(
            findings(
                &spec(),
                &found(&[("ParamMode", "lax")]),
                &key(),
                &deployed("lax")
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn changes_by_hand_are_each_named() {
        let mut view = deployed("lax");
        view.remediations
            .insert("a".into(), SeenRemediation { automatic: false });
        assert_eq!(
            findings(&spec(), &found(&[]), &key(), &view),
            [
                "Config rule a parameters changed (mode)",
                "the remediation of a was switched to manual",
            ]
        );
        view.rules.clear();
        view.stacks.clear();
        assert_eq!(
            findings(&spec(), &found(&[]), &key(), &view),
            [
                "stack StackSet-custos-rule-a-… deleted",
                "Config rule a deleted"
            ]
        );
    }

    #[test]
    fn a_change_of_the_settings_not_yet_applied_is_no_drift() {
        // The settings want `lax` now (and another template); the member holds what the
        // deployed stack set says.
        let mut wanted = spec();
        wanted.parameters.insert("ParamMode".into(), "lax".into());
        wanted.body = "a new template".into();
        let mut view = deployed("strict");
        view.remediations
            .insert("a".into(), SeenRemediation { automatic: false });
        assert_eq!(
            findings(&wanted, &found(&[]), &key(), &view),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_rule_pointed_at_another_function_is_drift() {
        let mut view = deployed("strict");
        view.rules.get_mut("a").unwrap().source_identifier =
            Some("arn:aws:lambda:eu-west-1:222222222222:function:mine".into());
        assert_eq!(
            findings(&spec(), &found(&[]), &key(), &view),
            ["Config rule a no longer runs the Custos function"]
        );
    }
}
