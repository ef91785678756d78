#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::serve(s3_bucket_encryption::entry()).await
}
