//! iam-policy-no-admin-wildcards end to end: managed policies, a role, a user and a group in an
//! account, items recorded from their live IAM state, the rule run as Config would run it, and
//! Config's verdicts read back.

use std::collections::BTreeMap;

use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use iam_policy_no_admin_wildcards::RULE_TOML;
use iam_policy_no_admin_wildcards::policy::{self, Document};
use serde_json::{Value, json};
use workspace_tests::config_service::{ConfigService, ResourceCompliance, function_arn};
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::recorder::iam;

const FORBIDDEN: &str = "iam:*,organizations:LeaveOrganization";

fn admin() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}
    ]})
}

fn read_only() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadBuckets", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}
    ]})
}

/// Creates a managed policy whose versions are `documents`, the last one the default; returns
/// its ARN and id.
async fn managed_policy(
    iam: &aws_sdk_iam::Client,
    name: &str,
    documents: &[Value],
) -> (String, String) {
    let (first, rest) = documents.split_first().expect("at least one version");
    let policy = iam
        .create_policy()
        .policy_name(name)
        .policy_document(first.to_string())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let arn = policy.arn().unwrap().to_owned();
    for document in rest {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(document.to_string())
            .set_as_default(true)
            .send()
            .await
            .unwrap();
    }
    (arn, policy.policy_id().unwrap().to_owned())
}

/// A role anyone may assume (a trust policy, which the rule does not read), with an inline
/// policy allowing `iam:PassRole` and `attached` attached; returns its id.
async fn role_with_inline_policy(iam: &aws_sdk_iam::Client, name: &str, attached: &str) -> String {
    let trust_anyone = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    ]});
    let role = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust_anyone.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    iam.put_role_policy()
        .role_name(name)
        .policy_name("pipeline")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "Pipeline", "Effect": "Allow",
                "Action": ["codebuild:StartBuild", "iam:PassRole"], "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    // Attached managed policies are judged as their own items, not with the role.
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(attached)
        .send()
        .await
        .unwrap();
    role.role_id().to_owned()
}

/// A user with a read-only inline policy; returns its id.
async fn user_with_inline_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let user = iam
        .create_user()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("read")
        .policy_document(read_only().to_string())
        .send()
        .await
        .unwrap();
    user.user_id().to_owned()
}

/// A group whose inline policy allows `organizations:*` (one statement, not in a list);
/// returns its id.
async fn group_with_inline_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let group = iam
        .create_group()
        .group_name(name)
        .send()
        .await
        .unwrap()
        .group
        .unwrap();
    iam.put_group_policy()
        .group_name(name)
        .policy_name("org-tools")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
                "Action": "organizations:*", "Resource": "*"}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    group.group_id().to_owned()
}

/// The rule stored in Config with `forbiddenActions`, run on each item; what Config reports.
async fn evaluate(account: &Account, items: &[Value]) -> BTreeMap<String, ResourceCompliance> {
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let config = ConfigService::new(account);
    let parameters = BTreeMap::from([("forbiddenActions".to_owned(), FORBIDDEN.to_owned())]);
    let rule = config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&account.id, &meta.name),
            &meta.resource_types,
            &parameters,
        )
        .await
        .unwrap();
    for item in items {
        config
            .run_change_rule(
                &iam_policy_no_admin_wildcards::entry(),
                &rule,
                item,
                Mode::Put,
            )
            .await
            .unwrap();
    }
    config.compliance_by_resource(&meta.name).await.unwrap()
}

fn assert_result(
    results: &BTreeMap<String, ResourceCompliance>,
    id: &str,
    compliance: &str,
    annotation: &str,
) {
    let result = results
        .get(id)
        .unwrap_or_else(|| panic!("Config has no result for {id}: {results:?}"));
    assert_eq!(result.compliance, compliance, "{id}: {result:?}");
    assert_eq!(result.annotation.as_deref(), Some(annotation), "{id}");
}

#[tokio::test]
async fn config_reports_admin_and_forbidden_grants_and_passes_the_rest() {
    let emulator = Emulator::from_env();
    // An account of its own, so the rule's results are exactly this test's resources.
    let account = emulator.new_account().await.unwrap();
    let client = aws_sdk_iam::Client::new(&account.config);

    let (admin_arn, admin_id) = managed_policy(&client, "ops-admin", &[admin()]).await;
    let (read_arn, read_id) = managed_policy(&client, "ops-readonly", &[read_only()]).await;
    // The admin version is kept but is no longer the default.
    let (fixed_arn, fixed_id) = managed_policy(&client, "ops-fixed", &[admin(), read_only()]).await;

    let role_id = role_with_inline_policy(&client, "ci-runner", &admin_arn).await;
    let user_id = user_with_inline_policy(&client, "analyst").await;
    let group_id = group_with_inline_policy(&client, "org-admins").await;

    let items = vec![
        iam::iam_policy(&account.config, &account.id, &admin_arn)
            .await
            .unwrap(),
        iam::iam_policy(&account.config, &account.id, &read_arn)
            .await
            .unwrap(),
        iam::iam_policy(&account.config, &account.id, &fixed_arn)
            .await
            .unwrap(),
        iam::iam_role(&account.config, &account.id, "ci-runner")
            .await
            .unwrap(),
        iam::iam_user(&account.config, &account.id, "analyst")
            .await
            .unwrap(),
        iam::iam_group(&account.config, &account.id, "org-admins")
            .await
            .unwrap(),
    ];
    let results = Box::pin(evaluate(&account, &items)).await;

    assert_eq!(results.len(), 6, "one result per resource: {results:?}");
    assert_result(
        &results,
        &admin_id,
        "NON_COMPLIANT",
        "policy ops-admin statement \"AllowAll\" allows * on *",
    );
    assert_result(
        &results,
        &read_id,
        "COMPLIANT",
        "policy ops-readonly, default version v1, allows neither * on * nor a forbidden action",
    );
    assert_result(
        &results,
        &fixed_id,
        "COMPLIANT",
        "policy ops-fixed, default version v2, allows neither * on * nor a forbidden action",
    );
    assert_result(
        &results,
        &role_id,
        "NON_COMPLIANT",
        "inline policy pipeline statement \"Pipeline\" allows iam:PassRole (forbidden: iam:*)",
    );
    assert_result(
        &results,
        &user_id,
        "COMPLIANT",
        "1 inline policy allows neither * on * nor a forbidden action; \
         attached managed policies are evaluated as AWS::IAM::Policy items",
    );
    assert_result(
        &results,
        &group_id,
        "NON_COMPLIANT",
        "inline policy org-tools statement #1 allows organizations:* \
         (forbidden: organizations:LeaveOrganization)",
    );
}

#[tokio::test]
async fn recorded_iam_items_have_configs_shape_and_iams_encoded_documents() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let client = aws_sdk_iam::Client::new(&account.config);
    let (arn, id) = managed_policy(&client, "versions", &[admin(), read_only()]).await;
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]});
    // A `+` and a space in a value: IAM encodes them as %2B and %20.
    let inline = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/a+b c/*"}]});
    client
        .create_role()
        .role_name("app")
        .assume_role_policy_document(trust.to_string())
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_role_policy()
        .role_name("app")
        .policy_name("reports")
        .policy_document(inline.to_string())
        .send()
        .await
        .unwrap();

    let policy_item = iam::iam_policy(&account.config, &account.id, &arn)
        .await
        .unwrap();
    assert_eq!(policy_item["resourceType"], "AWS::IAM::Policy");
    assert_eq!(policy_item["resourceId"], id);
    assert_eq!(policy_item["resourceName"], "versions");
    assert_eq!(policy_item["ARN"], arn);
    assert_eq!(policy_item["awsRegion"], "global");
    assert_eq!(policy_item["availabilityZone"], "Not Applicable");
    let versions = policy_item["configuration"]["policyVersionList"]
        .as_array()
        .unwrap();
    assert_eq!(versions.len(), 2, "{policy_item:#}");
    for (version, expected) in versions.iter().zip([admin(), read_only()]) {
        let encoded = version["document"].as_str().unwrap();
        assert!(
            encoded.starts_with("%7B"),
            "URL-encoded, as IAM returns it: {encoded}"
        );
        assert_eq!(
            policy::decode(&version["document"]).unwrap(),
            Document::from_json(&expected).unwrap()
        );
    }
    let defaults: Vec<&Value> = versions
        .iter()
        .filter(|v| v["isDefaultVersion"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(
        defaults[0]["versionId"],
        policy_item["configuration"]["defaultVersionId"]
    );

    let role_item = iam::iam_role(&account.config, &account.id, "app")
        .await
        .unwrap();
    assert_eq!(role_item["resourceType"], "AWS::IAM::Role");
    assert_eq!(role_item["resourceName"], "app");
    assert!(
        role_item["resourceId"]
            .as_str()
            .unwrap()
            .starts_with("AROA"),
        "{role_item:#}"
    );
    assert_eq!(role_item["tags"], json!({"team": "web"}));
    assert_eq!(
        role_item["configuration"]["tags"],
        json!([{"key": "team", "value": "web"}])
    );
    let configuration = &role_item["configuration"];
    let trust_recorded = configuration["assumeRolePolicyDocument"].as_str().unwrap();
    assert!(
        trust_recorded.starts_with("%7B") && trust_recorded.contains("sts%3AAssumeRole"),
        "{trust_recorded}"
    );
    let inline_policies = configuration["rolePolicyList"].as_array().unwrap();
    assert_eq!(inline_policies.len(), 1);
    assert_eq!(inline_policies[0]["policyName"], "reports");
    let document = inline_policies[0]["policyDocument"].as_str().unwrap();
    assert!(
        document.contains("%2B") && document.contains("%20"),
        "{document}"
    );
    assert_eq!(
        policy::decode(&inline_policies[0]["policyDocument"]).unwrap(),
        Document::from_json(&inline).unwrap()
    );
}
