//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.

use config_rule_sdk::testing::cli::DryRun;

fn rule() -> DryRun {
    DryRun::new(
        env!("CARGO_BIN_EXE_iam-policy-no-admin-wildcards"),
        env!("CARGO_MANIFEST_DIR"),
    )
}

#[test]
fn an_admin_policy_prints_a_non_compliant_put_evaluations_entry() {
    let e = rule().only("change-admin-policy.json");
    assert_eq!(e["ComplianceResourceType"], "AWS::IAM::Policy");
    assert_eq!(e["ComplianceResourceId"], "ANPAOPSADMIN00000001");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        e["Annotation"],
        "policy ops-admin statement \"AllowAll\" allows * on *"
    );
    // Ordered by the item's capture time, in RFC 3339.
    assert_eq!(e["OrderingTimestamp"], "2026-05-20T08:15:30.123Z");
}

#[test]
fn a_read_only_policy_is_compliant() {
    let e = rule().only("change-readonly-policy.json");
    assert_eq!(e["ComplianceType"], "COMPLIANT");
    assert_eq!(
        e["Annotation"],
        "policy ops-readonly, default version v1, allows neither * on * nor a forbidden action"
    );
}

#[test]
fn a_role_inline_policy_granting_a_forbidden_action_is_named() {
    let e = rule().only("change-role-forbidden-inline.json");
    assert_eq!(e["ComplianceResourceType"], "AWS::IAM::Role");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        e["Annotation"],
        "inline policy pipeline statement \"Pipeline\" allows iam:PassRole (forbidden: iam:*)"
    );
}

#[test]
fn an_unreadable_document_is_non_compliant_not_an_error() {
    let e = rule().only("change-user-unreadable-document.json");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    let why = e["Annotation"].as_str().unwrap();
    assert!(
        why.starts_with("cannot read inline policy broken: it is not JSON"),
        "{why}"
    );
}

#[test]
fn a_deleted_policy_is_not_applicable() {
    assert_eq!(
        rule().only("deleted-policy.json")["ComplianceType"],
        "NOT_APPLICABLE"
    );
}

#[test]
fn an_invalid_forbidden_action_is_named() {
    let stderr = rule().failure("invalid-parameter.json");
    assert!(
        stderr.contains(
            "invalid parameter `forbiddenActions`: `cloudtrail` is not an IAM action pattern"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("(InvalidParameter)"), "{stderr}");
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    let stderr = rule().failure("truncated.json");
    assert!(stderr.contains("is not JSON"), "{stderr}");
}
