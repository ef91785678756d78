//! The parameter overrides Custos set on its stack instances, recorded after an apply so the
//! next run need not read them back one instance at a time (`DescribeStackInstance` is the only
//! call that returns them). Pure.
//!
//! A record is used for a stack set only when its instances are exactly those recorded (the
//! digest of their keys); otherwise, or with no record, every instance is read as before. An
//! override set by hand outside Custos is not in the record: what it changes in a rule's
//! parameters is found in the member account by the drift read, which the record needs on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::desired::{Desired, InstanceKey};
use crate::observed::Observed;

/// Stack set name -> what Custos set on its instances.
pub type Record = BTreeMap<String, StackSetOverrides>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSetOverrides {
    /// [`instances_digest`] of the instances the record covers.
    pub instances: String,
    /// `account/region` -> overrides, for the instances that have any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, BTreeMap<String, String>>,
}

/// A digest of a set of instances.
pub fn instances_digest<'a>(keys: impl IntoIterator<Item = &'a InstanceKey>) -> String {
    let mut sorted: Vec<&InstanceKey> = keys.into_iter().collect();
    sorted.sort();
    let mut hash = sha2::Sha256::new();
    for key in sorted {
        hash.update(key.to_string().as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

impl StackSetOverrides {
    /// Each listed instance's overrides, when the record covers exactly `keys`.
    pub fn covering<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a InstanceKey> + Clone,
    ) -> Option<BTreeMap<InstanceKey, BTreeMap<String, String>>> {
        if instances_digest(keys.clone()) != self.instances {
            return None;
        }
        Some(
            keys.into_iter()
                .map(|k| {
                    let o = self
                        .overrides
                        .get(&k.to_string())
                        .cloned()
                        .unwrap_or_default();
                    (k.clone(), o)
                })
                .collect(),
        )
    }
}

/// The record after an apply of `desired` over `observed`, every change of the stack sets in
/// `failed` not known to have succeeded: those are left out (read again next time). Accounts
/// left as they are keep what was found there.
pub fn after_apply(desired: &Desired, observed: &Observed, failed: &BTreeSet<String>) -> Record {
    let mut record = Record::new();
    for (name, spec) in &desired.stack_sets {
        if failed.contains(name) {
            continue;
        }
        let mut instances: BTreeMap<InstanceKey, BTreeMap<String, String>> = spec
            .instances
            .iter()
            .filter(|(k, _)| !desired.left_as_is.contains(&k.account))
            .map(|(k, i)| (k.clone(), i.overrides.clone()))
            .collect();
        if let Some(found) = observed.stack_sets.get(name) {
            for (k, i) in &found.instances {
                if desired.left_as_is.contains(&k.account) {
                    instances.insert(k.clone(), i.overrides.clone());
                }
            }
        }
        record.insert(
            name.clone(),
            StackSetOverrides {
                instances: instances_digest(instances.keys()),
                overrides: instances
                    .into_iter()
                    .filter(|(_, o)| !o.is_empty())
                    .map(|(k, o)| (k.to_string(), o))
                    .collect(),
            },
        );
    }
    record
}

#[cfg(test)]
#[path = "overrides_tests.rs"]
mod tests;
