//! The deployer end to end, driven through its command line: an organisation with a management
//! account, three OUs (one nested two levels deep) and twelve member accounts, two regions.
//! `apply` rolls the rules out to every account and region (checked with each account's own
//! assumed credentials), a second `apply` makes no write call, a changed parameter is one
//! update, a rule dropped from `deployer.toml` is gone everywhere, and `destroy` leaves nothing.
//!
//! Where the emulator departs from AWS:
//! - its CloudFormation reads a Lambda's `Code.S3Bucket` in the stack's own account only, so the
//!   organisation uses `distribution = "per-account"` (AWS reads the central bucket through its
//!   policy);
//! - Config rules are per account, not per region, so regional presence is checked through the
//!   stacks in each region;
//! - no rule Lambda can run, so the packaged `bootstrap` files are small stand-ins: what is
//!   checked is that each function exists, not what it does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_config::SdkConfig;
use serde_json::Value;
use workspace_tests::emulator::{Emulator, REGION};
use workspace_tests::org::{ACCESS_ROLE, Organization};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// Rules from the deployer's fixtures: an SSM remediation, a Lambda remediation with a per-OU
/// override, and a notification-only rule.
const RULES: [&str; 3] = [
    "ec2-instance-baseline",
    "s3-bucket-encryption",
    "vpc-creation-approved",
];

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The deployer binary that `cargo test --workspace` (or `cargo nextest run --workspace`) built
/// beside this test, with the same features. Building it here with another cargo command would
/// resolve other features and build every AWS SDK crate a second time.
pub(crate) fn deployer_binary() -> PathBuf {
    // target/debug/deps/integration-… -> target/debug/deployer
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .join("deployer");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (or make test), which builds it",
        binary.display()
    );
    binary
}

/// `deployer.toml` for the `Workloads` OU in the emulator's region, code per account (the
/// emulator's CloudFormation reads code from the stack's own account only), then `rules`.
pub(crate) fn workloads_settings(rules: &str) -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Workloads"]

[artifacts]
distribution = "per-account"
{rules}"#
    )
}

fn settings(org_rules: &str, ec2_parameters: &str) -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["us-east-1", "eu-west-1"]
target-ous = ["Workloads", "Sandbox"]
include-management-account = true

[artifacts]
distribution = "per-account"

[notifications]
emails = ["cloud-security@example.com"]

[rules.ec2-instance-baseline]
parameters = {{ adminSecurityGroupId = "sg-0123456789abcdef0" }}
remediation = "manual"

[[rules.ec2-instance-baseline.overrides]]
ou = "Workloads/Prod"
parameters = {{ adminSecurityGroupId = "sg-0fedcba9876543210" }}

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}
{ec2_parameters}
{org_rules}
"#
    )
}

/// A scratch directory, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new() -> Self {
        let path = std::env::temp_dir().join(workspace_tests::unique_name("custos-deployer"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One deployer run against the emulator as the organisation's management account.
pub(crate) struct Deployer {
    pub(crate) binary: PathBuf,
    pub(crate) dir: Scratch,
    pub(crate) env: Vec<(String, String)>,
}

impl Deployer {
    pub(crate) fn write_settings(&self, text: &str) {
        std::fs::write(self.dir.path().join("deployer.toml"), text).unwrap();
    }

    /// The deployer with this run's settings, rules and environment.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("--config")
            .arg(self.dir.path().join("deployer.toml"))
            .arg("--rules-dir")
            .arg(repo().join("rules"))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs `args` with `--output json`; returns the exit code and the JSON on stdout.
    pub(crate) fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = self
            .command()
            .args(["--output", "json"])
            .args(args)
            .output()
            .expect("the deployer runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {stderr}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    pub(crate) fn apply(&self) -> Value {
        self.apply_with(&[])
    }

    /// `apply` with more flags (`--allow-delete`…).
    pub(crate) fn apply_with(&self, flags: &[&str]) -> Value {
        let bootstrap = self.dir.path().join("bin");
        let mut args = vec![
            "apply",
            "--org",
            "--yes",
            "--bootstrap-dir",
            bootstrap.to_str().unwrap(),
        ];
        args.extend(flags);
        let (code, json) = self.run(&args);
        assert_eq!(code, 0, "apply failed: {json:#}");
        json
    }
}

pub(crate) fn writes(json: &Value) -> Vec<(String, u64)> {
    json["calls"]["writes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Config rule names in an account (the emulator keeps them per account).
async fn config_rules(config: &SdkConfig) -> BTreeSet<String> {
    let client = aws_sdk_config::Client::new(config);
    let out = client.describe_config_rules().send().await.unwrap();
    out.config_rules()
        .iter()
        .filter_map(|r| r.config_rule_name().map(str::to_owned))
        .collect()
}

/// Names of the live stacks the Custos stack sets put in one account and region.
pub(crate) async fn custos_stacks(config: &SdkConfig, region: &str) -> BTreeSet<String> {
    let regional = config
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    let client = aws_sdk_cloudformation::Client::new(&regional);
    let out = client.describe_stacks().send().await.unwrap();
    out.stacks()
        .iter()
        .filter(|s| {
            !s.stack_status()
                .is_some_and(|st| st.as_str().starts_with("DELETE"))
        })
        .filter_map(|s| s.stack_name())
        .filter(|n| n.starts_with("StackSet-custos-"))
        .map(str::to_owned)
        .collect()
}

pub(crate) fn has_stack_of(stacks: &BTreeSet<String>, stack_set: &str) -> bool {
    let prefix = format!("StackSet-{stack_set}-");
    stacks.iter().any(|s| {
        s.strip_prefix(&prefix)
            .is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_hexdigit()))
    })
}

async fn input_parameters(config: &SdkConfig, rule: &str) -> Value {
    let client = aws_sdk_config::Client::new(config);
    let out = client
        .describe_config_rules()
        .config_rule_names(rule)
        .send()
        .await
        .unwrap();
    let text = out.config_rules()[0].input_parameters().unwrap_or("{}");
    serde_json::from_str(text).unwrap()
}

async fn organisation(emulator: &Emulator) -> (Organization, Vec<String>) {
    let org = Organization::isolated(emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let prod = org.create_ou(&workloads, "Prod").await.unwrap();
    let sandbox = org.create_ou(&org.root_id, "Sandbox").await.unwrap();
    let mut members = Vec::new();
    for (ou, name) in [
        (&workloads, "workload"),
        (&prod, "prod"),
        (&sandbox, "sandbox"),
    ] {
        for i in 0..4 {
            let account = org.create_member(&format!("{name}-{i}")).await.unwrap();
            org.move_account(&account.id, ou).await.unwrap();
            members.push(account.id);
        }
    }
    org.enable_stacksets_trusted_access().await.unwrap();
    (org, members)
}

pub(crate) async fn deployer_for(emulator: &Emulator, org: &Organization) -> Deployer {
    let dir = Scratch::new();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for binary in RULES
        .iter()
        .map(ToString::to_string)
        .chain(["ec2-instance-baseline-remediation".into()])
    {
        std::fs::write(bin.join(&binary), format!("#!/bin/sh\necho {binary}\n")).unwrap();
    }
    let env = org.management_environment(emulator.url()).await.unwrap();
    Deployer {
        binary: deployer_binary(),
        dir,
        env,
    }
}

/// Every member account, in every region, has the rules, seen with its own credentials; the
/// per-OU override reached the nested OU's accounts only.
async fn assert_rules_everywhere(org: &Organization, members: &[String]) {
    for account in members {
        let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
        let rules = config_rules(&config).await;
        for rule in RULES {
            assert!(
                rules.contains(rule),
                "{rule} missing in {account}: {rules:?}"
            );
        }
        for region in REGIONS {
            let stacks = custos_stacks(&config, region).await;
            for rule in RULES {
                let set = format!("custos-rule-{rule}");
                assert!(
                    has_stack_of(&stacks, &set),
                    "{set} missing in {account}/{region}: {stacks:?}"
                );
            }
            assert!(
                has_stack_of(&stacks, "custos-base"),
                "base missing in {account}/{region}"
            );
        }
    }
    // The override reached the nested OU's accounts only.
    let prod = org.assume_role(&members[4], ACCESS_ROLE).await.unwrap();
    let workload = org.assume_role(&members[0], ACCESS_ROLE).await.unwrap();
    assert_eq!(
        input_parameters(&prod, "ec2-instance-baseline").await["adminSecurityGroupId"],
        "sg-0fedcba9876543210"
    );
    assert_eq!(
        input_parameters(&workload, "ec2-instance-baseline").await["adminSecurityGroupId"],
        "sg-0123456789abcdef0"
    );
}

/// The base stack's topic is encrypted with the base stack's own KMS key, read back from the
/// member: the topic's `KmsMasterKeyId` is the key CloudFormation made, and a record published
/// to it goes through that key (the emulator encrypts with it, and fails without it).
async fn assert_topic_encrypted(org: &Organization, account: &str) {
    let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
    let regional = config
        .to_builder()
        .region(aws_config::Region::new(REGIONS[0]))
        .build();
    let stacks = custos_stacks(&config, REGIONS[0]).await;
    let base = stacks
        .iter()
        .find(|s| s.starts_with("StackSet-custos-base-"))
        .expect("a base stack");
    let cloudformation = aws_sdk_cloudformation::Client::new(&regional);
    let resources = cloudformation
        .describe_stack_resources()
        .stack_name(base)
        .send()
        .await
        .unwrap();
    let physical = |logical: &str| {
        resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id())
            .unwrap_or_else(|| panic!("{logical} in {base}: {resources:?}"))
            .to_owned()
    };
    let key = physical("NotificationKey");
    let topic = format!(
        "arn:aws:sns:{}:{account}:{}",
        REGIONS[0],
        deployer::render::TOPIC_NAME
    );
    let sns = aws_sdk_sns::Client::new(&regional);
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let master = attributes
        .attributes()
        .and_then(|a| a.get("KmsMasterKeyId"))
        .cloned();
    assert_eq!(master, Some(key), "{attributes:?}");
    sns.publish()
        .topic_arn(&topic)
        .subject("Custos test")
        .message("a record, encrypted at rest")
        .send()
        .await
        .expect("a publish through the topic's key");
}

/// `rule` is gone from every account and region; the other rules stay.
async fn assert_rule_gone(org: &Organization, members: &[String], rule: &str) {
    let stack_set = format!("custos-rule-{rule}");
    for account in members {
        let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
        assert!(!config_rules(&config).await.contains(rule), "{account}");
        for region in REGIONS {
            let stacks = custos_stacks(&config, region).await;
            assert!(!has_stack_of(&stacks, &stack_set), "{account}/{region}");
            assert!(
                has_stack_of(&stacks, "custos-rule-s3-bucket-encryption"),
                "{account}/{region}"
            );
        }
    }
}

/// No Custos stack set in the management account, no Custos rule or stack in any member.
async fn assert_nothing_left(org: &Organization, members: &[String]) {
    let cloudformation = aws_sdk_cloudformation::Client::new(org.management_config());
    let sets = cloudformation
        .list_stack_sets()
        .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
        .send()
        .await
        .unwrap();
    let left: Vec<&str> = sets
        .summaries()
        .iter()
        .filter_map(|s| s.stack_set_name())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with("custos-")), "{left:?}");
    for account in members {
        let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
        assert!(
            config_rules(&config)
                .await
                .is_disjoint(&RULES.iter().map(ToString::to_string).collect())
        );
        for region in REGIONS {
            assert_eq!(
                custos_stacks(&config, region).await,
                BTreeSet::new(),
                "{account}/{region}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rules_reach_every_account_and_region_and_leave_no_trace() {
    let emulator = Emulator::from_env();
    let (org, members) = organisation(&emulator).await;
    let deployer = deployer_for(&emulator, &org).await;
    let vpc = "[rules.vpc-creation-approved]\nparameters = { approvalTagKey = \"approved-by\" }\n";
    deployer.write_settings(&settings(vpc, ""));

    // Plan: changes pending (exit 1), nothing written.
    let (code, plan) = deployer.run(&[
        "plan",
        "--org",
        "--bootstrap-dir",
        deployer.dir.path().join("bin").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{plan:#}");
    assert!(plan["pending"].as_u64().unwrap() > 0);

    let first = deployer.apply();
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert!(first["write_calls"].as_u64().unwrap() > 0);

    assert_rules_everywhere(&org, &members).await;
    assert_topic_encrypted(&org, &members[0]).await;

    // Nothing changed: no write call at all.
    let again = deployer.apply();
    assert_eq!(again["status"], "no-changes", "{again:#}");
    assert_eq!(again["write_calls"], 0, "{:?}", writes(&again));

    // One parameter: one stack set update, which every account sees.
    let vpc =
        "[rules.vpc-creation-approved]\nparameters = { approvalTagKey = \"custos:approved\" }\n";
    deployer.write_settings(&settings(vpc, ""));
    let changed = deployer.apply();
    assert_eq!(
        writes(&changed),
        [("CloudFormation:UpdateStackSet".to_owned(), 2)],
        "the OU stack set and the management account's"
    );
    for account in [&members[0], &members[11]] {
        let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
        assert_eq!(
            input_parameters(&config, "vpc-creation-approved").await["approvalTagKey"],
            "custos:approved"
        );
    }

    // A rule dropped from deployer.toml is gone everywhere.
    deployer.write_settings(&settings("", ""));
    let dropped = deployer.apply_with(&["--allow-delete", "--allow-mass-delete"]);
    assert_eq!(dropped["status"], "succeeded", "{dropped:#}");
    assert_rule_gone(&org, &members, "vpc-creation-approved").await;

    // Destroy: nothing of Custos is left, in any account or region.
    let (code, destroyed) = deployer.run(&[
        "destroy",
        "--org",
        "--yes",
        "--allow-delete",
        "--allow-mass-delete",
    ]);
    assert_eq!(code, 0, "{destroyed:#}");
    assert_nothing_left(&org, &members).await;
    let (code, after) = deployer.run(&[
        "plan",
        "--org",
        "--bootstrap-dir",
        deployer.dir.path().join("bin").to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "after destroy, a plan wants everything back: {after:#}"
    );
}
