//! The organisation as plain data: what `workflow` reads and `desired` resolves names against.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::settings::OuRef;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    pub root_id: String,
    /// OUs by id.
    pub ous: BTreeMap<String, Ou>,
    /// Accounts by id.
    pub accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ou {
    pub name: String,
    /// The parent OU or root id.
    pub parent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    /// The OU or root id the account sits in.
    pub parent: String,
    /// Only active accounts are deployed to.
    pub active: bool,
    /// Organizations' word for it: `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`…
    #[serde(default)]
    pub state: String,
}

impl Organization {
    /// The id of the OU (or root) `ou` names, if it exists.
    pub fn resolve(&self, ou: &OuRef) -> Option<String> {
        match ou {
            OuRef::Id(id) if *id == self.root_id || self.ous.contains_key(id) => Some(id.clone()),
            OuRef::Id(_) => None,
            OuRef::Path(names) => {
                let mut current = self.root_id.clone();
                for name in names {
                    current = self
                        .ous
                        .iter()
                        .find(|(_, o)| o.parent == current && o.name == *name)
                        .map(|(id, _)| id.clone())?;
                }
                Some(current)
            }
        }
    }

    /// The parents of `id` from the nearest up to the root, `id` first.
    pub fn ancestry(&self, id: &str) -> Vec<String> {
        let mut chain = vec![id.to_owned()];
        let mut current = id.to_owned();
        let parent_of = |x: &str| {
            self.accounts
                .get(x)
                .map(|a| a.parent.clone())
                .or_else(|| self.ous.get(x).map(|o| o.parent.clone()))
        };
        while let Some(parent) = parent_of(&current) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain
    }

    /// Active accounts anywhere below `ou` (nested OUs included).
    pub fn accounts_under(&self, ou: &str) -> BTreeSet<String> {
        self.accounts
            .iter()
            .filter(|(id, a)| a.active && self.ancestry(id).iter().any(|p| p == ou))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// `Workloads/Prod` for an OU id, for people.
    pub fn path(&self, id: &str) -> String {
        if id == self.root_id {
            return "Root".to_owned();
        }
        let mut names: Vec<&str> = self
            .ancestry(id)
            .iter()
            .filter_map(|x| self.ous.get(x).map(|o| o.name.as_str()))
            .collect();
        names.reverse();
        if names.is_empty() {
            id.to_owned()
        } else {
            names.join("/")
        }
    }
}

#[cfg(test)]
pub mod fixture {
    //! A small organisation for tests: Root > Workloads > Prod, Root > Sandbox.

    use super::*;

    pub fn organization() -> Organization {
        let ou = |name: &str, parent: &str| Ou {
            name: name.into(),
            parent: parent.into(),
        };
        let account = |name: &str, parent: &str| Account {
            name: name.into(),
            parent: parent.into(),
            active: true,
            state: "ACTIVE".into(),
        };
        Organization {
            id: "o-exampleorg1".into(),
            management_account: "111111111111".into(),
            root_id: "r-root".into(),
            ous: BTreeMap::from([
                ("ou-work".into(), ou("Workloads", "r-root")),
                ("ou-prod".into(), ou("Prod", "ou-work")),
                ("ou-sand".into(), ou("Sandbox", "r-root")),
            ]),
            accounts: BTreeMap::from([
                ("111111111111".into(), account("management", "r-root")),
                ("222222222222".into(), account("dev", "ou-work")),
                ("333333333333".into(), account("prod", "ou-prod")),
                ("444444444444".into(), account("lab", "ou-sand")),
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_and_nested_accounts() {
        let org = fixture::organization();
        let prod = OuRef::Path(vec!["Workloads".into(), "Prod".into()]);
        assert_eq!(org.resolve(&prod).as_deref(), Some("ou-prod"));
        assert_eq!(org.resolve(&OuRef::Path(vec!["Prod".into()])), None);
        assert_eq!(
            org.accounts_under("ou-work")
                .into_iter()
                .collect::<Vec<_>>(),
            ["222222222222", "333333333333"]
        );
        assert_eq!(org.path("ou-prod"), "Workloads/Prod");
    }
}
