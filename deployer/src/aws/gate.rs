//! What a wave's rules reported in one account and region since the wave was deployed: Config's
//! evaluation status (the last error), the results recorded since (any is an evaluation; the
//! NON_COMPLIANT ones are counted), and failed remediations. Reads only, through the member
//! role.

use aws_sdk_config::Client;
use aws_sdk_config::types::{ComplianceType, RemediationExecutionState, ResourceKey};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

use super::AwsError;
use crate::rollout::gate::Reading;

/// One rule to read, and whether it has a remediation to read too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRule {
    pub name: String,
    pub remediated: bool,
}

fn since(time: Option<&SmithyTime>, start: DateTime<Utc>) -> bool {
    time.is_some_and(|t| t.secs() >= start.timestamp())
}

/// `rules` in the account and region `client` acts in, since `start`.
pub async fn read(
    client: &Client,
    account: &str,
    region: &str,
    rules: &[GateRule],
    start: DateTime<Utc>,
) -> Result<Vec<Reading>, AwsError> {
    let mut readings = Vec::new();
    let names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    let mut statuses = Vec::new();
    let mut pages = client
        .describe_config_rule_evaluation_status()
        .set_config_rule_names(Some(names))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::new(&format!("reading the evaluation status in {region}"), &e)
        })?;
        statuses.extend(page.config_rules_evaluation_status().iter().cloned());
    }
    for rule in rules {
        let mut reading = Reading {
            account: account.to_owned(),
            region: region.to_owned(),
            rule: rule.name.clone(),
            ..Reading::default()
        };
        if let Some(status) = statuses
            .iter()
            .find(|s| s.config_rule_name() == Some(rule.name.as_str()))
        {
            let failed = since(status.last_failed_invocation_time(), start)
                || since(status.last_failed_evaluation_time(), start);
            reading.evaluated = failed
                || since(status.last_successful_invocation_time(), start)
                || since(status.last_successful_evaluation_time(), start);
            if failed {
                reading.errors.push(format!(
                    "{}: {}",
                    status.last_error_code().unwrap_or("error"),
                    status.last_error_message().unwrap_or("no message")
                ));
            }
        }
        let (any, noncompliant) = results_since(client, &rule.name, start).await?;
        // A result recorded since the wave started is an evaluation too (Config may not have
        // updated the rule's status yet).
        reading.evaluated |= any;
        reading.noncompliant = noncompliant;
        if rule.remediated {
            reading.remediation_failures = failed_remediations(client, &rule.name, start).await?;
        }
        readings.push(reading);
    }
    Ok(readings)
}

/// Whether any result was recorded since `start`, and the resources reported NON_COMPLIANT
/// since.
async fn results_since(
    client: &Client,
    rule: &str,
    start: DateTime<Utc>,
) -> Result<(bool, Vec<String>), AwsError> {
    let mut any = false;
    let mut out = Vec::new();
    let mut pages = client
        .get_compliance_details_by_config_rule()
        .config_rule_name(rule)
        .set_compliance_types(Some(vec![
            ComplianceType::Compliant,
            ComplianceType::NonCompliant,
            ComplianceType::NotApplicable,
        ]))
        .limit(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(&format!("reading the compliance of {rule}"), &e))?;
        for result in page.evaluation_results() {
            if !since(result.result_recorded_time(), start) {
                continue;
            }
            any = true;
            if result.compliance_type() != Some(&ComplianceType::NonCompliant) {
                continue;
            }
            if let Some(id) = result
                .evaluation_result_identifier()
                .and_then(|i| i.evaluation_result_qualifier())
                .and_then(|q| q.resource_id())
            {
                out.push(id.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok((any, out))
}

async fn failed_remediations(
    client: &Client,
    rule: &str,
    start: DateTime<Utc>,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client
        .describe_remediation_execution_status()
        .config_rule_name(rule)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(&format!("reading the remediations of {rule}"), &e))?;
        for status in page.remediation_execution_statuses() {
            let when = status
                .last_updated_time()
                .or_else(|| status.invocation_time());
            if status.state() == Some(&RemediationExecutionState::Failed)
                && since(when, start)
                && let Some(id) = status.resource_key().map(ResourceKey::resource_id)
            {
                out.push(id.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
