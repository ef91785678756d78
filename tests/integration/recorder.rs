//! Items the recorder builds from live S3 state carry what AWS Config would put in them.

use aws_config::Region;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use serde_json::json;
use workspace_tests::emulator::Emulator;
use workspace_tests::{recorder, unique_name};

#[tokio::test]
async fn an_unencrypted_bucket_is_recorded_without_encryption_configuration() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name("custos-recorder");
    s3.create_bucket().bucket(&name).send().await.unwrap();

    let item = recorder::s3_bucket(&account.config, &account.id, &name)
        .await
        .unwrap();

    assert_eq!(item["resourceType"], "AWS::S3::Bucket");
    assert_eq!(item["resourceId"], name);
    assert_eq!(item["resourceName"], name);
    assert_eq!(item["ARN"], format!("arn:aws:s3:::{name}"));
    assert_eq!(item["awsAccountId"], account.id);
    assert_eq!(item["awsRegion"], "us-east-1");
    assert_eq!(item["configurationItemStatus"], "OK");
    assert_eq!(item["configuration"]["name"], name);
    assert!(
        item["configuration"]["creationDate"].is_string(),
        "{item:#}"
    );
    assert_eq!(item["supplementaryConfiguration"], json!({}), "{item:#}");
    assert_eq!(item["tags"], json!({}));
}

#[tokio::test]
async fn an_encrypted_tagged_bucket_is_recorded_with_configs_key_names() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name("custos-recorder");
    let key = "arn:aws:kms:us-east-1:111122223333:key/abcd";
    s3.create_bucket().bucket(&name).send().await.unwrap();
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(key)
        .build()
        .unwrap();
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(true)
        .build();
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(&name)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .unwrap();
    let tag = Tag::builder().key("team").value("storage").build().unwrap();
    s3.put_bucket_tagging()
        .bucket(&name)
        .tagging(Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .unwrap();

    let item = recorder::s3_bucket(&account.config, &account.id, &name)
        .await
        .unwrap();

    assert_eq!(
        item["supplementaryConfiguration"]["ServerSideEncryptionConfiguration"],
        json!({"rules": [{
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyID": key},
            "bucketKeyEnabled": true,
        }]})
    );
    assert_eq!(item["tags"], json!({"team": "storage"}));
}

#[tokio::test]
async fn a_bucket_is_recorded_in_its_own_region() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let config = account
        .config
        .to_builder()
        .region(Region::new("eu-west-1"))
        .build();
    let s3 = aws_sdk_s3::Client::new(&config);
    let name = unique_name("custos-recorder");
    let location = CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::EuWest1)
        .build();
    s3.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(location)
        .send()
        .await
        .unwrap();

    // Recorded through a client of the harness's default region, as a central recorder would.
    let item = recorder::s3_bucket(&account.config, &account.id, &name)
        .await
        .unwrap();

    assert_eq!(item["awsRegion"], "eu-west-1");
}
