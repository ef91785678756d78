use std::path::Path;

use super::*;
use crate::catalog::Catalog;
use crate::settings::Settings;

fn settings(text: Option<&str>) -> Settings {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let catalog = Catalog::discover(&fixtures.join("rules")).unwrap();
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

#[test]
fn per_account_artifacts_move_the_bucket_into_the_base_stack() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deployer.toml"),
    )
    .unwrap()
    .replace(
        "distribution = \"central\"",
        "distribution = \"per-account\"",
    );
    let rendered = render(&settings(Some(&text))).unwrap();
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
fn every_permission_for_config_names_the_source_account() {
    for template in render(&settings(None)).unwrap().values() {
        let principals = template
            .body
            .matches("Principal: config.amazonaws.com")
            .count();
        let guarded = template
            .body
            .matches("Principal: config.amazonaws.com\n      SourceAccount: !Ref AWS::AccountId")
            .count();
        assert_eq!(principals, guarded);
    }
}

#[test]
fn the_rule_role_grants_the_declared_actions_and_the_sdk_ones_only() {
    let rendered = render(&settings(None)).unwrap();
    let body = &rendered[&TemplateId::Rule("ec2-cost-context".into())].body;
    let rule_statement = body.split("Sid: Declared").nth(1).unwrap();
    let actions: Vec<&str> = rule_statement
        .lines()
        .skip_while(|l| !l.trim().starts_with("Action:"))
        .skip(1)
        .take_while(|l| l.trim().starts_with("- "))
        .map(|l| l.trim().trim_start_matches("- "))
        .collect();
    assert_eq!(
        actions,
        [
            "config:GetComplianceDetailsByConfigRule",
            "config:GetResourceConfigHistory",
            "config:PutEvaluations",
            "ec2:DescribeInstances",
        ]
    );
}

#[test]
fn a_wildcard_action_in_rule_toml_is_refused() {
    let mut settings = settings(None);
    let rule = settings.rules.get_mut("ec2-cost-context").unwrap();
    rule.meta.permissions.rule.push("ec2:*".into());
    let err = render(&settings).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ec2-cost-context: `ec2:*` is not an IAM action without wildcards (service:Action)"
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
    let declared = body.split("Sid: Declared").nth(1).unwrap();
    let unconditional = declared.split("- !If").next().unwrap();
    assert!(!unconditional.contains("s3:PutEncryptionConfiguration"));
    assert!(declared.contains("- InlineRemediationOn\n                - Sid: InlineRemediation"));
}
