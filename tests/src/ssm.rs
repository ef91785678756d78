//! SSM Automation, played by the harness: the emulator records automation executions but never
//! runs them, so remediation documents' steps are carried out here the way SSM would.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

/// `AWS-EnableS3BucketEncryption`: its one step, `PutBucketEncryption` with `SSEAlgorithm`
/// (the document's default is `AES256`) and, for `aws:kms`, `KMSMasterKey`.
pub async fn enable_s3_bucket_encryption(
    config: &SdkConfig,
    bucket_name: &str,
    sse_algorithm: Option<&str>,
    kms_master_key: Option<&str>,
) -> Result<()> {
    let algorithm = sse_algorithm.unwrap_or("AES256");
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm))
        .set_kms_master_key_id(
            kms_master_key
                .filter(|_| algorithm.starts_with("aws:kms"))
                .map(str::to_owned),
        )
        .build()?;
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()?;
    aws_sdk_s3::Client::new(config)
        .put_bucket_encryption()
        .bucket(bucket_name)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .with_context(|| format!("AWS-EnableS3BucketEncryption on {bucket_name}"))?;
    Ok(())
}
