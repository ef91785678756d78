//! `PutEvaluations`: batches of at most 100, refused evaluations sent again (bounded),
//! `TestMode` for the `TESTMODE` token. Transient errors are retried by the SDK's standard retry.

use std::collections::BTreeSet;

use aws_sdk_config::types::{ComplianceType, Evaluation as SdkEvaluation, EvaluationResult};

use crate::error::RuleError;
use crate::evaluation::Evaluation;
use crate::item::ResourceKey;

/// `PutEvaluations` accepts at most this many evaluations per call.
pub const BATCH_SIZE: usize = 100;
/// Rounds of resending what `FailedEvaluations` returned, after the first send.
pub const MAX_RESENDS: usize = 3;
/// The result token Config uses when testing a rule with `PutEvaluations` in test mode.
pub const TEST_MODE_TOKEN: &str = "TESTMODE";

/// What a put cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PutReport {
    pub calls: usize,
    pub evaluations: usize,
}

fn to_sdk(e: &Evaluation) -> SdkEvaluation {
    SdkEvaluation::builder()
        .compliance_resource_type(&e.compliance_resource_type)
        .compliance_resource_id(&e.compliance_resource_id)
        .compliance_type(ComplianceType::from(e.compliance_type.as_str()))
        .set_annotation(e.annotation.as_ref().map(|a| a.as_str().to_owned()))
        .ordering_timestamp(aws_smithy_types::DateTime::from_millis(
            e.ordering_timestamp.timestamp_millis(),
        ))
        .build()
        .expect("every required Evaluation field is set")
}

/// Puts every evaluation under `token`.
pub async fn put_evaluations(
    client: &aws_sdk_config::Client,
    token: &str,
    evaluations: &[Evaluation],
) -> Result<PutReport, RuleError> {
    let test_mode = token == TEST_MODE_TOKEN;
    let mut report = PutReport {
        calls: 0,
        evaluations: evaluations.len(),
    };
    for batch in evaluations.chunks(BATCH_SIZE) {
        let mut pending: Vec<SdkEvaluation> = batch.iter().map(to_sdk).collect();
        let mut attempts = 0;
        while !pending.is_empty() {
            if attempts > MAX_RESENDS {
                return Err(RuleError::Unsent {
                    count: pending.len(),
                    attempts,
                });
            }
            attempts += 1;
            report.calls += 1;
            let out = client
                .put_evaluations()
                .result_token(token)
                .set_evaluations(Some(pending))
                .set_test_mode(test_mode.then_some(true))
                .send()
                .await
                .map_err(|e| RuleError::aws("PutEvaluations", e))?;
            pending = out.failed_evaluations().to_vec();
        }
    }
    Ok(report)
}

/// Resources the rule reported COMPLIANT or NON_COMPLIANT before (paged), for finding the ones
/// that have since disappeared.
pub async fn previously_evaluated(
    client: &aws_sdk_config::Client,
    rule_name: &str,
) -> Result<BTreeSet<ResourceKey>, RuleError> {
    let types = [ComplianceType::Compliant, ComplianceType::NonCompliant];
    reported(client, rule_name, &types, |_| true).await
}

/// The resources whose last result from `rule_name` may change with time alone (an honoured
/// exemption, which expires; one refused as too long, which comes within the limit), read from
/// `GetComplianceDetailsByConfigRule` by their annotations.
pub async fn results_that_may_change(
    client: &aws_sdk_config::Client,
    rule_name: &str,
) -> Result<BTreeSet<ResourceKey>, RuleError> {
    let types = [
        ComplianceType::NotApplicable,
        ComplianceType::Compliant,
        ComplianceType::NonCompliant,
    ];
    reported(client, rule_name, &types, |result| {
        result
            .annotation()
            .is_some_and(crate::exemption::time_may_change)
    })
    .await
}

/// The resources of `rule_name`'s results of the given compliance types that `keep` accepts,
/// every page read.
async fn reported(
    client: &aws_sdk_config::Client,
    rule_name: &str,
    types: &[ComplianceType],
    keep: impl Fn(&EvaluationResult) -> bool,
) -> Result<BTreeSet<ResourceKey>, RuleError> {
    let mut keys = BTreeSet::new();
    let mut pages = client
        .get_compliance_details_by_config_rule()
        .config_rule_name(rule_name)
        .set_compliance_types(Some(types.to_vec()))
        .limit(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RuleError::aws("GetComplianceDetailsByConfigRule", e))?;
        for result in page.evaluation_results().iter().filter(|r| keep(r)) {
            let qualifier = result
                .evaluation_result_identifier()
                .and_then(|i| i.evaluation_result_qualifier());
            if let Some((t, id)) = qualifier.and_then(|q| q.resource_type().zip(q.resource_id())) {
                keys.insert(ResourceKey::new(t, id));
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
