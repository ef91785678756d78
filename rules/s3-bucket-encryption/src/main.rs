use s3_bucket_encryption::{RULE_TOML, S3BucketEncryption, remediation::EnableDefaultEncryption};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::runtime::run_remediating(
        S3BucketEncryption,
        EnableDefaultEncryption,
        RULE_TOML,
    )
    .await
}
