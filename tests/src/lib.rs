//! A harness that plays AWS Config's part (and, later, SSM's) against the local AWS emulator,
//! for Custos's integration tests and demo. Product code never uses it.
//!
//! - [`emulator`]: where the emulator runs; AWS configuration for its accounts.
//! - [`faults`]: a fault-injecting proxy in front of the emulator (throttling, 5xx, drops).
//! - [`org`]: an AWS Organization with member accounts, OUs and the access role.
//! - [`recorder`]: configuration items in AWS's shape, from live resource state.
//! - [`config_service`]: Config rules, events, running a rule's handler, reading compliance,
//!   and remediation as the deployed remediation configuration says.
//! - [`cloudformation`]: what the emulator's CloudFormation records without creating (remediation
//!   configurations), created from the deployed template.
//! - [`eventbridge`]: the deployed compliance-change rule, read back; Config's change events.
//! - [`s3`]: bucket set-up shared by the tests and the demo.
//! - [`ssm`]: remediation documents' steps, carried out as SSM Automation would.
//! - [`demo`]: the whole loop, for `make demo`.

pub mod cloudformation;
pub mod config_service;
pub mod demo;
pub mod emulator;
pub mod eventbridge;
pub mod faults;
pub mod org;
pub mod recorder;
pub mod s3;
pub mod ssm;

use chrono::{DateTime, Utc};

/// The harness stands in for AWS services, which stamp what they produce with the current time.
pub fn now() -> DateTime<Utc> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the harness plays AWS, whose clock this is"
    )]
    Utc::now()
}

/// The day `days` after today, as exemption entries write it (`until=YYYY-MM-DD`).
pub fn days_ahead(days: i64) -> String {
    (now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

/// `prefix-<12 hex digits>`: a name no other test or run uses (valid for S3 buckets when
/// `prefix` is lowercase).
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}
