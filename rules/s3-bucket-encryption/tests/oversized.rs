//! An oversized notification: the rule fetches the bucket's item and judges it like any other.

use std::collections::BTreeMap;

use aws_sdk_config::types::{ConfigurationItem, ConfigurationItemStatus, ResourceType};
use config_rule_sdk::{Compliance, RuleMeta, testing};
use s3_bucket_encryption::{RULE_TOML, S3BucketEncryption};
use serde_json::json;

fn bucket_item(encryption: Option<&str>) -> ConfigurationItem {
    let mut supplementary = std::collections::HashMap::new();
    if let Some(algorithm) = encryption {
        let config =
            json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]});
        supplementary.insert(
            "ServerSideEncryptionConfiguration".to_owned(),
            config.to_string(),
        );
    }
    ConfigurationItem::builder()
        .account_id("123456789012")
        .aws_region("us-east-1")
        .resource_type(ResourceType::Bucket)
        .resource_id("huge-policy-bucket")
        .arn("arn:aws:s3:::huge-policy-bucket")
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .configuration_item_capture_time(aws_smithy_types_time())
        .configuration(json!({"name": "huge-policy-bucket"}).to_string())
        .set_supplementary_configuration(Some(supplementary))
        .build()
}

fn aws_smithy_types_time() -> aws_sdk_config::primitives::DateTime {
    aws_sdk_config::primitives::DateTime::from_secs(1_779_264_930)
}

#[tokio::test]
async fn an_oversized_bucket_is_fetched_and_judged() {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let kms = BTreeMap::from([("sseAlgorithm".to_owned(), json!("aws:kms"))]);

    let plain = testing::run_oversized(
        &S3BucketEncryption,
        &meta,
        &BTreeMap::new(),
        bucket_item(None),
    )
    .await
    .unwrap();
    assert_eq!(plain.compliance_type, Compliance::NonCompliant);
    assert_eq!(
        plain.ordering_timestamp.timestamp(),
        1_779_264_930,
        "ordered by the fetched item"
    );

    let aes = testing::run_oversized(
        &S3BucketEncryption,
        &meta,
        &kms,
        bucket_item(Some("AES256")),
    )
    .await
    .unwrap();
    assert_eq!(
        aes.annotation.unwrap().as_str(),
        "default encryption is AES256, required aws:kms"
    );

    let ok = testing::run_oversized(
        &S3BucketEncryption,
        &meta,
        &kms,
        bucket_item(Some("aws:kms")),
    )
    .await
    .unwrap();
    assert_eq!(ok.compliance_type, Compliance::Compliant);
}
