//! SSM Automation, played by the harness: the emulator records automation executions but never
//! runs them, so remediation documents' steps are carried out here the way SSM would.

use anyhow::{Context, Result};
use aws_config::SdkConfig;

/// `AWS-EnableS3BucketEncryption`: its one step, `PutBucketEncryption` with `SSEAlgorithm`
/// (the document's default is `AES256`) and, for `aws:kms`, `KMSMasterKey`.
pub async fn enable_s3_bucket_encryption(
    config: &SdkConfig,
    bucket_name: &str,
    sse_algorithm: Option<&str>,
    kms_master_key: Option<&str>,
) -> Result<()> {
    let algorithm = sse_algorithm.unwrap_or("AES256");
    let key = kms_master_key.filter(|_| algorithm.starts_with("aws:kms"));
    let s3 = aws_sdk_s3::Client::new(config);
    crate::s3::put_default_encryption(&s3, bucket_name, algorithm, key)
        .await
        .with_context(|| format!("AWS-EnableS3BucketEncryption on {bucket_name}"))
}
