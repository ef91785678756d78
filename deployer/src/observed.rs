//! What the read side found deployed: this deployment's stack sets and their instances, the
//! artifacts present, its organisation conformance packs, the objects of others, and drift.
//! Plain data, read by `workflow::prepare` (through `aws/`) and compared by `plan`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::desired::{ArtifactObject, InstanceKey, PermissionModel};
use crate::ownership::Foreign;
use crate::packs::organization::ObservedOrgPack;

/// What `workflow::observe` found: this deployment's stack sets, the artifacts already uploaded, its
/// organisation conformance packs, the Custos-named objects it does not own, and what was
/// changed by hand in the member accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The stack sets this deployment owns (only these are ever changed).
    pub stack_sets: BTreeMap<String, ObservedStackSet>,
    /// The wanted artifact objects that already exist.
    pub artifacts: BTreeSet<ArtifactObject>,
    /// Region -> organisation pack name -> the pack (this deployment's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub org_packs: BTreeMap<String, BTreeMap<String, ObservedOrgPack>>,
    /// Custos-named stack sets and packs of someone else: left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<Foreign>,
    /// Stack set -> instance -> what was found changed by hand there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drift: BTreeMap<String, BTreeMap<InstanceKey, Vec<String>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedStackSet {
    pub name: String,
    pub permission_model: PermissionModel,
    pub description: String,
    pub body: String,
    pub parameters: BTreeMap<String, String>,
    pub retain_stacks_on_account_removal: bool,
    /// Its tags, the ownership tag among them.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
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
