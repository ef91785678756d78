//! The loop of a change-triggered rule, end to end: resources in an account, the rule stored in
//! Config, items recorded from live state, the handler run as Config would run it, and the
//! results read back from Config.

use std::collections::BTreeMap;

use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use s3_bucket_encryption::RULE_TOML;
use workspace_tests::config_service::{ConfigService, ResourceCompliance, function_arn};
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::s3::put_default_encryption;
use workspace_tests::{recorder, unique_name};

const KMS_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

async fn create_bucket(account: &Account, sse_kms_key: Option<&str>) -> String {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name("custos-test");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    if let Some(key) = sse_kms_key {
        put_default_encryption(&s3, &name, "aws:kms", Some(key))
            .await
            .unwrap();
    }
    name
}

/// Stores the rule with `parameters`, runs it on each bucket, and returns what Config reports.
async fn evaluate_buckets(
    account: &Account,
    parameters: &BTreeMap<String, String>,
    buckets: &[&str],
) -> BTreeMap<String, ResourceCompliance> {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let config = ConfigService::new(account);
    let rule = config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&account.id, &meta.name),
            &meta.resource_types,
            parameters,
        )
        .await
        .unwrap();
    for bucket in buckets {
        let item = recorder::s3_bucket(&account.config, &account.id, bucket)
            .await
            .unwrap();
        config
            .run_change_rule(&s3_bucket_encryption::entry(), &rule, &item, Mode::Put)
            .await
            .unwrap();
    }
    config.compliance_by_resource(&meta.name).await.unwrap()
}

#[tokio::test]
async fn config_reports_each_bucket_by_its_default_encryption() {
    let emulator = Emulator::from_env();
    // An account of its own, so the rule's results are exactly this test's buckets.
    let account = emulator.new_account().await.unwrap();
    let plain = create_bucket(&account, None).await;
    let kms = create_bucket(&account, Some(KMS_KEY)).await;

    let results = Box::pin(evaluate_buckets(
        &account,
        &BTreeMap::new(),
        &[&plain, &kms],
    ))
    .await;

    let mut expected = vec![&plain, &kms];
    expected.sort();
    assert_eq!(results.keys().collect::<Vec<_>>(), expected, "{results:?}");
    let unencrypted = &results[&plain];
    assert_eq!(unencrypted.compliance, "NON_COMPLIANT");
    let why = unencrypted.annotation.as_deref().unwrap_or_default();
    assert!(
        why.to_lowercase().contains("no default encryption"),
        "annotation: {why}"
    );
    assert_eq!(results[&kms].compliance, "COMPLIANT", "{:?}", results[&kms]);
}

#[tokio::test]
async fn parameters_stored_with_the_rule_reach_the_handler() {
    let emulator = Emulator::from_env();
    let account = emulator.new_account().await.unwrap();
    let kms = create_bucket(&account, Some(KMS_KEY)).await;
    let sse_s3_only = BTreeMap::from([("sseAlgorithm".to_owned(), "AES256".to_owned())]);

    let results = Box::pin(evaluate_buckets(&account, &sse_s3_only, &[&kms])).await;

    let result = &results[&kms];
    assert_eq!(result.compliance, "NON_COMPLIANT", "{result:?}");
    let why = result.annotation.as_deref().unwrap_or_default();
    assert!(
        why.contains("aws:kms") && why.contains("AES256"),
        "annotation: {why}"
    );
}
