//! Apply: carries out a plan's changes, phase by phase, stack sets side by side; a failure in
//! one target or stack set is reported and the rest goes on, except what depends on it: no code
//! upload and no rule stack where the artifact bucket or the base stack failed, and no removal of
//! a base or a bucket where the removal of the rules failed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::types::StackSetOperationPreferences;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::stacksets::{self, Caller, Polling, StackSets, TargetResult, Write};
use crate::aws::{self, Aws, AwsError, org_packs};
use crate::desired::{Desired, InstanceKey, PermissionModel, StackSetSpec};
use crate::observed::{Observed, ObservedStackSet};
use crate::package::Artifact;
use crate::packs::organization::OrgPackSpec;
use crate::plan::{self, Change, InstanceChange};
use crate::progress::Progress;
use crate::settings::{Distribution, Settings};

/// How one change went.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeResult {
    pub change: Change,
    /// `SUCCEEDED`, `FAILED` (some targets or the call), or `SKIPPED` (an earlier change of the
    /// same stack set failed, or what it depends on failed).
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

    /// A change not carried out, and why.
    fn skipped(change: Change, why: String) -> Self {
        Self {
            change,
            status: "SKIPPED".to_owned(),
            error: Some(why),
            targets: Vec::new(),
        }
    }
}

/// Where the operation ids of a run are written before each operation starts.
#[derive(Debug, Clone)]
pub struct Journal {
    pub client: aws_sdk_dynamodb::Client,
    pub deployment: String,
}

/// What apply needs besides the changes.
#[derive(Debug, Clone)]
pub struct ApplyContext {
    pub aws: Aws,
    pub admin_account: String,
    pub role_name: String,
    pub distribution: Distribution,
    pub preferences: StackSetOperationPreferences,
    pub polling: Polling,
    pub artifacts: BTreeMap<String, Artifact>,
    pub caller: Caller,
    /// The deployed stack sets (administration, instances), for changes to sets the plan no
    /// longer defines (removals) and updates that must leave some accounts as they are.
    pub deployed: BTreeMap<String, ObservedStackSet>,
    /// Operation ids are recorded here before each operation (none in tests).
    pub journal: Option<Journal>,
    /// Set when the apply lock was lost: nothing more is started.
    pub lock_lost: Arc<AtomicBool>,
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
            preferences: stacksets::preferences(&settings.deployment),
            polling: Polling::with_timeout_minutes(settings.deployment.operation_timeout_minutes),
            artifacts,
            caller: Caller {
                delegated_admin: settings.organization.delegated_admin,
            },
            deployed: BTreeMap::new(),
            journal: None,
            lock_lost: Arc::default(),
        }
    }

    /// Remembers the stack sets already deployed.
    #[must_use]
    pub fn with_deployed(mut self, observed: &Observed) -> Self {
        self.deployed.clone_from(&observed.stack_sets);
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
            .or_else(|| self.deployed.get(stack_set).map(|s| s.permission_model))
            .unwrap_or(PermissionModel::SelfManaged);
        self.caller.call_as(model)
    }

    /// A new write on `stack_set`: its id, recorded in the journal before it is used.
    async fn write(
        &self,
        specs: &BTreeMap<String, StackSetSpec>,
        stack_set: &str,
    ) -> Result<Write, AwsError> {
        let id = uuid::Uuid::new_v4().to_string();
        if let Some(journal) = &self.journal {
            aws::lock::record_operation(&journal.client, &journal.deployment, stack_set, &id)
                .await?;
        }
        Ok(Write {
            id,
            call_as: self.call_as(specs, stack_set),
            polling: self.polling,
        })
    }
}

/// Chains of changes carried out at once: enough to overlap round trips, few enough that the
/// uploads to a thousand accounts do not starve each other (each upload must keep moving, or the
/// SDK's stalled-stream protection fails it).
const AT_ONCE: usize = 16;

/// Places (account and region) where a later phase must not act, and why.
#[derive(Debug, Clone, Default)]
struct Gate {
    places: BTreeMap<InstanceKey, String>,
    /// Whole regions (the central artifact bucket of a region serves every account there).
    regions: BTreeMap<String, String>,
}

impl Gate {
    fn why(&self, key: &InstanceKey) -> Option<&String> {
        self.places
            .get(key)
            .or_else(|| self.regions.get(&key.region))
    }

    fn block(&mut self, key: &InstanceKey, why: String) {
        self.places.entry(key.clone()).or_insert(why);
    }

    fn block_region(&mut self, region: &str, why: String) {
        self.regions.entry(region.to_owned()).or_insert(why);
    }

    /// Records where `results` (of one phase) failed, in `what` (`the base stack`, …).
    fn learn(
        &mut self,
        results: &[ChangeResult],
        specs: &BTreeMap<String, StackSetSpec>,
        what: &str,
        whole_region: bool,
    ) {
        for result in results.iter().filter(|r| r.failed()) {
            let failed: Vec<InstanceKey> = if result.error.is_some() {
                // The call failed: every instance it was about.
                match &result.change {
                    Change::CreateInstances(c)
                    | Change::UpdateInstances(c)
                    | Change::RepairInstances(c)
                    | Change::DeleteInstances(c) => c.instances.iter().cloned().collect(),
                    Change::UploadArtifact(o) => vec![InstanceKey {
                        account: o.account.clone(),
                        region: o.region.clone(),
                    }],
                    change => change
                        .stack_set()
                        .and_then(|s| specs.get(s))
                        .map(|s| s.instances.keys().cloned().collect())
                        .unwrap_or_default(),
                }
            } else {
                result
                    .targets
                    .iter()
                    .filter(|t| t.status != "SUCCEEDED")
                    .map(|t| InstanceKey {
                        account: t.account.clone(),
                        region: t.region.clone(),
                    })
                    .collect()
            };
            for key in failed {
                let why = format!("{what} failed in {key}");
                if whole_region {
                    self.block_region(&key.region, why);
                } else {
                    self.block(&key, why);
                }
            }
        }
    }
}

/// Applies `changes` in order, with the stack sets and packs `desired` defines; returns one
/// result per change.
pub async fn apply(
    context: &ApplyContext,
    desired: &Desired,
    changes: &[Change],
    verbose: bool,
) -> Vec<ChangeResult> {
    let instances = changes.iter().map(instance_count).sum();
    let progress = Arc::new(Mutex::new(
        Progress::new("changes", changes.len(), verbose).counting("stack instances", instances),
    ));
    let mut phases: BTreeMap<u8, Vec<Change>> = BTreeMap::new();
    for change in changes {
        phases
            .entry(plan::phase(change))
            .or_default()
            .push(change.clone());
    }
    let mut gates = Gates::default();
    let mut results = Vec::new();
    for (phase, changes) in phases {
        let gate = gates.for_phase(phase).clone();
        let phase_results = run_phase(context, desired, changes, &gate, &progress).await;
        gates.learn(
            phase,
            &phase_results,
            &desired.stack_sets,
            context.distribution == Distribution::Central,
        );
        results.extend(phase_results);
    }
    // Report in plan order, whatever order the work finished in.
    results.sort_by_key(|r| {
        changes
            .iter()
            .position(|c| *c == r.change)
            .unwrap_or(usize::MAX)
    });
    if let Ok(progress) = progress.lock() {
        progress.finish();
    }
    results
}

/// What deploying and removing depend on, learnt phase by phase.
#[derive(Debug, Default)]
struct Gates {
    deploy: Gate,
    removal: Gate,
}

impl Gates {
    fn for_phase(&self, phase: u8) -> &Gate {
        if plan::is_removal_phase(phase) {
            &self.removal
        } else {
            &self.deploy
        }
    }

    /// Where `phase` failed, for the phases after it.
    fn learn(
        &mut self,
        phase: u8,
        results: &[ChangeResult],
        specs: &BTreeMap<String, StackSetSpec>,
        central: bool,
    ) {
        match phase {
            plan::phases::ARTIFACT_BUCKETS => {
                self.deploy
                    .learn(results, specs, "the artifact bucket", central);
            }
            plan::phases::BASE => self.deploy.learn(results, specs, "the base stack", false),
            plan::phases::CODE => self
                .deploy
                .learn(results, specs, "the code upload", central),
            plan::phases::REMOVED_RULES => {
                self.removal
                    .learn(results, specs, "the removal of a rule", false);
                // A central bucket serves every account of its region.
                if central {
                    let regions: Vec<(String, String)> = self
                        .removal
                        .places
                        .iter()
                        .map(|(k, why)| (k.region.clone(), why.clone()))
                        .collect();
                    for (region, why) in regions {
                        self.removal.block_region(&region, why);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Runs one phase: one chain per stack set (its changes in order), uploads each on their own.
async fn run_phase(
    context: &ApplyContext,
    desired: &Desired,
    changes: Vec<Change>,
    gate: &Gate,
    progress: &Arc<Mutex<Progress>>,
) -> Vec<ChangeResult> {
    let mut chains: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for (i, change) in changes.into_iter().enumerate() {
        let chain = change
            .stack_set()
            .map_or_else(|| format!("own-{i:06}"), str::to_owned);
        chains.entry(chain).or_default().push(change);
    }
    let mut running = JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let mut started = Vec::new();
    for (_, chain) in chains {
        started.extend(chain.iter().cloned());
        let context = context.clone();
        let specs = desired.stack_sets.clone();
        let org_packs = desired.org_packs.clone();
        let progress = progress.clone();
        let limit = limit.clone();
        let gate = gate.clone();
        running.spawn(async move {
            let _turn = limit.acquire_owned().await.expect("never closed");
            let run = Run {
                context: &context,
                specs: &specs,
                org_packs: &org_packs,
                gate: &gate,
            };
            run.chain(chain, &progress).await
        });
    }
    let mut results = Vec::new();
    while let Some(done) = running.join_next().await {
        match done {
            Ok(chain) => results.extend(chain),
            Err(e) => tracing::error!(error = %e, "a deployment task stopped"),
        }
    }
    // A task that stopped (panicked) gives no result: its changes are reported failed.
    for change in started {
        if !results.iter().any(|r| r.change == change) {
            results.push(ChangeResult::call_failed(
                change,
                "the deployment task stopped".to_owned(),
            ));
        }
    }
    results
}

/// The stack instances a change creates, updates, repairs or deletes.
fn instance_count(change: &Change) -> usize {
    match change {
        Change::CreateInstances(c)
        | Change::UpdateInstances(c)
        | Change::RepairInstances(c)
        | Change::DeleteInstances(c) => c.instances.len(),
        _ => 0,
    }
}

/// One chain's view of the run.
struct Run<'a> {
    context: &'a ApplyContext,
    specs: &'a BTreeMap<String, StackSetSpec>,
    org_packs: &'a BTreeMap<String, OrgPackSpec>,
    gate: &'a Gate,
}

impl Run<'_> {
    async fn chain(&self, chain: Vec<Change>, progress: &Mutex<Progress>) -> Vec<ChangeResult> {
        let mut results = Vec::new();
        let mut blocked = false;
        for change in chain {
            let label = label(&change);
            if let Ok(p) = progress.lock() {
                p.start(&label);
            }
            let result = if blocked {
                ChangeResult::skipped(
                    change,
                    "an earlier change of this stack set failed".to_owned(),
                )
            } else if self.context.lock_lost.load(Ordering::SeqCst) {
                ChangeResult::skipped(
                    change,
                    "the apply lock was lost (its lease ran out and another run took it)"
                        .to_owned(),
                )
            } else {
                self.change(change).await
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

    async fn change(&self, change: Change) -> ChangeResult {
        match &change {
            Change::PutOrganizationPack {
                name,
                region,
                excluded_accounts,
                ..
            } => {
                let action = PackAction::Put(self.org_packs.get(name), excluded_accounts);
                run_org_pack_change(self.context, &change, name, region, action).await
            }
            Change::DeleteOrganizationPack { name, region } => {
                run_org_pack_change(self.context, &change, name, region, PackAction::Delete).await
            }
            Change::UploadArtifact(object) => {
                let key = InstanceKey {
                    account: object.account.clone(),
                    region: object.region.clone(),
                };
                if let Some(why) = self.gate.why(&key) {
                    return ChangeResult::skipped(change.clone(), format!("not uploaded: {why}"));
                }
                match upload(self.context, object).await {
                    Ok(()) => ChangeResult::finished(change, "SUCCEEDED", Vec::new()),
                    Err(e) => ChangeResult::call_failed(change, e.message),
                }
            }
            Change::CreateInstances(c)
            | Change::UpdateInstances(c)
            | Change::RepairInstances(c)
            | Change::DeleteInstances(c) => self.instance_change(&change, c).await,
            Change::UpdateStackSet { name, .. } => {
                let blocked = self.specs.get(name).and_then(|spec| {
                    spec.instances
                        .keys()
                        .chain(
                            self.context
                                .deployed
                                .get(name)
                                .into_iter()
                                .flat_map(|d| d.instances.keys()),
                        )
                        .find_map(|k| self.gate.why(k))
                });
                match blocked {
                    Some(why) => ChangeResult::skipped(
                        change.clone(),
                        format!("not updated anywhere this run: {why}"),
                    ),
                    None => self.stack_set_change(change).await,
                }
            }
            Change::CreateStackSet { .. } | Change::DeleteStackSet { .. } => {
                self.stack_set_change(change).await
            }
        }
    }

    /// An instance operation, narrowed to the places the gate lets through.
    async fn instance_change(&self, change: &Change, instances: &InstanceChange) -> ChangeResult {
        let parts = plan::narrow(instances, |k| self.gate.why(k).is_none());
        let mut skipped: Vec<TargetResult> = instances
            .instances
            .iter()
            .filter_map(|k| {
                self.gate.why(k).map(|why| TargetResult {
                    account: k.account.clone(),
                    region: k.region.clone(),
                    status: "SKIPPED".to_owned(),
                    reason: Some(why.clone()),
                })
            })
            .collect();
        let mut targets = Vec::new();
        let mut status = "SUCCEEDED";
        for part in parts {
            let part_change = with_instances(change, part);
            let result = self.stack_set_change(part_change).await;
            if result.error.is_some() {
                let mut failed = result;
                failed.change = change.clone();
                failed.targets.append(&mut skipped);
                return failed;
            }
            if result.failed() {
                status = "FAILED";
            }
            targets.extend(result.targets);
        }
        if !skipped.is_empty() {
            status = "FAILED";
            targets.append(&mut skipped);
        }
        targets.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        ChangeResult::finished(change.clone(), status, targets)
    }

    /// Starts a stack set operation (or call) and waits for it.
    async fn stack_set_change(&self, change: Change) -> ChangeResult {
        let context = self.context;
        let sets = context.aws.stack_sets();
        let prefs = &context.preferences;
        let stack_set = change.stack_set().unwrap_or_default().to_owned();
        let spec = |name: &str| {
            self.specs.get(name).ok_or_else(|| AwsError {
                message: format!("this run defines no stack set {name}"),
                code: None,
            })
        };
        let write = match context.write(self.specs, &stack_set).await {
            Ok(write) => write,
            Err(e) => return ChangeResult::call_failed(change, e.message),
        };
        let outcome: Result<Vec<String>, AwsError> = match &change {
            Change::CreateStackSet { name } => match spec(name) {
                Ok(s) => stacksets::create_stack_set(&sets, s, context.caller, &write)
                    .await
                    .map(|()| Vec::new()),
                Err(e) => Err(e),
            },
            Change::UpdateStackSet {
                name, left_as_is, ..
            } => match spec(name) {
                Ok(s) => {
                    let only = match update_targets(context.deployed.get(name), s, left_as_is) {
                        Some(Targets::Nothing) => {
                            return ChangeResult::skipped(
                                change.clone(),
                                "every instance is left as is this run".to_owned(),
                            );
                        }
                        Some(Targets::Only(only)) => Some(only),
                        None => None,
                    };
                    let started =
                        stacksets::update_stack_set(&sets, s, prefs, only.as_ref(), &write).await;
                    started.map(|op| vec![op])
                }
                Err(e) => Err(e),
            },
            Change::CreateInstances(c) => stacksets::create_instances(&sets, c, prefs, &write)
                .await
                .map(|op| vec![op]),
            Change::UpdateInstances(c) => stacksets::update_instances(&sets, c, prefs, &write)
                .await
                .map(|op| vec![op]),
            Change::DeleteInstances(c) => stacksets::delete_instances(&sets, c, prefs, &write)
                .await
                .map(|op| vec![op]),
            Change::RepairInstances(c) => {
                return self.repair(change.clone(), c, &sets, write).await;
            }
            Change::DeleteStackSet { name } => stacksets::delete_stack_set(&sets, name, &write)
                .await
                .map(|()| Vec::new()),
            Change::UploadArtifact(_)
            | Change::PutOrganizationPack { .. }
            | Change::DeleteOrganizationPack { .. } => Err(AwsError {
                message: "not a stack set operation".to_owned(),
                code: None,
            }),
        };
        let operations = match outcome {
            Ok(operations) => operations,
            Err(e) => {
                tracing::error!(change = %label(&change), error = %e, "failed");
                return ChangeResult::call_failed(change, e.message);
            }
        };
        let mut targets = Vec::new();
        for operation in operations {
            match stacksets::wait(
                &sets.reads,
                &stack_set,
                &operation,
                write.call_as.clone(),
                write.polling,
            )
            .await
            {
                Ok(outcome) => {
                    let failed = outcome.results.iter().any(|r| r.status != "SUCCEEDED");
                    if outcome.status != "SUCCEEDED" || failed {
                        return ChangeResult::finished(change, "FAILED", outcome.results);
                    }
                    targets.extend(outcome.results);
                }
                Err(e) => return ChangeResult::call_failed(change, e.message),
            }
        }
        ChangeResult::finished(change, "SUCCEEDED", targets)
    }

    /// Deletes the drifted instances and creates them again.
    async fn repair(
        &self,
        change: Change,
        instances: &InstanceChange,
        sets: &StackSets,
        delete: Write,
    ) -> ChangeResult {
        let prefs = &self.context.preferences;
        let steps = async {
            let op = stacksets::delete_instances(sets, instances, prefs, &delete).await?;
            let deleted = stacksets::wait(
                &sets.reads,
                &instances.stack_set,
                &op,
                delete.call_as.clone(),
                delete.polling,
            )
            .await?;
            if deleted.results.iter().any(|r| r.status != "SUCCEEDED") {
                return Ok(deleted);
            }
            let create = self.context.write(self.specs, &instances.stack_set).await?;
            let op = stacksets::create_instances(sets, instances, prefs, &create).await?;
            stacksets::wait(
                &sets.reads,
                &instances.stack_set,
                &op,
                create.call_as,
                create.polling,
            )
            .await
        };
        match steps.await {
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
}

/// `change` (an instance change) with `instances` instead of its own.
fn with_instances(change: &Change, instances: InstanceChange) -> Change {
    match change {
        Change::CreateInstances(_) => Change::CreateInstances(instances),
        Change::UpdateInstances(_) => Change::UpdateInstances(instances),
        Change::RepairInstances(_) => Change::RepairInstances(instances),
        _ => Change::DeleteInstances(instances),
    }
}

/// Which instances a stack set update deploys to.
enum Targets {
    /// Only these (the others are left as they are).
    Only(InstanceChange),
    /// None: every instance is left as it is.
    Nothing,
}

/// The instances a stack set update may reach when some accounts are left as they are; `None`
/// when it may reach them all.
fn update_targets(
    deployed: Option<&ObservedStackSet>,
    spec: &StackSetSpec,
    left_as_is: &BTreeSet<String>,
) -> Option<Targets> {
    if left_as_is.is_empty() {
        return None;
    }
    let deployed = deployed?;
    let kept: BTreeMap<&InstanceKey, Option<&String>> = deployed
        .instances
        .iter()
        .filter(|(k, _)| !left_as_is.contains(&k.account))
        .map(|(k, i)| (k, i.ou.as_ref()))
        .collect();
    if kept.is_empty() {
        return Some(Targets::Nothing);
    }
    let ous: BTreeSet<String> = if spec.permission_model == PermissionModel::ServiceManaged {
        kept.values().filter_map(|ou| ou.cloned()).collect()
    } else {
        BTreeSet::new()
    };
    Some(Targets::Only(InstanceChange {
        stack_set: spec.name.clone(),
        filter: (!ous.is_empty()).then_some(plan::AccountFilter::Intersection),
        ous,
        accounts: kept.keys().map(|k| k.account.clone()).collect(),
        regions: kept.keys().map(|k| k.region.clone()).collect(),
        overrides: BTreeMap::new(),
        instances: kept.keys().map(|k| (*k).clone()).collect(),
        reason: "stack set updated where reachable".to_owned(),
    }))
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
        Change::RepairInstances(c) => {
            format!(
                "{}: repair (delete and create again) {} instances",
                c.stack_set,
                c.instances.len()
            )
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

/// What is done to an organisation pack: put as this run defines it (with the region's
/// exclusions), or deleted.
enum PackAction<'a> {
    Put(Option<&'a OrgPackSpec>, &'a BTreeSet<String>),
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
        PackAction::Put(Some(spec), excluded) => org_packs::put(&client, spec, excluded).await,
        PackAction::Put(None, _) => Err(AwsError {
            message: format!("this run defines no organization pack {name}"),
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
        &object.account,
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

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
