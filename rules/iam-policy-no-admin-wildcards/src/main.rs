#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    config_rule_sdk::runtime::run(
        iam_policy_no_admin_wildcards::IamPolicyNoAdminWildcards,
        iam_policy_no_admin_wildcards::RULE_TOML,
    )
    .await
}
