//! Accounts a run leaves exactly as they are, and why: accounts that are not active in the
//! organisation (suspended, closed or closing), and accounts the run cannot act in or read
//! through the role (per-account artifacts, drift reads). Unreachable is not untargeted: such an
//! account keeps every stack instance, rule and log group it has (nothing is created, updated or
//! deleted there), it is reported, the run exits 1, and the next run that reaches it carries on.
//! Only an account `deployer.toml` no longer targets, or one gone from the organisation, loses
//! its instances.

use std::collections::BTreeSet;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::Aws;
use crate::org::Organization;
use crate::settings::Settings;

/// An account left as it is by a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    pub account: String,
    pub name: String,
    pub reason: String,
}

/// Accounts that are not active, by Organizations' own word, and are targeted (below a target
/// OU, or listed) or hold instances of the deployment (`holding`). Excluded accounts and the
/// management account reached through OUs are not targets.
pub fn inactive(
    settings: &Settings,
    org: &Organization,
    holding: &BTreeSet<String>,
) -> Vec<Skipped> {
    let o = &settings.organization;
    let target_ous: BTreeSet<String> = o
        .target_ous
        .iter()
        .filter_map(|ou| org.resolve(&ou.value))
        .collect();
    org.accounts
        .iter()
        .filter(|(_, a)| !a.active)
        .filter(|(id, _)| {
            holding.contains(*id)
                || (!o.exclude_accounts.contains(*id)
                    && (o.accounts.contains(*id)
                        || (**id != org.management_account
                            && org.ancestry(id).iter().any(|p| target_ous.contains(p)))))
        })
        .map(|(id, a)| Skipped {
            account: id.clone(),
            name: a.name.clone(),
            reason: format!(
                "{} in the organisation, left as is",
                if a.state.is_empty() {
                    "not active"
                } else {
                    a.state.as_str()
                }
            ),
        })
        .collect()
}

/// How the reason of an account whose reads failed begins.
const UNREADABLE: &str = "unreachable, left as is: cannot read the account through role";

/// An account whose reads failed (`what` was being read).
pub fn unreadable(org: &Organization, account: &str, role: &str, error: &str) -> Skipped {
    Skipped {
        account: account.to_owned(),
        name: name_of(org, account),
        reason: format!("{UNREADABLE} {role}: {error}"),
    }
}

/// Of the accounts left as is because a read failed, those whose role cannot be assumed at all
/// say so instead (probed once more: failures only, so a run that reads everything pays
/// nothing for it).
pub async fn explain_unreadable(
    aws: &Aws,
    settings: &Settings,
    org: &Organization,
    admin_account: &str,
    skipped: &mut [Skipped],
) {
    let failed: BTreeSet<String> = skipped
        .iter()
        .filter(|s| s.reason.starts_with(UNREADABLE))
        .map(|s| s.account.clone())
        .collect();
    if failed.is_empty() {
        return;
    }
    for probed in unreachable(aws, settings, org, admin_account, &failed).await {
        for left in skipped.iter_mut().filter(|s| s.account == probed.account) {
            left.reason.clone_from(&probed.reason);
        }
    }
}

fn name_of(org: &Organization, account: &str) -> String {
    org.accounts
        .get(account)
        .map(|a| a.name.clone())
        .unwrap_or_default()
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
        let mut answered = BTreeSet::new();
        while let Some(joined) = probes.join_next().await {
            let Ok((account, reached)) = joined else {
                continue;
            };
            answered.insert(account.clone());
            if let Err(e) = reached {
                out.push(Skipped {
                    name: name_of(org, &account),
                    reason: format!(
                        "unreachable, left as is: cannot act in the account through role {role}: {}",
                        e.brief()
                    ),
                    account,
                });
            }
        }
        // A probe that stopped (panicked) proved nothing: the account counts as unreachable.
        for account in chunk.iter().filter(|a| !answered.contains(**a)) {
            out.push(Skipped {
                account: (*account).clone(),
                name: name_of(org, account),
                reason: "unreachable, left as is: the check of the role stopped".to_owned(),
            });
        }
    }
    out.sort();
    out
}

/// One line per account left as it is, for people.
pub fn lines(skipped: &[Skipped]) -> Vec<String> {
    skipped
        .iter()
        .map(|s| {
            let name = if s.name.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.name)
            };
            format!("account {}{name}: {}", s.account, s.reason)
        })
        .collect()
}

#[cfg(test)]
#[path = "skipped_tests.rs"]
mod tests;
