//! The pure core: from a decoded invocation to evaluations. No clock, no AWS.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::compliance::Verdict;
use crate::error::RuleError;
use crate::evaluation::Evaluation;
use crate::event::Invocation;
use crate::exemption::{self, Check, Registry};
use crate::item::{ConfigurationItem, ItemStatus, ResourceKey};
use crate::meta::RuleMeta;
use crate::params::{self, RawParameters};
use crate::rule::{Finding, Rule};

/// Parameters of one invocation: the rule's typed ones and what the SDK reads itself.
#[derive(Debug, Clone)]
pub struct Settings<P> {
    pub params: P,
    pub registry: Registry,
    pub execution_role_name: Option<String>,
}

/// Decodes `ruleParameters`; an invalid parameter fails the invocation, naming it.
pub fn settings<P: serde::de::DeserializeOwned>(
    meta: &RuleMeta,
    invocation: &Invocation,
) -> Result<Settings<P>, RuleError> {
    parameter_settings(meta, &invocation.parameters)
}

/// Decodes rule parameters as `ruleParameters` carries them (defaults filled, unknown names
/// refused, the exemption registry read), for callers that hold the parameters, not an event.
pub fn parameter_settings<P: serde::de::DeserializeOwned>(
    meta: &RuleMeta,
    parameters: &BTreeMap<String, serde_json::Value>,
) -> Result<Settings<P>, RuleError> {
    let raw = RawParameters::split(parameters);
    let registry = raw
        .exemptions
        .as_deref()
        .map(Registry::parse)
        .transpose()?
        .unwrap_or_default()
        .with_policy(meta.exemptions.clone());
    Ok(Settings {
        params: params::decode(meta, &raw.rule)?,
        registry,
        execution_role_name: raw.execution_role_name,
    })
}

/// The item needs no evaluation by the rule: deleted, out of scope, or unrecorded.
pub fn settled_without_rule(item: &ConfigurationItem, event_left_scope: bool) -> Option<Verdict> {
    if event_left_scope {
        return Some(Verdict::not_applicable("resource left the rule's scope"));
    }
    match item.status {
        ItemStatus::ResourceDeleted | ItemStatus::ResourceDeletedNotRecorded => {
            Some(Verdict::not_applicable("resource was deleted"))
        }
        ItemStatus::ResourceNotRecorded => Some(Verdict::not_applicable(
            "Config does not record this resource's configuration",
        )),
        _ => None,
    }
}

/// Evaluates one configuration item, the way a change notification is handled.
pub fn change<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    settings: &Settings<R::Params>,
    item: ConfigurationItem,
    event_left_scope: bool,
    notification_time: Option<DateTime<Utc>>,
) -> Result<Evaluation, RuleError> {
    // Ordered by the item's capture time, so a late delivery never overwrites a newer result.
    let ordering = item
        .capture_time
        .or(notification_time)
        .ok_or(RuleError::MissingTime)?;
    let today = notification_time.unwrap_or(ordering).date_naive();
    let key = item.key.clone();

    if let Some(verdict) = settled_without_rule(&item, event_left_scope) {
        return Ok(Evaluation::new(key, verdict, ordering));
    }
    if !meta.covers(&key.resource_type) {
        return Err(RuleError::OutOfScope {
            resource_type: key.resource_type,
            rule: meta.name.clone(),
            scope: meta.resource_types.join(", "),
        });
    }
    let note = match exemption::check(
        &meta.name,
        &key.resource_id,
        &item.tags,
        &settings.registry,
        today,
    ) {
        Check::Active(e) => {
            return Ok(Evaluation::new(
                key,
                Verdict::not_applicable(e.active_note()),
                ordering,
            ));
        }
        Check::Refused(e, why) => Some(e.refused_note(&why)),
        Check::Expired(e) => Some(e.expired_note()),
        Check::Malformed(note) => Some(note),
        Check::None => None,
    };
    let item = item
        .decode::<R::Resource>()
        .map_err(|source| RuleError::Item {
            resource: key.to_string(),
            source,
        })?;
    let verdict = rule.evaluate(&item, &settings.params);
    let verdict = match note {
        Some(note) => verdict.with_prefix(&note),
        None => verdict,
    };
    Ok(Evaluation::new(key, verdict, ordering))
}

/// Turns a periodic rule's findings into evaluations: exemptions applied, and every resource
/// evaluated before but absent now marked NOT_APPLICABLE. Sorted by resource, one per resource.
pub fn periodic(
    rule_name: &str,
    findings: Vec<Finding>,
    previously_evaluated: &BTreeSet<ResourceKey>,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Vec<Evaluation> {
    let today: NaiveDate = now.date_naive();
    let mut by_resource: BTreeMap<ResourceKey, Verdict> = BTreeMap::new();
    for finding in findings {
        let verdict = match exemption::check(
            rule_name,
            &finding.resource.resource_id,
            &finding.tags,
            registry,
            today,
        ) {
            Check::Active(e) => Verdict::not_applicable(e.active_note()),
            Check::Refused(e, why) => finding.verdict.with_prefix(&e.refused_note(&why)),
            Check::Expired(e) => finding.verdict.with_prefix(&e.expired_note()),
            Check::Malformed(note) => finding.verdict.with_prefix(&note),
            Check::None => finding.verdict,
        };
        by_resource.entry(finding.resource).or_insert(verdict);
    }
    let stale: Vec<ResourceKey> = previously_evaluated
        .iter()
        .filter(|k| !by_resource.contains_key(*k))
        .cloned()
        .collect();
    for key in stale {
        by_resource.insert(key, Verdict::not_applicable("resource no longer exists"));
    }
    by_resource
        .into_iter()
        .map(|(key, verdict)| Evaluation::new(key, verdict, now))
        .collect()
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
