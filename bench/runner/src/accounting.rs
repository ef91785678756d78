//! API-call accounting on the local AWS emulator, counted by operation:
//!
//! - a periodic rule (ec2-cost-context) over N instances puts its results in exactly
//!   ceil(N/100) `PutEvaluations` calls of at most 100, and Config then holds all N;
//! - `deployer apply --org` for an organisation of many member accounts assumes the access role
//!   at most once per account, and a no-op re-apply makes no write call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use aws_config::SdkConfig;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsInput;
use aws_sdk_ec2::types::InstanceType;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use ec2_cost_context::RULE_TOML;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use workspace_tests::config_service::ConfigService;
use workspace_tests::config_service::events::scheduled_event;
use workspace_tests::emulator::Emulator;
use workspace_tests::org::Organization;

/// Every operation a client started, and the size of every `PutEvaluations` batch.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<Counted>>);

#[derive(Debug, Default)]
struct Counted {
    operations: BTreeMap<String, u64>,
    batches: Vec<usize>,
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "Counter"
    }

    /// Once per operation: retries do not serialise again.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut counted = self.0.lock().expect("counter lock");
        if let Some(metadata) = cfg.load::<Metadata>() {
            *counted
                .operations
                .entry(metadata.name().to_owned())
                .or_default() += 1;
        }
        if let Some(put) = context.input().downcast_ref::<PutEvaluationsInput>() {
            counted.batches.push(put.evaluations().len());
        }
        Ok(())
    }
}

/// One periodic run over `resources` instances.
#[derive(Debug, Serialize)]
pub struct PeriodicRun {
    pub resources: usize,
    pub put_evaluations_calls: usize,
    pub expected_calls: usize,
    pub largest_batch: usize,
    /// Evaluations in each call, in order.
    pub batches: Vec<usize>,
    /// Results Config reports for the rule afterwards.
    pub results_in_config: usize,
    pub config_calls: BTreeMap<String, u64>,
}

async fn launch(config: &SdkConfig, count: usize) -> Result<()> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let mut left = count;
    while left > 0 {
        // The emulator refuses more than 64 instances in one launch.
        let batch = left.min(50);
        let n = i32::try_from(batch)?;
        let out = ec2
            .run_instances()
            .image_id("ami-12345678")
            .instance_type(InstanceType::T3Micro)
            .min_count(n)
            .max_count(n)
            .send()
            .await
            .context("RunInstances")?;
        ensure!(
            out.instances().len() == batch,
            "RunInstances started {} of {batch}",
            out.instances().len()
        );
        left -= batch;
    }
    Ok(())
}

/// The periodic rule over `resources` instances in an account of their own.
pub async fn periodic(emulator: &Emulator, resources: usize) -> Result<PeriodicRun> {
    let account = emulator.new_account().await?;
    launch(&account.config, resources).await?;
    let meta = RuleMeta::from_toml(RULE_TOML)?;
    let service = ConfigService::new(&account);
    let parameters = BTreeMap::from([("maxSpendUsd".to_owned(), "500".to_owned())]);
    let deployed = service.put_periodic_lambda_rule(&meta, &parameters).await?;
    let event = scheduled_event(&deployed, &account.id, workspace_tests::now());

    let counter = Counter::default();
    // Every client of the run carries the counter: Config's and the rule's own.
    let edge = Edge::from_config(account.config.clone()).with_interceptor(counter.clone());
    let evaluations = ec2_cost_context::entry()
        .handle(event, &edge, Mode::Put)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", meta.name))?;
    ensure!(
        evaluations.len() == resources,
        "{} evaluations for {resources} instances",
        evaluations.len()
    );
    let results_in_config = service.compliance_by_resource(&meta.name).await?.len();
    let seen = counter.0.lock().expect("counter lock");
    Ok(PeriodicRun {
        resources,
        put_evaluations_calls: seen.batches.len(),
        expected_calls: resources.div_ceil(100),
        largest_batch: seen.batches.iter().copied().max().unwrap_or(0),
        batches: seen.batches.clone(),
        results_in_config,
        config_calls: seen.operations.clone(),
    })
}

/// One `deployer apply --org` run.
#[derive(Debug, Serialize)]
pub struct ApplyRun {
    pub seconds: f64,
    pub status: String,
    pub write_calls: u64,
    pub assume_role_calls: u64,
    pub reads: BTreeMap<String, u64>,
    pub writes: BTreeMap<String, u64>,
    /// The deployer's own bookkeeping in its lock table (lock, journal, records).
    pub lock_calls: BTreeMap<String, u64>,
    /// Stack instances the run created.
    pub instances_created: u64,
}

/// The organisation-wide figures.
#[derive(Debug, Serialize)]
pub struct OrgRun {
    pub member_accounts: usize,
    pub setup_seconds: f64,
    pub first: ApplyRun,
    pub again: ApplyRun,
}

/// An isolated organisation with `members` member accounts in one OU, each with the access
/// role, as AWS Organizations creates them.
async fn organisation(emulator: &Emulator, members: usize) -> Result<(Organization, Vec<String>)> {
    let org = Organization::isolated(emulator).await?;
    let ou = org.create_ou(&org.root_id, "Workloads").await?;
    let limit = Arc::new(Semaphore::new(24));
    let mut made = JoinSet::new();
    for i in 0..members {
        let (org, ou, limit) = (org.clone(), ou.clone(), limit.clone());
        made.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let account = org.create_member(&format!("member-{i:04}")).await?;
            org.move_account(&account.id, &ou).await?;
            anyhow::Ok(account.id)
        });
    }
    let mut ids = Vec::with_capacity(members);
    while let Some(joined) = made.join_next().await {
        ids.push(joined??);
    }
    org.enable_stacksets_trusted_access().await?;
    Ok((org, ids))
}

const SETTINGS: &str = r#"
[organization]
role-name = "OrganizationAccountAccessRole"
regions = ["us-east-1"]
target-ous = ["Workloads"]
include-management-account = false

[artifacts]
distribution = "per-account"

[rules.vpc-creation-approved]
parameters = { approvalTagKey = "approved-by" }
"#;

fn apply(deployer: &Path, dir: &Path, repo: &Path, env: &[(String, String)]) -> Result<ApplyRun> {
    let started = Instant::now();
    let out = Command::new(deployer)
        .arg("--config")
        .arg(dir.join("deployer.toml"))
        .arg("--rules-dir")
        .arg(repo.join("rules"))
        .args([
            "--output",
            "json",
            "apply",
            "--org",
            "--yes",
            "--bootstrap-dir",
        ])
        .arg(dir.join("bin"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .context("running the deployer")?;
    let seconds = started.elapsed().as_secs_f64();
    let json: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the deployer printed no JSON (exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if !out.status.success() {
        bail!(
            "deployer apply failed (exit {:?}): {json:#}",
            out.status.code()
        );
    }
    let counts = |kind: &str| -> BTreeMap<String, u64> {
        json["calls"][kind]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let reads = counts("reads");
    let writes = counts("writes");
    let instances_created = json["changes"].as_array().map_or(0, |changes| {
        changes
            .iter()
            .filter(|c| c["change"]["action"] == "create-instances")
            .filter_map(|c| c["change"]["instances"].as_array())
            .map(|i| i.len() as u64)
            .sum()
    });
    Ok(ApplyRun {
        seconds,
        status: json["status"].as_str().unwrap_or_default().to_owned(),
        write_calls: json["write_calls"].as_u64().unwrap_or_default(),
        assume_role_calls: reads
            .iter()
            .chain(&writes)
            .filter(|(k, _)| k.ends_with(":AssumeRole"))
            .map(|(_, v)| v)
            .sum(),
        reads,
        writes,
        lock_calls: counts("lock"),
        instances_created,
    })
}

/// `deployer apply --org` twice for an organisation of `members` member accounts.
pub async fn organisation_apply(
    emulator: &Emulator,
    members: usize,
    deployer: &Path,
    repo: &Path,
) -> Result<OrgRun> {
    let started = Instant::now();
    let (org, ids) = organisation(emulator, members).await?;
    ensure!(
        ids.len() == members,
        "{} of {members} accounts made",
        ids.len()
    );
    let setup_seconds = started.elapsed().as_secs_f64();
    eprintln!("bench: organisation of {members} member accounts ready in {setup_seconds:.0} s");

    let dir = scratch()?;
    std::fs::write(dir.join("deployer.toml"), SETTINGS)?;
    std::fs::create_dir_all(dir.join("bin"))?;
    // The functions never run on the emulator: a stand-in bootstrap is packaged.
    std::fs::write(
        dir.join("bin/vpc-creation-approved"),
        "#!/bin/sh\necho vpc-creation-approved\n",
    )?;
    let env = org.management_environment(emulator.url()).await?;
    let first = apply(deployer, &dir, repo, &env)?;
    eprintln!(
        "bench: first apply {:.0} s, {} writes",
        first.seconds, first.write_calls
    );
    let again = apply(deployer, &dir, repo, &env)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(OrgRun {
        member_accounts: members,
        setup_seconds,
        first,
        again,
    })
}

fn scratch() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(workspace_tests::unique_name("custos-bench"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small enough for `make test`; `make bench` runs 1, 100, 101, 250 and 1,000.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_periodic_run_puts_its_results_in_full_batches_of_100_then_the_rest() {
        let emulator = Emulator::from_env();
        for (n, batches) in [(101, vec![100, 1]), (250, vec![100, 100, 50])] {
            let run = Box::pin(periodic(&emulator, n)).await.unwrap();
            assert_eq!(run.batches, batches, "N = {n}");
            assert_eq!(run.put_evaluations_calls, n.div_ceil(100));
            assert_eq!(run.results_in_config, n, "Config holds every result");
        }
    }

    /// The deployer's call log sees the role assumptions, one per account however many clients
    /// and handles act there.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_deployer_assumes_each_member_role_once_and_counts_it() {
        let emulator = Emulator::from_env();
        let org = Organization::isolated(&emulator).await.unwrap();
        let a = org.create_member("assume-a").await.unwrap();
        let b = org.create_member("assume-b").await.unwrap();
        let aws = deployer::aws::Aws::from_config(org.management_config().clone());
        let admin = &org.management_account_id;
        for account in [&a.id, &a.id, &b.id, &a.id] {
            let member = aws
                .member(account, admin, workspace_tests::org::ACCESS_ROLE)
                .await;
            member.s3("us-east-1").list_buckets().send().await.unwrap();
            member
                .config_service("us-east-1")
                .describe_config_rules()
                .send()
                .await
                .unwrap();
        }
        let reads = aws.calls.counts().reads;
        assert_eq!(reads.get("STS:AssumeRole"), Some(&2), "{reads:?}");
        assert_eq!(reads.get("S3:ListBuckets"), Some(&4), "{reads:?}");
    }
}
