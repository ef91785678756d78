//! An exemption that expires changes the verdict within a day, with no configuration change:
//! the daily scheduled run that the deployer gives change-triggered rules evaluates the exempt
//! resources again. The clock is the events' `notificationCreationTime`; nothing sleeps.
//!
//! The rule reads its last results and the bucket's latest item from the emulator's Config
//! (`GetComplianceDetailsByConfigRule`, `GetResourceConfigHistory`). The exemption is a registry
//! entry, not a tag, so the verdict does not depend on whether the emulator's recorded item
//! carries the bucket's tags.

use std::collections::BTreeMap;

use chrono::Duration;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::{Compliance, RuleMeta};
use s3_bucket_encryption::RULE_TOML;
use serde_json::json;
use workspace_tests::config_service::{ConfigService, events, function_arn};
use workspace_tests::emulator::Emulator;
use workspace_tests::{now, recorder, unique_name};

#[tokio::test]
async fn an_expired_exemption_becomes_a_verdict_on_the_daily_run_without_a_change() {
    let account = Emulator::from_env().new_account().await.unwrap();
    // Config records the account, so the rule can read the bucket's latest item.
    workspace_tests::demo::estate::record_configuration(&account)
        .await
        .unwrap();
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let config = ConfigService::new(&account);
    let name = unique_name("custos-expiry");
    aws_sdk_s3::Client::new(&account.config)
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let start = now();
    let until = (start + Duration::days(1)).date_naive();
    let registry = json!({
        &name: format!("s3-bucket-encryption; until={until}; reason=migration; owner=data"),
    });
    let rule = config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&account.id, &meta.name),
            &meta.resource_types,
            &BTreeMap::from([("exemptions".to_owned(), registry.to_string())]),
        )
        .await
        .unwrap();
    let edge = Edge::from_config(account.config.clone());
    let entry = s3_bucket_encryption::entry();
    let run = |event| entry.handle(event, &edge, Mode::Put);
    let scheduled = |at| events::scheduled_event(&rule, &account.id, at);
    let reported =
        || async { config.compliance_by_resource(&meta.name).await.unwrap()[&name].clone() };

    // The bucket is created: exempt.
    let item = recorder::s3_bucket(&account.config, &account.id, &name)
        .await
        .unwrap();
    let created = Box::pin(run(events::change_event(&rule, &account.id, &item, start)))
        .await
        .unwrap();
    assert_eq!(created[0].compliance_type, Compliance::NotApplicable);
    assert_eq!(reported().await.compliance, "NOT_APPLICABLE");

    // The daily run before the exemption's last day is over: still exempt, said again.
    let before = Box::pin(run(scheduled(start + Duration::hours(20))))
        .await
        .unwrap();
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].compliance_resource_id, name);
    assert_eq!(before[0].compliance_type, Compliance::NotApplicable);

    // Two days on, the bucket unchanged: the daily run reports it.
    let after = Box::pin(run(scheduled(start + Duration::days(2))))
        .await
        .unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        after[0].compliance_type,
        Compliance::NonCompliant,
        "{after:?}"
    );
    let annotation = after[0].annotation.as_ref().unwrap().as_str().to_owned();
    assert!(
        annotation.starts_with(&format!(
            "exemption expired {until} (exemption registry, owner data: migration), evaluated \
             normally; "
        )),
        "{annotation}"
    );
    let now_reported = reported().await;
    assert_eq!(now_reported.compliance, "NON_COMPLIANT");
    assert_eq!(
        now_reported.annotation.as_deref(),
        Some(annotation.as_str())
    );

    // Nothing left that time alone can change: the next daily run reads no item.
    let next = Box::pin(run(scheduled(start + Duration::days(3))))
        .await
        .unwrap();
    assert!(next.is_empty(), "{next:?}");
}
