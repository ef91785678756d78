//! The binaries run as a user would: the rule on event files (`--event FILE --dry-run`), and the
//! remediation outside Lambda.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn run(event: &str) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(event);
    Command::new(env!("CARGO_BIN_EXE_ec2-instance-baseline"))
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
fn an_instance_lacking_tags_and_the_admin_group_prints_both_reasons() {
    let e = only("change-missing-tags-and-group.json");
    assert_eq!(e["ComplianceResourceType"], "AWS::EC2::Instance");
    assert_eq!(e["ComplianceResourceId"], "i-0123456789abcdef0");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(
        e["Annotation"],
        "missing required tags CostCenter, Owner; not in administrator security group \
         sg-0aaaa1111bbbb2222 (in sg-0b0b0b0b0b0b0b0b0)"
    );
    assert_eq!(e["OrderingTimestamp"], "2026-05-20T08:15:30.123Z");
}

#[test]
fn a_compliant_instance_and_gone_instances_are_reported_as_such() {
    assert_eq!(only("change-compliant.json")["ComplianceType"], "COMPLIANT");
    let terminated = only("change-terminated.json");
    assert_eq!(terminated["ComplianceType"], "NOT_APPLICABLE");
    assert_eq!(terminated["Annotation"], "instance is terminated");
    assert_eq!(only("deleted.json")["ComplianceType"], "NOT_APPLICABLE");
}

fn failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.stdout.is_empty(), "nothing is printed as a result");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn a_group_name_instead_of_an_id_is_a_clean_error_naming_the_parameter() {
    let out = run("invalid-parameter.json");
    assert_eq!(out.status.code(), Some(1));
    let stderr = failure(&out);
    assert!(
        stderr.contains(
            "invalid parameter `adminSecurityGroupId`: `admins` is not a security group id"
        ),
        "{stderr}"
    );
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    let out = run("truncated.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(failure(&out).contains("is not JSON"));
}

#[test]
fn the_remediation_outside_lambda_says_how_it_is_run_and_changes_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_ec2-instance-baseline-remediation"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("the remediation binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = failure(&out);
    assert!(
        stderr.contains("SSM document Custos-Ec2InstanceBaseline"),
        "{stderr}"
    );
}
