//! `deployer evaluate`: a preview before rollout. Runs the enabled rules in-process against what
//! Config has recorded in each target account and region, and reports what each rule would say.
//! Reads only: items through `ListDiscoveredResources` and `BatchGetResourceConfig`, periodic
//! facts through the rules' own gathers with `may_act` false, all counted by the call log.
//!
//! A recorded item that lacks what a rule's verdict depends on is reported as not evaluable,
//! naming the missing field, instead of letting the rule read an absence as a fact.

pub mod recorded;
pub mod registry;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use config_rule_sdk::host::Evaluation;
use config_rule_sdk::host::decide;
use config_rule_sdk::params::reserved;
use config_rule_sdk::{Compliance, ConfigurationItem, RuleError};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::aws::Aws;
use crate::org::Organization;
use crate::settings::{RuleSettings, Settings};
use recorded::Recorded;
use registry::{ChangePreview, Previewer};

/// What to preview: every enabled rule in every target account, or one of each.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub rule: Option<String>,
    pub account: Option<String>,
}

/// What a rule would report about one resource, or why the preview cannot say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Compliant,
    NonCompliant,
    NotApplicable,
    /// The recorded item lacks what the rule needs; the annotation names it.
    NotEvaluable,
    /// The deployer has no in-process build of the rule.
    NotPreviewed,
    /// The rule failed (as its Lambda invocation would), or the account could not be read.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
            Self::NotEvaluable => "NOT_EVALUABLE",
            Self::NotPreviewed => "NOT_PREVIEWED",
            Self::Failed => "FAILED",
        }
    }
}

impl From<Compliance> for Outcome {
    fn from(c: Compliance) -> Self {
        match c {
            Compliance::Compliant => Self::Compliant,
            Compliance::NonCompliant => Self::NonCompliant,
            Compliance::NotApplicable => Self::NotApplicable,
        }
    }
}

/// One line of the preview.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Row {
    pub account: String,
    pub region: String,
    pub rule: String,
    /// `AWS::S3::Bucket my-bucket`; empty for a line about the whole rule or account.
    pub resource: String,
    pub outcome: Outcome,
    pub annotation: String,
}

/// Checks the request against the settings before any AWS call: the rules to run, by name.
pub fn selected_rules<'a>(
    settings: &'a Settings,
    scope: &Scope,
) -> anyhow::Result<Vec<&'a RuleSettings>> {
    let Some(name) = &scope.rule else {
        return Ok(settings.rules.values().collect());
    };
    if let Some(rule) = settings.rules.get(name) {
        return Ok(vec![rule]);
    }
    let enabled: Vec<&str> = settings.rules.keys().map(String::as_str).collect();
    bail!(
        "unknown rule `{name}`: deployer.toml enables {}",
        if enabled.is_empty() {
            "no rules".to_owned()
        } else {
            enabled.join(", ")
        }
    )
}

/// The accounts to preview: the settings' targets, or the one asked for if it is a target.
pub fn selected_accounts(
    settings: &Settings,
    org: &Organization,
    scope: &Scope,
) -> anyhow::Result<BTreeSet<String>> {
    let targets = crate::desired::target_accounts(settings, org)?;
    match &scope.account {
        None => Ok(targets),
        Some(id) if targets.contains(id) => Ok(BTreeSet::from([id.clone()])),
        Some(id) => bail!(
            "unknown account `{id}`: not a target of deployer.toml (targets: {})",
            targets.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The rule parameters an account's Config rule gets: `deployer.toml`'s values, the deepest
/// OU override above the account, and the exemption registry.
pub fn parameters_for(
    rule: &RuleSettings,
    org: &Organization,
    account: &str,
) -> BTreeMap<String, Value> {
    let mut values = rule.parameters.clone();
    let ancestry = org.ancestry(account);
    let deepest = rule
        .overrides
        .iter()
        .filter_map(|o| {
            let id = org.resolve(&o.ou.value)?;
            let depth = ancestry.iter().position(|p| *p == id)?;
            Some((depth, o))
        })
        .min_by_key(|(depth, _)| *depth);
    if let Some((_, o)) = deepest {
        values.extend(o.parameters.clone());
    }
    let mut out: BTreeMap<String, Value> = values
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if !rule.exemptions.is_empty() {
        let registry = serde_json::to_string(&rule.exemptions).unwrap_or_else(|_| "{}".into());
        out.insert(reserved::EXEMPTIONS.to_owned(), Value::String(registry));
    }
    out
}

/// The preview of one change rule over the items recorded in one account and region. Pure.
pub fn preview_items(
    rule: &RuleSettings,
    previewer: &dyn ChangePreview,
    parameters: &BTreeMap<String, Value>,
    items: &[Recorded],
    now: DateTime<Utc>,
) -> Vec<(String, Outcome, String)> {
    let meta = &rule.meta;
    let mut out = Vec::new();
    for recorded in items {
        match recorded {
            Recorded::Unreadable { key, why } if meta.covers(&key.resource_type) => {
                out.push((key.to_string(), Outcome::NotEvaluable, why.clone()));
            }
            Recorded::Item(item) if meta.covers(&item.key.resource_type) => {
                let resource = item.key.to_string();
                let (outcome, annotation) = preview_item(meta, previewer, parameters, item, now);
                out.push((resource, outcome, annotation));
            }
            // Another rule's resource type.
            Recorded::Unreadable { .. } | Recorded::Item(_) => {}
        }
    }
    out
}

fn preview_item(
    meta: &config_rule_sdk::RuleMeta,
    previewer: &dyn ChangePreview,
    parameters: &BTreeMap<String, Value>,
    item: &ConfigurationItem,
    now: DateTime<Utc>,
) -> (Outcome, String) {
    if decide::settled_without_rule(item, false).is_none()
        && let Some(missing) = missing_field(item, meta.reads_for(&item.key.resource_type))
    {
        return (
            Outcome::NotEvaluable,
            format!("not evaluable from the recorded item: it lacks {missing}"),
        );
    }
    let mut item = item.clone();
    adopt_listed_tags(&mut item);
    match previewer.evaluate(meta, parameters, item, now) {
        Ok(evaluation) => verdict(&evaluation),
        Err(e @ RuleError::Item { .. }) => (
            Outcome::NotEvaluable,
            format!("not evaluable from the recorded item: {e}"),
        ),
        Err(e) => (Outcome::Failed, format!("{e} ({})", e.kind())),
    }
}

fn verdict(evaluation: &Evaluation) -> (Outcome, String) {
    (
        evaluation.compliance_type.into(),
        evaluation
            .annotation
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
}

/// The first of the rule's `reads` the item lacks (absent or null). `list[].field` needs the
/// field in every element of the list.
fn missing_field<'a>(item: &ConfigurationItem, reads: &'a [String]) -> Option<&'a str> {
    reads.iter().map(String::as_str).find(|path| {
        let (root, rest) = path.split_once('.').unwrap_or((path, ""));
        let (field, inner) = match rest.split_once("[].") {
            Some((field, inner)) => (field, Some(inner)),
            None => (rest, None),
        };
        let value = match root {
            "configuration" => item.configuration.get(field),
            "supplementaryConfiguration" => item.supplementary.get(field),
            _ => None,
        };
        match (value, inner) {
            (None | Some(Value::Null), _) => true,
            (Some(list), Some(inner)) => list
                .as_array()
                .is_none_or(|l| l.iter().any(|e| e.get(inner).is_none_or(Value::is_null))),
            (Some(_), None) => false,
        }
    })
}

/// `BatchGetResourceConfig` items carry no tags of their own; where the configuration lists
/// them (`[{"key", "value"}]`, as EC2 does), those are the resource's tags, so tag exemptions
/// apply as they would to a change notification.
fn adopt_listed_tags(item: &mut ConfigurationItem) {
    if !item.tags.is_empty() {
        return;
    }
    let Some(listed) = item.configuration.get("tags").and_then(Value::as_array) else {
        return;
    };
    for tag in listed {
        if let (Some(key), Some(value)) = (
            tag.get("key").and_then(Value::as_str),
            tag.get("value").and_then(Value::as_str),
        ) {
            item.tags.insert(key.to_owned(), value.to_owned());
        }
    }
}

/// The whole preview: every selected rule, account and region. A failure in one account or
/// region is a row, not an abort.
pub async fn evaluate(
    aws: &Aws,
    settings: &Settings,
    org: &Organization,
    admin_account: &str,
    scope: &Scope,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Row>> {
    let rules = selected_rules(settings, scope)?;
    let accounts = selected_accounts(settings, org, scope)?;
    let previewers: BTreeMap<&str, Option<Previewer>> = rules
        .iter()
        .map(|r| (r.meta.name.as_str(), registry::lookup(&r.meta.name)))
        .collect();
    let places = accounts.iter().flat_map(|account| {
        settings
            .organization
            .regions
            .iter()
            .map(move |region| (account, region))
    });
    let previews = futures::stream::iter(places)
        .map(|(account, region)| {
            let (rules, previewers) = (&rules, &previewers);
            async move {
                let member = aws
                    .member(account, admin_account, &settings.organization.role_name)
                    .await;
                let place = Place {
                    account,
                    region,
                    org,
                    now,
                };
                place.preview(&member, rules, previewers).await
            }
        })
        .buffer_unordered(PLACES_AT_ONCE);
    let mut rows: Vec<Row> = previews.collect::<Vec<_>>().await.concat();
    rows.sort();
    Ok(rows)
}

/// Accounts and regions previewed at once: reads overlap, within Config's read rates.
const PLACES_AT_ONCE: usize = 8;

/// One account and region of the preview.
struct Place<'a> {
    account: &'a str,
    region: &'a str,
    org: &'a Organization,
    now: DateTime<Utc>,
}

impl Place<'_> {
    fn row(&self, rule: &str, resource: String, outcome: Outcome, annotation: String) -> Row {
        Row {
            account: self.account.to_owned(),
            region: self.region.to_owned(),
            rule: rule.to_owned(),
            resource,
            outcome,
            annotation,
        }
    }

    async fn preview(
        &self,
        member: &Aws,
        rules: &[&RuleSettings],
        previewers: &BTreeMap<&str, Option<Previewer>>,
    ) -> Vec<Row> {
        let mut rows = Vec::new();
        let change_types: Vec<String> = rules
            .iter()
            .filter(|r| {
                matches!(
                    previewers.get(r.meta.name.as_str()),
                    Some(Some(Previewer::Change(_)))
                )
            })
            .flat_map(|r| r.meta.resource_types.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let items = if change_types.is_empty() {
            Ok(Vec::new())
        } else {
            let client = member.config_service(self.region);
            recorded::recorded(&client, &change_types)
                .await
                .with_context(|| {
                    format!(
                        "reading what Config recorded in {} {}",
                        self.account, self.region
                    )
                })
        };
        for rule in rules {
            let name = rule.meta.name.as_str();
            let parameters = parameters_for(rule, self.org, self.account);
            match previewers.get(name).and_then(Option::as_ref) {
                None => rows.push(self.row(
                    name,
                    String::new(),
                    Outcome::NotPreviewed,
                    "this deployer has no in-process build of the rule".to_owned(),
                )),
                Some(Previewer::Change(previewer)) => match &items {
                    Ok(items) => rows.extend(
                        preview_items(rule, previewer.as_ref(), &parameters, items, self.now)
                            .into_iter()
                            .map(|(resource, outcome, annotation)| {
                                self.row(name, resource, outcome, annotation)
                            }),
                    ),
                    Err(e) => {
                        rows.push(self.row(name, String::new(), Outcome::Failed, format!("{e:#}")));
                    }
                },
                Some(Previewer::Periodic(previewer)) => {
                    match previewer
                        .preview(&rule.meta, &parameters, member, self.region, self.now)
                        .await
                    {
                        Ok(evaluations) => rows.extend(evaluations.iter().map(|e| {
                            let (outcome, annotation) = verdict(e);
                            self.row(name, e.resource().to_string(), outcome, annotation)
                        })),
                        Err(e) => rows.push(self.row(
                            name,
                            String::new(),
                            Outcome::Failed,
                            format!("{e} ({})", e.kind()),
                        )),
                    }
                }
            }
        }
        rows
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
