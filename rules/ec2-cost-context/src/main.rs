#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let rule = ec2_cost_context::Ec2CostContext::new();
    config_rule_sdk::runtime::run_periodic(rule, ec2_cost_context::RULE_TOML).await
}
