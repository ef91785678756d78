//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.
//!
//! A periodic rule reads AWS to gather facts, so the successful path is tested against the
//! local emulator (`tests/integration/iam_access_key_behaviour.rs`) and with mocks; here, every
//! way an event is refused before any AWS call.

use config_rule_sdk::testing::cli::DryRun;

/// Nothing here may reach AWS: the SDK's runner gives the binary no endpoint, credentials or
/// instance metadata.
fn failure(event: &str) -> String {
    DryRun::new(
        env!("CARGO_BIN_EXE_iam-access-key-behaviour"),
        env!("CARGO_MANIFEST_DIR"),
    )
    .failure(event)
}

#[test]
fn a_baseline_beyond_event_history_is_named() {
    let stderr = failure("invalid-parameter.json");
    assert!(
        stderr
            .contains("invalid parameter `baselineDays`: `365` is not a whole number from 1 to 89"),
        "{stderr}"
    );
    assert!(stderr.contains("(InvalidParameter)"), "{stderr}");
}

#[test]
fn an_unknown_parameter_is_named_with_the_known_ones() {
    let stderr = failure("unknown-parameter.json");
    assert!(
        stderr.contains("invalid parameter `deactivate`: not a parameter of iam-access-key-behaviour (known: baselineDays, deactivateSuspiciousKeys, deactivationDryRun, deactivationRegion, maxDeactivationsPerDay, maxLookupRequests, recentHours)"),
        "{stderr}"
    );
}

#[test]
fn a_change_notification_is_refused_by_a_periodic_rule() {
    let stderr = failure("change-notification.json");
    assert!(stderr.contains("this rule is periodic"), "{stderr}");
    assert!(stderr.contains("(UnexpectedTrigger)"), "{stderr}");
}

#[test]
fn a_truncated_event_is_a_clean_error() {
    let stderr = failure("truncated.json");
    assert!(stderr.contains("is not JSON"), "{stderr}");
}
