//! Resilience, through the fault-injecting proxy (`workspace_tests::faults`) in front of the
//! emulator: 20% of attempts throttled, 5% answered with a 5xx, 1% of connections closed
//! without an answer, seeded.
//!
//! - A periodic rule run loses no evaluation: Config's compliance read back is exactly the
//!   expected set, and each batch of 100 reached Config exactly once.
//! - `deployer apply --org` completes (or names the targets that did not), and the stacks are
//!   there.
//! - An apply killed mid-way is finished by the next one (once its lock is removed with
//!   `deployer unlock`), which repeats no completed write.
//! - A StackSets write carried out whose answer is lost is looked up, never sent again: the run
//!   ends in the same state with one operation per change.
//! - An account the role cannot reach is reported and left as is; the others are deployed.
//!
//! `CUSTOS_FAULT_SEEDS=N` runs seeds 1..=N (`make resilience` runs 10); without it, a short
//! run for `make test`. Each test prints attempts / answered attempts: a faulted attempt is
//! never forwarded, so the attempts a run without faults would make are the answered ones.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ec2::types::InstanceType;
use chrono::Duration as Hours;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use ec2_cost_context::RULE_TOML;
use serde_json::Value;
use workspace_tests::config_service::ConfigService;
use workspace_tests::config_service::events::scheduled_event;
use workspace_tests::emulator::Emulator;
use workspace_tests::faults::{Exchange, FaultProxy, Faults, Outcome, Stats};
use workspace_tests::org::{ACCESS_ROLE, Organization};

use crate::deployer::{Deployer, custos_stacks, deployer_for, has_stack_of};
use crate::ec2_cost_context::store_periodic_rule;

const REGION: &str = "us-east-1";
const RULE: &str = "s3-bucket-encryption";

/// Seeds 1..=`CUSTOS_FAULT_SEEDS`, else `short`.
fn seeds(short: &[u64]) -> Vec<u64> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the test's edge: how many seeds to run"
    )]
    let wanted = std::env::var("CUSTOS_FAULT_SEEDS").ok();
    match wanted.and_then(|n| n.parse::<u64>().ok()) {
        Some(n) => (1..=n).collect(),
        None => short.to_vec(),
    }
}

fn report(test: &str, seed: u64, stats: &Stats) {
    println!("faults: {test}: seed {seed}: {}", stats.summary());
}

fn answered_calls(stats: &Stats, operation: &str) -> usize {
    stats
        .log
        .iter()
        .filter(|e| e.operation == operation && e.answered())
        .count()
}

// --- A periodic rule ---------------------------------------------------------------------

const INSTANCES_PER_TYPE: i32 = 500;

async fn launch(ec2: &aws_sdk_ec2::Client, kind: &str, count: i32) -> Vec<String> {
    let out = ec2
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(InstanceType::from(kind))
        .min_count(count)
        .max_count(count)
        .send()
        .await
        .unwrap();
    out.instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn periodic_rule_runs_lose_no_evaluation_under_faults() {
    let emulator = Emulator::from_env();
    let mut total = Stats::default();
    // Short run: two seeds whose first draws hold faults (seeds 1 and 2 start with a dozen
    // clean draws, and a run makes about a dozen calls).
    for seed in seeds(&[5, 6]) {
        let account = emulator.new_account().await.unwrap();
        let ec2 = aws_sdk_ec2::Client::new(&account.config);
        let mut expected = BTreeMap::new();
        for (kind, verdict) in [("t3.nano", "COMPLIANT"), ("m5.large", "NON_COMPLIANT")] {
            // The emulator launches at most 64 instances per request, as AWS limits them.
            for _ in 0..INSTANCES_PER_TYPE / 50 {
                for id in launch(&ec2, kind, 50).await {
                    expected.insert(id, verdict.to_owned());
                }
            }
        }
        assert_eq!(
            expected.len(),
            2 * 500,
            "the emulator launched every instance"
        );
        let one = ec2
            .describe_instances()
            .instance_ids(expected.keys().next().unwrap())
            .send()
            .await
            .unwrap();
        let launched = one.reservations()[0].instances()[0].launch_time().unwrap();
        let launched = chrono::DateTime::from_timestamp(launched.secs(), 0).unwrap();
        let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
        let parameters = BTreeMap::from([("maxSpendUsd".to_owned(), "50".to_owned())]);
        let deployed = store_periodic_rule(&account, &meta, &parameters).await;

        // The rule talks to AWS through the proxy, with the product's retry configuration.
        let proxy = FaultProxy::start(emulator.url(), seed, Faults::STANDARD).unwrap();
        let faulty = account
            .config
            .to_builder()
            .endpoint_url(proxy.url())
            .retry_config(config_rule_sdk::host::retry::config())
            .build();
        let event = scheduled_event(&deployed, &account.id, launched + Hours::hours(730));
        ec2_cost_context::entry()
            .handle(event, &Edge::from_config(faulty), Mode::Put)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: the run failed: {e}"));
        let stats = proxy.stats();
        drop(proxy);

        // Read back without faults: exactly the expected verdicts, nothing missing or extra.
        let results = ConfigService::new(&account)
            .compliance_by_resource(&meta.name)
            .await
            .unwrap();
        let got: BTreeMap<String, String> = results
            .into_iter()
            .map(|(id, r)| (id, r.compliance))
            .collect();
        assert_eq!(got, expected, "seed {seed}");
        // Faulted attempts never reach Config: each batch of 100 arrived exactly once.
        assert_eq!(
            answered_calls(&stats, "PutEvaluations"),
            expected.len().div_ceil(100),
            "seed {seed}: {:?}",
            stats.attempts_by_operation()
        );
        report("rule run", seed, &stats);
        total.log.extend(stats.log);
    }
    println!("faults: rule runs, all seeds: {}", total.summary());
    assert!(
        total
            .log
            .iter()
            .any(|e| e.operation == "PutEvaluations" && e.injected()),
        "no PutEvaluations attempt was faulted: the test proved nothing"
    );
}

// --- The deployer ---------------------------------------------------------------------

/// An organisation of its own: `members` accounts (with the access role) in OU `Workloads`,
/// trusted access for StackSets.
pub(crate) async fn small_organisation(
    emulator: &Emulator,
    members: usize,
) -> (Organization, String, Vec<String>) {
    let org = Organization::isolated(emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..members {
        let account = org.create_member(&format!("member-{i}")).await.unwrap();
        org.move_account(&account.id, &workloads).await.unwrap();
        ids.push(account.id);
    }
    org.enable_stacksets_trusted_access().await.unwrap();
    (org, workloads, ids)
}

pub(crate) const SETTINGS: &str = r#"
[organization]
role-name = "OrganizationAccountAccessRole"
regions = ["us-east-1"]
target-ous = ["Workloads"]

[artifacts]
distribution = "per-account"

[rules.s3-bucket-encryption]
parameters = { sseAlgorithm = "AES256" }
"#;

/// The deployer for an organisation's management account, talking to `endpoint` (the fault
/// proxy, or the emulator itself).
pub(crate) async fn deployer(emulator: &Emulator, org: &Organization, endpoint: &str) -> Deployer {
    let mut deployer = deployer_for(emulator, org).await;
    for (name, value) in &mut deployer.env {
        if name == "AWS_ENDPOINT_URL" {
            endpoint.clone_into(value);
        }
    }
    deployer.write_settings(SETTINGS);
    deployer
}

/// `args` with the stand-in rule binaries as the packaged code.
pub(crate) fn with_code(deployer: &Deployer, args: &[&str]) -> Vec<String> {
    let bin = deployer.dir.path().join("bin");
    args.iter()
        .map(ToString::to_string)
        .chain(["--bootstrap-dir".to_owned(), bin.display().to_string()])
        .collect()
}

/// Runs `args` with the packaged code; the exit code and the JSON on stdout.
pub(crate) fn run(deployer: &Deployer, args: &[&str]) -> (i32, Value) {
    let args = with_code(deployer, args);
    deployer.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The accounts (of `members`) that have the base and the rule stack in the region.
pub(crate) async fn deployed(org: &Organization, members: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for account in members {
        let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
        let stacks = custos_stacks(&config, REGION).await;
        if has_stack_of(&stacks, "custos-base")
            && has_stack_of(&stacks, &format!("custos-rule-{RULE}"))
        {
            out.insert(account.clone());
        }
    }
    out
}

/// Accounts the apply output reports a failure for.
fn reported_failures(json: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = json["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["failed"].as_u64().unwrap_or(0) > 0)
        .filter_map(|a| a["account"].as_str().map(str::to_owned))
        .collect();
    // A failed call (not a target) names its account in an upload's change.
    for change in json["changes"].as_array().into_iter().flatten() {
        if change["status"] != "SUCCEEDED"
            && let Some(account) = change["change"]["account"].as_str()
        {
            out.insert(account.to_owned());
        }
    }
    out
}

/// A write to the organisation (the deployer's own lock table is bookkeeping, not counted).
fn is_write(e: &Exchange) -> bool {
    match e.service.as_str() {
        "dynamodb" => false,
        "s3" => !matches!(e.operation.as_str(), "GET" | "HEAD"),
        _ => !["Describe", "Get", "List", "Head", "AssumeRole"]
            .iter()
            .any(|p| e.operation.starts_with(p)),
    }
}

/// Writes the emulator carried out, as (operation, what it was about).
fn completed_writes(stats: &Stats) -> Vec<(String, String)> {
    stats
        .log
        .iter()
        .filter(|e| e.succeeded() && is_write(e))
        .map(|e| (e.name(), e.subject.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_apply_completes_under_faults() {
    let emulator = Emulator::from_env();
    let mut total = Stats::default();
    for seed in seeds(&[1]) {
        let (org, _, members) = small_organisation(&emulator, 3).await;
        let proxy = FaultProxy::start(emulator.url(), seed, Faults::STANDARD).unwrap();
        let deployer = deployer(&emulator, &org, proxy.url()).await;
        let (code, json) = run(&deployer, &["apply", "--org", "--yes"]);
        let stats = proxy.stats();
        drop(proxy);
        let there = deployed(&org, &members).await;
        match code {
            0 => assert_eq!(
                there,
                members.iter().cloned().collect(),
                "seed {seed}: apply succeeded, so every account has its stacks"
            ),
            1 => {
                // Not complete: precisely the accounts without stacks are reported.
                let missing: BTreeSet<String> = members
                    .iter()
                    .filter(|a| !there.contains(*a))
                    .cloned()
                    .collect();
                assert_eq!(reported_failures(&json), missing, "seed {seed}: {json:#}");
                println!("faults: apply: seed {seed}: reported failures {missing:?}");
            }
            other => panic!("seed {seed}: apply stopped with exit {other}: {json:#}"),
        }
        let logical: u64 = ["reads", "writes"]
            .iter()
            .filter_map(|k| json["calls"][k].as_object())
            .flat_map(|m| m.values())
            .filter_map(Value::as_u64)
            .sum();
        report("apply", seed, &stats);
        println!("faults: apply: seed {seed}: exit {code}; the deployer counted {logical} calls");
        assert_eq!(
            code, 0,
            "seed {seed}: with 8 attempts per call apply completes: {json:#}"
        );
        total.log.extend(stats.log);
    }
    println!("faults: apply, all seeds: {}", total.summary());
    assert!(total.log.iter().any(Exchange::injected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apply_is_finished_by_the_next_without_repeating_writes() {
    let emulator = Emulator::from_env();
    for seed in seeds(&[3]) {
        let (org, _, members) = small_organisation(&emulator, 3).await;
        let proxy = FaultProxy::start(emulator.url(), seed, Faults::STANDARD).unwrap();
        let deployer = deployer(&emulator, &org, proxy.url()).await;
        let (code, plan) = run(&deployer, &["plan", "--org"]);
        assert_eq!(code, 1, "{plan:#}");
        let planned = usize::try_from(plan["pending"].as_u64().unwrap()).unwrap();
        proxy.reset_stats();

        // Killed once the first stack instances exist (the base), with the rule's to come.
        let mut child = deployer
            .command()
            .args(["--output", "json"])
            .args(with_code(&deployer, &["apply", "--org", "--yes"]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_mins(3);
        loop {
            let created = proxy
                .stats()
                .log
                .iter()
                .any(|e| e.operation == "CreateStackInstances" && e.succeeded());
            if created {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "seed {seed}: apply ended before it could be killed"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "seed {seed}: no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let first = completed_writes(&proxy.stats());
        proxy.reset_stats();

        // The killed run still holds the lock: a rerun is refused, naming it, and writes
        // nothing; `deployer unlock` removes it.
        let (code, refused) = run(&deployer, &["apply", "--org", "--yes"]);
        assert_eq!(code, 2, "seed {seed}: {refused:#}");
        assert_eq!(refused["write_calls"], 0, "{refused:#}");
        let reason = refused["reasons"][0].as_str().unwrap();
        let lock = reason
            .split("`deployer unlock ")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .unwrap_or_else(|| panic!("no lock id in {reason}"));
        let (code, _) = deployer_unlock(&deployer, lock);
        assert_eq!(code, 0, "seed {seed}: unlock {lock}");
        assert!(completed_writes(&proxy.stats()).is_empty());
        proxy.reset_stats();

        let (code, json) = run(&deployer, &["apply", "--org", "--yes"]);
        let stats = proxy.stats();
        let second = completed_writes(&stats);
        drop(proxy);
        assert_eq!(code, 0, "seed {seed}: the rerun completes: {json:#}");
        let repeated: Vec<&(String, String)> =
            second.iter().filter(|w| first.contains(w)).collect();
        assert!(
            repeated.is_empty(),
            "seed {seed}: repeated writes {repeated:?}"
        );
        assert!(
            !first.is_empty() && !second.is_empty(),
            "{first:?} / {second:?}"
        );
        assert_eq!(
            first.len() + second.len(),
            planned,
            "seed {seed}: one write per planned change, across both runs: {first:?} + {second:?}"
        );
        // The deployer counts each attempt of a StackSets write it sends itself (the SDK does
        // not retry those): the ones carried out, and the ones refused by an injected fault.
        let refused = stats
            .log
            .iter()
            .filter(|e| e.injected() && STACK_SET_WRITES.contains(&e.operation.as_str()))
            .count();
        assert_eq!(
            json["write_calls"].as_u64(),
            u64::try_from(second.len() + refused).ok(),
            "{stats:?}"
        );
        assert_eq!(
            deployed(&org, &members).await,
            members.iter().cloned().collect(),
            "seed {seed}"
        );
        println!(
            "faults: kill and rerun: seed {seed}: {planned} planned writes; {} done before the kill, {} by the rerun, none repeated",
            first.len(),
            second.len()
        );
        report("rerun after kill", seed, &stats);
        let outcomes: BTreeSet<Outcome> = stats.log.iter().map(|e| e.outcome).collect();
        println!("faults: kill and rerun: seed {seed}: outcomes seen {outcomes:?}");
    }
}

/// `deployer unlock ID`: the exit code and stderr.
fn deployer_unlock(deployer: &Deployer, id: &str) -> (i32, String) {
    let out = deployer.command().args(["unlock", id]).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The StackSets calls that start something (their answers are the ones lost).
const STACK_SET_WRITES: [&str; 6] = [
    "CreateStackSet",
    "UpdateStackSet",
    "CreateStackInstances",
    "UpdateStackInstances",
    "DeleteStackInstances",
    "DeleteStackSet",
];

/// How many operations each Custos stack set of the organisation's management account ran.
pub(crate) async fn operations_per_stack_set(org: &Organization) -> BTreeMap<String, usize> {
    let client = aws_sdk_cloudformation::Client::new(org.management_config());
    let sets = client
        .list_stack_sets()
        .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
        .send()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for name in sets.summaries().iter().filter_map(|s| s.stack_set_name()) {
        let operations = client
            .list_stack_set_operations()
            .stack_set_name(name)
            .send()
            .await
            .unwrap();
        out.insert(name.to_owned(), operations.summaries().len());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_carried_out_whose_answer_is_lost_starts_no_second_operation() {
    let emulator = Emulator::from_env();
    for seed in seeds(&[5]) {
        let (org, _, members) = small_organisation(&emulator, 3).await;
        // Half the answers of StackSets writes are lost after the write was carried out.
        let proxy = FaultProxy::start(emulator.url(), seed, Faults::lost_answers(0.5)).unwrap();
        proxy.only(&STACK_SET_WRITES);
        let deployer = deployer(&emulator, &org, proxy.url()).await;
        let (code, json) = run(&deployer, &["apply", "--org", "--yes"]);
        let stats = proxy.stats();
        drop(proxy);
        let lost: Vec<String> = stats
            .log
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::AnswerLost(_)))
            .map(|e| format!("{} {}", e.operation, e.subject.clone().unwrap_or_default()))
            .collect();
        report("lost answers", seed, &stats);
        println!("faults: lost answers: seed {seed}: answers lost for {lost:?}");
        assert!(
            !lost.is_empty(),
            "seed {seed}: no answer was lost: the test proved nothing"
        );
        assert_eq!(code, 0, "seed {seed}: {json:#}");
        // The same final state as without faults: every account deployed, nothing pending.
        assert_eq!(
            deployed(&org, &members).await,
            members.iter().cloned().collect(),
            "seed {seed}"
        );
        let direct = deployer_for(&emulator, &org).await;
        direct.write_settings(SETTINGS);
        let (code, again) = run(&direct, &["plan", "--org"]);
        assert_eq!(code, 0, "seed {seed}: nothing left to do: {again:#}");
        // One operation per stack set: its instances created once, never twice.
        let operations = operations_per_stack_set(&org).await;
        println!("faults: lost answers: seed {seed}: operations per stack set {operations:?}");
        assert_eq!(
            operations,
            BTreeMap::from([
                ("custos-base".to_owned(), 1),
                (format!("custos-rule-{RULE}"), 1),
            ]),
            "seed {seed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_account_and_one_the_role_cannot_reach_are_reported_and_left_as_is() {
    let emulator = Emulator::from_env();
    let (org, workloads, mut members) = small_organisation(&emulator, 3).await;
    // CloseAccount: the emulator marks the account SUSPENDED, as AWS does while it closes.
    let suspended = members.pop().unwrap();
    aws_sdk_organizations::Client::new(org.management_config())
        .close_account()
        .account_id(&suspended)
        .send()
        .await
        .unwrap();
    // An account without the access role: AssumeRole is refused.
    let email = format!("{}@example.com", workspace_tests::unique_name("norole"));
    let unreachable = org.create_account("norole", &email).await.unwrap();
    org.move_account(&unreachable, &workloads).await.unwrap();

    let deployer = deployer(&emulator, &org, emulator.url()).await;
    let (code, json) = run(&deployer, &["apply", "--org", "--yes"]);
    assert_eq!(code, 1, "some targets were left out: {json:#}");
    let skipped: BTreeMap<&str, &str> = json["skipped"]
        .as_array()
        .expect("a skipped list")
        .iter()
        .map(|s| {
            (
                s["account"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([suspended.as_str(), unreachable.as_str()]),
        "{json:#}"
    );
    assert_eq!(
        skipped[suspended.as_str()],
        "SUSPENDED in the organisation, left as is"
    );
    let reason = skipped[unreachable.as_str()];
    assert!(
        reason.starts_with(&format!(
            "unreachable, left as is: cannot act in the account through role {ACCESS_ROLE}: "
        )),
        "{reason}"
    );
    assert!(
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "SUCCEEDED"),
        "{json:#}"
    );
    assert_eq!(
        deployed(&org, &members).await,
        members.iter().cloned().collect(),
        "the other accounts are deployed"
    );
    // Nothing went to the left-out accounts (seen through an administrator in each).
    for account in [&suspended, &unreachable] {
        let admin = emulator.create_admin(account, "inspector").await.unwrap();
        let stacks = custos_stacks(&emulator.config_for(&admin).await, REGION).await;
        assert!(stacks.is_empty(), "{account}: {stacks:?}");
    }

    // People get one line per account.
    let out = deployer
        .command()
        .args(["--output", "json"])
        .args(with_code(&deployer, &["plan", "--org"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "account {unreachable} (norole): unreachable, left as is: cannot act in the account"
        )),
        "{stderr}"
    );
}
