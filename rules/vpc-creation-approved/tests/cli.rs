//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn run(event: &str) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(event);
    Command::new(env!("CARGO_BIN_EXE_vpc-creation-approved"))
        .args(["--event", path.to_str().unwrap(), "--dry-run"])
        // A dry run of a change event must not need AWS at all.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the rule binary runs")
}

fn only(event: &str) -> Value {
    let out = run(event);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{event}: exit {:?}, stderr: {stderr}",
        out.status.code()
    );
    let mut all: Vec<Value> =
        serde_json::from_slice(&out.stdout).expect("stdout is a JSON array of evaluations");
    assert_eq!(all.len(), 1, "{event}: one evaluation per change event");
    all.remove(0)
}

#[test]
fn an_unapproved_vpc_prints_its_id_cidr_and_how_to_approve_it() {
    let e = only("change-not-approved.json");
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
    let approved = only("change-approved.json");
    assert_eq!(approved["ComplianceType"], "COMPLIANT");
    assert_eq!(
        approved["Annotation"],
        "approved: custos:approved=alice@example.com 2026-05-19 CHG-1042"
    );
    assert_eq!(only("deleted.json")["ComplianceType"], "NOT_APPLICABLE");
}

fn failure(event: &str) -> String {
    let out = run(event);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{event}: stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{event}: nothing is printed as a result"
    );
    assert!(!stderr.contains("panicked"), "{event}: {stderr}");
    assert!(stderr.starts_with("error: "), "{event}: {stderr}");
    stderr
}

#[test]
fn an_unknown_parameter_is_named_with_the_known_ones() {
    let stderr = failure("unknown-parameter.json");
    assert!(
        stderr.contains("invalid parameter `approvalTag`: not a parameter of vpc-creation-approved (known: approvalTagKey)"),
        "{stderr}"
    );
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    assert!(failure("truncated.json").contains("is not JSON"));
}
