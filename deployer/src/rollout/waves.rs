//! The accounts of each wave, from `[rollout]` and the organisation.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diagnostic::Location;
use crate::org::Organization;
use crate::settings::{OuRef, Rollout};

/// The name of the wave that takes every account no wave lists, when the last one does not.
pub const REST: &str = "rest";

/// One wave: the organisation's accounts it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    pub name: String,
    pub accounts: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaveError {
    #[error("{location}: wave `{wave}`: no OU `{ou}` in the organisation")]
    UnknownOu {
        location: Location,
        wave: String,
        ou: OuRef,
    },
    #[error("{location}: wave `{wave}`: account {account} is not an account of the organisation")]
    UnknownAccount {
        location: Location,
        wave: String,
        account: String,
    },
    #[error(
        "{location}: account {account} ({name}) is in wave `{first}` and in wave `{second}`: an \
         account belongs to one wave (list it once, or leave it to a `rest` wave)"
    )]
    TwoWaves {
        location: Location,
        account: String,
        name: String,
        first: String,
        second: String,
    },
}

/// The waves in order. Accounts no wave names go to the last wave when it is `rest`, else to
/// a wave of their own named `rest`, deployed last.
pub fn resolve(rollout: &Rollout, org: &Organization) -> Result<Vec<Wave>, Vec<WaveError>> {
    let mut errors = Vec::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut waves = Vec::new();
    for spec in &rollout.waves {
        let mut accounts = BTreeSet::new();
        let mut claim =
            |account: &str, location: &Location, errors: &mut Vec<WaveError>| match owner
                .get(account)
            {
                Some(first) if *first != spec.name => errors.push(WaveError::TwoWaves {
                    location: location.clone(),
                    account: account.to_owned(),
                    name: org
                        .accounts
                        .get(account)
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    first: first.clone(),
                    second: spec.name.clone(),
                }),
                _ => {
                    owner.insert(account.to_owned(), spec.name.clone());
                    accounts.insert(account.to_owned());
                }
            };
        for ou in &spec.ous {
            match org.resolve(&ou.value) {
                Some(id) => {
                    for account in org.accounts_under(&id) {
                        claim(&account, &ou.location, &mut errors);
                    }
                }
                None => errors.push(WaveError::UnknownOu {
                    location: ou.location.clone(),
                    wave: spec.name.clone(),
                    ou: ou.value.clone(),
                }),
            }
        }
        for account in &spec.accounts {
            if org.accounts.contains_key(&account.value) {
                claim(&account.value, &account.location, &mut errors);
            } else {
                errors.push(WaveError::UnknownAccount {
                    location: account.location.clone(),
                    wave: spec.name.clone(),
                    account: account.value.clone(),
                });
            }
        }
        waves.push(Wave {
            name: spec.name.clone(),
            accounts,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let rest: BTreeSet<String> = org
        .accounts
        .keys()
        .filter(|a| !owner.contains_key(*a))
        .cloned()
        .collect();
    match (rollout.waves.last(), waves.last_mut()) {
        (Some(spec), Some(last)) if spec.rest => last.accounts.extend(rest),
        _ if !rest.is_empty() => waves.push(Wave {
            name: REST.to_owned(),
            accounts: rest,
        }),
        _ => {}
    }
    Ok(waves)
}

/// The accounts of the waves after the `index`th: left as they are while it is deployed.
pub fn held_after(waves: &[Wave], index: usize) -> BTreeSet<String> {
    waves
        .iter()
        .skip(index + 1)
        .flat_map(|w| w.accounts.iter().cloned())
        .collect()
}
