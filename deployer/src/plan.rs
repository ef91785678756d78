//! Plan: the difference between what Custos wants and what is deployed, as an ordered list of
//! changes. Pure and deterministic: same inputs, same plan, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::desired::{ArtifactObject, Desired, InstanceKey, PermissionModel, StackSetSpec};
use crate::packs::organization::{self, ObservedOrgPack, OrgPackSpec};
use crate::render::TemplateId;

/// What inventory found: the Custos stack sets, the artifacts already uploaded and the Custos
/// organisation conformance packs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub stack_sets: BTreeMap<String, ObservedStackSet>,
    /// The wanted artifact objects that already exist.
    pub artifacts: BTreeSet<ArtifactObject>,
    /// Region -> organisation pack name -> the pack.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub org_packs: BTreeMap<String, BTreeMap<String, ObservedOrgPack>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedStackSet {
    pub name: String,
    pub permission_model: PermissionModel,
    pub description: String,
    pub body: String,
    pub parameters: BTreeMap<String, String>,
    pub retain_stacks_on_account_removal: bool,
    /// Instances by account and region (serialised as a list: JSON keys are strings).
    #[serde(with = "instance_list")]
    pub instances: BTreeMap<InstanceKey, ObservedInstance>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedInstance {
    pub ou: Option<String>,
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`, as CloudFormation reports it.
    pub status: String,
    pub overrides: BTreeMap<String, String>,
}

/// How an OU target is narrowed to some of its accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountFilter {
    Intersection,
}

/// Stack instances created, updated or deleted by one StackSet operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceChange {
    pub stack_set: String,
    /// OU targets (service-managed stack sets).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ous: BTreeSet<String>,
    /// Account targets; with OUs and a filter, the accounts of those OUs concerned.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub accounts: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<AccountFilter>,
    pub regions: BTreeSet<String>,
    /// The parameter overrides these instances get (create and update).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    /// Every instance the operation is expected to touch.
    pub instances: BTreeSet<InstanceKey>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    UploadArtifact(ArtifactObject),
    CreateStackSet {
        name: String,
    },
    UpdateStackSet {
        name: String,
        reasons: Vec<String>,
    },
    CreateInstances(InstanceChange),
    UpdateInstances(InstanceChange),
    DeleteInstances(InstanceChange),
    DeleteStackSet {
        name: String,
    },
    /// Creates or updates an organisation conformance pack in one region.
    PutOrganizationPack {
        name: String,
        region: String,
        reasons: Vec<String>,
    },
    DeleteOrganizationPack {
        name: String,
        region: String,
    },
}

impl Change {
    /// The stack set the change is about, if any.
    pub fn stack_set(&self) -> Option<&str> {
        match self {
            Self::UploadArtifact(_)
            | Self::PutOrganizationPack { .. }
            | Self::DeleteOrganizationPack { .. } => None,
            Self::CreateStackSet { name }
            | Self::UpdateStackSet { name, .. }
            | Self::DeleteStackSet { name } => Some(name),
            Self::CreateInstances(c) | Self::UpdateInstances(c) | Self::DeleteInstances(c) => {
                Some(&c.stack_set)
            }
        }
    }
}

/// When a change runs, in order. Changes of one phase on different stack sets (or packs) may
/// run together.
mod phases {
    pub const ARTIFACT_BUCKETS: u8 = 0;
    pub const BASE: u8 = 1;
    pub const CODE: u8 = 2;
    /// Rules, and the stacks of conformance packs (for organisation packs, their remediation
    /// roles, which must exist before the packs).
    pub const RULES: u8 = 3;
    pub const ORG_PACKS: u8 = 4;
    pub const REMOVED_ORG_PACKS: u8 = 5;
    pub const REMOVED_RULES: u8 = 6;
    pub const REMOVED_BASE: u8 = 7;
    pub const REMOVED_ARTIFACT_BUCKETS: u8 = 8;
}

/// The phase of a change (see `phases`).
pub fn phase(change: &Change) -> u8 {
    let removal = matches!(change, Change::DeleteStackSet { .. })
        || matches!(change, Change::DeleteInstances(c) if c.reason == UNWANTED);
    match change {
        Change::PutOrganizationPack { .. } => return phases::ORG_PACKS,
        Change::DeleteOrganizationPack { .. } => return phases::REMOVED_ORG_PACKS,
        _ => {}
    }
    match change.stack_set() {
        None => phases::CODE,
        Some(name) => stack_set_phase(name, removal),
    }
}

fn stack_set_phase(name: &str, removal: bool) -> u8 {
    match (name, removal) {
        (n, false) if n.ends_with("-artifacts") => phases::ARTIFACT_BUCKETS,
        (n, true) if n.ends_with("-artifacts") => phases::REMOVED_ARTIFACT_BUCKETS,
        (n, false) if n.starts_with("custos-base") => phases::BASE,
        (n, true) if n.starts_with("custos-base") => phases::REMOVED_BASE,
        (_, false) => phases::RULES,
        (_, true) => phases::REMOVED_RULES,
    }
}

/// Why instances of a stack set that is no longer wanted are removed.
const UNWANTED: &str = "no longer in deployer.toml";

/// The changes, in the order they must be applied: the artifact buckets and base stacks first,
/// then code, then rules, then organisation packs; removals in the reverse order.
pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Change> {
    let mut phases: BTreeMap<u8, Vec<Change>> = BTreeMap::new();
    for (name, spec) in &desired.stack_sets {
        let phase = match spec.template {
            TemplateId::Artifacts => phases::ARTIFACT_BUCKETS,
            TemplateId::Base => phases::BASE,
            TemplateId::Rule(_) | TemplateId::Pack(_) | TemplateId::PackBody(_) => phases::RULES,
        };
        phases
            .entry(phase)
            .or_default()
            .extend(stack_set_changes(spec, observed.stack_sets.get(name)));
    }
    phases.entry(phases::CODE).or_default().extend(
        desired
            .artifacts
            .difference(&observed.artifacts)
            .cloned()
            .map(Change::UploadArtifact),
    );
    for (name, found) in &observed.stack_sets {
        if desired.stack_sets.contains_key(name) {
            continue;
        }
        // Unwanted: rules go before the base they publish to, the artifact buckets last.
        let removal = phases.entry(stack_set_phase(name, true)).or_default();
        let all: BTreeMap<InstanceKey, (Option<String>, BTreeMap<String, String>)> = found
            .instances
            .iter()
            .map(|(k, i)| (k.clone(), (i.ou.clone(), BTreeMap::new())))
            .collect();
        removal.extend(
            group(name, &all, &whole_ous(found), UNWANTED)
                .into_iter()
                .map(|mut c| {
                    c.overrides.clear();
                    Change::DeleteInstances(c)
                }),
        );
        removal.push(Change::DeleteStackSet { name: name.clone() });
    }
    let (puts, deletes) = org_pack_changes(&desired.org_packs, &observed.org_packs);
    phases.entry(phases::ORG_PACKS).or_default().extend(puts);
    phases
        .entry(phases::REMOVED_ORG_PACKS)
        .or_default()
        .extend(deletes);
    phases.into_values().flatten().collect()
}

/// Organisation packs to put (new, or changed) and to delete (no longer wanted), per region.
fn org_pack_changes(
    wanted: &BTreeMap<String, OrgPackSpec>,
    found: &BTreeMap<String, BTreeMap<String, ObservedOrgPack>>,
) -> (Vec<Change>, Vec<Change>) {
    let none = BTreeMap::new();
    let mut puts = Vec::new();
    for (name, spec) in wanted {
        for region in &spec.regions {
            let reasons = match found.get(region).unwrap_or(&none).get(name) {
                None => vec!["new".to_owned()],
                Some(have) => organization::update_reasons(spec, have),
            };
            if !reasons.is_empty() {
                puts.push(Change::PutOrganizationPack {
                    name: name.clone(),
                    region: region.clone(),
                    reasons,
                });
            }
        }
    }
    let mut deletes = Vec::new();
    for (region, packs) in found {
        for name in packs.keys() {
            let wanted_here = wanted.get(name).is_some_and(|s| s.regions.contains(region));
            if !wanted_here {
                deletes.push(Change::DeleteOrganizationPack {
                    name: name.clone(),
                    region: region.clone(),
                });
            }
        }
    }
    (puts, deletes)
}

fn stack_set_changes(spec: &StackSetSpec, found: Option<&ObservedStackSet>) -> Vec<Change> {
    let mut changes = Vec::new();
    let empty = BTreeMap::new();
    let observed_instances = found.map_or(&empty, |f| &f.instances);
    let updated = match found {
        None => {
            changes.push(Change::CreateStackSet {
                name: spec.name.clone(),
            });
            false
        }
        Some(found) => {
            let reasons = update_reasons(spec, found);
            let any = !reasons.is_empty();
            if any {
                changes.push(Change::UpdateStackSet {
                    name: spec.name.clone(),
                    reasons,
                });
            }
            any
        }
    };

    let mut create = BTreeMap::new();
    let mut update = BTreeMap::new();
    let mut update_reason = "parameter overrides changed";
    for (key, want) in &spec.instances {
        let entry = (want.ou.clone(), want.overrides.clone());
        match observed_instances.get(key) {
            None => {
                create.insert(key.clone(), entry);
            }
            Some(have) if have.overrides != want.overrides => {
                update.insert(key.clone(), entry);
            }
            // An update of the stack set redeploys every instance anyway.
            Some(have) if have.status != "CURRENT" && !updated => {
                update_reason = "the last deployment did not complete";
                update.insert(key.clone(), entry);
            }
            Some(_) => {}
        }
    }
    let delete: BTreeMap<_, _> = observed_instances
        .iter()
        .filter(|(k, _)| !spec.instances.contains_key(*k))
        .map(|(k, i)| (k.clone(), (i.ou.clone(), BTreeMap::new())))
        .collect();

    // An OU not yet targeted, all of whose accounts are new, is targeted whole, so accounts
    // that join it later get the rules.
    let targeted: BTreeSet<&String> = observed_instances
        .values()
        .filter_map(|i| i.ou.as_ref())
        .collect();
    let wanted_per_ou = accounts_per_ou(spec.instances.iter().map(|(k, i)| (k, &i.ou)));
    let whole_new: BTreeSet<String> = accounts_per_ou(create.iter().map(|(k, (ou, _))| (k, ou)))
        .into_iter()
        .filter(|(ou, accounts)| {
            !targeted.contains(ou)
                && !spec.partial_ous.contains(ou)
                && wanted_per_ou.get(ou) == Some(accounts)
        })
        .map(|(ou, _)| ou)
        .collect();
    changes.extend(
        group(&spec.name, &create, &whole_new, "new target")
            .into_iter()
            .map(Change::CreateInstances),
    );
    let gone = found.map(whole_ous).unwrap_or_default();
    let whole_gone: BTreeSet<String> = gone
        .into_iter()
        .filter(|ou| !wanted_per_ou.contains_key(ou))
        .collect();
    changes.extend(
        group(&spec.name, &delete, &whole_gone, "no longer a target")
            .into_iter()
            .map(|mut c| {
                c.overrides.clear();
                Change::DeleteInstances(c)
            }),
    );
    changes.extend(
        group(&spec.name, &update, &BTreeSet::new(), update_reason)
            .into_iter()
            .map(Change::UpdateInstances),
    );
    changes
}

fn update_reasons(spec: &StackSetSpec, found: &ObservedStackSet) -> Vec<String> {
    let mut reasons = Vec::new();
    if spec.body != found.body {
        reasons.push("template changed".to_owned());
    }
    let names: BTreeSet<&String> = spec
        .parameters
        .keys()
        .chain(found.parameters.keys())
        .collect();
    for name in names {
        match (found.parameters.get(name), spec.parameters.get(name)) {
            (Some(old), Some(new)) if old != new => {
                reasons.push(format!("parameter {name}: {old:?} -> {new:?}"));
            }
            (None, Some(new)) => reasons.push(format!("parameter {name} added: {new:?}")),
            (Some(_), None) => reasons.push(format!("parameter {name} removed")),
            _ => {}
        }
    }
    if spec.description != found.description {
        reasons.push("description changed".to_owned());
    }
    if spec.permission_model == PermissionModel::ServiceManaged
        && spec.retain_stacks_on_account_removal != found.retain_stacks_on_account_removal
    {
        reasons.push("retain-stacks-on-account-removal changed".to_owned());
    }
    reasons
}

/// OUs all of whose instances are in `found` (every OU it targets).
fn whole_ous(found: &ObservedStackSet) -> BTreeSet<String> {
    found
        .instances
        .values()
        .filter_map(|i| i.ou.clone())
        .collect()
}

fn accounts_per_ou<'a>(
    items: impl Iterator<Item = (&'a InstanceKey, &'a Option<String>)>,
) -> BTreeMap<String, BTreeSet<InstanceKey>> {
    let mut out: BTreeMap<String, BTreeSet<InstanceKey>> = BTreeMap::new();
    for (key, ou) in items {
        if let Some(ou) = ou {
            out.entry(ou.clone()).or_default().insert(key.clone());
        }
    }
    out
}

/// Groups instances into as few operations as their targets allow: one per OU (or per set of
/// accounts), parameter overrides and set of regions.
fn group(
    stack_set: &str,
    items: &BTreeMap<InstanceKey, (Option<String>, BTreeMap<String, String>)>,
    whole: &BTreeSet<String>,
    reason: &str,
) -> Vec<InstanceChange> {
    type Key = (Option<String>, BTreeMap<String, String>);
    /// Regions -> the accounts that want exactly those regions.
    type ByRegions = BTreeMap<BTreeSet<String>, BTreeSet<String>>;
    let mut by_target: BTreeMap<Key, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (key, (ou, overrides)) in items {
        by_target
            .entry((ou.clone(), overrides.clone()))
            .or_default()
            .entry(key.account.clone())
            .or_default()
            .insert(key.region.clone());
    }
    let mut split: Vec<(Key, ByRegions)> = Vec::new();
    for (key, accounts) in by_target {
        let mut by_regions = ByRegions::new();
        for (account, regions) in accounts {
            by_regions.entry(regions).or_default().insert(account);
        }
        split.push((key, by_regions));
    }
    // An OU is targeted whole only by a single operation; when its accounts differ (in
    // overrides or regions), each operation names its accounts.
    let mut operations_per_ou: BTreeMap<String, usize> = BTreeMap::new();
    for ((ou, _), by_regions) in &split {
        if let Some(ou) = ou {
            *operations_per_ou.entry(ou.clone()).or_default() += by_regions.len();
        }
    }
    let mut out = Vec::new();
    for ((ou, overrides), by_regions) in split {
        let single_group = ou
            .as_ref()
            .is_some_and(|ou| operations_per_ou.get(ou) == Some(&1));
        for (regions, accounts) in by_regions {
            let instances = accounts
                .iter()
                .flat_map(|a| {
                    regions.iter().map(|r| InstanceKey {
                        account: a.clone(),
                        region: r.clone(),
                    })
                })
                .collect();
            let (ous, accounts, filter) = match &ou {
                Some(ou) if single_group && whole.contains(ou) => {
                    (BTreeSet::from([ou.clone()]), BTreeSet::new(), None)
                }
                Some(ou) => (
                    BTreeSet::from([ou.clone()]),
                    accounts,
                    Some(AccountFilter::Intersection),
                ),
                None => (BTreeSet::new(), accounts, None),
            };
            out.push(InstanceChange {
                stack_set: stack_set.to_owned(),
                ous,
                accounts,
                filter,
                regions,
                overrides: overrides.clone(),
                instances,
                reason: reason.to_owned(),
            });
        }
    }
    out
}

/// Instances serialise as a list, sorted by account and region.
mod instance_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::ObservedInstance;
    use crate::desired::InstanceKey;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        #[serde(flatten)]
        key: InstanceKey,
        #[serde(flatten)]
        instance: ObservedInstance,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<InstanceKey, ObservedInstance>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let list: Vec<Entry> = map
            .iter()
            .map(|(key, instance)| Entry {
                key: key.clone(),
                instance: instance.clone(),
            })
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<InstanceKey, ObservedInstance>, D::Error> {
        let list = Vec::<Entry>::deserialize(d)?;
        Ok(list.into_iter().map(|e| (e.key, e.instance)).collect())
    }
}

/// A saved plan: the changes, the stack sets they create or update, and a fingerprint of what
/// was observed, so `apply --plan` applies exactly what was reviewed or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: u32,
    pub admin_account: String,
    pub observed_fingerprint: String,
    pub stack_sets: BTreeMap<String, StackSetSpec>,
    /// The organisation packs the changes put.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub org_packs: BTreeMap<String, OrgPackSpec>,
    pub changes: Vec<Change>,
}

impl SavedPlan {
    pub const FORMAT: u32 = 1;

    pub fn new(
        admin_account: &str,
        desired: &Desired,
        observed_fingerprint: String,
        changes: Vec<Change>,
    ) -> Self {
        let used: BTreeSet<&str> = changes.iter().filter_map(Change::stack_set).collect();
        let put: BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::PutOrganizationPack { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        Self {
            format: Self::FORMAT,
            admin_account: admin_account.to_owned(),
            observed_fingerprint,
            stack_sets: desired
                .stack_sets
                .iter()
                .filter(|(name, _)| used.contains(name.as_str()))
                .map(|(name, spec)| (name.clone(), spec.clone()))
                .collect(),
            org_packs: desired
                .org_packs
                .iter()
                .filter(|(name, _)| put.contains(name.as_str()))
                .map(|(name, spec)| (name.clone(), spec.clone()))
                .collect(),
            changes,
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
