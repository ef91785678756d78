//! Apply: carries out a plan's changes, phase by phase, stack sets side by side; a failure in
//! one target or stack set is reported and the rest goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::types::StackSetOperationPreferences;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::stacksets::{self, Caller, Polling, TargetResult};
use crate::aws::{self, Aws, AwsError, org_packs};
use crate::desired::{PermissionModel, StackSetSpec};
use crate::package::Artifact;
use crate::packs::organization::OrgPackSpec;
use crate::plan::{self, Change, SavedPlan};
use crate::progress::Progress;
use crate::settings::{Distribution, Settings};

/// How one change went.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeResult {
    pub change: Change,
    /// `SUCCEEDED`, `FAILED` (some targets or the call), or `SKIPPED` (an earlier change of the
    /// same stack set failed).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetResult>,
}

impl ChangeResult {
    pub fn failed(&self) -> bool {
        self.status != "SUCCEEDED"
    }

    /// A change that ran to its end, with how each target ended.
    fn finished(change: Change, status: &str, targets: Vec<TargetResult>) -> Self {
        Self {
            change,
            status: status.to_owned(),
            error: None,
            targets,
        }
    }

    /// A change whose call failed.
    fn call_failed(change: Change, error: String) -> Self {
        Self {
            change,
            status: "FAILED".to_owned(),
            error: Some(error),
            targets: Vec::new(),
        }
    }
}

/// What apply needs besides the plan.
#[derive(Debug, Clone)]
pub struct ApplyContext {
    pub aws: Aws,
    pub admin_account: String,
    pub role_name: String,
    pub distribution: Distribution,
    pub bucket_prefix: String,
    pub preferences: StackSetOperationPreferences,
    pub polling: Polling,
    pub artifacts: BTreeMap<String, Artifact>,
    pub caller: Caller,
    /// How each deployed stack set is administered, for changes to sets the plan no longer
    /// defines (removals).
    pub deployed_models: BTreeMap<String, PermissionModel>,
}

impl ApplyContext {
    pub fn new(
        aws: Aws,
        admin_account: String,
        settings: &Settings,
        artifacts: BTreeMap<String, Artifact>,
    ) -> Self {
        Self {
            aws,
            admin_account,
            role_name: settings.organization.role_name.clone(),
            distribution: settings.artifacts.distribution,
            bucket_prefix: settings.artifacts.bucket_prefix.clone(),
            preferences: stacksets::preferences(&settings.deployment),
            polling: Polling::default(),
            artifacts,
            caller: Caller {
                delegated_admin: settings.organization.delegated_admin,
            },
            deployed_models: BTreeMap::new(),
        }
    }

    /// Remembers how the stack sets already deployed are administered.
    #[must_use]
    pub fn with_deployed(mut self, observed: &plan::Observed) -> Self {
        self.deployed_models = observed
            .stack_sets
            .iter()
            .map(|(name, set)| (name.clone(), set.permission_model))
            .collect();
        self
    }

    /// The `CallAs` of calls about one stack set.
    fn call_as(
        &self,
        specs: &BTreeMap<String, StackSetSpec>,
        stack_set: &str,
    ) -> aws_sdk_cloudformation::types::CallAs {
        let model = specs
            .get(stack_set)
            .map(|s| s.permission_model)
            .or_else(|| self.deployed_models.get(stack_set).copied())
            .unwrap_or(PermissionModel::SelfManaged);
        self.caller.call_as(model)
    }
}

/// Chains of changes carried out at once: enough to overlap round trips, few enough that the
/// uploads to a thousand accounts do not starve each other (each upload must keep moving, or the
/// SDK's stalled-stream protection fails it).
const AT_ONCE: usize = 16;

/// Applies the plan's changes in order; returns one result per change.
pub async fn apply(context: &ApplyContext, plan: &SavedPlan, verbose: bool) -> Vec<ChangeResult> {
    let instances = plan.changes.iter().map(instance_count).sum();
    let progress = Arc::new(Mutex::new(
        Progress::new("changes", plan.changes.len(), verbose)
            .counting("stack instances", instances),
    ));
    let mut phases: BTreeMap<u8, Vec<Change>> = BTreeMap::new();
    for change in &plan.changes {
        phases
            .entry(plan::phase(change))
            .or_default()
            .push(change.clone());
    }
    let mut results = Vec::new();
    for (_, changes) in phases {
        // One chain per stack set (its changes in order); uploads each on their own.
        let mut chains: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for (i, change) in changes.into_iter().enumerate() {
            let chain = change
                .stack_set()
                .map_or_else(|| format!("own-{i:06}"), str::to_owned);
            chains.entry(chain).or_default().push(change);
        }
        let mut running = JoinSet::new();
        let limit = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
        for (_, chain) in chains {
            let context = context.clone();
            let specs = plan.stack_sets.clone();
            let org_packs = plan.org_packs.clone();
            let progress = progress.clone();
            let limit = limit.clone();
            running.spawn(async move {
                let _turn = limit.acquire_owned().await.expect("never closed");
                run_chain(&context, &specs, &org_packs, chain, &progress).await
            });
        }
        let mut phase_results = Vec::new();
        while let Some(done) = running.join_next().await {
            match done {
                Ok(chain) => phase_results.extend(chain),
                Err(e) => tracing::error!(error = %e, "a deployment task stopped"),
            }
        }
        // Report in plan order, whatever order the work finished in.
        phase_results.sort_by_key(|r: &ChangeResult| {
            plan.changes
                .iter()
                .position(|c| *c == r.change)
                .unwrap_or(usize::MAX)
        });
        results.extend(phase_results);
    }
    if let Ok(progress) = progress.lock() {
        progress.finish();
    }
    results
}

async fn run_chain(
    context: &ApplyContext,
    specs: &BTreeMap<String, StackSetSpec>,
    org_packs: &BTreeMap<String, OrgPackSpec>,
    chain: Vec<Change>,
    progress: &Mutex<Progress>,
) -> Vec<ChangeResult> {
    let mut results = Vec::new();
    let mut blocked = false;
    for change in chain {
        let label = label(&change);
        if let Ok(p) = progress.lock() {
            p.start(&label);
        }
        let result = if blocked {
            ChangeResult {
                change,
                status: "SKIPPED".to_owned(),
                error: Some("an earlier change of this stack set failed".to_owned()),
                targets: Vec::new(),
            }
        } else {
            run_change(context, specs, org_packs, change).await
        };
        // Instance failures leave the stack set usable; a failed call does not.
        blocked |= result.error.is_some();
        if let Ok(mut p) = progress.lock() {
            let outcome = match &result.error {
                Some(e) => format!("{} ({e})", result.status),
                None => result.status.clone(),
            };
            p.finish_one(&label, &outcome, instance_count(&result.change));
        }
        results.push(result);
    }
    results
}

/// The stack instances a change creates, updates or deletes.
fn instance_count(change: &Change) -> usize {
    match change {
        Change::CreateInstances(c) | Change::UpdateInstances(c) | Change::DeleteInstances(c) => {
            c.instances.len()
        }
        _ => 0,
    }
}

/// `custos-rule-x: create-instances (4)`, for progress lines.
pub fn label(change: &Change) -> String {
    match change {
        Change::UploadArtifact(o) => format!("upload {} to {}", o.key, o.bucket),
        Change::CreateStackSet { name } => format!("{name}: create stack set"),
        Change::UpdateStackSet { name, .. } => format!("{name}: update stack set"),
        Change::CreateInstances(c) => {
            format!("{}: create {} instances", c.stack_set, c.instances.len())
        }
        Change::UpdateInstances(c) => {
            format!("{}: update {} instances", c.stack_set, c.instances.len())
        }
        Change::DeleteInstances(c) => {
            format!("{}: delete {} instances", c.stack_set, c.instances.len())
        }
        Change::DeleteStackSet { name } => format!("{name}: delete stack set"),
        Change::PutOrganizationPack { name, region, .. } => {
            format!("{name}: put organization pack in {region}")
        }
        Change::DeleteOrganizationPack { name, region } => {
            format!("{name}: delete organization pack in {region}")
        }
    }
}

/// What is done to an organisation pack: put as the plan defines it (if it does), or deleted.
enum PackAction<'a> {
    Put(Option<&'a OrgPackSpec>),
    Delete,
}

/// Puts or deletes an organisation pack and waits for Config to finish in the member accounts.
async fn run_org_pack_change(
    context: &ApplyContext,
    change: &Change,
    name: &str,
    region: &str,
    action: PackAction<'_>,
) -> ChangeResult {
    let client = context.aws.config_service(region);
    let started = match action {
        PackAction::Put(Some(spec)) => org_packs::put(&client, spec).await,
        PackAction::Put(None) => Err(AwsError {
            message: format!("the plan has no definition of organization pack {name}"),
            code: None,
        }),
        PackAction::Delete => org_packs::delete(&client, name).await,
    };
    let outcome = match started {
        Ok(()) => org_packs::wait(&client, name, region, context.polling).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(outcome) => ChangeResult::finished(change.clone(), &outcome.status, outcome.failures),
        Err(e) => {
            tracing::error!(change = %label(change), error = %e, "failed");
            ChangeResult::call_failed(change.clone(), e.message)
        }
    }
}

async fn run_change(
    context: &ApplyContext,
    specs: &BTreeMap<String, StackSetSpec>,
    org_pack_specs: &BTreeMap<String, OrgPackSpec>,
    change: Change,
) -> ChangeResult {
    match &change {
        Change::PutOrganizationPack { name, region, .. } => {
            let action = PackAction::Put(org_pack_specs.get(name));
            run_org_pack_change(context, &change, name, region, action).await
        }
        Change::DeleteOrganizationPack { name, region } => {
            run_org_pack_change(context, &change, name, region, PackAction::Delete).await
        }
        _ => run_stack_set_change(context, specs, change).await,
    }
}

/// Starts a stack set operation (or call) and waits for it.
async fn run_stack_set_change(
    context: &ApplyContext,
    specs: &BTreeMap<String, StackSetSpec>,
    change: Change,
) -> ChangeResult {
    let cloudformation = context.aws.cloudformation();
    let aws = &cloudformation;
    let prefs = &context.preferences;
    let polling = context.polling;
    let caller = context.caller;
    let call_as = context.call_as(specs, change.stack_set().unwrap_or_default());
    let spec = |name: &str| {
        specs.get(name).ok_or_else(|| AwsError {
            message: format!("the plan has no definition of stack set {name}"),
            code: None,
        })
    };
    let outcome: Result<Option<String>, AwsError> = match &change {
        Change::UploadArtifact(object) => upload(context, object).await.map(|()| None),
        Change::CreateStackSet { name } => match spec(name) {
            Ok(s) => stacksets::create_stack_set(aws, s, caller)
                .await
                .map(|()| None),
            Err(e) => Err(e),
        },
        Change::UpdateStackSet { name, .. } => match spec(name) {
            Ok(s) => stacksets::update_stack_set(aws, s, caller, prefs, polling)
                .await
                .map(Some),
            Err(e) => Err(e),
        },
        Change::CreateInstances(c) => {
            stacksets::create_instances(aws, c, call_as.clone(), prefs, polling)
                .await
                .map(Some)
        }
        Change::UpdateInstances(c) => {
            stacksets::update_instances(aws, c, call_as.clone(), prefs, polling)
                .await
                .map(Some)
        }
        Change::DeleteInstances(c) => {
            if let Err(e) = empty_buckets(context, c).await {
                tracing::warn!(error = %e, "could not empty an artifact bucket");
            }
            stacksets::delete_instances(aws, c, call_as.clone(), prefs, polling)
                .await
                .map(Some)
        }
        Change::DeleteStackSet { name } => {
            stacksets::delete_stack_set(aws, name, call_as.clone(), polling)
                .await
                .map(|()| None)
        }
        Change::PutOrganizationPack { .. } | Change::DeleteOrganizationPack { .. } => {
            Err(AwsError {
                message: "an organization pack change is not a stack set operation".to_owned(),
                code: None,
            })
        }
    };
    let operation = match outcome {
        Ok(operation) => operation,
        Err(e) => {
            tracing::error!(change = %label(&change), error = %e, "failed");
            return ChangeResult::call_failed(change, e.message);
        }
    };
    let Some(operation) = operation else {
        return ChangeResult::finished(change, "SUCCEEDED", Vec::new());
    };
    let stack_set = change.stack_set().unwrap_or_default().to_owned();
    match stacksets::wait(aws, &stack_set, &operation, call_as, polling).await {
        Ok(outcome) => {
            let failed = outcome.results.iter().any(|r| r.status != "SUCCEEDED");
            let status = if outcome.status == "SUCCEEDED" && !failed {
                "SUCCEEDED"
            } else {
                "FAILED"
            };
            ChangeResult::finished(change, status, outcome.results)
        }
        Err(e) => ChangeResult::call_failed(change, e.message),
    }
}

async fn upload(
    context: &ApplyContext,
    object: &crate::desired::ArtifactObject,
) -> Result<(), AwsError> {
    let artifact = context
        .artifacts
        .get(&object.binary)
        .filter(|a| a.key == object.key)
        .ok_or_else(|| AwsError {
            message: format!(
                "the packaged {} is not the code the plan was made with ({}); plan again",
                object.binary, object.key
            ),
            code: None,
        })?;
    let aws = member(context, &object.account).await;
    aws::s3::put(
        &aws,
        &object.region,
        &object.bucket,
        &object.key,
        artifact.zip.clone(),
    )
    .await
}

async fn member(context: &ApplyContext, account: &str) -> Aws {
    if context.distribution == Distribution::PerAccount {
        context
            .aws
            .member(account, &context.admin_account, &context.role_name)
            .await
    } else {
        context.aws.clone()
    }
}

/// CloudFormation cannot delete a bucket that holds objects: empty the artifact buckets of the
/// instances about to go.
async fn empty_buckets(
    context: &ApplyContext,
    change: &plan::InstanceChange,
) -> Result<(), AwsError> {
    let holds_bucket = change.stack_set.ends_with("-artifacts")
        || (change.stack_set.starts_with("custos-base")
            && context.distribution == Distribution::PerAccount);
    if !holds_bucket {
        return Ok(());
    }
    let accounts: BTreeSet<(&str, &str)> = change
        .instances
        .iter()
        .map(|k| (k.account.as_str(), k.region.as_str()))
        .collect();
    for (account, region) in accounts {
        let aws = if change.stack_set.ends_with("-artifacts") {
            context.aws.clone()
        } else {
            context
                .aws
                .member(account, &context.admin_account, &context.role_name)
                .await
        };
        let bucket = crate::desired::bucket_name(&context.bucket_prefix, account, region);
        aws::s3::empty(&aws, region, &bucket).await?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
