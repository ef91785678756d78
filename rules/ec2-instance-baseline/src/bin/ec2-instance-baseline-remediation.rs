#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec2_instance_baseline::remediation::lambda::run().await
}
