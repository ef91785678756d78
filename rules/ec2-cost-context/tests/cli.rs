//! The rule binary run locally on event files, as a user would: `--event FILE --dry-run`.
//!
//! A periodic rule reads AWS to gather facts, so the successful path is tested against the
//! local emulator (`tests/integration/ec2_cost_context.rs`); here, every way an event is refused
//! before any AWS call.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(event: &str) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(event);
    Command::new(env!("CARGO_BIN_EXE_ec2-cost-context"))
        .args(["--event", path.to_str().unwrap(), "--dry-run"])
        // Nothing here may reach AWS: no endpoint, no credentials, no instance metadata.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the rule binary runs")
}

fn failure(event: &str) -> String {
    let out = run(event);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{event}: stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{event}: nothing printed as a result"
    );
    assert!(!stderr.contains("panicked"), "{event}: {stderr}");
    assert!(stderr.starts_with("error: "), "{event}: {stderr}");
    stderr
}

#[test]
fn an_invalid_budget_is_named() {
    let stderr = failure("invalid-parameter.json");
    assert!(
        stderr.contains("invalid parameter `maxSpendUsd`: `lots` is not an amount of US dollars"),
        "{stderr}"
    );
    assert!(stderr.contains("(InvalidParameter)"), "{stderr}");
}

#[test]
fn an_unknown_parameter_is_named_with_the_known_ones() {
    let stderr = failure("unknown-parameter.json");
    assert!(
        stderr.contains("invalid parameter `budgetUsd`: not a parameter of ec2-cost-context (known: maxSpendUsd, priceOverrides)"),
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
