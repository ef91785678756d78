//! The rules `evaluate` can run in-process: the catalogue (`custos-rules`), each rule run
//! through its SDK entry's pure preview (the decide path for change rules; gather read-only,
//! then decide, for periodic rules). The only place the deployer links rule code.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use config_rule_sdk::entry::{BoxFuture, Kind};
use config_rule_sdk::host::Evaluation;
use config_rule_sdk::{AwsScope, ConfigurationItem, Entry, RuleError, RuleMeta};
use serde_json::Value;

use crate::aws::Aws;

/// How one rule is previewed.
pub enum Previewer {
    Change(Box<dyn ChangePreview>),
    Periodic(Box<dyn PeriodicPreview>),
}

/// A change-triggered rule, run on one recorded item.
pub trait ChangePreview: Send + Sync {
    fn evaluate(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError>;
}

/// A periodic rule, gathering its facts read-only (`may_act` false) in one account and region.
pub trait PeriodicPreview: Send + Sync {
    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        member: &'a Aws,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>>;
}

/// The previewer of `rule`, when the catalogue has it.
pub fn lookup(rule: &str) -> Option<Previewer> {
    let entry = custos_rules::find(rule)?;
    match entry.kind() {
        Kind::Change(_) => Some(Previewer::Change(Box::new(Catalogued(entry)))),
        Kind::Periodic(_) => Some(Previewer::Periodic(Box::new(Catalogued(entry)))),
    }
}

/// Every rule name [`lookup`] knows, for messages.
pub fn known() -> Vec<String> {
    custos_rules::names()
}

struct Catalogued(Entry);

impl ChangePreview for Catalogued {
    fn evaluate(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError> {
        let Kind::Change(rule) = self.0.kind() else {
            return Err(RuleError::UnexpectedTrigger("not a change rule"));
        };
        rule.preview(meta, parameters, item, now)
    }
}

/// A periodic rule gathers through a scope whose clients carry the deployer's call counter, so
/// its reads are counted with every other call.
impl PeriodicPreview for Catalogued {
    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        member: &'a Aws,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>> {
        Box::pin(async move {
            let Kind::Periodic(rule) = self.0.kind() else {
                return Err(RuleError::UnexpectedTrigger("not a periodic rule"));
            };
            let regional = member
                .config
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build();
            let scope = AwsScope::new(regional, None).with_interceptor(member.calls.clone());
            rule.preview(meta, parameters, &scope, region, now).await
        })
    }
}
