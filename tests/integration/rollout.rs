//! Canary waves on the emulator: `[rollout]` deploys the Sandbox OU first; the harness plays
//! Config in each account as the rule arrives there (the rule's handler run on the account's
//! buckets, results put with `PutEvaluations`); three unencrypted buckets in the canary trip
//! the gate (at most 1 new NON_COMPLIANT resource per account), so `apply` stops, naming the
//! account, rule and buckets, and the Workloads account never gets the rule. `--skip-gate`
//! then goes on, recording its reason, and a third `apply` has nothing left to do.

use std::collections::BTreeSet;
use std::time::Duration;

use config_rule_sdk::host::Mode;
use serde_json::Value;
use workspace_tests::config_service::ConfigService;
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::s3::put_default_encryption;
use workspace_tests::{recorder, unique_name};

use crate::deployer::{Deployer, custos_stacks, deployer_for, has_stack_of};

const REGION: &str = "us-east-1";
const RULE: &str = "s3-bucket-encryption";

fn settings() -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Sandbox", "Workloads"]

[artifacts]
distribution = "per-account"

[rules.{RULE}]
parameters = {{ sseAlgorithm = "AES256" }}

[rollout.gate]
max-new-noncompliant-per-account = 1
wait-seconds = 120

[[rollout.waves]]
name = "canary"
ous = ["Sandbox"]

[[rollout.waves]]
name = "workloads"
rest = true
"#
    )
}

async fn bucket(account: &Account, encrypted: bool) -> String {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name("custos-wave");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    if encrypted {
        put_default_encryption(&s3, &name, "AES256", None)
            .await
            .unwrap();
    }
    name
}

/// Config's part in `account`: once the deployed rule is there, runs it on `buckets`.
async fn play_config(account: Account, buckets: Vec<String>) {
    let config = ConfigService::new(&account);
    let rule = loop {
        if let Ok(rule) = config.deployed_rule(RULE).await {
            break rule;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    for bucket in &buckets {
        let item = recorder::s3_bucket(&account.config, &account.id, bucket)
            .await
            .unwrap();
        config
            .run_change_rule(&s3_bucket_encryption::entry(), &rule, &item, Mode::Put)
            .await
            .unwrap();
    }
}

/// `apply` with `flags`, while the harness plays Config in `accounts`: exit code, stdout JSON
/// and stderr.
async fn apply_while_config_runs(
    deployer: &Deployer,
    flags: &[&str],
    accounts: &[(Account, Vec<String>)],
) -> (i32, Value, String) {
    let bin = deployer.dir.path().join("bin");
    let mut command = deployer.command();
    command
        .args([
            "--output",
            "json",
            "apply",
            "--org",
            "--yes",
            "--bootstrap-dir",
        ])
        .arg(bin)
        .args(flags);
    let run = tokio::task::spawn_blocking(move || command.output().unwrap());
    let players: Vec<_> = accounts
        .iter()
        .map(|(a, b)| tokio::spawn(play_config(a.clone(), b.clone())))
        .collect();
    let out = run.await.unwrap();
    for player in players {
        player.abort();
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

async fn has_rule_stack(org: &Organization, account: &str) -> bool {
    let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
    has_stack_of(
        &custos_stacks(&config, REGION).await,
        &format!("custos-rule-{RULE}"),
    )
}

async fn has_config_rule(account: &Account) -> bool {
    let rules = aws_sdk_config::Client::new(&account.config)
        .describe_config_rules()
        .send()
        .await
        .unwrap();
    rules
        .config_rules()
        .iter()
        .any(|r| r.config_rule_name() == Some(RULE))
}

/// The plan's waves: each one's name and accounts, in order.
fn planned_waves(plan: &Value) -> Vec<(String, BTreeSet<String>)> {
    plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let accounts = w["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (w["name"].as_str().unwrap().to_owned(), accounts)
        })
        .collect()
}

fn wave<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no wave {name} in {json:#}"))
}

#[tokio::test]
async fn a_rule_that_trips_the_canary_gate_never_reaches_the_next_wave() {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let sandbox = org.create_ou(&org.root_id, "Sandbox").await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let canary = org.create_member("lab").await.unwrap();
    org.move_account(&canary.id, &sandbox).await.unwrap();
    let workload = org.create_member("workload").await.unwrap();
    org.move_account(&workload.id, &workloads).await.unwrap();
    org.enable_stacksets_trusted_access().await.unwrap();

    let mut unencrypted = Vec::new();
    for _ in 0..3 {
        unencrypted.push(bucket(&canary, false).await);
    }
    unencrypted.sort();
    let encrypted = bucket(&workload, true).await;
    let config_runs = [
        (canary.clone(), unencrypted.clone()),
        (workload.clone(), vec![encrypted]),
    ];

    let deployer = deployer_for(&emulator, &org).await;
    deployer.write_settings(&settings());

    let (code, plan) = deployer.run(&[
        "plan",
        "--org",
        "--bootstrap-dir",
        deployer.dir.path().join("bin").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "changes pending: {plan:#}");
    let planned = planned_waves(&plan);
    assert_eq!(
        planned[0],
        ("canary".to_owned(), BTreeSet::from([canary.id.clone()]))
    );
    assert_eq!(planned[1].0, "workloads");
    assert!(planned[1].1.contains(&workload.id), "{plan:#}");
    println!("rollout: plan waves: {:#}", plan["waves"]);

    let (code, json, stderr) = apply_while_config_runs(&deployer, &[], &config_runs).await;
    println!("rollout: first apply, exit {code}:\n{stderr}");
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["status"], "gate-tripped");
    let first = wave(&json, "canary");
    assert_eq!(first["gate"], "tripped");
    let trip = &first["trips"][0];
    assert_eq!(trip["account"], canary.id.as_str());
    assert_eq!(trip["rule"], RULE);
    assert_eq!(trip["reason"], "3 new NON_COMPLIANT resources, more than 1");
    let tripped: Vec<&str> = trip["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(tripped, unencrypted);
    assert!(
        stderr.contains(&format!(
            "wave canary: gate: account {} (lab), rule {RULE}: 3 new NON_COMPLIANT resources, \
             more than 1: {}",
            canary.id,
            unencrypted.join(", ")
        )),
        "{stderr}"
    );
    assert_eq!(wave(&json, "workloads")["gate"], "not-started");
    assert!(has_rule_stack(&org, &canary.id).await);
    assert!(
        !has_rule_stack(&org, &workload.id).await,
        "the rule reached the second wave's account"
    );
    assert!(
        !has_config_rule(&workload).await,
        "Config in the second wave's account has the rule"
    );

    let reason = "lab buckets hold test data only";
    let (code, json, stderr) =
        apply_while_config_runs(&deployer, &["--skip-gate", reason], &config_runs).await;
    println!("rollout: apply --skip-gate, exit {code}:\n{stderr}");
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let first = wave(&json, "canary");
    assert_eq!(first["gate"], "skipped");
    assert_eq!(first["skip_reason"], reason);
    assert_eq!(first["changes"], 0, "the canary was deployed already");
    assert_eq!(wave(&json, "workloads")["gate"], "passed");
    assert!(
        stderr.contains(&format!(
            "wave canary: gate tripped, skipped with --skip-gate: {reason}"
        )),
        "{stderr}"
    );
    assert!(has_rule_stack(&org, &workload.id).await);

    let (code, json, stderr) = apply_while_config_runs(&deployer, &[], &[]).await;
    println!("rollout: third apply, exit {code}:\n{stderr}");
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["status"], "no-changes");
}
