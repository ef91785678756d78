//! The edge: users and their active keys from IAM, what each key did from CloudTrail, and, when
//! asked, the deactivation of keys found calling new services.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use config_rule_sdk::exemption::Registry;
use config_rule_sdk::notify::Notifier;
use config_rule_sdk::remediation::{self, Context, Outcome, Preview, RemediationTrigger};
use config_rule_sdk::{AwsScope, RuleError};

use crate::activity::{Deactivation, Facts, KeyFacts, KeyReport, UserFacts, Windows};
use crate::deactivate::{Counter, DeactivateKey};
use crate::limiter::under_cap;
use crate::lookup::EventHistory;
use crate::params::Params;

/// The clients a run uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// Keeps the day's count of deactivations; without it (read-only tools) no key is
    /// deactivated.
    pub ssm: Option<aws_sdk_ssm::Client>,
    /// Where remediation records are published, if anywhere.
    pub notifier: Option<Notifier>,
}

impl Clients {
    /// Clients from `aws`; the SSM counter only when the run may act (a read-only run
    /// deactivates nothing, so counts nothing).
    pub fn from_scope(aws: &AwsScope, may_act: bool) -> Self {
        Self {
            iam: aws.client(),
            cloudtrail: aws.client(),
            ssm: may_act.then(|| aws.client()),
            notifier: None,
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
                created: k.create_date().and_then(config_rule_sdk::to_chrono),
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
        deactivate_suspicious(clients, &mut facts, params, run).await;
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

/// Deactivates the keys judged to call new services, through the SDK's remediation (which
/// re-reads the key and the user's tags first): only in the deactivation region, at most
/// `maxDeactivationsPerDay` a day in the account (counted across runs), and in a dry run not at
/// all. What happened is reported on each key; nothing here fails the run, so the evaluations
/// are still put.
async fn deactivate_suspicious(
    clients: &Clients,
    facts: &mut Facts,
    params: &Params,
    run: Run<'_>,
) {
    let region = run
        .aws
        .config()
        .region()
        .map(ToString::to_string)
        .unwrap_or_default();
    let windows = facts.windows;
    let mut suspicious: Vec<(&str, &str, &mut KeyFacts)> = facts
        .users
        .iter_mut()
        .flat_map(|u| {
            let (name, id) = (u.user_name.as_str(), u.user_id.as_str());
            u.keys.iter_mut().map(move |k| (name, id, k))
        })
        .filter(|(_, _, k)| matches!(crate::activity::judge(k, &windows), KeyReport::New { .. }))
        .collect();
    if suspicious.is_empty() {
        return;
    }
    let home = &params.deactivation_region.0;
    if region != *home {
        for (_, _, key) in &mut suspicious {
            key.deactivation = Some(Deactivation::OtherRegion(home.clone()));
        }
        return;
    }
    let mut counter = match read_count(clients, run.end.date_naive()).await {
        Ok(counter) => counter,
        Err(e) => {
            tracing::error!(error = %e, "the day's count of deactivations could not be read");
            for (_, _, key) in &mut suspicious {
                key.deactivation = Some(Deactivation::Skipped(format!(
                    "the day's count of deactivations could not be read: {e}"
                )));
            }
            return;
        }
    };
    let context = Context {
        rule: run.rule,
        account: run.aws.account_id().unwrap_or("unknown"),
        region: &region,
        registry: run.registry,
        trigger: RemediationTrigger::Inline,
        now: run.end,
    };
    let max = params.max_deactivations_per_day.0;
    // Keys a dry run would have deactivated count against the cap of its own report.
    let mut would = 0;
    let mut stopped: Option<String> = None;
    for (user_name, user_id, key) in suspicious {
        let remediation = DeactivateKey {
            iam: &clients.iam,
            user_name,
            access_key_id: &key.access_key_id,
        };
        let outcome = if let Some(why) = &stopped {
            Deactivation::Skipped(why.clone())
        } else if !under_cap(counter.used + would, max) {
            Deactivation::DailyCapReached(max)
        } else if params.dry_run.0 {
            let outcome = preview_one(&remediation, run, user_id, &context).await;
            would += u32::from(outcome == Deactivation::WouldDeactivate);
            outcome
        } else {
            let notifier = clients.notifier.as_ref().or(run.notifier);
            let outcome =
                remediation::remediate(&remediation, run.aws, user_id, &(), &context, notifier)
                    .await;
            if matches!(outcome, Ok(Outcome::Remediated(_)))
                && let Err(e) = counter.add_one().await
            {
                tracing::error!(error = %e, "the day's count of deactivations could not be kept");
                stopped = Some(format!(
                    "the day's count of deactivations could not be kept ({e}), so deactivation stopped for this run"
                ));
            }
            deactivation_of(outcome, user_name, &key.access_key_id)
        };
        key.deactivation = Some(outcome);
    }
}

/// The day's count, from Parameter Store.
async fn read_count(clients: &Clients, day: chrono::NaiveDate) -> Result<Counter<'_>, RuleError> {
    match &clients.ssm {
        Some(ssm) => Counter::read(ssm, day).await,
        None => Err(RuleError::Gather("no Parameter Store client".into())),
    }
}

/// A dry run of one deactivation: what it would do, nothing changed.
async fn preview_one(
    remediation: &DeactivateKey<'_>,
    run: Run<'_>,
    user_id: &str,
    context: &Context<'_>,
) -> Deactivation {
    match remediation::preview(remediation, run.aws, user_id, &(), context).await {
        Ok(Preview::Would(_)) => Deactivation::WouldDeactivate,
        Ok(Preview::AlreadyCompliant) => Deactivation::AlreadyInactive,
        Ok(Preview::Exempt(note)) => Deactivation::Exempt(note),
        Err(e) => Deactivation::Failed(e.to_string()),
    }
}

/// What a deactivation's outcome says of the key.
fn deactivation_of(
    outcome: Result<Outcome, RuleError>,
    user_name: &str,
    access_key_id: &str,
) -> Deactivation {
    match outcome {
        Ok(Outcome::Remediated(_)) => Deactivation::Deactivated,
        Ok(Outcome::AlreadyCompliant) => Deactivation::AlreadyInactive,
        Ok(Outcome::Exempt(note)) => Deactivation::Exempt(note),
        Err(e) => {
            tracing::error!(
                user = %user_name,
                access_key_id = %access_key_id,
                error = %e,
                "deactivation failed"
            );
            Deactivation::Failed(e.to_string())
        }
    }
}

#[cfg(test)]
#[path = "gather_tests.rs"]
mod tests;
