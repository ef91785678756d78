//! Reading compliance for `deployer status` and `deployer audit`: which accounts and regions to
//! read, and reading them (through the aggregator when one is configured, else each account with
//! the member role, the way the rest of the deployer reaches member accounts).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::compliance::{self, AggregateError};
use crate::aws::{self, Aws};
use crate::compliance::Reading;
use crate::desired;
use crate::org::Organization;
use crate::settings::Settings;

/// What a compliance read covers: target accounts (id -> name) and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub admin_account: String,
    pub accounts: BTreeMap<String, String>,
    pub regions: Vec<String>,
}

/// The account running the deployer, and the organisation as it is now.
pub async fn caller_and_organisation(aws: &Aws) -> anyhow::Result<(String, Organization)> {
    let admin_account = aws
        .caller_account()
        .await
        .context("reading the caller identity")?;
    let org = aws::orgs::organization(aws)
        .await
        .context("reading the organisation")?;
    Ok((admin_account, org))
}

/// The target accounts of the settings, with their names, as the organisation has them now.
pub async fn scope(aws: &Aws, settings: &Settings) -> anyhow::Result<Scope> {
    let (admin_account, org) = caller_and_organisation(aws).await?;
    let accounts = desired::target_accounts(settings, &org)?
        .into_iter()
        .map(|id| {
            let name = org
                .accounts
                .get(&id)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            (id, name)
        })
        .collect();
    Ok(Scope {
        admin_account,
        accounts,
        regions: settings.organization.regions.clone(),
    })
}

/// Accounts read at once: enough to overlap round trips, few enough to stay clear of throttling.
const READS_AT_ONCE: usize = 16;

/// Reads `rules` in every account and region of `scope`; a place that cannot be read gives
/// `unreadable` readings, not an error.
pub async fn read(
    aws: &Aws,
    settings: &Settings,
    scope: &Scope,
    rules: &BTreeSet<String>,
) -> anyhow::Result<Vec<Reading>> {
    if let Some(aggregator) = &settings.status.aggregator {
        let region = aws
            .region()
            .or_else(|| scope.regions.first().cloned())
            .unwrap_or_default();
        let client = aws.config_service(&region);
        return match compliance::aggregate_readings(&client, aggregator, rules).await {
            Ok(readings) => Ok(readings),
            Err(AggregateError::NoSuchAggregator { name }) => Err(anyhow::anyhow!(
                "there is no configuration aggregator `{name}` in account {} region {region}: \
                 create it, or remove `[status] aggregator` from deployer.toml to read each \
                 account",
                scope.admin_account
            )),
            Err(other) => Err(other.into()),
        };
    }
    let limit = Arc::new(Semaphore::new(READS_AT_ONCE));
    let mut tasks = JoinSet::new();
    for account in scope.accounts.keys() {
        let (aws, account, rules, regions) = (
            aws.clone(),
            account.clone(),
            rules.clone(),
            scope.regions.clone(),
        );
        let admin = scope.admin_account.clone();
        let role = settings.organization.role_name.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _turn = limit.acquire_owned().await.expect("never closed");
            let member = aws.member(&account, &admin, &role).await;
            let mut readings = Vec::new();
            for region in &regions {
                let client = member.config_service(region);
                // One account that cannot be read is reported, not the end of the report.
                match compliance::account_readings(&client, &account, region, &rules).await {
                    Ok(read) => readings.extend(read),
                    Err(e) => readings.extend(
                        rules
                            .iter()
                            .map(|rule| Reading::unreadable(&account, region, rule, &e.message)),
                    ),
                }
            }
            readings
        });
    }
    let mut readings = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        readings.extend(joined.context("a read task failed")?);
    }
    readings
        .sort_by(|a, b| (&a.account, &a.region, &a.rule).cmp(&(&b.account, &b.region, &b.rule)));
    Ok(readings)
}
