//! # ec2-cost-context
//!
//! ## What it checks
//! Every running EC2 instance's estimated on-demand spend since its launch stays within
//! `maxSpendUsd`: instance type x hours since `LaunchTime` x the type's hourly price. It is
//! context over rules: an hour of an `m5.24xlarge` ($4.61) passes where a forgotten `m5.large`
//! left running for a month ($70.08) may not. The annotation shows the estimate:
//! `m5.large running 730 h since 2026-01-01T00:00Z at $0.096/h: est. $70.08 > budget $50.00`.
//!
//! - **Prices** come from `prices.toml` (us-east-1, Linux/UNIX, shared tenancy list prices of
//!   the t3, t4g, m5, m6i, m7g, c5, c6i, c7g and r5, r6i families; the file names its source and
//!   date), overridden per type by `priceOverrides`.
//! - **Only `running` instances are estimated.** `DescribeInstances` shows when an instance last
//!   started, not what its earlier runs cost, so stopped, pending and terminated instances are
//!   NOT_APPLICABLE. EC2 resets `LaunchTime` on every start: the estimate covers the current run.
//! - **A type without a price is NON_COMPLIANT**, with "no price for type x; add it with
//!   priceOverrides", never a guessed price. NOT_APPLICABLE would hide it: the console and the
//!   compliance summaries leave NOT_APPLICABLE out, and the types a table of common families
//!   lacks are disproportionately the expensive ones (GPU, high-memory), exactly where a silent
//!   blind spot costs most. Failing closed makes the gap visible and says how to close it.
//! - An estimate equal to the budget (to the cent) is within it.
//!
//! ## Why it matters
//! Tag, size and family rules judge each instance alone; none of them notices the small
//! instance nobody stopped. Spend since launch puts type and age together, so the owner of an
//! account sees, per instance, what it has cost so far, before the bill does.
//!
//! ## Parameters
//! - `maxSpendUsd` (number, required): the budget for one instance's estimated spend since
//!   launch, in US dollars.
//! - `priceOverrides` (JSON object, optional): USD per hour by instance type, over the shipped
//!   table, for other regions, other operating systems, negotiated rates or missing types, e.g.
//!   `{"m5.large": 0.107, "p4d.24xlarge": 32.77}`.
//!
//! Exemptions: a `custos:exempt` tag on the instance or an entry of the `exemptions` registry
//! keyed by instance id (see the SDK).
//!
//! ## Remediation
//! None: the rule gives context, and the compliance-change notification tells the account's
//! owners. Stopping or resizing an instance is the owner's decision.
//!
//! ## Reads
//! `ec2:DescribeInstances` (paged): type, state, `LaunchTime` and tags of every instance.
//! The estimate is an on-demand list price: Savings Plans, Reserved Instances, Spot, licences,
//! EBS and data transfer are not in it.

pub mod estimate;
pub mod gather;
pub mod params;
pub mod prices;

use chrono::{DateTime, Utc};
use config_rule_sdk::{AwsScope, Finding, PeriodicRule, RuleError, RunContext};

pub use estimate::Instance;
pub use params::Params;

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::periodic(Ec2CostContext::new(), RULE_TOML)
}

/// The rule. Its EC2 client comes from each invocation's scope.
#[derive(Debug, Clone, Default)]
pub struct Ec2CostContext;

impl Ec2CostContext {
    pub fn new() -> Self {
        Self
    }
}

impl PeriodicRule for Ec2CostContext {
    type Params = Params;
    type Facts = Vec<Instance>;

    async fn gather(
        &self,
        aws: &AwsScope,
        _params: &Params,
        _run: &RunContext<'_>,
    ) -> Result<Vec<Instance>, RuleError> {
        gather::instances(&aws.client()).await
    }

    fn evaluate(&self, facts: &Vec<Instance>, params: &Params, now: DateTime<Utc>) -> Vec<Finding> {
        estimate::evaluate(facts, params, prices::PriceTable::builtin(), now)
    }
}

#[cfg(test)]
#[path = "rule_toml_tests.rs"]
mod rule_toml_tests;

#[cfg(test)]
#[path = "handler_tests.rs"]
mod handler_tests;
