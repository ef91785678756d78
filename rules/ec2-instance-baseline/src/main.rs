#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::serve(ec2_instance_baseline::entry()).await
}
