//! Remediation: re-read the resource, decide purely, act, re-read, and leave a record.
//!
//! Config may remediate from a stale snapshot, so a remediation never trusts the evaluation it
//! came from: it reads the live state first and does nothing when that is already compliant or
//! exempt. Acting twice is therefore harmless (idempotent), and every change made is recorded
//! once, with the fields it changed before and after, for the owners of the infrastructure code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
///
/// A record identifies what was changed, when and how, and carries the changed fields only:
/// configuration that stayed as it was (bucket policies, ACLs, tags) is not copied to the topic
/// and its email subscribers.
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
    /// The fields that changed, as dotted paths into the resource's state (`status`,
    /// `supplementaryConfiguration.ServerSideEncryptionConfiguration`).
    #[serde(default)]
    pub changed: Vec<String>,
    /// The changed fields before the change, nested as in the state; a field that did not
    /// exist is `null`.
    pub before: Value,
    /// The changed fields after the change.
    pub after: Value,
    pub time: DateTime<Utc>,
    pub trigger: RemediationTrigger,
    /// Set on a published record that was cut to fit SNS: why, and where the full one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<String>,
}

/// The most SNS accepts in one message: 256 KiB.
pub const SNS_MESSAGE_LIMIT: usize = 256 * 1024;

/// The function's CloudWatch Logs group and stream, where every record is logged in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLocation {
    pub group: String,
    pub stream: String,
}

impl LogLocation {
    /// Where Lambda sends this function's log (`AWS_LAMBDA_LOG_GROUP_NAME`,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`); `None` outside Lambda.
    #[expect(
        clippy::disallowed_methods,
        reason = "the Lambda environment is read at the edge"
    )]
    pub fn from_env() -> Option<Self> {
        Some(Self {
            group: std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").ok()?,
            stream: std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").ok()?,
        })
    }
}

/// The changed fields of a state: their paths, and their values before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub changed: Vec<String>,
    pub before: Value,
    pub after: Value,
}

impl Changes {
    /// Pure: compares `before` and `after` field by field, `depth` levels of objects deep (1: the
    /// state's own fields; 2: the fields of its fields, as for a configuration item's
    /// `configuration`). Below that depth, or where a side is not an object, a value that
    /// differs is one changed field, kept whole.
    pub fn between(before: &Value, after: &Value, depth: usize) -> Self {
        let mut changed = Vec::new();
        let (before, after) = match sparse(before, after, depth, "", &mut changed) {
            Some(pair) => pair,
            None => (Value::Object(Map::new()), Value::Object(Map::new())),
        };
        Self {
            changed,
            before,
            after,
        }
    }
}

/// The parts of `before` and `after` that differ, or `None` when they are equal.
fn sparse(
    before: &Value,
    after: &Value,
    depth: usize,
    path: &str,
    changed: &mut Vec<String>,
) -> Option<(Value, Value)> {
    if before == after {
        return None;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) if depth > 0 => {
            let (mut out_before, mut out_after) = (Map::new(), Map::new());
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let (x, y) = (
                    b.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                if let Some((x, y)) = sparse(x, y, depth - 1, &field, changed) {
                    out_before.insert(key.clone(), x);
                    out_after.insert(key.clone(), y);
                }
            }
            Some((Value::Object(out_before), Value::Object(out_after)))
        }
        _ => {
            changed.push(if path.is_empty() { "." } else { path }.to_owned());
            Some((before.clone(), after.clone()))
        }
    }
}

impl RemediationRecord {
    /// The record's schema name. v2: `before` and `after` hold the changed fields only.
    pub const SCHEMA: &'static str = "custos.remediation/v2";

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
        let cut = self
            .cut
            .as_deref()
            .map(|note| format!("\n{note}"))
            .unwrap_or_default();
        format!(
            "Custos rule {rule} changed {rtype} {id} in account {account}, region {region}: {action}.\n\
             The resource now differs from the code that created it; update that code so the next \
             deployment does not undo the fix.{cut}\n\n{json}",
            rule = self.rule,
            rtype = self.resource_type,
            id = self.resource_id,
            account = self.account,
            region = self.region,
            action = self.action,
            json = serde_json::to_string_pretty(self).expect("records serialise"),
        )
    }

    /// Pure: [`Self::message`] when it fits in `limit` bytes; otherwise the message of the record
    /// cut to its identifiers and the names of the changed fields, with a note saying where the
    /// full record is (the function's log, `log`, when known). Never longer than `limit`.
    pub fn message_within(&self, limit: usize, log: Option<&LogLocation>) -> String {
        let full = self.message();
        if full.len() <= limit {
            return full;
        }
        let place = log.map_or_else(
            || "the log of the function that made the change".to_owned(),
            |l| format!("CloudWatch Logs group {} stream {}", l.group, l.stream),
        );
        let mut cut = self.clone();
        cut.before = Value::Null;
        cut.after = Value::Null;
        let note = |kept: &str| {
            format!(
                "This record was cut to fit SNS's {limit}-byte message limit (it has {} bytes){kept}. \
                 The full record, with the values before and after, is in {place}: the line \
                 \"remediated\" (target custos::remediation) naming this resource.",
                full.len(),
            )
        };
        cut.cut = Some(note(": the values of the changed fields are left out"));
        let text = cut.message();
        if text.len() <= limit {
            return text;
        }
        cut.cut = Some(note(&format!(
            ": the values and the names of its {} changed fields are left out",
            self.changed.len()
        )));
        cut.changed.clear();
        let text = cut.message();
        if text.len() <= limit {
            return text;
        }
        // Only identifiers or an action text longer than SNS allows get here.
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_owned()
    }
}

/// A remediation, split like a rule: effects at the edge (`read`, `apply`), decision pure (`plan`).
pub trait Remediation {
    type Params: DeserializeOwned;
    /// The live state the decision needs; its fields that the action changed are recorded.
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

/// What a remediation decides on a fresh read: nothing to do, or an action on that state.
enum Decision<S, A> {
    Settled(Outcome),
    Act(S, A),
}

/// Re-read, exemption check, plan.
async fn decide_live<R: Remediation + Sync>(
    remediation: &R,
    aws: &AwsScope,
    resource_id: &str,
    params: &R::Params,
    context: &Context<'_>,
) -> Result<Decision<R::State, R::Action>, RuleError> {
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
        return Ok(Decision::Settled(Outcome::Exempt(e.active_note())));
    }
    let Some(action) = remediation.plan(&before, params) else {
        tracing::info!(
            rule = context.rule,
            resource_id,
            "already compliant, nothing to do"
        );
        return Ok(Decision::Settled(Outcome::AlreadyCompliant));
    };
    Ok(Decision::Act(before, action))
}

/// What a dry run of a remediation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    AlreadyCompliant,
    /// An active exemption; the note names owner, reason and expiry.
    Exempt(String),
    /// The action the remediation would take, in words; nothing was changed.
    Would(String),
}

/// A dry run: re-reads the resource and decides as [`remediate`] does, changes nothing and
/// records nothing.
pub async fn preview<R: Remediation + Sync>(
    remediation: &R,
    aws: &AwsScope,
    resource_id: &str,
    params: &R::Params,
    context: &Context<'_>,
) -> Result<Preview, RuleError> {
    Ok(
        match decide_live(remediation, aws, resource_id, params, context).await? {
            Decision::Settled(Outcome::Exempt(note)) => Preview::Exempt(note),
            Decision::Settled(_) => Preview::AlreadyCompliant,
            Decision::Act(_, action) => {
                let action = action.to_string();
                tracing::info!(rule = context.rule, resource_id, %action, "dry run, not remediated");
                Preview::Would(action)
            }
        },
    )
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
    let (before, action) = match decide_live(remediation, aws, resource_id, params, context).await?
    {
        Decision::Settled(outcome) => return Ok(outcome),
        Decision::Act(before, action) => (before, action),
    };
    remediation.apply(aws, resource_id, &action).await?;
    let after = remediation.read(aws, resource_id).await?;
    let changes = Changes::between(
        &serde_json::to_value(&before).expect("state serialises"),
        &serde_json::to_value(&after).expect("state serialises"),
        1,
    );
    let record = RemediationRecord {
        record: RemediationRecord::SCHEMA.to_owned(),
        rule: context.rule.to_owned(),
        account: context.account.to_owned(),
        region: context.region.to_owned(),
        resource_type: remediation.resource_type().to_owned(),
        resource_id: resource_id.to_owned(),
        action: action.to_string(),
        changed: changes.changed,
        before: changes.before,
        after: changes.after,
        time: context.now,
        trigger: context.trigger,
        cut: None,
    };
    emit(&record, notifier).await?;
    Ok(Outcome::Remediated(Box::new(record)))
}

/// Logs the record in full as one JSON line and publishes it to the notification topic, if any,
/// cut to what SNS accepts (the cut message says where in the log the full record is).
pub async fn emit(
    record: &RemediationRecord,
    notifier: Option<&Notifier>,
) -> Result<(), RuleError> {
    let line = serde_json::to_string(record).expect("records serialise");
    tracing::info!(target: "custos::remediation", record = %line, "remediated");
    if let Some(notifier) = notifier {
        let message = record.message_within(SNS_MESSAGE_LIMIT, LogLocation::from_env().as_ref());
        notifier.publish(&record.subject(), &message).await?;
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
