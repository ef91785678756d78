//! S3 set-up the harness shares: a bucket's default encryption, as `PutBucketEncryption` sets it.

use anyhow::{Context, Result};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

/// Sets `bucket`'s default encryption to `algorithm` (`AES256`, `aws:kms`, ...), with
/// `kms_key` as its KMS master key when given.
pub async fn put_default_encryption(
    s3: &Client,
    bucket: &str,
    algorithm: &str,
    kms_key: Option<&str>,
) -> Result<()> {
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm))
        .set_kms_master_key_id(kms_key.map(str::to_owned))
        .build()?;
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .with_context(|| format!("PutBucketEncryption {bucket}"))?;
    Ok(())
}
