#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::runtime::run(
        vpc_creation_approved::VpcCreationApproved,
        vpc_creation_approved::RULE_TOML,
    )
    .await
}
