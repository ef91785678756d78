#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::runtime::run(
        s3_bucket_encryption::S3BucketEncryption,
        s3_bucket_encryption::RULE_TOML,
    )
    .await
}
