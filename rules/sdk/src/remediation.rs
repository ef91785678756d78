//! Remediation: re-read the resource, decide purely, act, re-read, and leave a record.
//!
//! Config may remediate from a stale snapshot, so a remediation never trusts the evaluation it
//! came from: it reads the live state first and does nothing when that is already compliant or
//! exempt. Acting twice is therefore harmless (idempotent), and every change made is recorded
//! once, with the state before and after, for the owners of the infrastructure code.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::AwsScope;
use crate::error::RuleError;
use crate::exemption::{self, Check, Registry};
use crate::item::ResourceKey;
use crate::notify::Notifier;

/// The environment variable naming the Config rule a remediation Lambda serves. The template
/// sets it; the function reads its settings from that rule, never from its caller.
pub const CONFIG_RULE_ENV: &str = "CUSTOS_CONFIG_RULE";

/// How a remediation was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationTrigger {
    /// The rule remediated right after evaluating.
    Inline,
    /// Config's remediation ran the shipped SSM document, which invoked a remediation Lambda.
    Lambda,
    /// Config's remediation ran an SSM Automation document directly; recorded when observed.
    Ssm,
}

/// One remediation, as logged and published. Field names are stable: downstream tooling reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationRecord {
    pub record: String,
    pub rule: String,
    pub account: String,
    pub region: String,
    pub resource_type: String,
    pub resource_id: String,
    /// What was done, in words.
    pub action: String,
    pub before: Value,
    pub after: Value,
    pub time: DateTime<Utc>,
    pub trigger: RemediationTrigger,
}

impl RemediationRecord {
    /// The record's schema name.
    pub const SCHEMA: &'static str = "custos.remediation/v1";

    /// An SNS subject (at most 100 characters).
    pub fn subject(&self) -> String {
        let subject = format!(
            "Custos remediated {} {} ({})",
            self.resource_type, self.resource_id, self.rule
        );
        subject.chars().take(100).collect()
    }

    /// The notification text: what drifted from the infrastructure code, then the record.
    pub fn message(&self) -> String {
        format!(
            "Custos rule {rule} changed {rtype} {id} in account {account}, region {region}: {action}.\n\
             The resource now differs from the code that created it; update that code so the next \
             deployment does not undo the fix.\n\n{json}",
            rule = self.rule,
            rtype = self.resource_type,
            id = self.resource_id,
            account = self.account,
            region = self.region,
            action = self.action,
            json = serde_json::to_string_pretty(self).expect("records serialise"),
        )
    }
}

/// A remediation, split like a rule: effects at the edge (`read`, `apply`), decision pure (`plan`).
pub trait Remediation {
    type Params: DeserializeOwned;
    /// The live state the decision needs; recorded as `before` and `after`.
    type State: Serialize + Send + Sync;
    /// What `plan` decided to do; its `Display` is the record's `action`.
    type Action: Display + Send + Sync;

    /// The resource type remediated.
    fn resource_type(&self) -> &str;

    /// Whether the rule itself remediates right after reporting NON_COMPLIANT (inline mode),
    /// rather than leaving it to Config's remediation configuration.
    fn inline(&self, params: &Self::Params) -> bool {
        let _ = params;
        false
    }

    /// The resource's tags in `state`, for exemptions.
    fn tags(state: &Self::State) -> BTreeMap<String, String>;

    /// Pure: `None` when `state` is already compliant.
    fn plan(&self, state: &Self::State, params: &Self::Params) -> Option<Self::Action>;

    fn read(
        &self,
        aws: &AwsScope,
        resource_id: &str,
    ) -> impl Future<Output = Result<Self::State, RuleError>> + Send;

    fn apply(
        &self,
        aws: &AwsScope,
        resource_id: &str,
        action: &Self::Action,
    ) -> impl Future<Output = Result<(), RuleError>> + Send;
}

/// What a remediation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    AlreadyCompliant,
    /// An active exemption; the note names owner, reason and expiry.
    Exempt(String),
    Remediated(Box<RemediationRecord>),
}

/// Where and when a remediation runs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub rule: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub registry: &'a Registry,
    pub trigger: RemediationTrigger,
    /// Taken at the edge; also the day exemptions are judged on.
    pub now: DateTime<Utc>,
}

/// Runs `remediation` on one resource: re-read, exemption check, plan, act, re-read, record.
pub async fn remediate<R: Remediation + Sync>(
    remediation: &R,
    aws: &AwsScope,
    resource_id: &str,
    params: &R::Params,
    context: &Context<'_>,
    notifier: Option<&Notifier>,
) -> Result<Outcome, RuleError> {
    let before = remediation.read(aws, resource_id).await?;
    let tags = R::tags(&before);
    if let Check::Active(e) = exemption::check(
        context.rule,
        resource_id,
        &tags,
        context.registry,
        context.now.date_naive(),
    ) {
        tracing::info!(rule = context.rule, resource_id, "exempt, not remediated");
        return Ok(Outcome::Exempt(e.active_note()));
    }
    let Some(action) = remediation.plan(&before, params) else {
        tracing::info!(
            rule = context.rule,
            resource_id,
            "already compliant, nothing to do"
        );
        return Ok(Outcome::AlreadyCompliant);
    };
    remediation.apply(aws, resource_id, &action).await?;
    let after = remediation.read(aws, resource_id).await?;
    let record = RemediationRecord {
        record: RemediationRecord::SCHEMA.to_owned(),
        rule: context.rule.to_owned(),
        account: context.account.to_owned(),
        region: context.region.to_owned(),
        resource_type: remediation.resource_type().to_owned(),
        resource_id: resource_id.to_owned(),
        action: action.to_string(),
        before: serde_json::to_value(&before).expect("state serialises"),
        after: serde_json::to_value(&after).expect("state serialises"),
        time: context.now,
        trigger: context.trigger,
    };
    emit(&record, notifier).await?;
    Ok(Outcome::Remediated(Box::new(record)))
}

/// Logs the record as one JSON line and publishes it to the notification topic, if any.
pub async fn emit(
    record: &RemediationRecord,
    notifier: Option<&Notifier>,
) -> Result<(), RuleError> {
    let line = serde_json::to_string(record).expect("records serialise");
    tracing::info!(target: "custos::remediation", record = %line, "remediated");
    if let Some(notifier) = notifier {
        notifier
            .publish(&record.subject(), &record.message())
            .await?;
    }
    Ok(())
}

impl RemediationRecord {
    pub fn resource(&self) -> ResourceKey {
        ResourceKey::new(&self.resource_type, &self.resource_id)
    }
}

#[cfg(test)]
#[path = "remediation_tests.rs"]
mod tests;
