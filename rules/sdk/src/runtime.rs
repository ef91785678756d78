//! The entry point of every rule binary: the Lambda runtime in AWS, a local runner elsewhere.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::aws::{self, AwsScope, Edge};
use crate::compliance::Compliance;
use crate::decide;
use crate::error::RuleError;
use crate::evaluation::Evaluation;
use crate::event::{Invocation, Trigger};
use crate::item::ConfigurationItem;
use crate::meta::RuleMeta;
use crate::notify::{Notifier, TOPIC_ENV};
use crate::observed;
use crate::remediation::{self, Outcome, Remediation, RemediationTrigger};
use crate::replay;
use crate::rule::{PeriodicRule, Rule, RunContext};
use crate::sink;

/// Whether evaluations are put or only returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Put,
    DryRun,
}

/// Runs a rule outside Lambda on a Config event file, or replays a file of recorded events.
#[derive(Debug, Parser)]
#[command(
    about = "Run this Config rule on a Config Lambda event file.",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
struct LocalArgs {
    /// A Config rule Lambda event (JSON), as Config sends it.
    #[arg(long, value_name = "FILE", required = true)]
    event: Option<PathBuf>,
    /// Print the evaluations as JSON and put nothing. Oversized and periodic events still read
    /// from AWS.
    #[arg(long)]
    dry_run: bool,
    #[command(subcommand)]
    replay: Option<Replay>,
}

#[derive(Debug, clap::Subcommand)]
enum Replay {
    /// Run the rule on recorded events, one JSON event a line: one result line per event, a
    /// summary on stderr, exit status 1 when any line failed.
    Replay {
        /// The events, one Config rule Lambda event (JSON) a line.
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Put nothing (as for --event).
        #[arg(long)]
        dry_run: bool,
    },
}

impl LocalArgs {
    fn mode(dry_run: bool) -> Mode {
        if dry_run { Mode::DryRun } else { Mode::Put }
    }
}

/// Handles one change-triggered invocation.
pub async fn handle_change<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
) -> Result<Vec<Evaluation>, RuleError> {
    // Boxed: the handler's future is large (callers await it inside their own).
    Box::pin(handle_change_notifying(rule, meta, event, edge, mode, None)).await
}

/// Handles one change-triggered invocation; the records of SSM remediations observed in the
/// change go to `topic_arn` when given.
pub async fn handle_change_notifying<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
    topic_arn: Option<&str>,
) -> Result<Vec<Evaluation>, RuleError> {
    let decided = decide_change(rule, meta, event, edge).await?;
    if mode == Mode::Put {
        sink::put_evaluations(
            decided.scope.config_client(),
            &decided.invocation.result_token,
            &decided.evaluations,
        )
        .await?;
        Box::pin(record_observed(meta, &decided, topic_arn)).await?;
    }
    Ok(decided.evaluations)
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
    let notifier = topic_arn
        .map(|topic| Notifier::new(aws_sdk_sns::Client::new(decided.scope.config()), topic));
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

/// Handles one change-triggered invocation of a rule that remediates inline: after putting a
/// NON_COMPLIANT result, and when `remediation.inline(params)` says so, it remediates the
/// resource (re-read, act, record; the record goes to `topic_arn` when given). Config
/// re-evaluates on the change the fix causes.
pub async fn handle_change_remediating<R, M>(
    rule: &R,
    remediation: &M,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
    topic_arn: Option<&str>,
) -> Result<Vec<Evaluation>, RuleError>
where
    R: Rule,
    M: Remediation<Params = R::Params> + Sync,
{
    let decided = decide_change(rule, meta, event, edge).await?;
    if mode == Mode::DryRun {
        return Ok(decided.evaluations);
    }
    sink::put_evaluations(
        decided.scope.config_client(),
        &decided.invocation.result_token,
        &decided.evaluations,
    )
    .await?;
    Box::pin(record_observed(meta, &decided, topic_arn)).await?;
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
        && remediation.inline(&settings.params)
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
        let notifier =
            topic_arn.map(|topic| Notifier::new(aws_sdk_sns::Client::new(scope.config()), topic));
        let outcome = remediation::remediate(
            remediation,
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

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::AlreadyCompliant => "already-compliant",
        Outcome::Exempt(_) => "exempt",
        Outcome::Remediated(_) => "remediated",
    }
}

/// The notification topic named in the Lambda environment ([`TOPIC_ENV`]), if any.
pub fn topic_from_env() -> Option<String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the Lambda environment is read at the edge"
    )]
    std::env::var(TOPIC_ENV).ok().filter(|t| !t.is_empty())
}

/// A notifier for the topic named in the Lambda environment, if any.
pub fn notifier_from_env(scope: &AwsScope) -> Option<Notifier> {
    topic_from_env().map(|topic| Notifier::new(aws_sdk_sns::Client::new(scope.config()), topic))
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

/// Handles one scheduled invocation of a periodic rule.
pub async fn handle_periodic<R: PeriodicRule>(
    rule: &R,
    meta: &RuleMeta,
    event: Value,
    edge: &Edge,
    mode: Mode,
) -> Result<Vec<Evaluation>, RuleError> {
    // Boxed: the handler's future is large (callers await it inside their own).
    Box::pin(handle_periodic_notifying(
        rule, meta, event, edge, mode, None,
    ))
    .await
}

/// Handles one scheduled invocation of a periodic rule; remediation records made while
/// gathering go to `topic_arn` when given.
pub async fn handle_periodic_notifying<R: PeriodicRule>(
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
    let notifier =
        topic_arn.map(|topic| Notifier::new(aws_sdk_sns::Client::new(scope.config()), topic));
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

fn summary(evaluations: &[Evaluation]) -> Value {
    json!({ "evaluations": evaluations.len() })
}

fn in_lambda() -> bool {
    #[expect(
        clippy::disallowed_methods,
        reason = "the entry point decides where it runs"
    )]
    let set = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    set && std::env::args_os().len() <= 1
}

/// Reads rule metadata embedded in the binary; a broken `rule.toml` cannot ship (tests read it).
fn meta_or_exit(rule_toml: &str) -> RuleMeta {
    RuleMeta::from_toml(rule_toml).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    })
}

/// The entry point of a change-triggered rule binary.
pub async fn run<R: Rule + Sync>(rule: R, rule_toml: &str) -> Result<(), lambda_runtime::Error> {
    let meta = meta_or_exit(rule_toml);
    let edge = Edge::from_env();
    let topic = topic_from_env();
    serve(|event, mode| handle_change_notifying(&rule, &meta, event, &edge, mode, topic.as_deref()))
        .await
}

/// The entry point of a change-triggered rule binary that can remediate inline.
pub async fn run_remediating<R, M>(
    rule: R,
    remediation: M,
    rule_toml: &str,
) -> Result<(), lambda_runtime::Error>
where
    R: Rule + Sync,
    M: Remediation<Params = R::Params> + Sync,
{
    let meta = meta_or_exit(rule_toml);
    let edge = Edge::from_env();
    let topic = topic_from_env();
    serve(|event, mode| {
        handle_change_remediating(
            &rule,
            &remediation,
            &meta,
            event,
            &edge,
            mode,
            topic.as_deref(),
        )
    })
    .await
}

/// The entry point of a periodic rule binary.
pub async fn run_periodic<R: PeriodicRule + Sync>(
    rule: R,
    rule_toml: &str,
) -> Result<(), lambda_runtime::Error> {
    let meta = meta_or_exit(rule_toml);
    let edge = Edge::from_env();
    let topic = topic_from_env();
    serve(|event, mode| {
        handle_periodic_notifying(&rule, &meta, event, &edge, mode, topic.as_deref())
    })
    .await
}

/// Serves `handle` as the Lambda function in AWS (putting results), or runs it once on
/// `--event FILE [--dry-run]` elsewhere and exits.
async fn serve<H, F>(handle: H) -> Result<(), lambda_runtime::Error>
where
    H: Fn(Value, Mode) -> F,
    F: Future<Output = Result<Vec<Evaluation>, RuleError>>,
{
    if in_lambda() {
        lambda_runtime::tracing::init_default_subscriber();
        let handle = &handle;
        // Boxed: the runtime's and the handlers' futures are large.
        return Box::pin(lambda_runtime::run(service_fn(
            move |event: LambdaEvent<Value>| async move {
                Box::pin(handle(event.payload, Mode::Put))
                    .await
                    .map(|e| summary(&e))
            },
        )))
        .await;
    }
    let args = LocalArgs::parse();
    if let Some(Replay::Replay { events, dry_run }) = &args.replay {
        let mode = LocalArgs::mode(*dry_run);
        std::process::exit(replay_file(events, |event| handle(event, mode)).await);
    }
    let (event, mode) = local_event(&args).unwrap_or_else(|e| fail(&e));
    std::process::exit(report(Box::pin(handle(event, mode)).await));
}

/// `--event FILE [--dry-run]`: reads the event, or says on stderr why it cannot.
fn local_event(args: &LocalArgs) -> Result<(Value, Mode), String> {
    let path = args.event.as_deref().ok_or("--event FILE is required")?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let event =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Ok((event, LocalArgs::mode(args.dry_run)))
}

/// `replay --events FILE`: the result lines on stdout, the summary on stderr; the exit status.
async fn replay_file<H, F>(path: &std::path::Path, handle: H) -> i32
where
    H: Fn(Value) -> F,
    F: Future<Output = Result<Vec<Evaluation>, RuleError>>,
{
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match replay::replay(std::io::BufReader::new(file), handle, &mut out).await {
        Ok(tally) => {
            eprintln!("{tally}");
            i32::from(tally.failed())
        }
        Err(e) => fail(&format!("replaying {}: {e}", path.display())),
    }
}

/// Prints the evaluations as a JSON array on stdout, or the error on stderr; the exit status.
fn report(result: Result<Vec<Evaluation>, RuleError>) -> i32 {
    match result {
        Ok(evaluations) => {
            let out = serde_json::to_string_pretty(&evaluations).expect("evaluations serialise");
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = writeln!(std::io::stdout().lock(), "{out}");
            0
        }
        Err(e) => {
            eprintln!("error: {e} ({})", e.kind());
            1
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
