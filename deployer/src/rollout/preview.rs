//! What `plan` shows of a rollout: each wave's accounts, the stack instances the plan changes
//! there, and, from `evaluate`'s preview where accounts could be read, the NON_COMPLIANT
//! resources its rules are predicted to report and whether that would trip the gate.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::waves::Wave;
use crate::plan::Change;
use crate::settings::Rollout;

/// One line of `evaluate`'s preview, as far as the gate cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicted {
    pub account: String,
    pub rule: String,
    pub resource: String,
    pub noncompliant: bool,
    /// The account (or the rule there) could not be previewed.
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WavePreview {
    pub name: String,
    pub accounts: BTreeSet<String>,
    /// Stack instances the plan creates, updates, repairs or deletes in the wave's accounts.
    pub instance_changes: usize,
    /// Account -> rule -> NON_COMPLIANT resources predicted.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub predicted_noncompliant: BTreeMap<String, BTreeMap<String, usize>>,
    /// Accounts the preview could not read.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub not_previewed: BTreeSet<String>,
    /// `account rule: N > max` for each prediction over the gate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub over_gate: Vec<String>,
}

/// The waves of `changes`, with `predicted` (only the rules rolled out count).
pub fn preview(
    rollout: &Rollout,
    waves: &[Wave],
    changes: &[Change],
    rolled_out: &BTreeSet<String>,
    predicted: &[Predicted],
) -> Vec<WavePreview> {
    waves
        .iter()
        .map(|wave| {
            let instance_changes = changes
                .iter()
                .filter_map(|c| match c {
                    Change::CreateInstances(i)
                    | Change::UpdateInstances(i)
                    | Change::DeleteInstances(i)
                    | Change::RepairInstances(i) => Some(i),
                    _ => None,
                })
                .flat_map(|i| i.instances.iter())
                .filter(|k| wave.accounts.contains(&k.account))
                .count();
            let mut counts: BTreeMap<String, BTreeMap<String, BTreeSet<&str>>> = BTreeMap::new();
            let mut not_previewed = BTreeSet::new();
            for p in predicted
                .iter()
                .filter(|p| wave.accounts.contains(&p.account) && rolled_out.contains(&p.rule))
            {
                if p.failed {
                    not_previewed.insert(p.account.clone());
                } else if p.noncompliant {
                    counts
                        .entry(p.account.clone())
                        .or_default()
                        .entry(p.rule.clone())
                        .or_default()
                        .insert(&p.resource);
                }
            }
            let mut over_gate = Vec::new();
            let predicted_noncompliant = counts
                .into_iter()
                .map(|(account, rules)| {
                    let rules: BTreeMap<String, usize> =
                        rules.into_iter().map(|(r, set)| (r, set.len())).collect();
                    for (rule, n) in &rules {
                        let max = rollout.gate_of(rule).max_new_noncompliant_per_account;
                        if *n > max as usize {
                            over_gate.push(format!("{account} {rule}: {n} > {max}"));
                        }
                    }
                    (account, rules)
                })
                .collect();
            WavePreview {
                name: wave.name.clone(),
                accounts: wave.accounts.clone(),
                instance_changes,
                predicted_noncompliant,
                not_previewed,
                over_gate,
            }
        })
        .collect()
}
