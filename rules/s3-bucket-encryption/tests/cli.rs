//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn run(event: &str) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(event);
    Command::new(env!("CARGO_BIN_EXE_s3-bucket-encryption"))
        .args(["--event", path.to_str().unwrap(), "--dry-run"])
        // A dry run of a change event must not need AWS at all.
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the rule binary runs")
}

fn evaluations(event: &str) -> Vec<Value> {
    let out = run(event);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{event}: exit {:?}, stderr: {stderr}",
        out.status.code()
    );
    serde_json::from_slice(&out.stdout).expect("stdout is a JSON array of evaluations")
}

fn only(event: &str) -> Value {
    let mut all = evaluations(event);
    assert_eq!(all.len(), 1, "{event}: one evaluation per change event");
    all.remove(0)
}

#[test]
fn an_unencrypted_bucket_prints_a_non_compliant_put_evaluations_entry() {
    let e = only("change-unencrypted.json");
    assert_eq!(e["ComplianceResourceType"], "AWS::S3::Bucket");
    assert_eq!(e["ComplianceResourceId"], "legacy-plain");
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(e["Annotation"], "bucket has no default encryption");
    // Ordered by the item's capture time, in RFC 3339.
    assert_eq!(e["OrderingTimestamp"], "2026-05-20T08:15:30.123Z");
}

#[test]
fn aes256_kms_with_key_and_string_shaped_encryption_are_compliant() {
    for (event, annotation) in [
        ("change-aes256.json", "default encryption AES256"),
        (
            "change-kms-with-key.json",
            "default encryption aws:kms with key arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd",
        ),
        (
            "change-encryption-as-string.json",
            "default encryption aws:kms with key",
        ),
    ] {
        let e = only(event);
        assert_eq!(e["ComplianceType"], "COMPLIANT", "{event}");
        assert!(
            e["Annotation"].as_str().unwrap().starts_with(annotation),
            "{event}: {e}"
        );
    }
}

#[test]
fn deleted_and_left_scope_buckets_are_not_applicable() {
    assert_eq!(only("deleted.json")["ComplianceType"], "NOT_APPLICABLE");
    assert_eq!(only("left-scope.json")["ComplianceType"], "NOT_APPLICABLE");
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
fn a_truncated_event_is_a_clean_error() {
    let stderr = failure("truncated.json");
    assert!(stderr.contains("is not JSON"), "{stderr}");
}

#[test]
fn unknown_and_invalid_parameters_are_named() {
    let unknown = failure("unknown-parameter.json");
    assert!(
        unknown.contains("invalid parameter `encryption`"),
        "{unknown}"
    );
    let invalid = failure("invalid-parameter.json");
    assert!(
        invalid.contains("invalid parameter `sseAlgorithm`: `rot13` is not one of"),
        "{invalid}"
    );
}

#[test]
fn a_missing_event_file_is_a_clean_error() {
    let stderr = failure("no-such-event.json");
    assert!(stderr.contains("cannot read"), "{stderr}");
}
