//! # iam-access-key-behaviour
//!
//! ## What it checks
//! For every active access key of every IAM user, the AWS services the key called (CloudTrail
//! `eventSource`, e.g. `ec2.amazonaws.com`) in the last `recentHours` are compared with the
//! services it called in the `baselineDays` before. A service called recently and never in the
//! baseline makes the key's user NON_COMPLIANT, naming the key and the new services:
//! `key AKIA… called 2 services not seen in its 30-day baseline: ec2.amazonaws.com, iam.amazonaws.com`.
//! Otherwise the user is COMPLIANT (`key AKIA…: 3 services, all seen in the 30-day baseline`, or
//! `no activity in the last 24 h`).
//!
//! - **Young keys are not judged.** A key created after the baseline started has no baseline:
//!   every service it calls would look new, and every key rotation would raise an alarm (or,
//!   with deactivation on, break the workload that just rotated). Such a key is named in the
//!   annotation ("not judged until it has a 30-day baseline"); a user with only young, active
//!   keys is NOT_APPLICABLE. A quiet key is judged at any age: it called nothing new.
//! - **Users without active keys** are NOT_APPLICABLE.
//! - **Reading is bounded.** `LookupEvents` allows 2 requests per second per account and region
//!   and returns 50 events a page, so a busy key can take minutes to read. The baseline is read
//!   only for keys active in the recent window, and only until every recent service has been
//!   found in it. A run makes at most `maxLookupRequests` requests; a key whose answer was not
//!   known when they ran out is NON_COMPLIANT ("activity not fully read"): the control cannot
//!   vouch for it, and saying so beats a silent pass. New services are only ever claimed from a
//!   fully read baseline.
//!
//! ## Why it matters
//! A leaked access key is used the way its new holder wants, not the way its workload did: a CI
//! key that only ever touched S3 and ECR suddenly calling IAM, EC2 and STS is the classic sign.
//! Comparing each key with its own history catches that without a list of allowed services.
//!
//! ## Parameters
//! - `recentHours` (default 24, 1 to 720): the recent window.
//! - `baselineDays` (default 30, 1 to 89): the baseline, before the recent window. CloudTrail
//!   event history keeps 90 days; a baseline reaching further back is cut there, and the
//!   annotation gives the length used.
//! - `deactivateSuspiciousKeys` (default false): deactivate keys found calling new services.
//! - `deactivationRegion` (default `us-east-1`): the one region whose runs deactivate. IAM is
//!   global, so a rule deployed in several regions would otherwise act once per region, each
//!   on its own region's event history (a regional failover would look like new services
//!   everywhere). Elsewhere the rule reports, and the annotation says the key was not
//!   deactivated there.
//! - `maxDeactivationsPerDay` (default 5, 1 to 1000): the most keys deactivated in an account
//!   per day (UTC), over every run; keys beyond it are reported, not deactivated.
//! - `deactivationDryRun` (default false): report the keys that would be deactivated
//!   ("dry run: would be deactivated"), changing nothing and recording nothing.
//! - `maxLookupRequests` (default 600, about 5 minutes of lookups): keep the function's timeout
//!   above `maxLookupRequests / 2` seconds.
//!
//! Exemptions: only an entry of the `exemptions` registry keyed by the user's id (`AIDA…`,
//! Config's resource id of an IAM user). A `custos:exempt` tag is not honoured (`[exemptions]`
//! in rule.toml): a stolen key that can tag its own user must not silence this rule.
//!
//! ## Remediation
//! Off by default. With `deactivateSuspiciousKeys=true`, each key found calling new services is
//! deactivated (`UpdateAccessKey Status=Inactive`) right after the lookups, through the SDK's
//! remediation: the key and the user's tags are read again first, and nothing is done when the
//! key is already inactive or the user is exempt (by the registry). Each deactivation writes
//! a remediation record (trigger `inline`) to the log and publishes it to the topic named by
//! `CUSTOS_NOTIFICATION_TOPIC_ARN`, when set. Keys whose activity was not fully read are never
//! deactivated, and a local `--dry-run` deactivates nothing.
//!
//! The day's count lives in the account, in the Parameter Store parameter
//! `/custos/iam-access-key-behaviour/deactivations` of the deactivation region
//! (`{"day":"2026-06-01","deactivated":2}`): the rule's role may read and write that parameter
//! only, it survives across invocations, and it needs no IAM write (tags would need `iam:Tag*`,
//! which could also write `custos:exempt`). A key counts once it is deactivated; a count that
//! cannot be read, or that another run wrote at the same time, stops deactivation for the run. The windows end, and records are
//! stamped, at the notification time. The annotation says what happened to the key.
//!
//! ## Reads
//! `iam:ListUsers`, `iam:ListAccessKeys`, `iam:ListUserTags` (users with active keys only),
//! `cloudtrail:LookupEvents` by `AccessKeyId`. Event history holds management events of the
//! run's region (IAM and other global services appear in us-east-1); data events and calls made
//! with temporary credentials obtained through the key (their own `ASIA…` key id) are not in it.

pub mod activity;
pub mod deactivate;
pub mod gather;
pub mod limiter;
pub mod lookup;
pub mod params;

use chrono::{DateTime, Utc};
use config_rule_sdk::{AwsScope, Finding, PeriodicRule, RuleError, RunContext};

pub use activity::Facts;
pub use gather::Clients;
pub use params::Params;

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::periodic(IamAccessKeyBehaviour::new(), RULE_TOML)
}

/// The rule's name, as in `rule.toml` (a test checks they agree).
pub const RULE_NAME: &str = "iam-access-key-behaviour";

/// The rule. Its clients come from each invocation's scope; it ends its recent window at the
/// notification time.
#[derive(Debug, Clone, Default)]
pub struct IamAccessKeyBehaviour {
    end: Option<DateTime<Utc>>,
}

impl IamAccessKeyBehaviour {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the recent window at `end` instead of the time the run starts.
    #[must_use]
    pub fn ending_at(mut self, end: DateTime<Utc>) -> Self {
        self.end = Some(end);
        self
    }
}

impl PeriodicRule for IamAccessKeyBehaviour {
    type Params = Params;
    type Facts = Facts;

    async fn gather(
        &self,
        aws: &AwsScope,
        params: &Params,
        context: &RunContext<'_>,
    ) -> Result<Facts, RuleError> {
        let clients = &Clients::from_scope(aws, context.may_act);
        let run = gather::Run {
            rule: RULE_NAME,
            aws,
            end: self.end.unwrap_or(context.now),
            registry: context.registry,
            may_act: context.may_act,
            notifier: context.notifier,
        };
        gather::gather_with(clients, params, run).await
    }

    fn evaluate(&self, facts: &Facts, params: &Params, _now: DateTime<Utc>) -> Vec<Finding> {
        activity::evaluate(facts, params)
    }
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
#[path = "rule_toml_tests.rs"]
mod rule_toml_tests;

#[cfg(test)]
#[path = "handler_tests.rs"]
mod handler_tests;
