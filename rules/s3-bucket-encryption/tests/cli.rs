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

#[test]
fn replay_answers_every_line_and_names_the_lines_that_failed() {
    let rule = rule();
    let lines = [
        rule.line("change-unencrypted.json"),
        rule.line("change-aes256.json"),
        rule.line("truncated.json"),
        rule.line("deleted.json"),
        rule.line("invalid-parameter.json"),
    ];
    let out = rule.replay(&lines);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a line failed: {stderr}");
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 5, "one result line per event: {stdout}");
    let verdict = |i: usize| results[i]["evaluations"][0]["ComplianceType"].clone();
    assert_eq!(verdict(0), "NON_COMPLIANT");
    assert_eq!(verdict(1), "COMPLIANT");
    assert_eq!(results[2]["line"], 3);
    assert!(
        results[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("not JSON")
    );
    assert_eq!(verdict(3), "NOT_APPLICABLE");
    assert!(results[4]["error"].is_string(), "{}", results[4]);
    assert!(
        stderr.starts_with(
            "replayed 5 events: 1 COMPLIANT, 1 NON_COMPLIANT, 1 NOT_APPLICABLE; 2 failed (line 3: not JSON"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("; line 5: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
