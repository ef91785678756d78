//! What the harness relies on the emulator for, checked against the running emulator. When a
//! new emulator release changes one of these, this file says which assumption broke.

use aws_sdk_cloudformation::types::{
    AutoDeployment, DeploymentTargets, PermissionModels, StackSetOperationStatus,
};
use aws_sdk_organizations::types::CreateAccountState;
use aws_sdk_sts::error::ProvideErrorMetadata;
use workspace_tests::emulator::Emulator;
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::unique_name;

fn unique_email() -> String {
    format!("{}@example.com", unique_name("member"))
}

#[tokio::test]
async fn create_account_is_asynchronous_and_polling_sees_it_through() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();
    let client = aws_sdk_organizations::Client::new(org.management_config());

    // As in AWS, the call only starts the creation...
    let started = client
        .create_account()
        .account_name("probe")
        .email(unique_email())
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.create_account_status.unwrap().state,
        Some(CreateAccountState::InProgress)
    );

    // ...and the harness waits for it to finish.
    let account_id = org.create_account("member", &unique_email()).await.unwrap();
    let accounts = client.list_accounts().send().await.unwrap();
    let listed = accounts
        .accounts()
        .iter()
        .find(|a| a.id() == Some(account_id.as_str()));
    assert!(listed.is_some(), "{account_id} not in {accounts:?}");
}

#[tokio::test]
async fn an_email_already_in_use_fails_account_creation_with_the_reason() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();
    let email = unique_email();
    org.create_account("first", &email).await.unwrap();

    let err = org
        .create_account("second", &email)
        .await
        .unwrap_err()
        .to_string();

    assert!(err.contains("EMAIL_ALREADY_EXISTS"), "{err}");
}

#[tokio::test]
async fn the_access_role_must_be_bootstrapped_before_it_can_be_assumed() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();
    let member = org.create_account("member", &unique_email()).await.unwrap();
    let sts = |config| aws_sdk_sts::Client::new(config);

    // Unlike AWS, CreateAccount leaves no role to assume...
    let before = org.assume_role(&member, ACCESS_ROLE).await.unwrap();
    let err = sts(&before).get_caller_identity().send().await.unwrap_err();
    assert!(format!("{err:?}").contains("AccessDenied"), "{err:?}");

    // ...so the harness creates it; then the management account acts in the member account.
    let arn = org
        .bootstrap_access_role(&member, ACCESS_ROLE)
        .await
        .unwrap();
    assert_eq!(arn, format!("arn:aws:iam::{member}:role/{ACCESS_ROLE}"));
    let assumed = org.assume_role(&member, ACCESS_ROLE).await.unwrap();
    let identity = sts(&assumed).get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account(), Some(member.as_str()));
    assert!(
        identity
            .arn()
            .unwrap_or_default()
            .contains(&format!("assumed-role/{ACCESS_ROLE}/")),
        "{identity:?}"
    );
}

#[tokio::test]
async fn a_member_created_in_one_call_acts_in_its_own_account() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();

    let member = org.create_member("workload").await.unwrap();

    let identity = aws_sdk_sts::Client::new(&member.config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(member.id.as_str()));
    assert_ne!(member.id, org.management_account_id);
}

#[tokio::test]
async fn the_access_role_admits_only_its_own_management_account() {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let member = org.create_account("member", &unique_email()).await.unwrap();
    org.bootstrap_access_role(&member, ACCESS_ROLE)
        .await
        .unwrap();

    let stranger = Organization::isolated(&emulator).await.unwrap();
    let config = stranger.assume_role(&member, ACCESS_ROLE).await.unwrap();
    let err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();

    assert!(format!("{err:?}").contains("AccessDenied"), "{err:?}");
}

#[tokio::test]
async fn each_account_keeps_its_own_config_rules() {
    let emulator = Emulator::from_env();
    let (first, second) = (
        emulator.new_account().await.unwrap(),
        emulator.new_account().await.unwrap(),
    );
    let rule = unique_name("probe-rule");
    let config = workspace_tests::config_service::ConfigService::new(&first);
    config
        .put_custom_lambda_rule(
            &rule,
            "arn:aws:lambda:us-east-1:111122223333:function:f",
            &[],
            &std::collections::BTreeMap::new(),
        )
        .await
        .unwrap();

    let seen_by_second = aws_sdk_config::Client::new(&second.config)
        .describe_config_rules()
        .config_rule_names(&rule)
        .send()
        .await;

    assert_eq!(config.deployed_rule(&rule).await.unwrap().name, rule);
    match seen_by_second {
        Ok(out) => assert!(out.config_rules().is_empty(), "{out:?}"),
        Err(e) => assert_eq!(e.code(), Some("NoSuchConfigRuleException"), "{e:?}"),
    }
}

#[tokio::test]
async fn trusted_access_enables_service_managed_stacksets() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();
    let member = org.create_account("member", &unique_email()).await.unwrap();
    let cfn = aws_sdk_cloudformation::Client::new(org.management_config());
    let template = r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#;
    let create = |name: String| {
        cfn.create_stack_set()
            .stack_set_name(name)
            .template_body(template)
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(false)
                    .build(),
            )
            .send()
    };

    let refused = create(unique_name("probe")).await.unwrap_err();
    assert_eq!(refused.code(), Some("ValidationError"), "{refused:?}");

    org.enable_stacksets_trusted_access().await.unwrap();
    let name = unique_name("probe");
    create(name.clone()).await.unwrap();
    let operation = cfn
        .create_stack_instances()
        .stack_set_name(&name)
        .deployment_targets(
            DeploymentTargets::builder()
                .organizational_unit_ids(&org.root_id)
                .build(),
        )
        .regions("us-east-1")
        .send()
        .await
        .unwrap()
        .operation_id
        .unwrap();
    let mut status = None;
    for _ in 0..100 {
        let out = cfn
            .describe_stack_set_operation()
            .stack_set_name(&name)
            .operation_id(&operation)
            .send()
            .await
            .unwrap();
        status = out.stack_set_operation.and_then(|o| o.status);
        if !matches!(
            status,
            Some(StackSetOperationStatus::Running | StackSetOperationStatus::Queued)
        ) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(StackSetOperationStatus::Succeeded));
    let instances = cfn
        .list_stack_instances()
        .stack_set_name(&name)
        .send()
        .await
        .unwrap();
    let accounts: Vec<_> = instances
        .summaries()
        .iter()
        .filter_map(|s| s.account())
        .collect();
    assert_eq!(
        accounts,
        [member.as_str()],
        "service-managed instances go to members only"
    );
}

#[tokio::test]
async fn an_account_moved_into_a_nested_ou_is_listed_there() {
    let org = Organization::isolated(&Emulator::from_env()).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "workloads").await.unwrap();
    let production = org.create_ou(&workloads, "production").await.unwrap();
    let member = org.create_account("member", &unique_email()).await.unwrap();

    org.move_account(&member, &production).await.unwrap();

    let client = aws_sdk_organizations::Client::new(org.management_config());
    let in_production = client
        .list_accounts_for_parent()
        .parent_id(&production)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = in_production
        .accounts()
        .iter()
        .filter_map(|a| a.id())
        .collect();
    assert_eq!(ids, [member.as_str()]);
    let in_root = client
        .list_accounts_for_parent()
        .parent_id(&org.root_id)
        .send()
        .await
        .unwrap();
    assert!(
        in_root
            .accounts()
            .iter()
            .all(|a| a.id() != Some(member.as_str())),
        "{in_root:?}"
    );
}

#[tokio::test]
async fn the_management_accounts_organisation_is_created_once_and_found_again() {
    let emulator = Emulator::from_env();

    let first = Organization::of_management_account(&emulator)
        .await
        .unwrap();
    let again = Organization::of_management_account(&emulator)
        .await
        .unwrap();

    assert_eq!(first.id, again.id);
    assert_eq!(first.root_id, again.root_id);
    assert_eq!(first.management_account_id, "123456789012");
}
