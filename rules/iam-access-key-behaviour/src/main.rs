#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::serve(iam_access_key_behaviour::entry()).await
}
