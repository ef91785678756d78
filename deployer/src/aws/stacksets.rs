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
use crate::plan::{AccountFilter, InstanceChange, ObservedInstance, ObservedStackSet};
use crate::settings::{Deployment, RegionConcurrency};

/// Every stack set Custos creates carries this tag.
pub const MANAGED_TAG: (&str, &str) = ("custos:managed", "true");

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

/// How often an operation's status is read while it runs.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub longest: Duration,
    /// How long to wait for another operation on the same stack set to finish.
    pub give_up_after: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            longest: Duration::from_secs(15),
            give_up_after: Duration::from_hours(3),
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

/// The Custos stack sets (name starting with `prefix`) and their instances.
pub async fn observe(
    client: &Client,
    prefix: &str,
    caller: Caller,
) -> Result<BTreeMap<String, ObservedStackSet>, AwsError> {
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
    for (name, call_as) in names {
        out.insert(name.clone(), observe_one(client, &name, call_as).await?);
    }
    Ok(out)
}

async fn observe_one(
    client: &Client,
    name: &str,
    call_as: CallAs,
) -> Result<ObservedStackSet, AwsError> {
    let described = client
        .describe_stack_set()
        .stack_set_name(name)
        .call_as(call_as.clone())
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("describing stack set {name}"), &e))?;
    let set = described.stack_set();
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
    read_overrides(client, name, &call_as, &mut instances).await?;
    Ok(ObservedStackSet {
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
        instances,
    })
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

pub async fn create_stack_set(
    client: &Client,
    spec: &StackSetSpec,
    caller: Caller,
) -> Result<(), AwsError> {
    let mut request = client
        .create_stack_set()
        .stack_set_name(&spec.name)
        .call_as(caller.call_as(spec.permission_model))
        .description(&spec.description)
        .template_body(&spec.body)
        .set_parameters(Some(parameters(&spec.parameters)))
        .capabilities(Capability::CapabilityNamedIam)
        .tags(
            Tag::builder()
                .key(MANAGED_TAG.0)
                .value(MANAGED_TAG.1)
                .build(),
        );
    request = match spec.permission_model {
        PermissionModel::ServiceManaged => request
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(spec.retain_stacks_on_account_removal)
                    .build(),
            ),
        PermissionModel::SelfManaged => request.permission_model(PermissionModels::SelfManaged),
    };
    request
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("creating stack set {}", spec.name), &e))?;
    Ok(())
}

pub async fn update_stack_set(
    client: &Client,
    spec: &StackSetSpec,
    caller: Caller,
    prefs: &StackSetOperationPreferences,
    polling: Polling,
) -> Result<String, AwsError> {
    let auto = (spec.permission_model == PermissionModel::ServiceManaged).then(|| {
        AutoDeployment::builder()
            .enabled(true)
            .retain_stacks_on_account_removal(spec.retain_stacks_on_account_removal)
            .build()
    });
    let start = || {
        client
            .update_stack_set()
            .stack_set_name(&spec.name)
            .call_as(caller.call_as(spec.permission_model))
            .description(&spec.description)
            .template_body(&spec.body)
            .set_parameters(Some(parameters(&spec.parameters)))
            .capabilities(Capability::CapabilityNamedIam)
            .set_auto_deployment(auto.clone())
            .operation_preferences(prefs.clone())
            .send()
    };
    let what = format!("updating stack set {}", spec.name);
    let out = when_idle(&spec.name, polling, &what, start).await?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
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
    client: &Client,
    change: &InstanceChange,
    call_as: CallAs,
    prefs: &StackSetOperationPreferences,
    polling: Polling,
) -> Result<String, AwsError> {
    let start = || {
        client
            .create_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            .set_parameter_overrides(
                (!change.overrides.is_empty()).then(|| parameters(&change.overrides)),
            )
            .operation_preferences(prefs.clone())
            .send()
    };
    let what = format!("adding instances to {}", change.stack_set);
    let out = when_idle(&change.stack_set, polling, &what, start).await?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

pub async fn update_instances(
    client: &Client,
    change: &InstanceChange,
    call_as: CallAs,
    prefs: &StackSetOperationPreferences,
    polling: Polling,
) -> Result<String, AwsError> {
    let start = || {
        client
            .update_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            // The list sets the overrides exactly: a parameter left out takes the stack set's
            // value again.
            .set_parameter_overrides(Some(parameters(&change.overrides)))
            .operation_preferences(prefs.clone())
            .send()
    };
    let what = format!("updating instances of {}", change.stack_set);
    let out = when_idle(&change.stack_set, polling, &what, start).await?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

pub async fn delete_instances(
    client: &Client,
    change: &InstanceChange,
    call_as: CallAs,
    prefs: &StackSetOperationPreferences,
    polling: Polling,
) -> Result<String, AwsError> {
    let start = || {
        client
            .delete_stack_instances()
            .stack_set_name(&change.stack_set)
            .call_as(call_as.clone())
            .deployment_targets(targets(change))
            .set_regions(Some(change.regions.iter().cloned().collect()))
            .retain_stacks(false)
            .operation_preferences(prefs.clone())
            .send()
    };
    let what = format!("removing instances of {}", change.stack_set);
    let out = when_idle(&change.stack_set, polling, &what, start).await?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

/// Deletes an empty stack set; one already gone (a retried call whose first attempt worked)
/// counts as deleted.
pub async fn delete_stack_set(
    client: &Client,
    name: &str,
    call_as: CallAs,
    polling: Polling,
) -> Result<(), AwsError> {
    let start = || {
        client
            .delete_stack_set()
            .stack_set_name(name)
            .call_as(call_as.clone())
            .send()
    };
    let what = format!("deleting stack set {name}");
    match when_idle(name, polling, &what, start).await {
        Err(e) if !e.is("StackSetNotFoundException") => Err(e),
        _ => Ok(()),
    }
}

/// Starts an operation; while another operation on the stack set runs, waits and tries again.
async fn when_idle<T, E, R, F, Fut>(
    stack_set: &str,
    polling: Polling,
    what: &str,
    start: F,
) -> Result<T, AwsError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let mut waited = Duration::ZERO;
    let mut pause = polling.first;
    loop {
        match start().await {
            Ok(out) => return Ok(out),
            Err(e) => {
                let error = AwsError::new(what, &e);
                if !error.is("OperationInProgressException") || waited >= polling.give_up_after {
                    return Err(error);
                }
                tracing::info!(stack_set, "another operation is in progress; waiting");
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(polling.longest);
            }
        }
    }
}

/// Waits for an operation to end, then reads how each target ended.
pub async fn wait(
    client: &Client,
    stack_set: &str,
    operation_id: &str,
    call_as: CallAs,
    polling: Polling,
) -> Result<OperationOutcome, AwsError> {
    let mut pause = polling.first;
    let status = loop {
        let out = client
            .describe_stack_set_operation()
            .stack_set_name(stack_set)
            .call_as(call_as.clone())
            .operation_id(operation_id)
            .send()
            .await
            .map_err(|e| AwsError::new(&format!("reading operation {operation_id}"), &e))?;
        let status = out
            .stack_set_operation()
            .and_then(|o| o.status())
            .cloned()
            .unwrap_or(StackSetOperationStatus::Running);
        match status {
            StackSetOperationStatus::Running
            | StackSetOperationStatus::Queued
            | StackSetOperationStatus::Stopping => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(polling.longest);
            }
            other => break other,
        }
    };
    let mut results = Vec::new();
    let mut pages = client
        .list_stack_set_operation_results()
        .stack_set_name(stack_set)
        .call_as(call_as)
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
    Ok(OperationOutcome {
        status: status.as_str().to_owned(),
        results,
    })
}

#[cfg(test)]
#[path = "stacksets_tests.rs"]
mod tests;
