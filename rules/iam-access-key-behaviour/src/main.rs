#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let rule = iam_access_key_behaviour::IamAccessKeyBehaviour::new();
    config_rule_sdk::runtime::run_periodic(rule, iam_access_key_behaviour::RULE_TOML).await
}
