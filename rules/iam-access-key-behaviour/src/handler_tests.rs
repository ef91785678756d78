//! The whole handler, as Lambda runs it, with IAM, CloudTrail, SNS and Config answering from
//! mocks. Time is paused: the LookupEvents rate limit costs no real waiting.

use std::time::Duration;

use aws_sdk_config::types::ComplianceType;
use aws_smithy_mocks::{Rule, RuleMode, mock_client};
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::host::{Evaluation, Mode};
use config_rule_sdk::testing::Envelope;
use config_rule_sdk::testing::mocks::{self, Batches};
use config_rule_sdk::{Compliance, Entry};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use crate::activity::RESOURCE_TYPE;
use crate::test_support::{self as support, END, Shared, at, key, user};

const NOTIFIED: &str = "2026-06-01T12:00:03.000Z";

fn scheduled_event(parameters: &Value) -> Value {
    Envelope {
        account_id: "111122223333".into(),
        rule_parameters: parameters.to_string(),
        result_token: "token-1".into(),
        ..Envelope::new("iam-access-key-behaviour")
    }
    .scheduled(NOTIFIED)
}

/// Config remembers earlier results for these resource ids.
fn previously(ids: &[&str]) -> Rule {
    mocks::previously(
        "iam-access-key-behaviour",
        RESOURCE_TYPE,
        &ComplianceType::Compliant,
        ids,
    )
}

fn put_evaluations(batches: &Batches) -> Rule {
    mocks::put_evaluations("token-1", batches)
}

struct Run {
    result: Result<Vec<Evaluation>, RuleError>,
    puts: usize,
    batches: Vec<usize>,
    elapsed: Duration,
}

async fn run(state: &Shared, parameters: &Value, previous: &[&str]) -> Run {
    let rule = IamAccessKeyBehaviour::new().ending_at(at(END));
    let entry = Entry::periodic(rule, RULE_TOML).notifying(Some(support::TOPIC.to_owned()));
    let batches = Batches::default();
    let (history, put) = (previously(previous), put_evaluations(&batches));
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
    let edge = Edge::with_config_client(support::sdk_config(), config)
        .with_interceptor(support::mocks(state));
    let began = Instant::now();
    let result = entry
        .handle(scheduled_event(parameters), &edge, Mode::Put)
        .await;
    let batches = batches.lock().unwrap().clone();
    Run {
        result,
        puts: put.num_calls(),
        batches,
        elapsed: began.elapsed(),
    }
}

#[tokio::test(start_paused = true)]
async fn n_findings_take_ceil_n_over_100_put_evaluations_calls_at_the_lookup_rate() {
    let users = (0..150)
        .map(|i| {
            user(
                &format!("svc{i:03}"),
                vec![key(
                    &format!("AKIA{i:016}"),
                    "2025-01-01T00:00:00Z",
                    &[],
                    &[],
                )],
            )
        })
        .collect();
    let state = Shared::new(
        support::State {
            users,
            ..Default::default()
        }
        .into(),
    );

    let run = run(&state, &json!({}), &["AIDAGONE"]).await;

    let evaluations = run.result.unwrap();
    assert_eq!(evaluations.len(), 151, "150 users and one deleted since");
    assert_eq!(run.puts, 151_usize.div_ceil(100));
    assert_eq!(run.batches, [100, 51]);
    let lookups = state.lock().unwrap().lookups;
    assert_eq!(lookups, 150, "one recent window per quiet key, no baseline");
    assert!(
        run.elapsed >= Duration::from_millis(500) * u32::try_from(lookups - 1).unwrap(),
        "150 lookups at 2 per second: {:?}",
        run.elapsed
    );
    let gone = evaluations
        .iter()
        .find(|e| e.compliance_resource_id == "AIDAGONE")
        .unwrap();
    assert_eq!(gone.compliance_type, Compliance::NotApplicable);
    assert_eq!(
        gone.annotation.as_ref().unwrap().as_str(),
        "resource no longer exists"
    );
    let notified: DateTime<Utc> = NOTIFIED.parse().unwrap();
    assert!(
        evaluations
            .iter()
            .all(|e| e.compliance_type == Compliance::NotApplicable
                || e.compliance_type == Compliance::Compliant)
    );
    assert!(evaluations.iter().all(|e| e.ordering_timestamp == notified));
}

#[tokio::test(start_paused = true)]
async fn a_suspicious_key_is_reported_and_with_the_parameter_deactivated() {
    let state = Shared::new(
        support::State {
            users: vec![
                user(
                    "ci-deployer",
                    vec![key(
                        "AKIACI",
                        "2025-01-01T00:00:00Z",
                        &["s3", "iam"],
                        &["s3"],
                    )],
                ),
                user(
                    "reporting",
                    vec![key(
                        "AKIAREP",
                        "2025-01-01T00:00:00Z",
                        &["athena"],
                        &["athena"],
                    )],
                ),
            ],
            ..Default::default()
        }
        .into(),
    );

    let run = run(&state, &json!({"deactivateSuspiciousKeys": "true"}), &[]).await;

    let evaluations = run.result.unwrap();
    let summary: Vec<(&str, Compliance, &str)> = evaluations
        .iter()
        .map(|e| {
            (
                e.compliance_resource_id.as_str(),
                e.compliance_type,
                e.annotation.as_ref().map_or("", |a| a.as_str()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "AIDACIDEPLOYER",
                Compliance::NonCompliant,
                "key AKIACI called 1 service not seen in its 30-day baseline: iam.amazonaws.com (key deactivated)"
            ),
            (
                "AIDAREPORTING",
                Compliance::Compliant,
                "key AKIAREP: 1 service, all seen in the 30-day baseline"
            ),
        ]
    );
    assert_eq!(run.puts, 1);
    let state = state.lock().unwrap();
    assert_eq!(
        state.updates,
        [("ci-deployer".into(), "AKIACI".into(), "Inactive".into())]
    );
    assert_eq!(state.published.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn invalid_parameters_fail_naming_the_parameter_and_nothing_is_read_changed_or_put() {
    for (parameters, named) in [
        (
            json!({"recentHours": "0"}),
            "invalid parameter `recentHours`",
        ),
        (
            json!({"baselineDays": "a month"}),
            "invalid parameter `baselineDays`",
        ),
        (
            json!({"deactivateSuspiciousKeys": "maybe"}),
            "invalid parameter `deactivateSuspiciousKeys`",
        ),
        (
            json!({"deactivate": "false"}),
            "invalid parameter `deactivate`",
        ),
        (
            json!({"exemptions": "{\"AIDAX\": \"all\"}"}),
            "invalid parameter `exemptions`",
        ),
    ] {
        let state = Shared::new(
            support::State {
                users: vec![user(
                    "ci-deployer",
                    vec![key("AKIACI", "2025-01-01T00:00:00Z", &["iam"], &[])],
                )],
                ..Default::default()
            }
            .into(),
        );

        let run = run(&state, &parameters, &[]).await;

        let err = run.result.unwrap_err();
        assert_eq!(err.kind(), "InvalidParameter", "{named}");
        assert!(err.to_string().starts_with(named), "{err}");
        assert_eq!(run.puts, 0, "{named}: nothing put");
        let state = state.lock().unwrap();
        assert!(state.key_listings.is_empty(), "{named}: IAM not read");
        assert_eq!(state.lookups, 0, "{named}: CloudTrail not read");
        assert!(state.updates.is_empty(), "{named}: nothing changed");
    }
}
