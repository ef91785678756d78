//! The edge: users and their active keys from IAM, what each key did from CloudTrail, and, when
//! asked, the deactivation of keys found calling new services.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use config_rule_sdk::exemption::Registry;
use config_rule_sdk::notify::Notifier;
use config_rule_sdk::remediation::{self, Context, Outcome, RemediationTrigger};
use config_rule_sdk::{AwsScope, RuleError};

use crate::activity::{Deactivation, Facts, KeyFacts, KeyReport, UserFacts, Windows};
use crate::deactivate::DeactivateKey;
use crate::lookup::EventHistory;
use crate::params::Params;

/// The clients a run uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// Where remediation records are published, if anywhere.
    pub notifier: Option<Notifier>,
}

impl Clients {
    /// Clients for `config`; records go to `topic_arn` when given.
    pub fn from_config(config: &aws_config::SdkConfig, topic_arn: Option<String>) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            notifier: topic_arn.map(|t| Notifier::new(aws_sdk_sns::Client::new(config), t)),
        }
    }
}

/// An access key as `ListAccessKeys` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: Option<DateTime<Utc>>,
}

/// Every user: name and id, sorted by name.
pub async fn users(iam: &aws_sdk_iam::Client) -> Result<Vec<(String, String)>, RuleError> {
    let mut found = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RuleError::aws("ListUsers", e))?;
        found.extend(
            page.users()
                .iter()
                .map(|u| (u.user_name().to_owned(), u.user_id().to_owned())),
        );
    }
    found.sort();
    Ok(found)
}

/// Every access key of `user_name`, sorted by id.
pub async fn access_keys(
    iam: &aws_sdk_iam::Client,
    user_name: &str,
) -> Result<Vec<KeyMetadata>, RuleError> {
    let mut found = Vec::new();
    let mut pages = iam
        .list_access_keys()
        .user_name(user_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RuleError::aws("ListAccessKeys", e))?;
        found.extend(page.access_key_metadata().iter().filter_map(|k| {
            Some(KeyMetadata {
                access_key_id: k.access_key_id()?.to_owned(),
                status: k.status()?.as_str().to_owned(),
                created: k.create_date().and_then(config_rule_sdk::aws::to_chrono),
            })
        }));
    }
    found.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    Ok(found)
}

/// The tags of `user_name` (`ListUsers` does not return them).
pub async fn user_tags(
    iam: &aws_sdk_iam::Client,
    user_name: &str,
) -> Result<BTreeMap<String, String>, RuleError> {
    let mut tags = BTreeMap::new();
    let mut pages = iam
        .list_user_tags()
        .user_name(user_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RuleError::aws("ListUserTags", e))?;
        tags.extend(
            page.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned())),
        );
    }
    Ok(tags)
}

/// Where and when a run happens, and whether it may deactivate keys.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub rule: &'a str,
    pub aws: &'a AwsScope,
    /// The end of the recent window: also the time of any remediation record.
    pub end: DateTime<Utc>,
    /// The exemption registry: an exempt user's keys are never deactivated.
    pub registry: &'a Registry,
    /// False in a dry run: nothing is deactivated.
    pub may_act: bool,
    /// Where remediation records go (when the clients bring no notifier of their own).
    pub notifier: Option<&'a Notifier>,
}

/// Everything the evaluation needs, read in a fixed order (users by name, keys by id) so that
/// a request budget that runs out always leaves the same keys unread.
pub async fn gather_with(
    clients: &Clients,
    params: &Params,
    run: Run<'_>,
) -> Result<Facts, RuleError> {
    let windows = Windows::ending_at(run.end, params);
    let mut history = EventHistory::new(&clients.cloudtrail, params.max_lookup_requests.0);
    let mut users = Vec::new();
    for (user_name, user_id) in self::users(&clients.iam).await? {
        let active: Vec<KeyMetadata> = access_keys(&clients.iam, &user_name)
            .await?
            .into_iter()
            .filter(|k| k.status == "Active")
            .collect();
        let mut keys = Vec::with_capacity(active.len());
        for key in active {
            keys.push(key_facts(&mut history, &windows, key).await?);
        }
        let tags = if keys.is_empty() {
            BTreeMap::new()
        } else {
            user_tags(&clients.iam, &user_name).await?
        };
        users.push(UserFacts {
            user_name,
            user_id,
            tags,
            keys,
        });
    }
    tracing::info!(
        users = users.len(),
        lookups = history.sent(),
        lookups_left = history.remaining(),
        "read key activity"
    );
    let mut facts = Facts { windows, users };
    if params.deactivate.0 && run.may_act {
        deactivate_suspicious(clients, &mut facts, run).await;
    }
    Ok(facts)
}

/// The recent window, then, if the key was active and is old enough to judge, the baseline,
/// looking only for the services of the recent window.
async fn key_facts(
    history: &mut EventHistory<'_>,
    windows: &Windows,
    key: KeyMetadata,
) -> Result<KeyFacts, RuleError> {
    let id = &key.access_key_id;
    let recent = history
        .services(id, windows.recent_start, windows.end)
        .await?;
    let baseline = if crate::activity::needs_baseline(key.created, &recent, windows) {
        Some(
            history
                .which_of(
                    &recent.sources,
                    id,
                    windows.baseline_start,
                    windows.recent_start,
                )
                .await?,
        )
    } else {
        None
    };
    Ok(KeyFacts {
        access_key_id: key.access_key_id,
        created: key.created,
        recent,
        baseline,
        deactivation: None,
    })
}

/// Deactivates every key judged to call new services, through the SDK's remediation (which
/// re-reads the key and the user's tags first). A failure is reported on the key, not fatal:
/// the evaluations are still put.
async fn deactivate_suspicious(clients: &Clients, facts: &mut Facts, run: Run<'_>) {
    let region = run
        .aws
        .config()
        .region()
        .map(ToString::to_string)
        .unwrap_or_default();
    let context = Context {
        rule: run.rule,
        account: run.aws.account_id().unwrap_or("unknown"),
        region: &region,
        registry: run.registry,
        trigger: RemediationTrigger::Inline,
        now: run.end,
    };
    let windows = facts.windows;
    for user in &mut facts.users {
        for key in &mut user.keys {
            if !matches!(crate::activity::judge(key, &windows), KeyReport::New { .. }) {
                continue;
            }
            let remediation = DeactivateKey {
                iam: &clients.iam,
                user_name: &user.user_name,
                access_key_id: &key.access_key_id,
            };
            let outcome = remediation::remediate(
                &remediation,
                run.aws,
                &user.user_id,
                &(),
                &context,
                clients.notifier.as_ref().or(run.notifier),
            )
            .await;
            key.deactivation = Some(match outcome {
                Ok(Outcome::Remediated(_)) => Deactivation::Deactivated,
                Ok(Outcome::AlreadyCompliant) => Deactivation::AlreadyInactive,
                Ok(Outcome::Exempt(note)) => Deactivation::Exempt(note),
                Err(e) => {
                    tracing::error!(
                        user = %user.user_name,
                        access_key_id = %key.access_key_id,
                        error = %e,
                        "deactivation failed"
                    );
                    Deactivation::Failed(e.to_string())
                }
            });
        }
    }
}

#[cfg(test)]
#[path = "gather_tests.rs"]
mod tests;
