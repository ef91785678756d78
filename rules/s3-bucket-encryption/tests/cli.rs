//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.

use config_rule_sdk::testing::cli::DryRun;

fn rule() -> DryRun {
    DryRun::new(
        env!("CARGO_BIN_EXE_s3-bucket-encryption"),
        env!("CARGO_MANIFEST_DIR"),
    )
}

#[test]
fn an_unencrypted_bucket_prints_a_non_compliant_put_evaluations_entry() {
    let e = rule().only("change-unencrypted.json");
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
        let e = rule().only(event);
        assert_eq!(e["ComplianceType"], "COMPLIANT", "{event}");
        assert!(
            e["Annotation"].as_str().unwrap().starts_with(annotation),
            "{event}: {e}"
        );
    }
}

#[test]
fn deleted_and_left_scope_buckets_are_not_applicable() {
    assert_eq!(
        rule().only("deleted.json")["ComplianceType"],
        "NOT_APPLICABLE"
    );
    assert_eq!(
        rule().only("left-scope.json")["ComplianceType"],
        "NOT_APPLICABLE"
    );
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    let stderr = rule().failure("truncated.json");
    assert!(stderr.contains("is not JSON"), "{stderr}");
}

#[test]
fn unknown_and_invalid_parameters_are_named() {
    let unknown = rule().failure("unknown-parameter.json");
    assert!(
        unknown.contains("invalid parameter `encryption`"),
        "{unknown}"
    );
    let invalid = rule().failure("invalid-parameter.json");
    assert!(
        invalid.contains("invalid parameter `sseAlgorithm`: `rot13` is not one of"),
        "{invalid}"
    );
}

#[test]
fn a_missing_event_file_is_a_clean_error() {
    let stderr = rule().failure("no-such-event.json");
    assert!(stderr.contains("cannot read"), "{stderr}");
}
