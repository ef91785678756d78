//! The two kinds of rule an author writes.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::aws::AwsScope;
use crate::compliance::Verdict;
use crate::error::RuleError;
use crate::exemption::Registry;
use crate::item::{Item, ResourceKey};
use crate::notify::Notifier;

/// A change-triggered rule: a pure function of one configuration item and the parameters.
pub trait Rule {
    /// Typed parameters; use `#[serde(deny_unknown_fields)]` so `rule.toml` and code agree.
    type Params: DeserializeOwned;
    /// The part of the item's `configuration` the rule reads.
    type Resource: DeserializeOwned;

    fn evaluate(&self, item: &Item<Self::Resource>, params: &Self::Params) -> Verdict;
}

/// A rule run on a schedule: facts are gathered at the edge, then evaluated purely.
pub trait PeriodicRule {
    type Params: DeserializeOwned + Sync;
    /// Plain data that `gather` found.
    type Facts: Send;

    /// Reads what the evaluation needs, with clients built from `aws`. A rule that also acts
    /// (inline remediation) does so only when `run.may_act`, through
    /// [`crate::remediation::remediate`] with `run`'s registry, time and notifier.
    fn gather(
        &self,
        aws: &AwsScope,
        params: &Self::Params,
        run: &RunContext<'_>,
    ) -> impl Future<Output = Result<Self::Facts, RuleError>> + Send;

    /// Pure: one finding per resource. `now` is the notification time, never the clock.
    fn evaluate(
        &self,
        facts: &Self::Facts,
        params: &Self::Params,
        now: DateTime<Utc>,
    ) -> Vec<Finding>;
}

/// What a periodic run knows beyond its parameters.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// The rule's name (as in `rule.toml`).
    pub rule: &'a str,
    /// The notification time: the run's "now", for windows, exemptions and records.
    pub now: DateTime<Utc>,
    /// The exemption registry from the rule parameters.
    pub registry: &'a Registry,
    /// False in a dry run: nothing may be changed.
    pub may_act: bool,
    /// Where remediation records are published, if anywhere.
    pub notifier: Option<&'a Notifier>,
    /// The region the rule runs in.
    pub region: &'a str,
}

/// A periodic rule's conclusion about one resource. The tags let the SDK apply exemptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub resource: ResourceKey,
    pub tags: BTreeMap<String, String>,
    pub verdict: Verdict,
}

impl Finding {
    pub fn new(resource: ResourceKey, verdict: Verdict) -> Self {
        Self {
            resource,
            tags: BTreeMap::new(),
            verdict,
        }
    }

    #[must_use]
    pub fn with_tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }
}
