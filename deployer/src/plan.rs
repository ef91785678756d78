//! Plan: the difference between what Custos wants and what is deployed, as an ordered list of
//! changes. Pure and deterministic: same inputs, same plan, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::desired::{ArtifactObject, Desired, InstanceKey, PermissionModel, StackSetSpec};
use crate::observed::{Observed, ObservedInstance, ObservedStackSet};
use crate::packs::organization::{self, ObservedOrgPack, OrgPackSpec};
use crate::render::TemplateId;

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
        /// Accounts whose instances the update must not reach (left as they are this run):
        /// the update then names the instances it deploys to.
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        left_as_is: BTreeSet<String>,
    },
    CreateInstances(InstanceChange),
    UpdateInstances(InstanceChange),
    DeleteInstances(InstanceChange),
    /// Instances changed by hand in their accounts, deleted and created again: an update with
    /// an unchanged template would not bring back what was deleted out of band.
    RepairInstances(InstanceChange),
    DeleteStackSet {
        name: String,
    },
    /// Creates or updates an organisation conformance pack in one region.
    PutOrganizationPack {
        name: String,
        region: String,
        reasons: Vec<String>,
        /// The accounts the pack excludes in this region.
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        excluded_accounts: BTreeSet<String>,
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
            Self::CreateInstances(c)
            | Self::UpdateInstances(c)
            | Self::DeleteInstances(c)
            | Self::RepairInstances(c) => Some(&c.stack_set),
        }
    }

    /// Whether the change removes something (instances, a stack set, a pack).
    pub fn deletes(&self) -> bool {
        matches!(
            self,
            Self::DeleteInstances(_)
                | Self::DeleteStackSet { .. }
                | Self::DeleteOrganizationPack { .. }
        )
    }
}

/// When a change runs, in order. Changes of one phase on different stack sets (or packs) may
/// run together.
pub mod phases {
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

/// Whether `phase` removes things (and so depends on the removals before it).
pub fn is_removal_phase(phase: u8) -> bool {
    phase >= phases::REMOVED_ORG_PACKS
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
/// then code, then rules, then organisation packs; removals in the reverse order. Accounts in
/// `desired.left_as_is` get no change at all: whatever they hold stays as it is.
pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Change> {
    let frozen = &desired.left_as_is;
    let mut phases: BTreeMap<u8, Vec<Change>> = BTreeMap::new();
    for (name, spec) in &desired.stack_sets {
        let phase = match spec.template {
            TemplateId::Artifacts => phases::ARTIFACT_BUCKETS,
            TemplateId::Base => phases::BASE,
            TemplateId::Rule(_) | TemplateId::Pack(_) | TemplateId::PackBody(_) => phases::RULES,
        };
        let set = StackSetPlan {
            spec,
            found: observed.stack_sets.get(name),
            frozen,
            drift: observed.drift.get(name),
        };
        phases.entry(phase).or_default().extend(set.changes());
    }
    phases.entry(phases::CODE).or_default().extend(
        desired
            .artifacts
            .difference(&observed.artifacts)
            .filter(|o| !frozen.contains(&o.account))
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
            .filter(|(k, _)| !frozen.contains(&k.account))
            .map(|(k, i)| (k.clone(), (i.ou.clone(), BTreeMap::new())))
            .collect();
        let kept = found.instances.len() - all.len();
        let whole: BTreeSet<String> = whole_ous(found)
            .into_iter()
            .filter(|ou| !holds_frozen(found, ou, frozen))
            .collect();
        removal.extend(
            group(name, &all, &whole, UNWANTED)
                .into_iter()
                .map(|mut c| {
                    c.overrides.clear();
                    Change::DeleteInstances(c)
                }),
        );
        // A stack set with instances left as they are cannot go yet: a later run deletes it.
        if kept == 0 {
            removal.push(Change::DeleteStackSet { name: name.clone() });
        }
    }
    let (puts, deletes) = org_pack_changes(&desired.org_packs, &observed.org_packs, frozen);
    phases.entry(phases::ORG_PACKS).or_default().extend(puts);
    phases
        .entry(phases::REMOVED_ORG_PACKS)
        .or_default()
        .extend(deletes);
    phases.into_values().flatten().collect()
}

/// Whether `ou` holds an instance of `found` in an account left as it is.
fn holds_frozen(found: &ObservedStackSet, ou: &str, frozen: &BTreeSet<String>) -> bool {
    found
        .instances
        .iter()
        .any(|(k, i)| i.ou.as_deref() == Some(ou) && frozen.contains(&k.account))
}

/// Organisation packs to put (new, or changed) and to delete (no longer wanted), per region.
/// An account left as it is keeps its place: excluded where it was excluded (or where the pack
/// is new), reached where it was reached.
fn org_pack_changes(
    wanted: &BTreeMap<String, OrgPackSpec>,
    found: &BTreeMap<String, BTreeMap<String, ObservedOrgPack>>,
    frozen: &BTreeSet<String>,
) -> (Vec<Change>, Vec<Change>) {
    let none = BTreeMap::new();
    let mut puts = Vec::new();
    for (name, spec) in wanted {
        for region in &spec.regions {
            let have = found.get(region).unwrap_or(&none).get(name);
            let mut region_spec = spec.clone();
            for account in frozen {
                let excluded_now = have.is_none_or(|h| h.excluded_accounts.contains(account));
                if excluded_now {
                    region_spec.excluded_accounts.insert(account.clone());
                } else {
                    region_spec.excluded_accounts.remove(account);
                }
            }
            let reasons = match have {
                None => vec!["new".to_owned()],
                Some(have) => organization::update_reasons(&region_spec, have),
            };
            if !reasons.is_empty() {
                puts.push(Change::PutOrganizationPack {
                    name: name.clone(),
                    region: region.clone(),
                    reasons,
                    excluded_accounts: region_spec.excluded_accounts,
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

/// One wanted stack set against what is deployed of it.
struct StackSetPlan<'a> {
    spec: &'a StackSetSpec,
    found: Option<&'a ObservedStackSet>,
    /// Accounts left as they are: no instance of theirs is created, updated or deleted.
    frozen: &'a BTreeSet<String>,
    /// Its instances changed by hand, with what was found.
    drift: Option<&'a BTreeMap<InstanceKey, Vec<String>>>,
}

type Targets = BTreeMap<InstanceKey, (Option<String>, BTreeMap<String, String>)>;

impl StackSetPlan<'_> {
    fn frozen(&self, key: &InstanceKey) -> bool {
        self.frozen.contains(&key.account)
    }

    fn observed(&self) -> &BTreeMap<InstanceKey, ObservedInstance> {
        static EMPTY: BTreeMap<InstanceKey, ObservedInstance> = BTreeMap::new();
        self.found.map_or(&EMPTY, |f| &f.instances)
    }

    /// Creating or updating the stack set itself; whether it is updated.
    fn stack_set_change(&self) -> (Option<Change>, bool) {
        let Some(found) = self.found else {
            let create = Change::CreateStackSet {
                name: self.spec.name.clone(),
            };
            return (Some(create), false);
        };
        let reasons = update_reasons(self.spec, found);
        if reasons.is_empty() {
            return (None, false);
        }
        let left_as_is = found
            .instances
            .keys()
            .filter(|k| self.frozen(k))
            .map(|k| k.account.clone())
            .collect();
        let update = Change::UpdateStackSet {
            name: self.spec.name.clone(),
            reasons,
            left_as_is,
        };
        (Some(update), true)
    }

    /// The instances to create, update and repair (never of an account left as is), and why
    /// they are updated or repaired.
    fn instance_work(&self, updated: bool) -> InstanceWork {
        let mut work = InstanceWork {
            update_reason: "parameter overrides changed",
            ..InstanceWork::default()
        };
        for (key, want) in &self.spec.instances {
            if self.frozen(key) {
                continue;
            }
            let entry = (want.ou.clone(), want.overrides.clone());
            let drifted = self.drift.and_then(|d| d.get(key));
            match self.observed().get(key) {
                None => {
                    work.create.insert(key.clone(), entry);
                }
                Some(_) if drifted.is_some() => {
                    work.findings.extend(drifted.into_iter().flatten().cloned());
                    work.repair.insert(key.clone(), entry);
                }
                Some(have) if have.overrides != want.overrides => {
                    work.update.insert(key.clone(), entry);
                }
                // An update of the stack set redeploys every instance anyway.
                Some(have) if have.status != "CURRENT" && !updated => {
                    work.update_reason = "the last deployment did not complete";
                    work.update.insert(key.clone(), entry);
                }
                Some(_) => {}
            }
        }
        work
    }

    /// OUs never targeted whole: those the settings say, and those holding an account left as
    /// it is (a whole-OU operation would reach it).
    fn partial_ous(&self) -> BTreeSet<String> {
        let mut partial: BTreeSet<String> = self.spec.partial_ous.clone();
        let frozen_ous = |instances: Vec<(&InstanceKey, &Option<String>)>| -> Vec<String> {
            instances
                .into_iter()
                .filter(|(k, _)| self.frozen(k))
                .filter_map(|(_, ou)| ou.clone())
                .collect()
        };
        partial.extend(frozen_ous(
            self.spec
                .instances
                .iter()
                .map(|(k, i)| (k, &i.ou))
                .collect(),
        ));
        partial.extend(frozen_ous(
            self.observed().iter().map(|(k, i)| (k, &i.ou)).collect(),
        ));
        partial
    }

    fn changes(&self) -> Vec<Change> {
        let spec = self.spec;
        let observed_instances = self.observed();
        let (stack_set_change, updated) = self.stack_set_change();
        let mut changes: Vec<Change> = stack_set_change.into_iter().collect();
        let work = self.instance_work(updated);
        let delete: Targets = observed_instances
            .iter()
            .filter(|(k, _)| !spec.instances.contains_key(*k) && !self.frozen(k))
            .map(|(k, i)| (k.clone(), (i.ou.clone(), BTreeMap::new())))
            .collect();
        let partial = self.partial_ous();
        // An OU not yet targeted, all of whose accounts are new, is targeted whole, so accounts
        // that join it later get the rules.
        let targeted: BTreeSet<&String> = observed_instances
            .values()
            .filter_map(|i| i.ou.as_ref())
            .collect();
        let wanted_per_ou = accounts_per_ou(spec.instances.iter().map(|(k, i)| (k, &i.ou)));
        let whole_new: BTreeSet<String> =
            accounts_per_ou(work.create.iter().map(|(k, (ou, _))| (k, ou)))
                .into_iter()
                .filter(|(ou, accounts)| {
                    !targeted.contains(ou)
                        && !partial.contains(ou)
                        && wanted_per_ou.get(ou) == Some(accounts)
                })
                .map(|(ou, _)| ou)
                .collect();
        changes.extend(
            group(&spec.name, &work.create, &whole_new, "new target")
                .into_iter()
                .map(Change::CreateInstances),
        );
        let gone = self.found.map(whole_ous).unwrap_or_default();
        let whole_gone: BTreeSet<String> = gone
            .into_iter()
            .filter(|ou| !wanted_per_ou.contains_key(ou) && !partial.contains(ou))
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
            group(
                &spec.name,
                &work.update,
                &BTreeSet::new(),
                work.update_reason,
            )
            .into_iter()
            .map(Change::UpdateInstances),
        );
        let repair_reason = format!(
            "changed by hand: {}",
            work.findings.into_iter().collect::<Vec<_>>().join("; ")
        );
        changes.extend(
            group(&spec.name, &work.repair, &BTreeSet::new(), &repair_reason)
                .into_iter()
                .map(Change::RepairInstances),
        );
        changes
    }
}

/// The instances of one stack set to create, update and repair.
#[derive(Default)]
struct InstanceWork {
    create: Targets,
    update: Targets,
    update_reason: &'static str,
    repair: Targets,
    /// What was changed by hand in the instances repaired.
    findings: BTreeSet<String>,
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
    if spec.tags != found.tags {
        let owner = spec.tags.get(crate::names::OWNERSHIP_TAG);
        let had = found.tags.get(crate::names::OWNERSHIP_TAG);
        if owner == had {
            reasons.push("tags changed".to_owned());
        } else {
            reasons.push(format!(
                "adopted by deployment {} (tag {})",
                owner.map_or("", String::as_str),
                crate::names::OWNERSHIP_TAG
            ));
        }
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

/// `change` cut down to the instances `keep` accepts, as few operations as their accounts and
/// regions allow (an operation deploys every account it names to every region it names); the
/// change itself when it keeps them all, nothing when it keeps none.
pub fn narrow(change: &InstanceChange, keep: impl Fn(&InstanceKey) -> bool) -> Vec<InstanceChange> {
    let kept: BTreeSet<&InstanceKey> = change.instances.iter().filter(|k| keep(k)).collect();
    if kept.len() == change.instances.len() {
        return vec![change.clone()];
    }
    let mut regions_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for key in &kept {
        regions_of
            .entry(key.account.as_str())
            .or_default()
            .insert(key.region.clone());
    }
    let mut by_regions: BTreeMap<BTreeSet<String>, BTreeSet<String>> = BTreeMap::new();
    for (account, regions) in regions_of {
        by_regions
            .entry(regions)
            .or_default()
            .insert(account.to_owned());
    }
    by_regions
        .into_iter()
        .map(|(regions, accounts)| InstanceChange {
            stack_set: change.stack_set.clone(),
            ous: change.ous.clone(),
            filter: (!change.ous.is_empty()).then_some(AccountFilter::Intersection),
            instances: accounts
                .iter()
                .flat_map(|a| {
                    regions.iter().map(|r| InstanceKey {
                        account: a.clone(),
                        region: r.clone(),
                    })
                })
                .collect(),
            accounts,
            regions,
            overrides: change.overrides.clone(),
            reason: change.reason.clone(),
        })
        .collect()
}

/// A saved plan: an approval, never a source of templates. It holds the changes and digests of
/// everything they were made from (settings, each rendered template and parameter set, what
/// was observed); `apply --plan` renders and reads everything again and carries the changes
/// out only when all of it is the same, naming what differs otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: u32,
    pub admin_account: String,
    pub deployment_id: String,
    pub digests: crate::digest::Digests,
    pub changes: Vec<Change>,
    /// SHA-256 of the plan as written (this field empty): tells a file edited by hand apart
    /// from one made against another state.
    pub plan_digest: String,
}

impl SavedPlan {
    pub const FORMAT: u32 = 2;

    pub fn new(
        admin_account: &str,
        deployment_id: &str,
        digests: crate::digest::Digests,
        changes: Vec<Change>,
    ) -> Self {
        let mut plan = Self {
            format: Self::FORMAT,
            admin_account: admin_account.to_owned(),
            deployment_id: deployment_id.to_owned(),
            digests,
            changes,
            plan_digest: String::new(),
        };
        plan.plan_digest = plan.content_digest();
        plan
    }

    /// The digest of the plan's content (everything but `plan_digest`).
    pub fn content_digest(&self) -> String {
        let unsigned = Self {
            plan_digest: String::new(),
            ..self.clone()
        };
        crate::digest::of(&unsigned)
    }

    /// Whether the file is as `deployer plan` wrote it.
    pub fn untouched(&self) -> bool {
        self.plan_digest == self.content_digest()
    }

    /// Why the plan cannot be applied by a run that made `now` (its own plan, from what it
    /// rendered and read itself); nothing when it is exactly that plan.
    pub fn refusals(&self, now: &Self) -> Vec<String> {
        if self.format != Self::FORMAT {
            return vec![format!(
                "the plan is of format {}; this deployer reads format {}",
                self.format,
                Self::FORMAT
            )];
        }
        if !self.untouched() {
            return vec![
                "the plan file was edited after `deployer plan` wrote it: a plan is applied \
                 exactly as made, or not at all"
                    .to_owned(),
            ];
        }
        if self.admin_account != now.admin_account {
            return vec![format!(
                "the plan was made as account {}; these credentials are account {}",
                self.admin_account, now.admin_account
            )];
        }
        if self.deployment_id != now.deployment_id {
            return vec![format!(
                "the plan was made for deployment {}; deployer.toml names deployment {}",
                self.deployment_id, now.deployment_id
            )];
        }
        let mut out = self.digests.differences(&now.digests);
        if self.changes != now.changes {
            out.push(
                "the plan's changes are not the changes this tree and this state give".to_owned(),
            );
        }
        out
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
