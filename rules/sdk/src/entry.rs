//! A rule's descriptor: its parsed `rule.toml` and what kind of function it is (a change rule,
//! optionally remediating inline; a periodic rule). [`crate::serve`]
//! runs one as a Lambda function or from the command line; the deployer's preview, the harness
//! and the bench run the same descriptor in-process.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::aws::{self, AwsScope, Edge};
use crate::compliance::Compliance;
use crate::decide;
use crate::error::RuleError;
use crate::evaluation::Evaluation;
use crate::event::{Invocation, Trigger};
use crate::item::ConfigurationItem;
use crate::meta::RuleMeta;
use crate::notify::Notifier;
use crate::observed;
use crate::remediation::{self, Outcome, Remediation, RemediationTrigger};
use crate::rule::{PeriodicRule, Rule, RunContext};
use crate::sink;

/// Whether evaluations are put or only returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Put,
    DryRun,
}

/// A boxed future: entries of different rules are kept in one list.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One rule function: its metadata and its kind.
pub struct Entry {
    meta: RuleMeta,
    kind: Kind,
    /// Where records of remediations are published, if anywhere.
    topic: Option<String>,
}

/// What the function does when invoked.
pub enum Kind {
    /// Evaluates the changed resource (or, on a schedule, re-checks exempt ones).
    Change(Box<dyn ChangeHost>),
    /// Gathers facts at the edge on a schedule and evaluates them.
    Periodic(Box<dyn PeriodicHost>),
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Change(_) => "change",
            Kind::Periodic(_) => "periodic",
        };
        f.debug_struct("Entry")
            .field("rule", &self.meta.name)
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

/// Parses the `rule.toml` embedded in a binary; a broken one cannot ship (every rule's tests
/// build its entry).
fn parse(rule_toml: &str) -> RuleMeta {
    RuleMeta::from_toml(rule_toml).unwrap_or_else(|e| panic!("rule.toml: {e}"))
}

impl Entry {
    /// A change-triggered rule; `.remediating(..)` adds an inline remediation.
    pub fn change<R: Rule + Send + Sync + 'static>(rule: R, rule_toml: &str) -> ChangeEntry<R> {
        ChangeEntry {
            rule,
            meta: parse(rule_toml),
        }
    }

    /// A periodic rule.
    pub fn periodic<R>(rule: R, rule_toml: &str) -> Self
    where
        R: PeriodicRule + Send + Sync + 'static,
        R::Params: Send,
    {
        Self::new(parse(rule_toml), Kind::Periodic(Box::new(Periodic(rule))))
    }

    /// An entry of `kind` for the rule `meta` describes.
    pub fn new(meta: RuleMeta, kind: Kind) -> Self {
        Self {
            meta,
            kind,
            topic: None,
        }
    }

    /// Publishes remediation records to `topic` (the Lambda environment's, under [`crate::serve`]).
    #[must_use]
    pub fn notifying(mut self, topic: Option<String>) -> Self {
        self.topic = topic;
        self
    }

    pub fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Handles one Config rule invocation: decode, decide, and (with [`Mode::Put`]) put the
    /// results and remediate as the entry says.
    pub async fn handle(
        &self,
        event: Value,
        edge: &Edge,
        mode: Mode,
    ) -> Result<Vec<Evaluation>, RuleError> {
        let topic = self.topic.as_deref();
        match &self.kind {
            Kind::Change(rule) => rule.handle(&self.meta, event, edge, mode, topic).await,
            Kind::Periodic(rule) => rule.handle(&self.meta, event, edge, mode, topic).await,
        }
    }
}

/// A change rule being described; `into()` gives its [`Entry`].
pub struct ChangeEntry<R> {
    rule: R,
    meta: RuleMeta,
}

impl<R: Rule + Send + Sync + 'static> ChangeEntry<R> {
    /// After putting a NON_COMPLIANT result, and when `remediation.inline(params)` says so,
    /// remediates the resource (re-read, act, record). Config re-evaluates on the change the
    /// fix causes.
    pub fn remediating<M>(self, remediation: M) -> Entry
    where
        M: Remediation<Params = R::Params> + Send + Sync + 'static,
        R::Params: Send + Sync,
    {
        let host = Change {
            rule: self.rule,
            inline: Some(Box::new(remediation) as Box<dyn Inline<R::Params>>),
        };
        Entry::new(self.meta, Kind::Change(Box::new(host)))
    }
}

impl<R: Rule + Send + Sync + 'static> From<ChangeEntry<R>> for Entry
where
    R::Params: Send + Sync,
{
    fn from(entry: ChangeEntry<R>) -> Self {
        let host = Change {
            rule: entry.rule,
            inline: None,
        };
        Entry::new(entry.meta, Kind::Change(Box::new(host)))
    }
}

/// A change rule, type-erased.
pub trait ChangeHost: Send + Sync {
    /// One invocation (see [`Entry::handle`]).
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        event: Value,
        edge: &'a Edge,
        mode: Mode,
        topic: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>>;

    /// Pure: the rule on one item with `parameters` as `ruleParameters` would carry them, at
    /// `now` (no role assumed, nothing put).
    fn preview(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError>;

    /// Pure: a change notification decoded and decided, as the handler does before any AWS
    /// call (an oversized or scheduled event is refused).
    fn decide(&self, meta: &RuleMeta, event: Value) -> Result<Evaluation, RuleError>;
}

/// A periodic rule, type-erased.
pub trait PeriodicHost: Send + Sync {
    /// One invocation (see [`Entry::handle`]).
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        event: Value,
        edge: &'a Edge,
        mode: Mode,
        topic: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>>;

    /// Gathers read-only (`may_act` false) through `scope` and evaluates at `now`; before
    /// rollout there are no earlier results to retire.
    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        scope: &'a AwsScope,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>>;
}

/// The rule's parameters as one invocation would carry them, decoded the way the SDK decodes
/// `ruleParameters`; no role to assume (a preview reads with the caller's own credentials).
fn preview_settings<P: serde::de::DeserializeOwned>(
    meta: &RuleMeta,
    parameters: &BTreeMap<String, Value>,
) -> Result<decide::Settings<P>, RuleError> {
    Ok(decide::Settings {
        execution_role_name: None,
        ..decide::parameter_settings(meta, parameters)?
    })
}

struct Change<R: Rule> {
    rule: R,
    inline: Option<Box<dyn Inline<R::Params>>>,
}

impl<R> ChangeHost for Change<R>
where
    R: Rule + Send + Sync,
    R::Params: Send + Sync,
{
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        event: Value,
        edge: &'a Edge,
        mode: Mode,
        topic: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>> {
        Box::pin(handle_change(
            &self.rule,
            self.inline.as_deref(),
            meta,
            event,
            edge,
            mode,
            topic,
        ))
    }

    fn preview(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, Value>,
        item: ConfigurationItem,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError> {
        let settings = preview_settings::<R::Params>(meta, parameters)?;
        decide::change(&self.rule, meta, &settings, item, false, Some(now))
    }

    fn decide(&self, meta: &RuleMeta, event: Value) -> Result<Evaluation, RuleError> {
        let invocation = Invocation::from_json(event)?;
        let settings = decide::settings::<R::Params>(meta, &invocation)?;
        let Trigger::Change(item) = invocation.trigger else {
            return Err(RuleError::UnexpectedTrigger(
                "only a change notification is decided without AWS",
            ));
        };
        decide::change(
            &self.rule,
            meta,
            &settings,
            *item,
            invocation.event_left_scope,
            invocation.notification_time,
        )
    }
}

struct Periodic<R>(R);

impl<R> PeriodicHost for Periodic<R>
where
    R: PeriodicRule + Send + Sync,
    R::Params: Send,
{
    fn handle<'a>(
        &'a self,
        meta: &'a RuleMeta,
        event: Value,
        edge: &'a Edge,
        mode: Mode,
        topic: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>> {
        Box::pin(handle_periodic(&self.0, meta, event, edge, mode, topic))
    }

    fn preview<'a>(
        &'a self,
        meta: &'a RuleMeta,
        parameters: &'a BTreeMap<String, Value>,
        scope: &'a AwsScope,
        region: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Evaluation>, RuleError>> {
        Box::pin(async move {
            let settings = preview_settings::<R::Params>(meta, parameters)?;
            let run = RunContext {
                rule: &meta.name,
                now,
                registry: &settings.registry,
                may_act: false,
                notifier: None,
                region,
            };
            let facts = self.0.gather(scope, &settings.params, &run).await?;
            let findings = self.0.evaluate(&facts, &settings.params, now);
            Ok(decide::periodic(
                &meta.name,
                findings,
                &BTreeSet::new(),
                &settings.registry,
                now,
            ))
        })
    }
}

/// An inline remediation, type-erased over its state and action.
pub(crate) trait Inline<P>: Send + Sync {
    fn wanted(&self, params: &P) -> bool;

    fn remediate<'a>(
        &'a self,
        scope: &'a AwsScope,
        resource_id: &'a str,
        params: &'a P,
        context: &'a remediation::Context<'a>,
        notifier: Option<&'a Notifier>,
    ) -> BoxFuture<'a, Result<Outcome, RuleError>>;
}

impl<M> Inline<M::Params> for M
where
    M: Remediation + Send + Sync,
    M::Params: Send + Sync,
{
    fn wanted(&self, params: &M::Params) -> bool {
        self.inline(params)
    }

    fn remediate<'a>(
        &'a self,
        scope: &'a AwsScope,
        resource_id: &'a str,
        params: &'a M::Params,
        context: &'a remediation::Context<'a>,
        notifier: Option<&'a Notifier>,
    ) -> BoxFuture<'a, Result<Outcome, RuleError>> {
        Box::pin(remediation::remediate(
            self,
            scope,
            resource_id,
            params,
            context,
            notifier,
        ))
    }
}

/// One change-triggered invocation: decide; with [`Mode::Put`], put the result, record an SSM
/// remediation it observes (to `topic` when given), and remediate inline when the entry says so.
pub(crate) async fn handle_change<R: Rule>(
    rule: &R,
    inline: Option<&dyn Inline<R::Params>>,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
    topic: Option<&str>,
) -> Result<Vec<Evaluation>, RuleError> {
    let decided = Box::pin(decide_change(rule, meta, event, edge)).await?;
    if mode == Mode::DryRun {
        return Ok(decided.evaluations);
    }
    sink::put_evaluations(
        decided.scope.config_client(),
        &decided.invocation.result_token,
        &decided.evaluations,
    )
    .await?;
    Box::pin(record_observed(meta, &decided, topic)).await?;
    let Some(inline) = inline else {
        return Ok(decided.evaluations);
    };
    let Decided {
        invocation,
        settings,
        scope,
        evaluations,
        region,
        ..
    } = decided;
    // A scheduled re-check remediates nothing: Config's own remediation follows the results.
    let [evaluation] = evaluations.as_slice() else {
        return Ok(evaluations);
    };
    if invocation.trigger != Trigger::Scheduled
        && evaluation.compliance_type == Compliance::NonCompliant
        && inline.wanted(&settings.params)
    {
        let context = remediation::Context {
            rule: &meta.name,
            account: invocation
                .account_id
                .as_deref()
                .or(scope.account_id())
                .unwrap_or_default(),
            region: region
                .as_deref()
                .or(scope.config().region().map(aws_config::Region::as_ref))
                .unwrap_or_default(),
            registry: &settings.registry,
            trigger: RemediationTrigger::Inline,
            now: invocation
                .notification_time
                .unwrap_or(evaluation.ordering_timestamp),
        };
        let notifier = topic.map(|topic| Notifier::new(scope.client(), topic));
        let outcome = inline
            .remediate(
                &scope,
                &evaluation.compliance_resource_id,
                &settings.params,
                &context,
                notifier.as_ref(),
            )
            .await?;
        tracing::info!(rule = %meta.name, resource_id = %evaluation.compliance_resource_id, outcome = ?outcome_name(&outcome), "remediation");
    }
    Ok(evaluations)
}

/// After the results are put: the record of the SSM remediation that made the resource
/// compliant, if this change is its effect ([`observed`]). A failure fails the invocation, so
/// Config's retry tries the record again rather than losing it.
async fn record_observed<P>(
    meta: &RuleMeta,
    decided: &Decided<P>,
    topic_arn: Option<&str>,
) -> Result<(), RuleError> {
    let Some(item) = &decided.observed_item else {
        return Ok(());
    };
    let notifier = topic_arn.map(|topic| Notifier::new(decided.scope.client(), topic));
    let rule_name = decided
        .invocation
        .config_rule_name
        .as_deref()
        .unwrap_or(&meta.name);
    let recorded = observed::record_ssm_remediation(
        decided.scope.config_client(),
        meta,
        rule_name,
        item,
        decided.evaluations[0].compliance_type,
        notifier.as_ref(),
    )
    .await?;
    if recorded.is_some() {
        tracing::info!(rule = %meta.name, resource_id = %item.key.resource_id, "recorded an SSM remediation");
    }
    Ok(())
}

pub(crate) fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::AlreadyCompliant => "already-compliant",
        Outcome::Exempt(_) => "exempt",
        Outcome::Remediated(_) => "remediated",
    }
}

/// A change invocation decoded and decided, with what putting and remediating need.
struct Decided<P> {
    invocation: Invocation,
    settings: decide::Settings<P>,
    scope: AwsScope,
    evaluations: Vec<Evaluation>,
    region: Option<String>,
    /// The item evaluated, kept when the rule's remediation is an SSM document whose runs are
    /// recorded when observed.
    observed_item: Option<ConfigurationItem>,
}

async fn decide_change<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
) -> Result<Decided<R::Params>, RuleError> {
    let invocation = Invocation::from_json(event)?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    let partition = aws::partition_of(invocation.config_rule_arn.as_deref());
    let scope = edge
        .scope(
            invocation.account_id.as_deref(),
            settings.execution_role_name.as_deref(),
            partition,
        )
        .await;
    let item = match &invocation.trigger {
        Trigger::Change(item) => (**item).clone(),
        Trigger::Oversized(summary) => {
            if decide::settled_without_rule(summary, invocation.event_left_scope).is_some() {
                (**summary).clone()
            } else {
                aws::latest_item(scope.config_client(), &summary.key).await?
            }
        }
        Trigger::Scheduled => {
            let evaluations = Box::pin(recheck(rule, meta, &settings, &invocation, &scope)).await?;
            return Ok(Decided {
                invocation,
                settings,
                scope,
                evaluations,
                region: None,
                observed_item: None,
            });
        }
    };
    let region = item.region.clone();
    let observed_item = observed::observed_document(meta).map(|_| item.clone());
    let evaluation = decide::change(
        rule,
        meta,
        &settings,
        item,
        invocation.event_left_scope,
        invocation.notification_time,
    )?;
    tracing::info!(
        rule = %meta.name,
        resource_id = %evaluation.compliance_resource_id,
        compliance = %evaluation.compliance_type,
        "evaluated"
    );
    Ok(Decided {
        invocation,
        settings,
        scope,
        evaluations: vec![evaluation],
        region,
        observed_item,
    })
}

/// A scheduled invocation of a change-triggered rule (the daily trigger the deployer adds so
/// exemptions lapse on time): every resource whose last result may change with time alone is
/// evaluated again from its latest recorded item, at the invocation's time. Ordered by that time,
/// as Config orders periodic results. A resource whose item cannot be read or decoded is logged
/// and left as it was; the others are still evaluated.
async fn recheck<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    settings: &decide::Settings<R::Params>,
    invocation: &Invocation,
    scope: &AwsScope,
) -> Result<Vec<Evaluation>, RuleError> {
    let now = invocation.notification_time.ok_or(RuleError::MissingTime)?;
    let rule_name = invocation.config_rule_name.as_deref().unwrap_or(&meta.name);
    let client = scope.config_client();
    let keys = sink::results_that_may_change(client, rule_name).await?;
    let mut evaluations = Vec::with_capacity(keys.len());
    for key in keys {
        let decided = match aws::latest_item(client, &key).await {
            Ok(item) => decide::change(rule, meta, settings, item, false, Some(now)),
            Err(e) => Err(e),
        };
        match decided {
            Ok(mut evaluation) => {
                evaluation.ordering_timestamp = now;
                evaluations.push(evaluation);
            }
            Err(e) => {
                tracing::warn!(rule = %meta.name, resource = %key, error = %e, "not re-evaluated");
            }
        }
    }
    tracing::info!(rule = %meta.name, evaluations = evaluations.len(), "re-evaluated exemptions");
    Ok(evaluations)
}

/// Handles one scheduled invocation of a periodic rule; remediation records made while
/// gathering go to `topic_arn` when given.
pub(crate) async fn handle_periodic<R: PeriodicRule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
    topic_arn: Option<&str>,
) -> Result<Vec<Evaluation>, RuleError> {
    let invocation = Invocation::from_json(event)?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    if invocation.trigger != Trigger::Scheduled {
        return Err(RuleError::UnexpectedTrigger(
            "this rule is periodic and got a configuration change notification",
        ));
    }
    let now = invocation.notification_time.ok_or(RuleError::MissingTime)?;
    let partition = aws::partition_of(invocation.config_rule_arn.as_deref());
    let scope = edge
        .scope(
            invocation.account_id.as_deref(),
            settings.execution_role_name.as_deref(),
            partition,
        )
        .await;
    let notifier = topic_arn.map(|topic| Notifier::new(scope.client(), topic));
    let region = scope
        .config()
        .region()
        .map(ToString::to_string)
        .unwrap_or_default();
    let run = RunContext {
        rule: &meta.name,
        now,
        registry: &settings.registry,
        may_act: mode == Mode::Put,
        notifier: notifier.as_ref(),
        region: &region,
    };
    let facts = rule.gather(&scope, &settings.params, &run).await?;
    let findings = rule.evaluate(&facts, &settings.params, now);
    let rule_name = invocation.config_rule_name.as_deref().unwrap_or(&meta.name);
    let client = scope.config_client();
    let previous = sink::previously_evaluated(client, rule_name).await?;
    let evaluations = decide::periodic(&meta.name, findings, &previous, &settings.registry, now);
    tracing::info!(rule = %meta.name, evaluations = evaluations.len(), previous = previous.len(), "evaluated");
    if mode == Mode::Put {
        sink::put_evaluations(client, &invocation.result_token, &evaluations).await?;
    }
    Ok(evaluations)
}
