//! `AWS::S3::Bucket` items.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::{Region, SdkConfig};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, ServerSideEncryptionConfiguration};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Envelope, item};

/// The error codes S3 answers with when a bucket has no such configuration.
const NO_ENCRYPTION: &str = "ServerSideEncryptionConfigurationNotFoundError";
const NO_TAGS: &str = "NoSuchTagSet";

/// The item Config would record for bucket `name` of `account_id` now.
///
/// `supplementaryConfiguration.ServerSideEncryptionConfiguration` is present only when the bucket
/// has a default encryption configuration.
pub async fn s3_bucket(config: &SdkConfig, account_id: &str, name: &str) -> Result<Value> {
    let s3 = aws_sdk_s3::Client::new(config);
    let listed = listed_bucket(&s3, name).await?;
    let region = bucket_region(&s3, name).await?;
    // Bucket sub-resources are read in the bucket's own region, as AWS requires.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .region(Region::new(region.clone()))
            .build(),
    );

    let mut supplementary = Map::new();
    if let Some(encryption) = encryption(&s3, name).await? {
        supplementary.insert("ServerSideEncryptionConfiguration".into(), encryption);
    }
    let configuration = json!({
        "name": name,
        "owner": { "displayName": listed.owner_name, "id": listed.owner_id },
        "creationDate": listed.creation_date.map(super::timestamp),
    });
    let envelope = Envelope {
        account_id: account_id.to_owned(),
        region,
        resource_type: "AWS::S3::Bucket",
        resource_id: name.to_owned(),
        resource_name: Some(name.to_owned()),
        arn: format!("arn:aws:s3:::{name}"),
        availability_zone: Some("Regional".into()),
        resource_creation_time: listed.creation_date,
        capture_time: crate::now(),
    };
    Ok(item(
        &envelope,
        &configuration,
        &supplementary,
        &tags(&s3, name).await?,
    ))
}

/// What `ListBuckets` says about a bucket: the only API that gives its creation date.
struct ListedBucket {
    creation_date: Option<DateTime<Utc>>,
    owner_id: Option<String>,
    owner_name: Option<String>,
}

async fn listed_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<ListedBucket> {
    let mut pages = s3.list_buckets().prefix(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.context("ListBuckets")?;
        if let Some(bucket) = page.buckets().iter().find(|b| b.name() == Some(name)) {
            let owner = page.owner();
            return Ok(ListedBucket {
                creation_date: bucket
                    .creation_date()
                    .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                owner_id: owner.and_then(|o| o.id().map(str::to_owned)),
                owner_name: owner.and_then(|o| o.display_name().map(str::to_owned)),
            });
        }
    }
    anyhow::bail!("bucket {name} is not in ListBuckets")
}

/// `GetBucketLocation` answers nothing for us-east-1 and `EU` for the oldest eu-west-1 buckets.
async fn bucket_region(s3: &aws_sdk_s3::Client, name: &str) -> Result<String> {
    let location = s3
        .get_bucket_location()
        .bucket(name)
        .send()
        .await
        .context("GetBucketLocation")?;
    let region = match location
        .location_constraint()
        .map(BucketLocationConstraint::as_str)
    {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(other) => other,
    };
    Ok(region.to_owned())
}

async fn encryption(s3: &aws_sdk_s3::Client, name: &str) -> Result<Option<Value>> {
    match s3.get_bucket_encryption().bucket(name).send().await {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .map(encryption_json)),
        Err(e) if e.code() == Some(NO_ENCRYPTION) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("GetBucketEncryption {name}")),
    }
}

/// The S3 API's encryption configuration with Config's (camelCase) key names.
fn encryption_json(config: &ServerSideEncryptionConfiguration) -> Value {
    let rules: Vec<Value> = config
        .rules()
        .iter()
        .map(|rule| {
            let default = rule.apply_server_side_encryption_by_default().map(|d| {
                json!({
                    "sseAlgorithm": d.sse_algorithm().as_str(),
                    "kmsMasterKeyID": d.kms_master_key_id(),
                })
            });
            json!({
                "applyServerSideEncryptionByDefault": default,
                "bucketKeyEnabled": rule.bucket_key_enabled().unwrap_or(false),
            })
        })
        .collect();
    json!({ "rules": rules })
}

async fn tags(s3: &aws_sdk_s3::Client, name: &str) -> Result<BTreeMap<String, String>> {
    match s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect()),
        Err(e) if e.code() == Some(NO_TAGS) => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("GetBucketTagging {name}")),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionRule,
    };

    use super::*;

    #[test]
    fn encryption_uses_config_key_names() {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id("arn:aws:kms:us-east-1:111122223333:key/k")
            .build()
            .unwrap();
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .build(),
            )
            .build()
            .unwrap();
        assert_eq!(
            encryption_json(&config),
            json!({"rules": [{
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": "aws:kms",
                    "kmsMasterKeyID": "arn:aws:kms:us-east-1:111122223333:key/k",
                },
                "bucketKeyEnabled": false,
            }]})
        );
    }
}
