//! ec2-cost-context end to end: instances of cheap, expensive and unpriced types in an account,
//! the periodic rule stored in Config, the scheduled event Config would send, the handler run
//! in-process against the emulator, and Config's verdict read back.
//!
//! What the emulator reports, and this test relies on: EC2 instances are metadata only, go
//! from `pending` to `running` on their own, and report one fixed `LaunchTime` (2024-01-01
//! when this was written). The test reads the launch time the emulator reports and sets the
//! notification time 730 hours after it, so the estimates are exact whatever that time is.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use chrono::{DateTime, Duration, Utc};
use config_rule_sdk::Entry;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use ec2_cost_context::RULE_TOML;
use workspace_tests::config_service::events::scheduled_event;
use workspace_tests::config_service::{ConfigService, DeployedRule, ResourceCompliance};
use workspace_tests::emulator::{Account, Emulator};

/// Stores a periodic custom Lambda rule the way the deployer's template declares one (scheduled
/// notifications at the frequency of `rule.toml`) and returns it as events name it.
pub(crate) async fn store_periodic_rule(
    account: &Account,
    meta: &RuleMeta,
    parameters: &BTreeMap<String, String>,
) -> DeployedRule {
    ConfigService::new(account)
        .put_periodic_lambda_rule(meta, parameters)
        .await
        .unwrap()
}

/// Sends `rule` the scheduled event Config would send at `now`, runs the handler against the
/// emulator with `Mode::Put`, and returns what Config then reports, by resource id.
pub(crate) async fn run_periodic(
    account: &Account,
    entry: &Entry,
    deployed: &DeployedRule,
    now: DateTime<Utc>,
) -> BTreeMap<String, ResourceCompliance> {
    let event = scheduled_event(deployed, &account.id, now);
    let edge = Edge::from_config(account.config.clone());
    let meta = entry.meta();
    entry
        .handle(event, &edge, Mode::Put)
        .await
        .unwrap_or_else(|e| panic!("{} failed: {e}", meta.name));
    ConfigService::new(account)
        .compliance_by_resource(&meta.name)
        .await
        .unwrap()
}

async fn launch(ec2: &aws_sdk_ec2::Client, kind: &str) -> String {
    let out = ec2
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(InstanceType::from(kind))
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value(kind).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_owned()
}

/// The latest `LaunchTime` the emulator reports for `ids`.
async fn reported_launch(ec2: &aws_sdk_ec2::Client, ids: &[&str]) -> DateTime<Utc> {
    let out = ec2
        .describe_instances()
        .set_instance_ids(Some(ids.iter().map(|s| (*s).to_owned()).collect()))
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
        .map(|i| {
            let t = i.launch_time().expect("the emulator reports a LaunchTime");
            DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap()
        })
        .max()
        .unwrap()
}

fn annotation(r: &ResourceCompliance) -> &str {
    r.annotation.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn config_reports_each_running_instance_by_its_estimated_spend() {
    let emulator = Emulator::from_env();
    // An account of its own: the rule's results are exactly this test's instances.
    let account = emulator.new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let cheap = launch(&ec2, "t3.nano").await;
    let expensive = launch(&ec2, "m5.large").await;
    let unpriced = launch(&ec2, "p5.48xlarge").await;
    let stopped = launch(&ec2, "c5.large").await;
    ec2.stop_instances()
        .instance_ids(&stopped)
        .send()
        .await
        .unwrap();
    let launched = reported_launch(&ec2, &[&cheap, &expensive, &unpriced, &stopped]).await;
    let now = launched + Duration::hours(730);

    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let parameters = BTreeMap::from([("maxSpendUsd".to_owned(), "50".to_owned())]);
    let deployed = store_periodic_rule(&account, &meta, &parameters).await;
    let results = run_periodic(&account, &ec2_cost_context::entry(), &deployed, now).await;

    let mut ids = vec![&cheap, &expensive, &unpriced, &stopped];
    ids.sort();
    assert_eq!(results.keys().collect::<Vec<_>>(), ids, "{results:?}");
    let since = launched.format("%Y-%m-%dT%H:%MZ");
    assert_eq!(results[&cheap].compliance, "COMPLIANT", "{results:?}");
    assert_eq!(
        annotation(&results[&cheap]),
        format!("t3.nano running 730 h since {since} at $0.0052/h: est. $3.80 <= budget $50.00")
    );
    assert_eq!(results[&expensive].compliance, "NON_COMPLIANT");
    assert_eq!(
        annotation(&results[&expensive]),
        format!("m5.large running 730 h since {since} at $0.096/h: est. $70.08 > budget $50.00")
    );
    assert_eq!(results[&unpriced].compliance, "NON_COMPLIANT");
    assert!(
        annotation(&results[&unpriced])
            .starts_with("no price for type p5.48xlarge; add it with priceOverrides"),
        "{:?}",
        results[&unpriced]
    );
    assert_eq!(results[&stopped].compliance, "NOT_APPLICABLE");
    assert!(
        annotation(&results[&stopped]).starts_with("c5.large is stopped"),
        "{:?}",
        results[&stopped]
    );
}

#[tokio::test]
async fn a_price_override_an_exemption_tag_and_a_terminated_instance_on_a_later_run() {
    let emulator = Emulator::from_env();
    let account = emulator.new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let gpu = launch(&ec2, "p5.48xlarge").await;
    let exempt = launch(&ec2, "r6i.32xlarge").await;
    let temporary = launch(&ec2, "m5.large").await;
    let launched = reported_launch(&ec2, &[&gpu, &exempt, &temporary]).await;
    // Within the rule's 90 days of the runs below, which are timed from the launch.
    let until = (launched + Duration::days(60)).date_naive();
    ec2.create_tags()
        .resources(&exempt)
        .tags(
            Tag::builder()
                .key("custos:exempt")
                .value(format!(
                    "ec2-cost-context; until={until}; reason=reserved capacity; owner=data-team"
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let parameters = BTreeMap::from([
        ("maxSpendUsd".to_owned(), "500".to_owned()),
        (
            "priceOverrides".to_owned(),
            r#"{"p5.48xlarge": 98.32}"#.to_owned(),
        ),
    ]);
    let deployed = store_periodic_rule(&account, &meta, &parameters).await;

    let first = run_periodic(
        &account,
        &ec2_cost_context::entry(),
        &deployed,
        launched + Duration::hours(2),
    )
    .await;
    assert_eq!(first[&gpu].compliance, "COMPLIANT", "{first:?}");
    assert!(
        annotation(&first[&gpu])
            .contains("at $98.32/h (priceOverrides): est. $196.64 <= budget $500.00"),
        "{first:?}"
    );
    assert_eq!(first[&exempt].compliance, "NOT_APPLICABLE");
    assert_eq!(
        annotation(&first[&exempt]),
        format!("exempt until {until} (tag custos:exempt, owner data-team): reserved capacity")
    );
    assert_eq!(first[&temporary].compliance, "COMPLIANT");

    ec2.terminate_instances()
        .instance_ids(&temporary)
        .send()
        .await
        .unwrap();
    let second = run_periodic(
        &account,
        &ec2_cost_context::entry(),
        &deployed,
        launched + Duration::hours(10),
    )
    .await;
    assert_eq!(second[&gpu].compliance, "NON_COMPLIANT", "{second:?}");
    assert!(
        annotation(&second[&gpu]).contains("est. $983.20 > budget $500.00"),
        "{second:?}"
    );
    // The emulator still lists terminated instances, as AWS does for about an hour; whether
    // listed as terminated or gone, the instance is no longer estimated.
    assert_eq!(
        second[&temporary].compliance, "NOT_APPLICABLE",
        "{second:?}"
    );
}
