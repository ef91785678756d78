use std::path::Path;

use super::*;
use crate::catalog::Catalog;
use crate::settings::Settings;

/// The deployer's example settings, or `text` with the example rules.
pub(crate) fn settings(text: Option<&str>) -> Settings {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    match text {
        Some(text) => Settings::parse(Path::new("deployer.toml"), text, &catalog).unwrap(),
        None => Settings::load(&fixtures.join("deployer.toml"), &catalog).unwrap(),
    }
}

#[test]
fn every_template_of_the_example_organisation() {
    let rendered = render(&settings(None)).unwrap();
    let names: Vec<String> = rendered.keys().map(TemplateId::file_name).collect();
    assert_eq!(
        names,
        [
            "artifacts.yaml",
            "base.yaml",
            "rule-ec2-cost-context.yaml",
            "rule-ec2-instance-baseline.yaml",
            "rule-iam-access-key-behaviour.yaml",
            "rule-iam-policy-no-admin-wildcards.yaml",
            "rule-s3-bucket-encryption.yaml",
            "rule-vpc-creation-approved.yaml",
        ]
    );
    for (id, template) in &rendered {
        insta::assert_snapshot!(id.file_name(), template.body);
    }
}

/// The example settings with `distribution = "per-account"`.
pub(crate) fn per_account_settings() -> Settings {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deployer.toml"),
    )
    .unwrap()
    .replace(
        "distribution = \"central\"",
        "distribution = \"per-account\"",
    );
    settings(Some(&text))
}

#[test]
fn per_account_artifacts_move_the_bucket_into_the_base_stack() {
    let rendered = render(&per_account_settings()).unwrap();
    assert!(!rendered.contains_key(&TemplateId::Artifacts));
    let base = &rendered[&TemplateId::Base].body;
    insta::assert_snapshot!("base-per-account.yaml", base);
    let rule = &rendered[&TemplateId::Rule("vpc-creation-approved".into())].body;
    assert!(rule.contains(
        "S3Bucket: !Sub \"custos-artifacts-${AWS::AccountId}-${AWS::Region}-${ArtifactBucketSuffix}\""
    ));
    assert!(!rule.contains("ArtifactAccount"));
}

#[test]
fn every_permission_for_config_names_the_source_account_and_arn() {
    let mut permissions = 0;
    for template in render(&settings(None)).unwrap().values() {
        let principals = template
            .body
            .matches("Principal: config.amazonaws.com")
            .count();
        let guarded = template
            .body
            .matches("Principal: config.amazonaws.com\n      SourceAccount: !Ref AWS::AccountId\n")
            .count();
        let sourced = template
            .body
            .matches("      SourceArn: !Sub \"arn:${AWS::Partition}:config:${AWS::Region}:${AWS::AccountId}:config-rule/*\"")
            .count();
        assert_eq!(principals, guarded);
        assert_eq!(principals, sourced);
        permissions += principals;
    }
    assert_eq!(permissions, 6, "one per rule");
}

#[test]
fn every_service_trust_and_topic_grant_names_the_source_account_and_arn() {
    let rendered = render(&settings(None)).unwrap();
    let rule = &rendered[&TemplateId::Rule("s3-bucket-encryption".into())].body;
    assert!(rule.contains(
        "                aws:SourceAccount: !Ref AWS::AccountId\n              ArnLike:\n                aws:SourceArn: !Sub \"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:automation-execution/*\""
    ));
    let base = &rendered[&TemplateId::Base].body;
    assert!(base.contains(
        "aws:SourceArn: !Sub \"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/custos-*\""
    ));
    assert!(rule.contains("      Name: custos-s3-bucket-encryption\n"));
}

#[test]
fn the_central_bucket_lets_stacksets_roles_read_the_prefix_code_is_uploaded_under() {
    let rendered = render(&settings(None)).unwrap();
    let body = &rendered[&TemplateId::Artifacts].body;
    let key = crate::package::artifact("x-rule", b"\x7fELF").unwrap().key;
    let prefix = &key[..=key.find('/').unwrap()];
    let read = body
        .split("Sid: OrganizationDeploymentRolesReadRuleCode")
        .nth(1)
        .unwrap();
    assert!(
        read.contains(&format!(
            "Resource: !Sub \"${{ArtifactBucket.Arn}}/{prefix}*\""
        )),
        "{read}"
    );
    assert!(read.contains("role/stacksets-exec-*"));
    assert!(read.contains("role/AWSCloudFormationStackSetExecutionRole"));
    assert!(!read.contains("AWSServiceRoleForCloudFormationStackSetsOrgMember"));
    assert!(body.contains("aws:PrincipalArn: !Ref DeployerPrincipals"));
}

#[test]
fn the_rule_role_grants_the_declared_actions_and_the_sdk_ones_only() {
    let rendered = render(&settings(None)).unwrap();
    let body = &rendered[&TemplateId::Rule("ec2-cost-context".into())].body;
    let actions = |sid: &str| -> Vec<String> {
        body.split(&format!("Sid: {sid}\n"))
            .nth(1)
            .unwrap()
            .lines()
            .skip_while(|l| !l.trim().starts_with("Action:"))
            .skip(1)
            .take_while(|l| l.trim().starts_with("- "))
            .map(|l| l.trim().trim_start_matches("- ").to_owned())
            .collect()
    };
    assert_eq!(
        actions("Declared"),
        [
            "config:GetResourceConfigHistory",
            "config:PutEvaluations",
            "ec2:DescribeInstances",
        ]
    );
    assert_eq!(
        actions("DeclaredOn1"),
        ["config:GetComplianceDetailsByConfigRule"]
    );
}

#[test]
fn declared_resources_scope_their_actions_and_unnamed_accounts_get_a_condition() {
    let rendered = render(&settings(None)).unwrap();
    let ec2 = &rendered[&TemplateId::Rule("ec2-instance-baseline".into())].body;
    assert!(ec2.contains(
        "                Action:\n                  - ec2:CreateTags\n                Resource:\n                  - !Sub \"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*\"\n"
    ));
    let s3 = &rendered[&TemplateId::Rule("s3-bucket-encryption".into())].body;
    let remediate = s3.split("Sid: RemediateOn1\n").nth(1).unwrap();
    assert!(remediate.contains("- !Sub \"arn:${AWS::Partition}:s3:::*\""));
    assert!(remediate.contains("aws:ResourceAccount: !Ref AWS::AccountId"));
}

#[test]
fn a_resource_that_is_not_an_arn_template_is_refused() {
    let mut settings = settings(None);
    let rule = settings.rules.get_mut("ec2-instance-baseline").unwrap();
    rule.meta.permissions.resources.insert(
        "ec2:CreateTags".try_into().unwrap(),
        vec!["arn:aws:ec2:${Oops}:instance/*\"\n  - x".into()],
    );
    let err = render(&settings).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "ec2-instance-baseline: rule.toml: permissions.resources.\"ec2:CreateTags\"[0]: \
             `arn:aws:ec2:${Oops}"
        ),
        "{err}"
    );
}

#[test]
fn a_resource_for_an_undeclared_action_is_refused() {
    let mut settings = settings(None);
    let rule = settings.rules.get_mut("ec2-cost-context").unwrap();
    rule.meta.permissions.resources.insert(
        "ec2:TerminateInstances".try_into().unwrap(),
        vec!["arn:aws:ec2:*".into()],
    );
    let err = render(&settings).unwrap_err().to_string();
    assert_eq!(
        err,
        "ec2-cost-context: rule.toml: permissions.resources.\"ec2:TerminateInstances\": names \
         `ec2:TerminateInstances`, which neither `rule` nor `remediation` declares"
    );
}

#[test]
fn the_deployer_principal_of_an_assumed_role_is_its_role_on_any_path() {
    assert_eq!(
        principal_patterns("arn:aws:sts::111111111111:assumed-role/custos-deployer/ci-run"),
        [
            "arn:aws:iam::111111111111:role/custos-deployer",
            "arn:aws:iam::111111111111:role/*/custos-deployer",
        ]
    );
    assert_eq!(
        principal_patterns("arn:aws-cn:iam::111111111111:user/ops/alice"),
        ["arn:aws-cn:iam::111111111111:user/ops/alice"]
    );
}

#[test]
fn remediation_switched_off_leaves_no_remediation_resources() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deployer.toml"),
    )
    .unwrap()
    .replace(
        "[remediation]\nenabled = true",
        "[remediation]\nenabled = false",
    );
    let rendered = render(&settings(Some(&text))).unwrap();
    for template in rendered.values() {
        assert!(
            !template
                .body
                .contains("AWS::Config::RemediationConfiguration")
        );
    }
}

#[test]
fn parameter_names_become_cloudformation_names() {
    assert_eq!(cfn_parameter_name("kmsKeyArn"), "ParamKmsKeyArn");
    assert_eq!(cfn_parameter_name("max-age_days"), "ParamMaxAgeDays");
}

#[test]
fn inline_remediation_actions_hold_only_while_the_rule_parameter_is_true() {
    let rendered = render(&settings(None)).unwrap();
    let body = &rendered[&TemplateId::Rule("s3-bucket-encryption".into())].body;
    assert!(body.contains("InlineRemediationOn: !Equals [!Ref ParamInlineRemediation, \"true\"]"));
    let declared = body.split("Sid: Declared\n").nth(1).unwrap();
    let unconditional = declared.split("- !If").next().unwrap();
    assert!(!unconditional.contains("s3:PutEncryptionConfiguration"));
    assert!(
        declared.contains("- InlineRemediationOn\n                - Sid: InlineRemediationOn1")
    );
}

#[test]
fn a_change_rule_that_honours_exemptions_is_also_run_daily() {
    let rendered = render(&settings(None)).unwrap();
    let rule = &rendered[&TemplateId::Rule("s3-bucket-encryption".into())].body;
    assert!(rule.contains("            MessageType: ConfigurationItemChangeNotification"));
    assert!(rule.contains(
        "            MessageType: ScheduledNotification\n            MaximumExecutionFrequency: TwentyFour_Hours"
    ));
    // The change rule keeps its short timeout: only the scheduled re-check was added.
    assert!(rule.contains("Timeout: 60"), "{rule}");
}

#[test]
fn a_change_rule_that_honours_no_exemption_is_not_run_daily() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/s3-bucket-encryption/rule.toml"),
    )
    .unwrap();
    let mut meta = config_rule_sdk::RuleMeta::from_toml(&text).unwrap();
    assert_eq!(
        exemption_recheck(&meta).as_deref(),
        Some("TwentyFour_Hours")
    );
    meta.exemptions.sources.clear();
    assert_eq!(exemption_recheck(&meta), None);
}

/// The `EventPattern` line of a rendered rule template, as JSON.
fn event_pattern(body: &str) -> serde_json::Value {
    let line = body
        .lines()
        .find_map(|l| l.trim().strip_prefix("EventPattern: "))
        .expect("an EventPattern");
    serde_json::from_str(line).unwrap()
}

#[test]
fn the_vpc_rule_mails_non_compliant_changes_only_and_the_others_every_change() {
    let rendered = render(&settings(None)).unwrap();
    let vpc = &rendered[&TemplateId::Rule("vpc-creation-approved".into())].body;
    assert_eq!(
        event_pattern(vpc)["detail"]["newEvaluationResult"],
        serde_json::json!({ "complianceType": ["NON_COMPLIANT"] }),
    );
    let s3 = &rendered[&TemplateId::Rule("s3-bucket-encryption".into())].body;
    assert!(
        event_pattern(s3)["detail"]
            .get("newEvaluationResult")
            .is_none()
    );
}
