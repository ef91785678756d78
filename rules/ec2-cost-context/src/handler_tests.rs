//! The whole handler, as Lambda runs it, with EC2 and Config answering from mocks.

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::types::ComplianceType;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{InstanceState, InstanceStateName, InstanceType, Reservation, Tag};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, mock, mock_client};
use config_rule_sdk::Compliance;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::testing::Envelope;
use config_rule_sdk::testing::mocks::{self, Batches};
use serde_json::{Value, json};

use super::*;
use crate::estimate::RESOURCE_TYPE;

const NOW: &str = "2026-01-31T10:00:00.000Z";

fn scheduled_event(parameters: &Value) -> Value {
    Envelope {
        account_id: "111122223333".into(),
        rule_parameters: parameters.to_string(),
        result_token: "token-1".into(),
        ..Envelope::new("ec2-cost-context")
    }
    .scheduled(NOW)
}

fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_mocks::create_mock_http_client())
        // Signed like any request, so a mocked error is seen after the response, as from AWS.
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            aws_sdk_ec2::config::Credentials::new("AKID", "SECRET", None, None, "test"),
        ))
        .region(Region::new("us-east-1"))
        .build()
}

/// `count` running m5.large instances launched 2026-01-01, `per_page` to a page.
fn describe_pages(count: usize, per_page: usize) -> Rule {
    let ids: Vec<String> = (0..count).map(|i| format!("i-{i:017x}")).collect();
    let pages: Vec<Vec<String>> = ids.chunks(per_page).map(<[String]>::to_vec).collect();
    let served = Arc::new(Mutex::new(0usize));
    mock!(aws_sdk_ec2::Client::describe_instances).then_compute_output(move |req| {
        let page = req
            .next_token()
            .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
        *served.lock().unwrap() += 1;
        let mut reservation = Reservation::builder();
        for id in &pages[page] {
            reservation = reservation.instances(
                aws_sdk_ec2::types::Instance::builder()
                    .instance_id(id)
                    .instance_type(InstanceType::M5Large)
                    .state(
                        InstanceState::builder()
                            .name(InstanceStateName::Running)
                            .build(),
                    )
                    .launch_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
                    .tags(Tag::builder().key("team").value("web").build())
                    .build(),
            );
        }
        let next = (page + 1 < pages.len()).then(|| format!("page-{}", page + 1));
        DescribeInstancesOutput::builder()
            .reservations(reservation.build())
            .set_next_token(next)
            .build()
    })
}

/// Config remembers earlier results for these resource ids.
fn previously(ids: &[&str]) -> Rule {
    mocks::previously(
        "ec2-cost-context",
        RESOURCE_TYPE,
        &ComplianceType::NonCompliant,
        ids,
    )
}

fn put_evaluations(batches: &Batches) -> Rule {
    mocks::put_evaluations("token-1", batches)
}

#[tokio::test]
async fn n_findings_take_ceil_n_over_100_put_evaluations_calls_and_vanished_instances_are_not_applicable()
 {
    let describe = describe_pages(250, 100);
    let ec2 = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&describe);
    let batches = Batches::default();
    let (history, put) = (previously(&["i-gone"]), put_evaluations(&batches));
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
    let edge = Edge::with_config_client(sdk_config(), config).with_interceptor(ec2);

    let evaluations = entry()
        .handle(
            scheduled_event(&json!({"maxSpendUsd": "50"})),
            &edge,
            Mode::Put,
        )
        .await
        .unwrap();

    assert_eq!(describe.num_calls(), 3, "every DescribeInstances page read");
    assert_eq!(
        evaluations.len(),
        251,
        "250 instances and one that vanished"
    );
    assert_eq!(put.num_calls(), 251_usize.div_ceil(100));
    assert_eq!(*batches.lock().unwrap(), [100, 100, 51]);
    let gone = evaluations
        .iter()
        .find(|e| e.compliance_resource_id == "i-gone")
        .unwrap();
    assert_eq!(gone.compliance_type, Compliance::NotApplicable);
    assert_eq!(
        gone.annotation.as_ref().unwrap().as_str(),
        "resource no longer exists"
    );
    let first = &evaluations[0];
    assert_eq!(first.compliance_type, Compliance::NonCompliant);
    assert_eq!(
        first.annotation.as_ref().unwrap().as_str(),
        "m5.large running 730 h since 2026-01-01T00:00Z at $0.096/h: est. $70.08 > budget $50.00"
    );
    let now: DateTime<Utc> = NOW.parse().unwrap();
    assert!(
        evaluations.iter().all(|e| e.ordering_timestamp == now),
        "ordered by the notification time"
    );
}

#[tokio::test]
async fn invalid_parameters_fail_naming_the_parameter_and_nothing_is_read_or_put() {
    for (parameters, named) in [
        (
            json!({"maxSpendUsd": "a lot"}),
            "invalid parameter `maxSpendUsd`",
        ),
        (
            json!({"maxSpendUsd": "50", "priceOverrides": "{\"m5.large\": \"x\"}"}),
            "invalid parameter `priceOverrides`",
        ),
        (
            json!({"maxSpendUsd": "50", "budgetUsd": "50"}),
            "invalid parameter `budgetUsd`",
        ),
    ] {
        let describe = describe_pages(1, 1);
        let ec2 = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&describe);
        let batches = Batches::default();
        let (history, put) = (previously(&[]), put_evaluations(&batches));
        let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
        let edge = Edge::with_config_client(sdk_config(), config).with_interceptor(ec2);

        let err = entry()
            .handle(scheduled_event(&parameters), &edge, Mode::Put)
            .await
            .unwrap_err();

        assert_eq!(err.kind(), "InvalidParameter");
        assert!(err.to_string().starts_with(named), "{err}");
        assert_eq!(describe.num_calls(), 0, "{named}: no AWS read");
        assert_eq!(put.num_calls(), 0, "{named}: no evaluation put");
    }
}

#[tokio::test]
async fn the_exemption_registry_and_a_dry_run_put_nothing_but_still_decide() {
    let describe = describe_pages(2, 100);
    let ec2 = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&describe);
    let batches = Batches::default();
    let (history, put) = (previously(&[]), put_evaluations(&batches));
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
    let edge = Edge::with_config_client(sdk_config(), config).with_interceptor(ec2);
    let registry = json!({"i-00000000000000001": "ec2-cost-context; until=2026-03-31; reason=load test; owner=perf-team"});

    let evaluations = entry()
        .handle(
            scheduled_event(&json!({"maxSpendUsd": "50", "exemptions": registry.to_string()})),
            &edge,
            Mode::DryRun,
        )
        .await
        .unwrap();

    assert_eq!(put.num_calls(), 0);
    let kinds: Vec<Compliance> = evaluations.iter().map(|e| e.compliance_type).collect();
    assert_eq!(kinds, [Compliance::NonCompliant, Compliance::NotApplicable]);
    assert_eq!(
        evaluations[1].annotation.as_ref().unwrap().as_str(),
        "exempt until 2026-03-31 (exemption registry, owner perf-team): load test"
    );
}
