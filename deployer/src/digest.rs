//! Digests of what a plan is made from, so that `apply --plan` can tell whether the tree, the
//! settings or the organisation it reads now are the ones the plan was made from, and name
//! what differs. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::desired::Desired;
use crate::observed::Observed;
use crate::org::Organization;

/// SHA-256 (hex) of a value's JSON (maps sorted: the same value, the same digest).
pub fn of(value: &impl Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What a plan was made from, one digest per part that can change on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// `deployer.toml` as read.
    pub settings: String,
    /// Each stack set's (or organisation pack's) rendered template, by what it deploys.
    pub templates: BTreeMap<String, String>,
    /// Each stack set's parameters, tags, description and instances wanted (or each pack's
    /// exclusions and regions).
    pub parameters: BTreeMap<String, String>,
    /// What was read from AWS: each stack set and pack of the deployment, the organisation,
    /// the artifacts present, the objects left alone and the accounts left as they are.
    pub observed: BTreeMap<String, String>,
}

/// What a run is about to act on, for its digests.
#[derive(Debug, Clone, Copy)]
pub struct Basis<'a> {
    pub settings_digest: &'a str,
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    pub org: &'a Organization,
}

impl Digests {
    pub fn new(basis: Basis<'_>) -> Self {
        let Basis {
            settings_digest,
            desired,
            observed,
            org,
        } = basis;
        let mut templates = BTreeMap::new();
        let mut parameters = BTreeMap::new();
        for (name, spec) in &desired.stack_sets {
            let key = format!("stack set {name}");
            templates.insert(key.clone(), of(&spec.body));
            let instances: Vec<_> = spec.instances.iter().collect();
            parameters.insert(
                key,
                of(&(
                    &spec.parameters,
                    &spec.tags,
                    &spec.description,
                    spec.permission_model,
                    spec.retain_stacks_on_account_removal,
                    instances,
                    &spec.partial_ous,
                )),
            );
        }
        for (name, pack) in &desired.org_packs {
            let key = format!("organization pack {name}");
            templates.insert(key.clone(), of(&pack.body));
            parameters.insert(
                key,
                of(&(&pack.excluded_accounts, &pack.regions, &pack.deployment)),
            );
        }
        parameters.insert("artifacts wanted".to_owned(), of(&desired.artifacts));
        let mut seen = BTreeMap::new();
        for (name, set) in &observed.stack_sets {
            let drift = observed.drift.get(name);
            seen.insert(format!("stack set {name}"), of(&(set, drift)));
        }
        for (region, packs) in &observed.org_packs {
            for (name, pack) in packs {
                seen.insert(format!("organization pack {name} in {region}"), of(pack));
            }
        }
        seen.insert("organization".to_owned(), of(org));
        seen.insert("artifacts present".to_owned(), of(&observed.artifacts));
        seen.insert("objects left alone".to_owned(), of(&observed.foreign));
        seen.insert("accounts left as is".to_owned(), of(&desired.left_as_is));
        Self {
            settings: settings_digest.to_owned(),
            templates,
            parameters,
            observed: seen,
        }
    }

    /// How `now` differs from `self` (the plan's), one sentence per part, for people.
    pub fn differences(&self, now: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.settings != now.settings {
            out.push("deployer.toml changed since the plan was made".to_owned());
        }
        out.extend(compare(&self.templates, &now.templates, |what, how| {
            format!(
                "the template of {what} {how} (a rule, a template or the packaged code changed)"
            )
        }));
        out.extend(compare(&self.parameters, &now.parameters, |what, how| {
            format!("the parameters or targets of {what} {how}")
        }));
        out.extend(compare(&self.observed, &now.observed, |what, how| {
            format!("{what} {how} (changed by another run or by hand)")
        }));
        out
    }
}

fn compare(
    planned: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    say: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let keys: BTreeSet<&String> = planned.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter_map(|key| match (planned.get(key), now.get(key)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(_), Some(_)) => Some(say(key, "differs from the plan")),
            (Some(_), None) => Some(say(key, "was in the plan and is gone now")),
            (None, _) => Some(say(key, "is new since the plan")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests() -> Digests {
        Digests {
            settings: "s".into(),
            templates: BTreeMap::from([("stack set custos-rule-a".into(), "t1".into())]),
            parameters: BTreeMap::from([("stack set custos-rule-a".into(), "p1".into())]),
            observed: BTreeMap::from([("stack set custos-rule-a".into(), "o1".into())]),
        }
    }

    #[test]
    fn the_same_basis_has_no_differences() {
        assert_eq!(digests().differences(&digests()), Vec::<String>::new());
    }

    #[test]
    fn each_part_that_changed_is_named() {
        let mut now = digests();
        now.settings = "s2".into();
        now.templates
            .insert("stack set custos-rule-a".into(), "t2".into());
        now.observed
            .insert("stack set custos-rule-a".into(), "o2".into());
        now.observed
            .insert("stack set custos-rule-b".into(), "o3".into());
        assert_eq!(
            digests().differences(&now),
            [
                "deployer.toml changed since the plan was made",
                "the template of stack set custos-rule-a differs from the plan (a rule, a \
                 template or the packaged code changed)",
                "stack set custos-rule-a differs from the plan (changed by another run or by \
                 hand)",
                "stack set custos-rule-b is new since the plan (changed by another run or by hand)",
            ]
        );
    }

    #[test]
    fn a_digest_is_the_sha256_of_the_json() {
        assert_eq!(
            of(&""),
            // sha256 of `""` (two quote characters)
            "12ae32cb1ec02d01eda3581b127c1fee3b0dc53572ed6baf239721a03d82e126"
        );
    }
}
