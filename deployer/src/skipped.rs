//! Targeted accounts a run leaves out, and why: accounts that are not active in the
//! organisation (suspended, closed or closing), and, when each account holds its own code
//! (`distribution = "per-account"`), accounts whose role cannot be assumed. They are reported,
//! and every other account is deployed.

use std::collections::BTreeSet;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::Aws;
use crate::org::Organization;
use crate::settings::Settings;

/// An account left out of a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    pub account: String,
    pub name: String,
    pub reason: String,
}

/// Targeted accounts (below a target OU, or listed) that are not active, by Organizations'
/// own word. Excluded accounts and the management account reached through OUs are not
/// targets, so they are not reported.
pub fn inactive(settings: &Settings, org: &Organization) -> Vec<Skipped> {
    let o = &settings.organization;
    let target_ous: BTreeSet<String> = o
        .target_ous
        .iter()
        .filter_map(|ou| org.resolve(&ou.value))
        .collect();
    org.accounts
        .iter()
        .filter(|(_, a)| !a.active)
        .filter(|(id, _)| !o.exclude_accounts.contains(*id))
        .filter(|(id, _)| {
            o.accounts.contains(*id)
                || (**id != org.management_account
                    && org.ancestry(id).iter().any(|p| target_ous.contains(p)))
        })
        .map(|(id, a)| Skipped {
            account: id.clone(),
            name: a.name.clone(),
            reason: format!(
                "the account is {} in the organisation: not deployed",
                if a.state.is_empty() {
                    "not active"
                } else {
                    a.state.as_str()
                }
            ),
        })
        .collect()
}

/// Of `accounts`, those that cannot be acted in through the settings' role (tried with
/// `GetCallerIdentity`, which assumes the role once; the credentials stay cached for the
/// run). The administering account itself is always reachable.
pub async fn unreachable(
    aws: &Aws,
    settings: &Settings,
    org: &Organization,
    admin_account: &str,
    accounts: &BTreeSet<String>,
) -> Vec<Skipped> {
    const AT_ONCE: usize = 8;
    let role = &settings.organization.role_name;
    let mut out = Vec::new();
    let candidates: Vec<&String> = accounts.iter().filter(|a| *a != admin_account).collect();
    for chunk in candidates.chunks(AT_ONCE) {
        let mut probes = JoinSet::new();
        for account in chunk {
            let member = aws.member(account, admin_account, role).await;
            let account = (*account).clone();
            probes.spawn(async move {
                let reached = member.caller_account().await;
                (account, reached)
            });
        }
        while let Some(joined) = probes.join_next().await {
            let Ok((account, reached)) = joined else {
                continue;
            };
            if let Err(e) = reached {
                out.push(Skipped {
                    name: org
                        .accounts
                        .get(&account)
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    reason: format!("cannot act in the account through role {role}: {e}"),
                    account,
                });
            }
        }
    }
    out.sort();
    out
}

/// The settings with `skipped` accounts taken out of the targets.
pub fn without(settings: &Settings, skipped: &[Skipped]) -> Settings {
    let mut out = settings.clone();
    let gone: BTreeSet<&str> = skipped.iter().map(|s| s.account.as_str()).collect();
    out.organization
        .accounts
        .retain(|a| !gone.contains(a.as_str()));
    out.organization
        .exclude_accounts
        .extend(gone.iter().map(|a| (*a).to_owned()));
    out
}

/// One line per skipped account, for people.
pub fn lines(skipped: &[Skipped]) -> Vec<String> {
    skipped
        .iter()
        .map(|s| {
            let name = if s.name.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.name)
            };
            format!("skipped: account {}{name}: {}", s.account, s.reason)
        })
        .collect()
}

#[cfg(test)]
#[path = "skipped_tests.rs"]
mod tests;
