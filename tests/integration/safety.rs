//! The deployer on an organisation it shares with others and cannot always reach, driven
//! through its command line against the emulator:
//!
//! - an account made unreachable after an apply keeps its instances (plan and apply leave it as
//!   is, apply exits 1) and is brought up to date once reachable again;
//! - a `custos-*` stack set and an organisation pack of someone else survive `apply` and
//!   `destroy`;
//! - a saved plan edited by hand, one made before `deployer.toml`, a rule or a stack set changed
//!   are each refused, with their own reason, writing nothing;
//! - of two applies started together, one proceeds, the other stops at once, writing nothing;
//! - deleting the instances of 3 of 12 accounts needs `--allow-mass-delete`;
//! - a Config rule changed by hand in a member is reported by `plan` and repaired by `apply`;
//! - a function whose code was replaced in a member is named by `doctor --org`.
//!
//! As in `deployer.rs`, artifacts are per account (the emulator reads Lambda code from the
//! stack's own account only). Where the emulator does not enforce what AWS does (a bucket
//! owner, IAM), the deployer's unit tests use AWS's documented answers.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use aws_config::SdkConfig;
use serde_json::Value;
use workspace_tests::emulator::Emulator;
use workspace_tests::org::{ACCESS_ROLE, Organization};

use crate::deployer::{Deployer, custos_stacks, has_stack_of, writes};
use crate::faults::{
    deployed, deployer, operations_per_stack_set, run, small_organisation, with_code,
};

const REGION: &str = "us-east-1";
const RULE: &str = "s3-bucket-encryption";

fn settings(sse: &str, exclude: &[&str]) -> String {
    let excluded: Vec<String> = exclude.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Workloads"]
exclude-accounts = [{}]

[artifacts]
distribution = "per-account"

[rules.{RULE}]
parameters = {{ sseAlgorithm = "{sse}" }}
"#,
        excluded.join(", ")
    )
}

/// An organisation of `members` member accounts in the target OU, with the rule applied
/// (AES256); the organisation, its members and the deployer that applied it.
async fn applied_organisation(
    emulator: &Emulator,
    members: usize,
) -> (Organization, Vec<String>, Deployer) {
    let (org, _, members) = small_organisation(emulator, members).await;
    let deployer = deployer(emulator, &org, emulator.url()).await;
    deployer.write_settings(&settings("AES256", &[]));
    let (code, applied) = run(&deployer, &["apply", "--org", "--yes"]);
    assert_eq!(code, 0, "the first apply: {applied:#}");
    (org, members, deployer)
}

/// An administrator's configuration in `account` (whatever the access role's state).
async fn inspector(emulator: &Emulator, account: &str) -> SdkConfig {
    let user = workspace_tests::unique_name("inspector");
    let admin = emulator.create_admin(account, &user).await.unwrap();
    emulator.config_for(&admin).await
}

/// The rule's `sseAlgorithm` as Config in `config`'s account holds it.
async fn sse_algorithm(config: &SdkConfig) -> Option<String> {
    let out = aws_sdk_config::Client::new(config)
        .describe_config_rules()
        .config_rule_names(RULE)
        .send()
        .await
        .ok()?;
    let text = out.config_rules().first()?.input_parameters()?.to_owned();
    let parsed: Value = serde_json::from_str(&text).ok()?;
    parsed["sseAlgorithm"].as_str().map(str::to_owned)
}

/// The access role of `account` trusts `principal_account` (its root) alone.
async fn trust(emulator: &Emulator, account: &str, principal_account: &str) {
    let iam = aws_sdk_iam::Client::new(&inspector(emulator, account).await);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{principal_account}:root") },
            "Action": "sts:AssumeRole",
        }],
    });
    iam.update_assume_role_policy()
        .role_name(ACCESS_ROLE)
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
}

fn write_names(json: &Value) -> BTreeSet<String> {
    writes(json).into_iter().map(|(name, _)| name).collect()
}

/// `plan` names `lost` as left as is, exits 1, and changes nothing of it (the only change that
/// names it is a stack set update leaving it out).
fn assert_plan_leaves_alone(deployer: &Deployer, lost: &str) {
    let out = deployer
        .command()
        .args(["--output", "json"])
        .args(with_code(deployer, &["plan", "--org"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("safety: unreachable: plan says: {}", stderr.trim());
    assert_eq!(out.status.code(), Some(1), "{plan:#}");
    assert!(
        stderr.contains(&format!(
            "account {lost} (member-0): unreachable, left as is: "
        )),
        "{stderr}"
    );
    let touched: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.to_string().contains(lost))
        .collect();
    assert!(
        !touched.is_empty()
            && touched
                .iter()
                .all(|c| c["action"] == "update-stack-set" && c["left_as_is"][0] == lost),
        "only the stack set update names it, to leave it out: {touched:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_unreachable_after_an_apply_keeps_its_instances_until_reached_again() {
    let emulator = Emulator::from_env();
    let (org, members, deployer) = applied_organisation(&emulator, 3).await;

    // Its trust changed: the deployer can no longer act in it or read it.
    let lost = &members[0];
    trust(&emulator, lost, "999999999999").await;
    deployer.write_settings(&settings("aws:kms", &[]));

    assert_plan_leaves_alone(&deployer, lost);

    let (code, applied) = run(&deployer, &["apply", "--org", "--yes"]);
    println!(
        "safety: unreachable: apply exit {code}, left as is: {}, writes {:?}",
        applied["skipped"],
        writes(&applied)
    );
    assert_eq!(code, 1, "an account was left as is: {applied:#}");
    let skipped = &applied["skipped"][0];
    assert_eq!(skipped["account"], lost.as_str(), "{applied:#}");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .starts_with("unreachable, left as is: cannot act in the account through role"),
        "{skipped}"
    );
    assert!(
        !write_names(&applied).contains("CloudFormation:DeleteStackInstances"),
        "{applied:#}"
    );
    // It keeps its stacks and its rule as they were; the others have the new parameter.
    let there = inspector(&emulator, lost).await;
    let stacks = custos_stacks(&there, REGION).await;
    assert!(has_stack_of(&stacks, "custos-base"), "{stacks:?}");
    assert!(
        has_stack_of(&stacks, &format!("custos-rule-{RULE}")),
        "{stacks:?}"
    );
    assert_eq!(sse_algorithm(&there).await.as_deref(), Some("AES256"));
    for other in &members[1..] {
        let config = org.assume_role(other, ACCESS_ROLE).await.unwrap();
        assert_eq!(
            sse_algorithm(&config).await.as_deref(),
            Some("aws:kms"),
            "{other}"
        );
    }

    // Reachable again: the next run carries on.
    trust(&emulator, lost, &org.management_account_id).await;
    {
        let via_role = org.assume_role(lost, ACCESS_ROLE).await.unwrap();
        eprintln!(
            "DEBUG before: stacks {:?} sse {:?}",
            custos_stacks(&via_role, REGION).await,
            sse_algorithm(&via_role).await
        );
        let fresh = inspector(&emulator, lost).await;
        eprintln!(
            "DEBUG before (admin): stacks {:?} sse {:?}",
            custos_stacks(&fresh, REGION).await,
            sse_algorithm(&fresh).await
        );
    }
    let (code, repaired) = run(&deployer, &["apply", "--org", "--yes"]);
    println!(
        "safety: unreachable: reachable again: apply exit {code}, writes {:?}",
        writes(&repaired)
    );
    assert_eq!(code, 0, "{repaired:#}");
    eprintln!("DEBUG repaired {repaired:#}");
    eprintln!("DEBUG stacks {:?}", custos_stacks(&there, REGION).await);
    let rules = aws_sdk_config::Client::new(&there)
        .describe_config_rules()
        .send()
        .await
        .unwrap();
    eprintln!(
        "DEBUG rules {:?}",
        rules
            .config_rules()
            .iter()
            .map(|r| (r.config_rule_name(), r.input_parameters()))
            .collect::<Vec<_>>()
    );
    assert_eq!(sse_algorithm(&there).await.as_deref(), Some("aws:kms"));
    assert_eq!(
        deployed(&org, &members).await,
        members.iter().cloned().collect()
    );
}

/// A stack set of `owner` (`None`: untagged) in the management account, with one instance.
async fn foreign_stack_set(org: &Organization, name: &str, owner: Option<&str>) {
    let client = aws_sdk_cloudformation::Client::new(org.management_config());
    let template = "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
    let mut create = client
        .create_stack_set()
        .stack_set_name(name)
        .template_body(template)
        .permission_model(aws_sdk_cloudformation::types::PermissionModels::SelfManaged);
    if let Some(owner) = owner {
        create = create.tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("custos:managed")
                .value(owner)
                .build(),
        );
    }
    create.send().await.unwrap();
    client
        .create_stack_instances()
        .stack_set_name(name)
        .accounts(&org.management_account_id)
        .regions(REGION)
        .send()
        .await
        .unwrap();
}

async fn stack_set_instances(org: &Organization, name: &str) -> Option<usize> {
    let client = aws_sdk_cloudformation::Client::new(org.management_config());
    let described = client
        .describe_stack_set()
        .stack_set_name(name)
        .send()
        .await
        .ok()?;
    let active = described
        .stack_set()
        .and_then(|s| s.status())
        .is_some_and(|s| s.as_str() == "ACTIVE");
    if !active {
        return None;
    }
    let instances = client
        .list_stack_instances()
        .stack_set_name(name)
        .send()
        .await
        .ok()?;
    Some(instances.summaries().len())
}

async fn org_pack_exists(org: &Organization, name: &str) -> bool {
    aws_sdk_config::Client::new(org.management_config())
        .describe_organization_conformance_packs()
        .send()
        .await
        .unwrap()
        .organization_conformance_packs()
        .iter()
        .any(|p| p.organization_conformance_pack_name() == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_sets_and_packs_of_others_survive_apply_and_destroy() {
    let emulator = Emulator::from_env();
    let (org, _, _) = small_organisation(&emulator, 1).await;
    foreign_stack_set(&org, "custos-foreign", Some("another-team")).await;
    foreign_stack_set(&org, "custos-untagged", None).await;
    // Made by an earlier Custos (before deployment ids): left alone unless adopted.
    foreign_stack_set(&org, "custos-legacy", Some("true")).await;
    aws_sdk_config::Client::new(org.management_config())
        .put_organization_conformance_pack()
        .organization_conformance_pack_name("custos-foreign-pack")
        .template_body(
            "Resources:\n  Versioning:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      ConfigRuleName: foreign-versioning\n      Source:\n        Owner: AWS\n        SourceIdentifier: S3_BUCKET_VERSIONING_ENABLED\n",
        )
        .send()
        .await
        .unwrap();
    let deployer = deployer(&emulator, &org, emulator.url()).await;
    deployer.write_settings(&settings("AES256", &[]));

    let (code, applied) = run(&deployer, &["apply", "--org", "--yes"]);
    assert_eq!(code, 0, "{applied:#}");
    let left_alone: BTreeSet<&str> = applied["not_managed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    println!("safety: foreign: apply left alone {left_alone:?}");
    assert_eq!(
        left_alone,
        BTreeSet::from([
            "custos-foreign",
            "custos-foreign-pack",
            "custos-legacy",
            "custos-untagged"
        ])
    );
    for change in applied["changes"].as_array().unwrap() {
        let text = change.to_string();
        assert!(
            !["custos-foreign", "custos-untagged", "custos-legacy"]
                .iter()
                .any(|n| text.contains(&format!("\"{n}\""))),
            "{text}"
        );
    }

    // Destroy, deletions allowed: this deployment's sets go, the others stay.
    let (code, destroyed) = deployer.run(&[
        "destroy",
        "--org",
        "--yes",
        "--allow-delete",
        "--allow-mass-delete",
    ]);
    println!(
        "safety: foreign: destroy exit {code}, writes {:?}",
        writes(&destroyed)
    );
    assert_eq!(code, 0, "{destroyed:#}");
    assert_eq!(stack_set_instances(&org, "custos-base").await, None);
    for name in ["custos-foreign", "custos-untagged", "custos-legacy"] {
        assert_eq!(stack_set_instances(&org, name).await, Some(1), "{name}");
    }
    assert!(org_pack_exists(&org, "custos-foreign-pack").await);
}

/// `apply --plan FILE`, as JSON.
fn apply_plan(deployer: &Deployer, file: &std::path::Path) -> (i32, Value) {
    run(
        deployer,
        &["apply", "--org", "--yes", "--plan", file.to_str().unwrap()],
    )
}

/// Asserts a refusal that wrote nothing and whose reasons say `why`; returns the reasons.
fn assert_refused(code: i32, json: &Value, why: &str) -> String {
    assert_eq!(code, 2, "{json:#}");
    assert_eq!(json["status"], "refused", "{json:#}");
    assert_eq!(json["write_calls"], 0, "{json:#}");
    assert!(
        json["calls"]["writes"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty),
        "{json:#}"
    );
    let reasons: Vec<&str> = json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(reasons.iter().any(|r| r.contains(why)), "{reasons:#?}");
    reasons.join(" | ")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_or_edited_plan_is_refused_and_writes_nothing() {
    let emulator = Emulator::from_env();
    let (org, members, deployer) = applied_organisation(&emulator, 2).await;
    deployer.write_settings(&settings("aws:kms", &[]));
    let plan_file = deployer.dir.path().join("plan.json");
    let make_plan = || {
        let (code, plan) = run(
            &deployer,
            &["plan", "--org", "--out", plan_file.to_str().unwrap()],
        );
        assert_eq!(code, 1, "{plan:#}");
    };

    // Edited by hand: one more deletion slipped in.
    make_plan();
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    saved["changes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "action": "delete-stack-set", "name": "custos-base" }));
    std::fs::write(&plan_file, saved.to_string()).unwrap();
    let (code, json) = apply_plan(&deployer, &plan_file);
    let said = assert_refused(code, &json, "was edited after `deployer plan` wrote it");
    println!("safety: plan: edited: {said}");

    // deployer.toml changed after the plan.
    make_plan();
    deployer.write_settings(&format!(
        "{}\n[notifications]\nemails = [\"someone@example.com\"]\n",
        settings("aws:kms", &[])
    ));
    let (code, json) = apply_plan(&deployer, &plan_file);
    let said = assert_refused(code, &json, "deployer.toml changed since the plan was made");
    println!("safety: plan: deployer.toml changed: {said}");
    deployer.write_settings(&settings("aws:kms", &[]));

    // A rule changed after the plan (its packaged code).
    make_plan();
    let binary = deployer.dir.path().join("bin").join(RULE);
    let original = std::fs::read(&binary).unwrap();
    std::fs::write(&binary, "#!/bin/sh\necho changed\n").unwrap();
    let (code, json) = apply_plan(&deployer, &plan_file);
    let said = assert_refused(code, &json, &format!("stack set custos-rule-{RULE}"));
    println!("safety: plan: rule changed: {said}");
    std::fs::write(&binary, original).unwrap();

    // A stack set changed by someone else between plan and apply.
    make_plan();
    aws_sdk_cloudformation::Client::new(org.management_config())
        .update_stack_set()
        .stack_set_name("custos-base")
        .use_previous_template(true)
        .description("changed in the console")
        .send()
        .await
        .unwrap();
    let (code, json) = apply_plan(&deployer, &plan_file);
    let said = assert_refused(
        code,
        &json,
        "stack set custos-base differs from the plan (changed by another run or by hand)",
    );
    println!("safety: plan: stack set changed: {said}");

    // The plan as reviewed, against the state it was made from, is applied.
    make_plan();
    let (code, json) = apply_plan(&deployer, &plan_file);
    assert_eq!(code, 0, "{json:#}");
    for member in &members {
        let config = org.assume_role(member, ACCESS_ROLE).await.unwrap();
        assert_eq!(sse_algorithm(&config).await.as_deref(), Some("aws:kms"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_applies_started_together_one_proceeds() {
    let emulator = Emulator::from_env();
    let (org, _, members) = small_organisation(&emulator, 3).await;
    let deployer = deployer(&emulator, &org, emulator.url()).await;
    deployer.write_settings(&settings("AES256", &[]));
    let command = || {
        let mut command: Command = deployer.command();
        command
            .args(["--output", "json"])
            .args(with_code(&deployer, &["apply", "--org", "--yes"]));
        command
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| command().output().unwrap());
        let b = scope.spawn(|| command().output().unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    let outcome = |out: &std::process::Output| {
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    };
    let mut runs = [outcome(&a), outcome(&b)];
    runs.sort_by_key(|(code, _)| *code);
    let [(won, proceeded), (lost, stopped)] = runs;
    println!(
        "safety: two applies: exits {won} and {lost}; the second said {}",
        stopped["reasons"]
    );
    assert_eq!(won, 0, "{proceeded:#}");
    let said = assert_refused(lost, &stopped, "is locked by");
    assert!(said.contains("on host") && said.contains("since"), "{said}");
    // Its only call that could write was the refused lock attempt, in the lock table.
    assert_eq!(
        stopped["calls"]["lock"]["DynamoDB:PutItem"], 1,
        "{stopped:#}"
    );
    assert_eq!(
        deployed(&org, &members).await,
        members.iter().cloned().collect()
    );
    assert_eq!(
        operations_per_stack_set(&org).await,
        BTreeMap::from([
            ("custos-base".to_owned(), 1),
            (format!("custos-rule-{RULE}"), 1),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_three_of_twelve_accounts_needs_allow_mass_delete() {
    let emulator = Emulator::from_env();
    let (org, members, deployer) = applied_organisation(&emulator, 12).await;

    let dropped: Vec<&str> = members[..3].iter().map(String::as_str).collect();
    deployer.write_settings(&settings("AES256", &dropped));
    let out = deployer
        .command()
        .args(with_code(&deployer, &["plan", "--org"]))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    println!(
        "safety: mass delete: the plan starts with: {}",
        table.lines().next().unwrap_or("")
    );
    assert!(
        table.starts_with("THIS PLAN DELETES 6 of 24 stack instances (25%)"),
        "{table}"
    );

    let (code, json) = run(&deployer, &["apply", "--org", "--yes"]);
    let said = assert_refused(code, &json, "refused without --allow-delete");
    println!("safety: mass delete: without flags: {said}");
    let (code, json) = run(&deployer, &["apply", "--org", "--yes", "--allow-delete"]);
    let said = assert_refused(code, &json, "refused without --allow-mass-delete");
    assert!(
        said.contains("6 of 24 managed stack instances is 25%"),
        "{said}"
    );
    println!("safety: mass delete: --allow-delete only: {said}");
    assert_eq!(
        deployed(&org, &members).await,
        members.iter().cloned().collect(),
        "nothing was deleted"
    );

    let (code, json) = run(
        &deployer,
        &[
            "apply",
            "--org",
            "--yes",
            "--allow-delete",
            "--allow-mass-delete",
        ],
    );
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(
        deployed(&org, &members).await,
        members[3..].iter().cloned().collect()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_changed_by_hand_in_a_member_is_reported_and_repaired() {
    let emulator = Emulator::from_env();
    let (_, members, deployer) = applied_organisation(&emulator, 2).await;

    // A member's administrator loosens the rule.
    let member = &members[0];
    let there = inspector(&emulator, member).await;
    let config = aws_sdk_config::Client::new(&there);
    let rule = config
        .describe_config_rules()
        .config_rule_names(RULE)
        .send()
        .await
        .unwrap()
        .config_rules()[0]
        .clone();
    let mut input: Value = serde_json::from_str(rule.input_parameters().unwrap()).unwrap();
    input["sseAlgorithm"] = "aws:kms".into();
    config
        .put_config_rule()
        .config_rule(
            aws_sdk_config::types::ConfigRule::builder()
                .config_rule_name(RULE)
                .set_source(rule.source().cloned())
                .input_parameters(input.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (code, plan) = run(&deployer, &["plan", "--org"]);
    assert_eq!(code, 1, "{plan:#}");
    let repairs: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "repair-instances")
        .collect();
    println!("safety: drift: plan: {repairs:#?}");
    assert_eq!(repairs.len(), 1, "{plan:#}");
    assert_eq!(repairs[0]["stack_set"], format!("custos-rule-{RULE}"));
    assert_eq!(repairs[0]["accounts"][0], member.as_str());
    assert_eq!(
        repairs[0]["reason"],
        format!("changed by hand: Config rule {RULE} parameters changed (sseAlgorithm)")
    );

    let (code, applied) = run(&deployer, &["apply", "--org", "--yes"]);
    println!(
        "safety: drift: apply exit {code}, writes {:?}",
        writes(&applied)
    );
    assert_eq!(code, 0, "{applied:#}");
    assert_eq!(sse_algorithm(&there).await.as_deref(), Some("AES256"));
    let (code, after) = run(&deployer, &["plan", "--org"]);
    assert_eq!(code, 0, "repaired: {after:#}");
}

/// `doctor --org` after an apply: the problems with functions it lists for `account` (the
/// small organisation records nothing, which doctor also says).
fn doctor_problems(deployer: &Deployer, account: &str) -> (i32, Vec<String>) {
    let (code, checks) = deployer.run(&["doctor", "--org"]);
    let problems = checks
        .as_array()
        .unwrap_or_else(|| panic!("doctor prints its checks: {checks:#}"))
        .iter()
        .filter(|c| c["account"] == account)
        .flat_map(|c| c["missing"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().map(str::to_owned))
        .filter(|m| m.starts_with("function "))
        .collect();
    (code, problems)
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_names_a_function_whose_code_is_not_what_the_deployer_built() {
    let emulator = Emulator::from_env();
    let (_, members, deployer) = applied_organisation(&emulator, 2).await;
    let member = &members[0];
    let (_, before) = doctor_problems(&deployer, member);
    assert!(before.is_empty(), "as deployed: {before:#?}");

    // Someone with access to the member replaces the rule's code.
    let there = inspector(&emulator, member).await;
    aws_sdk_lambda::Client::new(&there)
        .update_function_code()
        .function_name(RULE)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(
            b"not the rule".to_vec(),
        ))
        .send()
        .await
        .unwrap();

    let (code, after) = doctor_problems(&deployer, member);
    println!("safety: code: doctor exit {code}: {after:#?}");
    assert_eq!(code, 1);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert!(
        after[0].starts_with(&format!("function {RULE} runs code "))
            && after[0].contains("not the zip the deployer built"),
        "{after:#?}"
    );
    let (_, other) = doctor_problems(&deployer, &members[1]);
    assert!(
        other.is_empty(),
        "the other member is as deployed: {other:#?}"
    );
}
