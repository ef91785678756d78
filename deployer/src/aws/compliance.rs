//! Config compliance reads: per account (with that account's credentials), or through an
//! organisation aggregator. Read-only; results as plain `compliance::Reading`s.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_config::types::{ComplianceType, EvaluationResultIdentifier};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::AwsError;
use crate::compliance::{Compliance, Reading, ResourceResult};

/// The error code of a missing aggregator.
const NO_SUCH_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";

/// The results Config reports per resource (INSUFFICIENT_DATA is a rule state, not a resource's).
const RESOURCE_RESULTS: [ComplianceType; 3] = [
    ComplianceType::NonCompliant,
    ComplianceType::Compliant,
    ComplianceType::NotApplicable,
];

fn resource_result(
    identifier: Option<&EvaluationResultIdentifier>,
    compliance: Option<&ComplianceType>,
    annotation: Option<&str>,
) -> Option<ResourceResult> {
    let qualifier = identifier?.evaluation_result_qualifier()?;
    Some(ResourceResult {
        resource_type: qualifier.resource_type().unwrap_or_default().to_owned(),
        resource_id: qualifier.resource_id()?.to_owned(),
        compliance: Compliance::parse(compliance?.as_str())?,
        annotation: annotation.map(str::to_owned),
    })
}

/// The Config rule that stands for `wanted` among `present`: the rule itself, or the rule a
/// conformance pack created for it (Config names those `NAME-conformance-pack-SUFFIX`).
pub fn deployed_name<'a>(wanted: &str, present: &'a BTreeSet<String>) -> Option<&'a str> {
    if let Some(name) = present.get(wanted) {
        return Some(name);
    }
    let prefix = format!("{wanted}-conformance-pack-");
    present
        .iter()
        .find(|name| name.starts_with(&prefix))
        .map(String::as_str)
}

/// The names of the Config rules in the client's account and region.
pub async fn rule_names(client: &aws_sdk_config::Client) -> Result<BTreeSet<String>, AwsError> {
    let mut names = BTreeSet::new();
    let mut pages = client.describe_config_rules().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("listing Config rules", &e))?;
        names.extend(
            page.config_rules()
                .iter()
                .filter_map(|r| r.config_rule_name().map(str::to_owned)),
        );
    }
    Ok(names)
}

/// Every resource result of `rule` in the client's account and region.
pub async fn rule_results(
    client: &aws_sdk_config::Client,
    rule: &str,
) -> Result<Vec<ResourceResult>, AwsError> {
    let mut results = Vec::new();
    let mut pages = client
        .get_compliance_details_by_config_rule()
        .config_rule_name(rule)
        .set_compliance_types(Some(RESOURCE_RESULTS.to_vec()))
        .limit(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(&format!("reading the compliance of {rule}"), &e))?;
        results.extend(page.evaluation_results().iter().filter_map(|r| {
            resource_result(
                r.evaluation_result_identifier(),
                r.compliance_type(),
                r.annotation(),
            )
        }));
    }
    results.sort();
    Ok(results)
}

/// `rules` in one account and region, read with that account's own client.
pub async fn account_readings(
    client: &aws_sdk_config::Client,
    account: &str,
    region: &str,
    rules: &BTreeSet<String>,
) -> Result<Vec<Reading>, AwsError> {
    let present = rule_names(client).await?;
    let mut readings = Vec::new();
    for rule in rules {
        let deployed = deployed_name(rule, &present);
        let results = match deployed {
            Some(name) => rule_results(client, name).await?,
            None => Vec::new(),
        };
        readings.push(Reading {
            account: account.to_owned(),
            region: region.to_owned(),
            rule: rule.clone(),
            deployed: deployed.is_some(),
            results,
            unreadable: None,
        });
    }
    Ok(readings)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    #[error(
        "there is no configuration aggregator `{name}` here (check `[status] aggregator` in \
         deployer.toml, the account and --region)"
    )]
    NoSuchAggregator { name: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// `rules` in every account and region `aggregator` collects, from the aggregator's account.
/// Accounts and regions it does not report are absent from the result.
pub async fn aggregate_readings(
    client: &aws_sdk_config::Client,
    aggregator: &str,
    rules: &BTreeSet<String>,
) -> Result<Vec<Reading>, AggregateError> {
    ensure_aggregator(client, aggregator).await?;
    let present = aggregate_rule_names(client, aggregator).await?;
    let mut readings = Vec::new();
    for ((account, region), names) in &present {
        for rule in rules {
            let Some(name) = deployed_name(rule, names) else {
                continue;
            };
            let results = aggregate_results(client, aggregator, account, region, name).await?;
            readings.push(Reading {
                account: account.clone(),
                region: region.clone(),
                rule: rule.clone(),
                deployed: true,
                results,
                unreadable: None,
            });
        }
    }
    Ok(readings)
}

fn aggregate_error<E, R>(aggregator: &str, what: &str, e: &SdkError<E, R>) -> AggregateError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let error = AwsError::new(what, e);
    if error.is(NO_SUCH_AGGREGATOR) {
        AggregateError::NoSuchAggregator {
            name: aggregator.to_owned(),
        }
    } else {
        AggregateError::Aws(error)
    }
}

/// The compliance listing of a missing aggregator may come back empty rather than fail: ask for
/// the aggregator itself first.
async fn ensure_aggregator(
    client: &aws_sdk_config::Client,
    aggregator: &str,
) -> Result<(), AggregateError> {
    let described = client
        .describe_configuration_aggregators()
        .configuration_aggregator_names(aggregator)
        .send()
        .await
        .map_err(|e| {
            aggregate_error(
                aggregator,
                &format!("describing aggregator {aggregator}"),
                &e,
            )
        })?;
    if described
        .configuration_aggregators()
        .iter()
        .any(|a| a.configuration_aggregator_name() == Some(aggregator))
    {
        Ok(())
    } else {
        Err(AggregateError::NoSuchAggregator {
            name: aggregator.to_owned(),
        })
    }
}

/// Which rules the aggregator knows in which account and region: one listing, paged.
async fn aggregate_rule_names(
    client: &aws_sdk_config::Client,
    aggregator: &str,
) -> Result<BTreeMap<(String, String), BTreeSet<String>>, AggregateError> {
    let mut present: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut pages = client
        .describe_aggregate_compliance_by_config_rules()
        .configuration_aggregator_name(aggregator)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            aggregate_error(aggregator, &format!("reading aggregator {aggregator}"), &e)
        })?;
        for c in page.aggregate_compliance_by_config_rules() {
            if let (Some(account), Some(region), Some(name)) =
                (c.account_id(), c.aws_region(), c.config_rule_name())
            {
                present
                    .entry((account.to_owned(), region.to_owned()))
                    .or_default()
                    .insert(name.to_owned());
            }
        }
    }
    Ok(present)
}

/// Every resource result of Config rule `name` in one account and region, through the
/// aggregator.
async fn aggregate_results(
    client: &aws_sdk_config::Client,
    aggregator: &str,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Vec<ResourceResult>, AggregateError> {
    let mut results = Vec::new();
    let mut pages = client
        .get_aggregate_compliance_details_by_config_rule()
        .configuration_aggregator_name(aggregator)
        .config_rule_name(name)
        .account_id(account)
        .aws_region(region)
        .limit(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            aggregate_error(
                aggregator,
                &format!("reading {name} in {account}/{region} through {aggregator}"),
                &e,
            )
        })?;
        results.extend(page.aggregate_evaluation_results().iter().filter_map(|r| {
            resource_result(
                r.evaluation_result_identifier(),
                r.compliance_type(),
                r.annotation(),
            )
        }));
    }
    results.sort();
    Ok(results)
}

#[cfg(test)]
#[path = "compliance_tests.rs"]
mod tests;
