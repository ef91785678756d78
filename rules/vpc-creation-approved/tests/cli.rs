//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.

use config_rule_sdk::testing::cli::DryRun;

fn rule() -> DryRun {
    DryRun::new(
        env!("CARGO_BIN_EXE_vpc-creation-approved"),
        env!("CARGO_MANIFEST_DIR"),
    )
}

#[test]
fn an_unapproved_vpc_prints_its_id_cidr_and_how_to_approve_it() {
    let e = rule().only("change-not-approved.json");
    assert_eq!(e["ComplianceResourceType"], "AWS::EC2::VPC");
    assert_eq!(e["ComplianceResourceId"], "vpc-0f1e2d3c4b5a69788");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        e["Annotation"],
        "VPC vpc-0f1e2d3c4b5a69788 (10.20.0.0/16) is not approved: tag it \
         custos:approved=<who approved> to approve it, or delete it"
    );
    assert_eq!(e["OrderingTimestamp"], "2026-05-20T08:15:30.123Z");
}

#[test]
fn an_approved_vpc_is_compliant_and_a_deleted_one_not_applicable() {
    let approved = rule().only("change-approved.json");
    assert_eq!(approved["ComplianceType"], "COMPLIANT");
    assert_eq!(
        approved["Annotation"],
        "approved: custos:approved=alice@example.com 2026-05-19 CHG-1042"
    );
    assert_eq!(
        rule().only("deleted.json")["ComplianceType"],
        "NOT_APPLICABLE"
    );
}

#[test]
fn an_unknown_parameter_is_named_with_the_known_ones() {
    let stderr = rule().failure("unknown-parameter.json");
    assert!(
        stderr.contains("invalid parameter `approvalTag`: not a parameter of vpc-creation-approved (known: approvalTagKey)"),
        "{stderr}"
    );
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    assert!(rule().failure("truncated.json").contains("is not JSON"));
}
