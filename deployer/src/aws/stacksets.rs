//! CloudFormation StackSets: read what is deployed, start operations and wait for them.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, CallAs, Capability, DeploymentTargets, Parameter,
    PermissionModels, RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus,
    StackSetStatus, Tag,
};
use tokio::task::JoinSet;

use aws_sdk_cloudformation::Client;

use super::AwsError;
use crate::desired::{InstanceKey, PermissionModel, StackSetSpec};
use crate::names::OWNERSHIP_TAG;
use crate::observed::{ObservedInstance, ObservedStackSet};
use crate::overrides::{Record, StackSetOverrides};
use crate::ownership::{Claim, Foreign};
use crate::plan::{AccountFilter, InstanceChange};
use crate::settings::{Deployment, RegionConcurrency};

/// The CloudFormation clients of a run: reads retry as the SDK does; writes are sent once per
/// attempt of the deployer's own, which never sends a write again before it has found out
/// whether the last one was carried out (the SDK's retry would send it again after an answer
/// was lost, and a service that ignores idempotency tokens would start a second operation).
#[derive(Debug, Clone)]
pub struct StackSets {
    pub reads: Client,
    pub writes: Client,
}

impl StackSets {
    /// One client for both (tests with mocked answers).
    pub fn same(client: Client) -> Self {
        Self {
            reads: client.clone(),
            writes: client,
        }
    }
}

/// Who administers the stack sets. With a delegated administrator of StackSets, service-managed
/// stack sets are addressed with `CallAs=DELEGATED_ADMIN` (they belong to the management
/// account); self-managed ones always belong to the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    pub delegated_admin: bool,
}

impl Caller {
    pub fn call_as(self, model: PermissionModel) -> CallAs {
        if self.delegated_admin && model == PermissionModel::ServiceManaged {
            CallAs::DelegatedAdmin
        } else {
            CallAs::SelfValue
        }
    }

    /// The `CallAs` values whose stack sets the caller administers.
    fn scopes(self) -> Vec<CallAs> {
        if self.delegated_admin {
            vec![CallAs::SelfValue, CallAs::DelegatedAdmin]
        } else {
            vec![CallAs::SelfValue]
        }
    }
}

/// How often an operation's status is read while it runs, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub longest: Duration,
    /// The longest wait for one operation (ours, or another on the same stack set).
    pub give_up_after: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            longest: Duration::from_secs(15),
            give_up_after: Duration::from_hours(1),
        }
    }
}

impl Polling {
    /// The default pauses, waiting at most `minutes` for an operation.
    pub fn with_timeout_minutes(minutes: u32) -> Self {
        Self {
            give_up_after: Duration::from_mins(u64::from(minutes)),
            ..Self::default()
        }
    }
}

/// How one target (account and region) of an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetResult {
    pub account: String,
    pub region: String,
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`…, as CloudFormation reports it.
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationOutcome {
    pub status: String,
    pub results: Vec<TargetResult>,
}

/// The stack sets named with `prefix` that `claim` owns, with their instances, and those it
/// does not own (listed, never read further).
pub async fn observe(
    client: &Client,
    prefix: &str,
    caller: Caller,
    claim: &Claim,
) -> Result<(BTreeMap<String, ObservedStackSet>, Vec<Foreign>), AwsError> {
    observe_with(client, prefix, caller, claim, &Record::new()).await
}

/// As [`observe`], taking each stack set's instance overrides from `recorded` when it covers
/// exactly the instances listed (one `DescribeStackInstance` per instance otherwise).
pub async fn observe_with(
    client: &Client,
    prefix: &str,
    caller: Caller,
    claim: &Claim,
    recorded: &Record,
) -> Result<(BTreeMap<String, ObservedStackSet>, Vec<Foreign>), AwsError> {
    let mut names = Vec::new();
    for call_as in caller.scopes() {
        let mut pages = client
            .list_stack_sets()
            .status(StackSetStatus::Active)
            .call_as(call_as.clone())
            .into_paginator()
            .items()
            .send();
        while let Some(summary) = pages.next().await {
            let summary = summary.map_err(|e| AwsError::new("listing stack sets", &e))?;
            let name = summary.stack_set_name().unwrap_or_default();
            // As delegated administrator, the listing holds the service-managed sets only.
            let own_scope = call_as == CallAs::SelfValue
                || summary.permission_model() == Some(&PermissionModels::ServiceManaged);
            if name.starts_with(prefix) && own_scope {
                names.push((name.to_owned(), call_as.clone()));
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut foreign = Vec::new();
    for (name, call_as) in names {
        match observe_one(client, &name, call_as, claim, recorded.get(&name)).await? {
            Ok(set) => {
                out.insert(name.clone(), set);
            }
            Err(other) => foreign.push(other),
        }
    }
    Ok((out, foreign))
}

/// A stack set's tags, as `DescribeStackSet` gives them.
fn tags_of(set: Option<&aws_sdk_cloudformation::types::StackSet>) -> BTreeMap<String, String> {
    set.map(|s| {
        s.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The stack set if `claim` owns it; else what is reported about it.
async fn observe_one(
    client: &Client,
    name: &str,
    call_as: CallAs,
    claim: &Claim,
    recorded: Option<&StackSetOverrides>,
) -> Result<Result<ObservedStackSet, Foreign>, AwsError> {
    let described = client
        .describe_stack_set()
        .stack_set_name(name)
        .call_as(call_as.clone())
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("describing stack set {name}"), &e))?;
    let set = described.stack_set();
    let tags = tags_of(set);
    let owner = claim.stack_set(tags.get(OWNERSHIP_TAG).map(String::as_str));
    if let Some(foreign) = Foreign::new("stack set", name, None, &owner) {
        return Ok(Err(foreign));
    }
    let permission_model = match set.and_then(|s| s.permission_model()) {
        Some(PermissionModels::ServiceManaged) => PermissionModel::ServiceManaged,
        _ => PermissionModel::SelfManaged,
    };
    let mut instances = BTreeMap::new();
    let mut pages = client
        .list_stack_instances()
        .stack_set_name(name)
        .call_as(call_as.clone())
        .into_paginator()
        .items()
        .send();
    while let Some(summary) = pages.next().await {
        let summary =
            summary.map_err(|e| AwsError::new(&format!("listing the instances of {name}"), &e))?;
        instances.insert(
            InstanceKey {
                account: summary.account().unwrap_or_default().to_owned(),
                region: summary.region().unwrap_or_default().to_owned(),
            },
            ObservedInstance {
                ou: summary.organizational_unit_id().map(str::to_owned),
                status: summary
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                overrides: BTreeMap::new(),
            },
        );
    }
    match recorded.and_then(|r| r.covering(instances.keys())) {
        Some(known) => {
            for (key, overrides) in known {
                if let Some(instance) = instances.get_mut(&key) {
                    instance.overrides = overrides;
                }
            }
        }
        None => read_overrides(client, name, &call_as, &mut instances).await?,
    }
    Ok(Ok(ObservedStackSet {
        name: name.to_owned(),
        permission_model,
        description: set
            .and_then(|s| s.description())
            .unwrap_or_default()
            .to_owned(),
        body: set
            .and_then(|s| s.template_body())
            .unwrap_or_default()
            .to_owned(),
        parameters: set
            .map(|s| {
                s.parameters()
                    .iter()
                    .map(|p| {
                        (
                            p.parameter_key().unwrap_or_default().to_owned(),
                            p.parameter_value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        retain_stacks_on_account_removal: set
            .and_then(|s| s.auto_deployment())
            .and_then(AutoDeployment::retain_stacks_on_account_removal)
            .unwrap_or(false),
        tags,
        instances,
    }))
}

/// Per-instance parameter overrides are only in `DescribeStackInstance`; read them a few at a
/// time.
async fn read_overrides(
    client: &Client,
    name: &str,
    call_as: &CallAs,
    instances: &mut BTreeMap<InstanceKey, ObservedInstance>,
) -> Result<(), AwsError> {
    const AT_ONCE: usize = 8;
    let keys: Vec<InstanceKey> = instances.keys().cloned().collect();
    for chunk in keys.chunks(AT_ONCE) {
        let mut reads = JoinSet::new();
        for key in chunk {
            let client = client.clone();
            let (name, key, call_as) = (name.to_owned(), key.clone(), call_as.clone());
            reads.spawn(async move {
                let out = client
                    .describe_stack_instance()
                    .stack_set_name(&name)
                    .call_as(call_as)
                    .stack_instance_account(&key.account)
                    .stack_instance_region(&key.region)
                    .send()
                    .await
                    .map_err(|e| AwsError::new(&format!("describing {name} in {key}"), &e))?;
                let overrides: BTreeMap<String, String> = out
                    .stack_instance()
                    .map(|i| {
                        i.parameter_overrides()
                            .iter()
                            .map(|p| {
                                (
                                    p.parameter_key().unwrap_or_default().to_owned(),
                                    p.parameter_value().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok::<_, AwsError>((key, overrides))
            });
        }
        while let Some(joined) = reads.join_next().await {
            let (key, overrides) = joined.map_err(|e| AwsError {
                message: format!("reading instance overrides: {e}"),
                code: None,
            })??;
            if let Some(instance) = instances.get_mut(&key) {
                instance.overrides = overrides;
            }
        }
    }
    Ok(())
}

fn parameters(values: &BTreeMap<String, String>) -> Vec<Parameter> {
    values
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

pub fn preferences(d: &Deployment) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .region_concurrency_type(match d.region_concurrency {
            RegionConcurrency::Parallel => RegionConcurrencyType::Parallel,
            RegionConcurrency::Sequential => RegionConcurrencyType::Sequential,
        })
        .max_concurrent_percentage(i32::try_from(d.max_concurrent_percentage).unwrap_or(100))
        .failure_tolerance_percentage(i32::try_from(d.failure_tolerance_percentage).unwrap_or(0))
        .build()
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// One write, as the deployer sends it: the id that makes it idempotent (a stack set
/// operation's `OperationId`, or `CreateStackSet`'s `ClientRequestToken`), chosen and recorded
/// before the first attempt, and how long to wait.
#[derive(Debug, Clone)]
pub struct Write {
    pub id: String,
    pub call_as: CallAs,
    pub polling: Polling,
}

/// How a failed attempt of a write is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// An earlier attempt with the same id was carried out.
    AlreadyStarted,
    /// Another operation runs on the stack set: wait, then send.
    Busy,
    /// Refused before being carried out (throttled): send again.
    Refused,
    /// No answer, or a server error: it may have been carried out; look before sending again.
    Unknown,
    /// A definite answer: stop.
    Failed,
}

const THROTTLING: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

fn attempt_outcome<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Attempt
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
    R: std::fmt::Debug + HasStatus,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default();
            if code == "OperationIdAlreadyExistsException" {
                Attempt::AlreadyStarted
            } else if code == "OperationInProgressException" {
                Attempt::Busy
            } else if THROTTLING.contains(&code) {
                Attempt::Refused
            } else if context.raw().status_code() >= 500 {
                Attempt::Unknown
            } else {
                Attempt::Failed
            }
        }
        SdkError::ConstructionFailure(_) => Attempt::Failed,
        _ => Attempt::Unknown,
    }
}

/// The status of a raw HTTP response.
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Attempts of one write before giving up (as the SDK's standard retry).
const MAX_ATTEMPTS: u32 = 8;

/// Whether the write an attempt may have carried out was carried out.
enum Found {
    Yes,
    No,
}

/// Sends a write until it is known to be carried out: an attempt that got no answer is looked
/// up (`lookup`) before anything is sent again; another operation on the stack set is waited
/// for, at most `polling.give_up_after`.
async fn send_once<T, E, R, F, Fut, L, LFut>(
    stack_set: &str,
    what: &str,
    polling: Polling,
    send: F,
    lookup: L,
) -> Result<(), AwsError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug + HasStatus,
    L: Fn() -> LFut,
    LFut: Future<Output = Result<Found, AwsError>>,
{
    let mut attempts = 0;
    let mut busy_for = Duration::ZERO;
    let mut pause = polling.first;
    loop {
        attempts += 1;
        let Err(error) = send().await else {
            return Ok(());
        };
        let outcome = attempt_outcome(&error);
        let error = AwsError::new(what, &error);
        match outcome {
            Attempt::AlreadyStarted => return Ok(()),
            Attempt::Failed => return Err(error),
            Attempt::Busy if busy_for >= polling.give_up_after => {
                return Err(AwsError {
                    message: format!(
                        "{what}: another operation on {stack_set} was still running after {} \
                         minutes; nothing was sent",
                        busy_for.as_secs() / 60
                    ),
                    code: error.code,
                });
            }
            Attempt::Busy => {
                tracing::info!(stack_set, "another operation is in progress; waiting");
                tokio::time::sleep(pause).await;
                busy_for += pause;
                pause = (pause * 2).min(polling.longest);
                continue;
            }
            Attempt::Unknown => {
                tracing::warn!(stack_set, error = %error, "no answer: looking the write up");
                if let Found::Yes = lookup().await.map_err(|e| AwsError {
                    message: format!(
                        "{what}: the answer was lost and the write could not be looked up, so it \
                         was not sent again: {e}"
                    ),
                    code: e.code,
                })? {
                    return Ok(());
                }
            }
            Attempt::Refused => {}
        }
        if attempts >= MAX_ATTEMPTS {
            return Err(error);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(polling.longest);
    }
}

/// Whether operation `id` exists on `stack_set` (an attempt that got no answer started it).
async fn operation_exists(
    client: &Client,
    stack_set: &str,
    id: &str,
    call_as: &CallAs,
) -> Result<Found, AwsError> {
    match client
        .describe_stack_set_operation()
        .stack_set_name(stack_set)
        .operation_id(id)
        .call_as(call_as.clone())
        .send()
        .await
    {
        Ok(_) => Ok(Found::Yes),
        Err(e) => {
            let error = AwsError::new(&format!("looking up operation {id} of {stack_set}"), &e);
            if error.is("OperationNotFoundException") {
                Ok(Found::No)
            } else {
                Err(error)
            }
        }
    }
}

/// Whether `name` exists as this deployment's stack set (tagged `owner`).
async fn own_stack_set_exists(
    client: &Client,
    name: &str,
    owner: Option<&str>,
    call_as: &CallAs,
) -> Result<Found, AwsError> {
    match client
        .describe_stack_set()
        .stack_set_name(name)
        .call_as(call_as.clone())
        .send()
        .await
    {
        Ok(out) => {
            let tags = tags_of(out.stack_set());
            if tags.get(OWNERSHIP_TAG).map(String::as_str) == owner {
                Ok(Found::Yes)
            } else {
                Err(AwsError {
                    message: format!(
                        "a stack set named {name} exists and is not this deployment's ({OWNERSHIP_TAG}={})",
                        tags.get(OWNERSHIP_TAG).map_or("none", String::as_str)
                    ),
                    code: None,
                })
            }
        }
        Err(e) => {
            let error = AwsError::new(&format!("looking up stack set {name}"), &e);
            if error.is("StackSetNotFoundException") {
                Ok(Found::No)
            } else {
                Err(error)
            }
        }
    }
}

pub async fn create_stack_set(
    sets: &StackSets,
    spec: &StackSetSpec,
    caller: Caller,
    write: &Write,
) -> Result<(), AwsError> {
    let call_as = caller.call_as(spec.permission_model);
    let send = || {
        let request = sets
            .writes
            .create_stack_set()
            .stack_set_name(&spec.name)
            .call_as(call_as.clone())
            .description(&spec.description)
            .template_body(&spec.body)
            .set_parameters(Some(parameters(&spec.parameters)))
            .capabilities(Capability::CapabilityNamedIam)
            .set_tags(Some(tag_list(&spec.tags)))
            .client_request_token(&write.id);
        match spec.permission_model {
            PermissionModel::ServiceManaged => request
                .permission_model(PermissionModels::ServiceManaged)
                .auto_deployment(
                    AutoDeployment::builder()
                        .enabled(true)
                        .retain_stacks_on_account_removal(spec.retain_stacks_on_account_removal)
                        .build(),
                ),
            PermissionModel::SelfManaged => request.permission_model(PermissionModels::SelfManaged),
        }
        .send()
    };
    let owner = spec.tags.get(OWNERSHIP_TAG).map(String::as_str);
    let lookup = || own_stack_set_exists(&sets.reads, &spec.name, owner, &call_as);
    let what = format!("creating stack set {}", spec.name);
    match send_once(&spec.name, &what, write.polling, send, lookup).await {
        // A retried create whose first attempt worked: ours if it carries our tag.
        Err(e) if e.is("NameAlreadyExistsException") => match lookup().await? {
            Found::Yes => Ok(()),
            Found::No => Err(e),
        },
        other => other,
    }
}

/// Updates the stack set (template, parameters, tags) and its instances; with `only`, the
/// instances of those targets alone (the others are left as they are, marked outdated).
pub async fn update_stack_set(
    sets: &StackSets,
    spec: &StackSetSpec,
    prefs: &StackSetOperationPreferences,
    only: Option<&InstanceChange>,
    write: &Write,
) -> Result<String, AwsError> {
    let auto = (spec.permission_model == PermissionModel::ServiceManaged).then(|| {
        AutoDeployment::builder()
            .enabled(true)
            .retain_stacks_on_account_removal(spec.retain_stacks_on_account_removal)
            .build()
    });
    let send = || {
        let mut request = sets
            .writes
            .update_stack_set()
            .stack_set_name(&spec.name)
            .call_as(write.call_as.clone())
            .description(&spec.description)
            .template_body(&spec.body)
            .set_parameters(Some(parameters(&spec.parameters)))
            .capabilities(Capability::CapabilityNamedIam)
            .set_tags(Some(tag_list(&spec.tags)))
            .set_auto_deployment(auto.clone())
            .operation_preferences(prefs.clone())
            .operation_id(&write.id);
        if let Some(only) = only {
            request = request
                .deployment_targets(targets(only))
                .set_regions(Some(only.regions.iter().cloned().collect()));
        }
        request.send()
    };
    let lookup = || operation_exists(&sets.reads, &spec.name, &write.id, &write.call_as);
    let what = format!("updating stack set {}", spec.name);
    send_once(&spec.name, &what, write.polling, send, lookup).await?;
    Ok(write.id.clone())
}

fn targets(change: &InstanceChange) -> DeploymentTargets {
    let builder = DeploymentTargets::builder();
    if change.ous.is_empty() {
        builder
            .set_accounts(Some(change.accounts.iter().cloned().collect()))
            .build()
    } else {
        let mut builder =
            builder.set_organizational_unit_ids(Some(change.ous.iter().cloned().collect()));
        if let Some(AccountFilter::Intersection) = change.filter {
            builder = builder
                .set_accounts(Some(change.accounts.iter().cloned().collect()))
                .account_filter_type(AccountFilterType::Intersection);
        }
        builder.build()
    }
}

pub async fn create_instances(
    sets: &StackSets,
    change: &InstanceChange,
    prefs: &StackSetOperationPreferences,
    write: &Write,
) -> Result<String, AwsError> {
    let send = || {
        sets.writes
            .create_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(write.call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            .set_parameter_overrides(
                (!change.overrides.is_empty()).then(|| parameters(&change.overrides)),
            )
            .operation_preferences(prefs.clone())
            .operation_id(&write.id)
            .send()
    };
    let lookup = || operation_exists(&sets.reads, &change.stack_set, &write.id, &write.call_as);
    let what = format!("adding instances to {}", change.stack_set);
    send_once(&change.stack_set, &what, write.polling, send, lookup).await?;
    Ok(write.id.clone())
}

pub async fn update_instances(
    sets: &StackSets,
    change: &InstanceChange,
    prefs: &StackSetOperationPreferences,
    write: &Write,
) -> Result<String, AwsError> {
    let send = || {
        sets.writes
            .update_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(write.call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            // The list sets the overrides exactly: a parameter left out takes the stack set's
            // value again.
            .set_parameter_overrides(Some(parameters(&change.overrides)))
            .operation_preferences(prefs.clone())
            .operation_id(&write.id)
            .send()
    };
    let lookup = || operation_exists(&sets.reads, &change.stack_set, &write.id, &write.call_as);
    let what = format!("updating instances of {}", change.stack_set);
    send_once(&change.stack_set, &what, write.polling, send, lookup).await?;
    Ok(write.id.clone())
}

pub async fn delete_instances(
    sets: &StackSets,
    change: &InstanceChange,
    prefs: &StackSetOperationPreferences,
    write: &Write,
) -> Result<String, AwsError> {
    let send = || {
        sets.writes
            .delete_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(write.call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            .retain_stacks(false)
            .operation_preferences(prefs.clone())
            .operation_id(&write.id)
            .send()
    };
    let lookup = || operation_exists(&sets.reads, &change.stack_set, &write.id, &write.call_as);
    let what = format!("removing instances of {}", change.stack_set);
    send_once(&change.stack_set, &what, write.polling, send, lookup).await?;
    Ok(write.id.clone())
}

/// Deletes an empty stack set; one already gone (a retried call whose first attempt worked)
/// counts as deleted.
pub async fn delete_stack_set(sets: &StackSets, name: &str, write: &Write) -> Result<(), AwsError> {
    let send = || {
        sets.writes
            .delete_stack_set()
            .stack_set_name(name)
            .call_as(write.call_as.clone())
            .send()
    };
    // Deleting is idempotent: whether the lost attempt worked or not, sending again is safe.
    let lookup = || async { Ok(Found::No) };
    let what = format!("deleting stack set {name}");
    match send_once(name, &what, write.polling, send, lookup).await {
        Err(e) if !e.is("StackSetNotFoundException") => Err(e),
        _ => Ok(()),
    }
}

/// The status of an operation, read again after a transient failure (bounded).
async fn operation_status(
    client: &Client,
    stack_set: &str,
    operation_id: &str,
    call_as: &CallAs,
) -> Result<StackSetOperationStatus, AwsError> {
    let out = client
        .describe_stack_set_operation()
        .stack_set_name(stack_set)
        .call_as(call_as.clone())
        .operation_id(operation_id)
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("reading operation {operation_id}"), &e))?;
    Ok(out
        .stack_set_operation()
        .and_then(|o| o.status())
        .cloned()
        .unwrap_or(StackSetOperationStatus::Running))
}

/// Waits for an operation to end, at most `polling.give_up_after`, then reads how each target
/// ended. When the limit is reached, the error names the targets still running.
pub async fn wait(
    client: &Client,
    stack_set: &str,
    operation_id: &str,
    call_as: CallAs,
    polling: Polling,
) -> Result<OperationOutcome, AwsError> {
    let mut pause = polling.first;
    let mut waited = Duration::ZERO;
    let status = loop {
        let status = operation_status(client, stack_set, operation_id, &call_as).await?;
        match status {
            StackSetOperationStatus::Running
            | StackSetOperationStatus::Queued
            | StackSetOperationStatus::Stopping
                if waited >= polling.give_up_after =>
            {
                let results = results(client, stack_set, operation_id, &call_as).await?;
                let running: Vec<String> = results
                    .iter()
                    .filter(|r| matches!(r.status.as_str(), "RUNNING" | "PENDING"))
                    .map(|r| format!("{}/{}", r.account, r.region))
                    .collect();
                return Err(AwsError {
                    message: format!(
                        "operation {operation_id} on {stack_set} is still {} after {} minutes \
                         (the limit, operation-timeout-minutes); still running in: {}",
                        status.as_str(),
                        waited.as_secs() / 60,
                        if running.is_empty() {
                            "no target reported yet".to_owned()
                        } else {
                            running.join(", ")
                        }
                    ),
                    code: Some("OperationTimedOut".to_owned()),
                });
            }
            StackSetOperationStatus::Running
            | StackSetOperationStatus::Queued
            | StackSetOperationStatus::Stopping => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(polling.longest);
            }
            other => break other,
        }
    };
    Ok(OperationOutcome {
        status: status.as_str().to_owned(),
        results: results(client, stack_set, operation_id, &call_as).await?,
    })
}

/// How each target of an operation is doing (or ended), sorted by account and region.
async fn results(
    client: &Client,
    stack_set: &str,
    operation_id: &str,
    call_as: &CallAs,
) -> Result<Vec<TargetResult>, AwsError> {
    let mut results = Vec::new();
    let mut pages = client
        .list_stack_set_operation_results()
        .stack_set_name(stack_set)
        .call_as(call_as.clone())
        .operation_id(operation_id)
        .into_paginator()
        .items()
        .send();
    while let Some(summary) = pages.next().await {
        let summary = summary
            .map_err(|e| AwsError::new(&format!("reading the results of {operation_id}"), &e))?;
        results.push(TargetResult {
            account: summary.account().unwrap_or_default().to_owned(),
            region: summary.region().unwrap_or_default().to_owned(),
            status: summary
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: summary.status_reason().map(str::to_owned),
        });
    }
    results.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(results)
}

/// Whether an operation is still under way (recorded by an earlier run that stopped).
pub async fn in_flight(
    client: &Client,
    stack_set: &str,
    operation_id: &str,
    call_as: CallAs,
) -> Result<bool, AwsError> {
    match operation_status(client, stack_set, operation_id, &call_as).await {
        Ok(status) => Ok(matches!(
            status,
            StackSetOperationStatus::Running
                | StackSetOperationStatus::Queued
                | StackSetOperationStatus::Stopping
        )),
        Err(e) if e.is("OperationNotFoundException") || e.is("StackSetNotFoundException") => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "stacksets_tests.rs"]
mod tests;
