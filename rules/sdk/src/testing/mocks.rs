//! Config's side of a periodic run, mocked: the results it remembers from an earlier run, and
//! the `PutEvaluations` calls it receives.

use std::sync::{Arc, Mutex};

use aws_sdk_config::operation::get_compliance_details_by_config_rule::GetComplianceDetailsByConfigRuleOutput;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_config::types::{
    ComplianceType, EvaluationResult, EvaluationResultIdentifier, EvaluationResultQualifier,
};
use aws_smithy_mocks::{Rule, mock};

/// Config remembers `compliance` results of `rule_name` for these resources of `resource_type`.
pub fn previously(
    rule_name: &str,
    resource_type: &str,
    compliance: &ComplianceType,
    ids: &[&str],
) -> Rule {
    let results: Vec<EvaluationResult> = ids
        .iter()
        .map(|id| {
            let qualifier = EvaluationResultQualifier::builder()
                .config_rule_name(rule_name)
                .resource_type(resource_type)
                .resource_id(*id)
                .build();
            EvaluationResult::builder()
                .compliance_type(compliance.clone())
                .evaluation_result_identifier(
                    EvaluationResultIdentifier::builder()
                        .evaluation_result_qualifier(qualifier)
                        .build(),
                )
                .build()
        })
        .collect();
    mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule).then_compute_output(
        move |_| {
            GetComplianceDetailsByConfigRuleOutput::builder()
                .set_evaluation_results(Some(results.clone()))
                .build()
        },
    )
}

/// The sizes of the `PutEvaluations` calls, in order.
pub type Batches = Arc<Mutex<Vec<usize>>>;

/// `PutEvaluations`, answered with success; each call must carry `result_token`.
pub fn put_evaluations(result_token: &str, batches: &Batches) -> Rule {
    let (token, seen) = (result_token.to_owned(), batches.clone());
    mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(move |req| {
        assert_eq!(req.result_token(), Some(token.as_str()));
        seen.lock().unwrap().push(req.evaluations().len());
        PutEvaluationsOutput::builder().build()
    })
}
