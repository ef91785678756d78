#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::runtime::run(
        ec2_instance_baseline::Ec2InstanceBaseline,
        ec2_instance_baseline::RULE_TOML,
    )
    .await
}
