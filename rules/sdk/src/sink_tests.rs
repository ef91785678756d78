use std::sync::{Arc, Mutex};

use aws_sdk_config::Client;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{DateTime, Utc};

use super::*;
use crate::compliance::Verdict;

fn evaluations(n: usize) -> Vec<Evaluation> {
    let t: DateTime<Utc> = "2026-03-05T00:00:00Z".parse().unwrap();
    (0..n)
        .map(|i| {
            Evaluation::new(
                ResourceKey::new("AWS::S3::Bucket", format!("b-{i:04}")),
                Verdict::compliant(),
                t,
            )
        })
        .collect()
}

/// What each PutEvaluations call carried: resource ids and the TestMode flag.
type Calls = Arc<Mutex<Vec<(Vec<String>, Option<bool>)>>>;

fn recorder() -> Calls {
    Arc::default()
}

fn ids(req: &aws_sdk_config::operation::put_evaluations::PutEvaluationsInput) -> Vec<String> {
    req.evaluations()
        .iter()
        .map(|e| e.compliance_resource_id().to_owned())
        .collect()
}

#[tokio::test]
async fn two_hundred_fifty_results_take_exactly_three_calls_of_at_most_100() {
    let calls = recorder();
    let seen = calls.clone();
    let rule = mock!(Client::put_evaluations).then_compute_output(move |req| {
        seen.lock().unwrap().push((ids(req), req.test_mode()));
        PutEvaluationsOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);

    let report = put_evaluations(&client, "token", &evaluations(250))
        .await
        .unwrap();

    assert_eq!(
        report,
        PutReport {
            calls: 3,
            evaluations: 250
        }
    );
    let sizes: Vec<usize> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|(ids, _)| ids.len())
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn failed_evaluations_are_sent_again_and_only_those() {
    let calls = recorder();
    let seen = calls.clone();
    let rule = mock!(Client::put_evaluations).then_compute_output(move |req| {
        let mut seen = seen.lock().unwrap();
        seen.push((ids(req), req.test_mode()));
        // Config refuses the first two evaluations of the first call only.
        let failed = (seen.len() == 1).then(|| req.evaluations()[..2].to_vec());
        PutEvaluationsOutput::builder()
            .set_failed_evaluations(failed)
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);

    let report = put_evaluations(&client, "token", &evaluations(150))
        .await
        .unwrap();

    let calls = calls.lock().unwrap();
    assert_eq!(report.calls, 3);
    assert_eq!(calls[0].0.len(), 100);
    assert_eq!(
        calls[1].0,
        vec!["b-0000", "b-0001"],
        "only the refused evaluations are resent"
    );
    assert_eq!(calls[2].0.len(), 50);
}

#[tokio::test]
async fn evaluations_refused_every_time_are_an_error_after_bounded_resends() {
    let rule = mock!(Client::put_evaluations).then_compute_output(|req| {
        PutEvaluationsOutput::builder()
            .set_failed_evaluations(Some(req.evaluations().to_vec()))
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);

    let err = put_evaluations(&client, "token", &evaluations(5))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "EvaluationsNotAccepted");
    assert_eq!(rule.num_calls(), 1 + MAX_RESENDS);
}

#[tokio::test]
async fn the_testmode_token_sets_test_mode_and_others_do_not() {
    let calls = recorder();
    let seen = calls.clone();
    let rule = mock!(Client::put_evaluations).then_compute_output(move |req| {
        seen.lock().unwrap().push((ids(req), req.test_mode()));
        PutEvaluationsOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);

    put_evaluations(&client, TEST_MODE_TOKEN, &evaluations(1))
        .await
        .unwrap();
    put_evaluations(&client, "real-token", &evaluations(1))
        .await
        .unwrap();

    let modes: Vec<Option<bool>> = calls.lock().unwrap().iter().map(|(_, m)| *m).collect();
    assert_eq!(modes, vec![Some(true), None]);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_without_losing_evaluations() {
    let rule = mock!(Client::put_evaluations)
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&rule], |c| c
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3)));

    let report = put_evaluations(&client, "t", &evaluations(10))
        .await
        .unwrap();

    assert_eq!(report.calls, 1, "one logical call");
    assert_eq!(rule.num_calls(), 3, "two 503s retried, then accepted");
}
