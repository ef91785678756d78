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

/// The input Config's remediation gives the document, as the rendered `Remediation` resource
/// maps `rule.toml`'s `[remediation.parameters]` (`deployer/src/render.rs`,
/// `templates/rule.yaml.tera`): `RESOURCE_ID`; `param:A` (left out when A is empty, so the
/// document's default applies); `param:A or VALUE if B` (VALUE when A is empty and B is not);
/// `first:A`, the first item of a comma list; or a literal.
pub fn document_input(
    mapping: &std::collections::BTreeMap<String, String>,
    stored: &std::collections::BTreeMap<String, String>,
    resource_id: &str,
) -> std::collections::BTreeMap<String, String> {
    let set = |name: &str| stored.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let mut input = std::collections::BTreeMap::new();
    for (name, source) in mapping {
        let value = if source == "RESOURCE_ID" {
            Some(resource_id.to_owned())
        } else if let Some(rest) = source.strip_prefix("param:") {
            match rest.split_once(" or ") {
                Some((own, tail)) => {
                    let (literal, condition) = tail.split_once(" if ").expect("VALUE if B");
                    set(own.trim())
                        .or_else(|| set(condition.trim()).map(|_| literal.trim().to_owned()))
                }
                None => set(rest),
            }
        } else if let Some(list) = source.strip_prefix("first:") {
            set(list).and_then(|l| {
                l.split(',')
                    .map(str::trim)
                    .find(|s| !s.is_empty())
                    .map(str::to_owned)
            })
        } else {
            Some(source.clone())
        };
        if let Some(value) = value {
            input.insert(name.clone(), value);
        }
    }
    input
}
