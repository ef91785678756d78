//! S3 remediation end to end: the rule reports a bucket, the fix runs (inline, or the SSM
//! document's step as SSM would run it), the rule runs again, and Config says COMPLIANT.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_s3::types::{Tag, Tagging};
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::remediation::{RemediationRecord, RemediationTrigger};
use config_rule_sdk::{Compliance, RuleMeta};
use s3_bucket_encryption::{Params, RULE_TOML};
use serde_json::Value;
use workspace_tests::config_service::{ConfigService, DeployedRule, events, function_arn};
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::{cloudformation, eventbridge, now, recorder, ssm, unique_name};

use crate::deployer::{deployer_for, workloads_settings};
use crate::faults::small_organisation;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/5555aaaa-6666-bbbb-7777-cccc8888dddd";
const KEY2: &str = "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-2222-bbbb-3333-cccc4444dddd";
const OTHER_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/9999ffff-8888-eeee-7777-dddd6666cccc";

struct World {
    account: Account,
    config: ConfigService,
    rule: DeployedRule,
    meta: RuleMeta,
    topic: String,
}

async fn world(parameters: &[(&str, &str)]) -> World {
    let account = Emulator::from_env().new_account().await.unwrap();
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let config = ConfigService::new(&account);
    let parameters: BTreeMap<String, String> = parameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let rule = config
        .put_custom_lambda_rule(
            &meta.name,
            &function_arn(&account.id, &meta.name),
            &meta.resource_types,
            &parameters,
        )
        .await
        .unwrap();
    let topic = aws_sdk_sns::Client::new(&account.config)
        .create_topic()
        .name(unique_name("custos-notifications"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    World {
        account,
        config,
        rule,
        meta,
        topic,
    }
}

async fn bucket(account: &Account, tags: &[(&str, &str)]) -> String {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name("custos-fix");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    if !tags.is_empty() {
        let tag_set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap());
        s3.put_bucket_tagging()
            .bucket(&name)
            .tagging(
                Tagging::builder()
                    .set_tag_set(Some(tag_set.collect()))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    name
}

/// Runs the rule with inline remediation, as its Lambda would on a change notification.
async fn notify(world: &World, bucket: &str) -> Compliance {
    let item = recorder::s3_bucket(&world.account.config, &world.account.id, bucket)
        .await
        .unwrap();
    let event = events::change_event(&world.rule, &world.account.id, &item, now());
    let edge = Edge::from_config(world.account.config.clone());
    // Boxed: the handler's future is large.
    let evaluations = Box::pin(
        s3_bucket_encryption::entry()
            .notifying(Some(world.topic.clone()))
            .handle(event, &edge, Mode::Put),
    )
    .await
    .unwrap();
    evaluations[0].compliance_type
}

async fn default_encryption(account: &Account, bucket: &str) -> Option<(String, Option<String>)> {
    let out = aws_sdk_s3::Client::new(&account.config)
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    let default = out
        .server_side_encryption_configuration()?
        .rules()
        .first()?
        .apply_server_side_encryption_by_default()?;
    Some((
        default.sse_algorithm().as_str().to_owned(),
        default.kms_master_key_id().map(str::to_owned),
    ))
}

/// Remediation records the emulator delivered to `topic`.
async fn records(topic: &str) -> Vec<RemediationRecord> {
    Emulator::from_env()
        .sns_messages(topic)
        .await
        .unwrap()
        .iter()
        .map(|message| {
            let json = &message[message.find('{').expect("the record follows the summary")..];
            serde_json::from_str(json).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn inline_remediation_fixes_the_bucket_once_and_publishes_its_record() {
    let world = world(&[
        ("inlineRemediation", "true"),
        ("sseAlgorithm", "aws:kms"),
        ("kmsKeyArns", KEY),
    ])
    .await;
    let name = bucket(&world.account, &[]).await;

    assert_eq!(
        notify(&world, &name).await,
        Compliance::NonCompliant,
        "reported as found"
    );
    assert_eq!(
        default_encryption(&world.account, &name).await,
        Some(("aws:kms".into(), Some(KEY.into())))
    );

    let published = records(&world.topic).await;
    assert_eq!(published.len(), 1, "one fix, one record");
    let record = &published[0];
    assert_eq!(
        (record.rule.as_str(), record.resource_id.as_str()),
        ("s3-bucket-encryption", name.as_str())
    );
    assert_eq!(record.account, world.account.id);
    assert_eq!(record.trigger, RemediationTrigger::Inline);
    assert_eq!(record.before["defaultEncryption"], Value::Null);
    assert_eq!(record.after["defaultEncryption"]["sseAlgorithm"], "aws:kms");
    assert_eq!(
        record.action,
        format!("set default encryption aws:kms with key {KEY}")
    );

    // Config re-evaluates on the change the fix made: compliant, and nothing more is done.
    assert_eq!(notify(&world, &name).await, Compliance::Compliant);
    assert_eq!(
        records(&world.topic).await.len(),
        1,
        "an already compliant bucket is left alone"
    );
    let reported = world
        .config
        .compliance_by_resource(&world.meta.name)
        .await
        .unwrap();
    assert_eq!(reported[&name].compliance, "COMPLIANT");
}

#[tokio::test]
async fn an_exempt_bucket_is_not_applicable_and_never_changed() {
    let world = world(&[("inlineRemediation", "true")]).await;
    let tag = format!(
        "s3-bucket-encryption; until={}; reason=vendor-managed bucket; owner=data",
        workspace_tests::days_ahead(60)
    );
    let name = bucket(&world.account, &[("custos:exempt", tag.as_str())]).await;

    assert_eq!(notify(&world, &name).await, Compliance::NotApplicable);
    assert_eq!(
        default_encryption(&world.account, &name).await,
        None,
        "the exempt bucket is untouched"
    );
    assert!(records(&world.topic).await.is_empty());
    let reported = world
        .config
        .compliance_by_resource(&world.meta.name)
        .await
        .unwrap();
    assert!(
        reported[&name]
            .annotation
            .as_deref()
            .unwrap()
            .contains("vendor-managed bucket")
    );
}

/// A member account in which the deployer applied the rule with `parameters` (a TOML inline
/// table's contents), its remediation configuration created in Config from the deployed template
/// (the emulator's CloudFormation only records it).
async fn deployed_world(parameters: &str) -> World {
    let emulator = Emulator::from_env();
    let (org, _, members) = small_organisation(&emulator, 1).await;
    let deployer = deployer_for(&emulator, &org).await;
    deployer.write_settings(&workloads_settings(&format!(
        "\n[rules.s3-bucket-encryption]\nparameters = {{ {parameters} }}\n"
    )));
    let applied = deployer.apply();
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    let account = Account {
        id: members[0].clone(),
        config: org.assume_role(&members[0], ACCESS_ROLE).await.unwrap(),
    };
    let provisioned =
        cloudformation::provision_remediations(&account.config, "StackSet-custos-rule-")
            .await
            .unwrap();
    assert_eq!(provisioned, ["s3-bucket-encryption"]);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let config = ConfigService::new(&account);
    let rule = config.deployed_rule(&meta.name).await.unwrap();
    let topic = eventbridge::compliance_notification(&account.config, &meta.name)
        .await
        .unwrap()
        .topic_arn;
    World {
        account,
        config,
        rule,
        meta,
        topic,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ssm_document_step_makes_the_bucket_compliant() {
    // Without inline mode the rule only reports; Config's remediation, as deployed, runs the
    // AWS-owned document, whose step the harness carries out as SSM would.
    let world = deployed_world(r#"sseAlgorithm = "AES256""#).await;
    let remediation = world
        .config
        .remediation(&world.meta.name)
        .await
        .unwrap()
        .expect("the deployed remediation configuration");
    let name = bucket(&world.account, &[]).await;
    assert_eq!(notify(&world, &name).await, Compliance::NonCompliant);
    assert_eq!(
        default_encryption(&world.account, &name).await,
        None,
        "reporting alone changes nothing"
    );

    let execution = remediation
        .on_non_compliant(&name)
        .expect("the deployed remediation is automatic");
    assert_eq!(execution.document, "AWS-EnableS3BucketEncryption");
    assert_eq!(execution.input["BucketName"], name);
    assert_eq!(execution.input["SSEAlgorithm"], "AES256");
    assert!(
        !execution.input.contains_key("KMSMasterKey"),
        "{execution:?}"
    );
    ssm::run(&world.account.config, &execution).await.unwrap();

    assert_eq!(
        default_encryption(&world.account, &name).await,
        Some(("AES256".to_owned(), None))
    );
    assert_eq!(notify(&world, &name).await, Compliance::Compliant);
    let reported = world
        .config
        .compliance_by_resource(&world.meta.name)
        .await
        .unwrap();
    assert_eq!(reported[&name].compliance, "COMPLIANT");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_remediation_encrypts_with_the_first_allowed_key() {
    let other = KEY.replace("5555aaaa", "9999ffff");
    let world = deployed_world(&format!(
        r#"sseAlgorithm = "aws:kms", kmsKeyArns = ["{KEY}", "{other}"]"#
    ))
    .await;
    let remediation = world
        .config
        .remediation(&world.meta.name)
        .await
        .unwrap()
        .unwrap();
    let name = bucket(&world.account, &[]).await;
    assert_eq!(notify(&world, &name).await, Compliance::NonCompliant);

    let execution = remediation.on_non_compliant(&name).unwrap();
    assert_eq!(execution.input["KMSMasterKey"], KEY, "{execution:?}");
    ssm::run(&world.account.config, &execution).await.unwrap();

    assert_eq!(
        default_encryption(&world.account, &name).await,
        Some(("aws:kms".to_owned(), Some(KEY.to_owned())))
    );
    assert_eq!(notify(&world, &name).await, Compliance::Compliant);
}

/// How much a default encryption protects: none < SSE-S3 < SSE-KMS < DSSE-KMS.
fn strength(default: Option<&(String, Option<String>)>) -> u8 {
    match default.map(|(algorithm, _)| algorithm.as_str()) {
        None => 0,
        Some("AES256") => 1,
        Some("aws:kms") => 2,
        Some(_) => 3,
    }
}

/// Runs the rule on `bucket` as recorded now, as Config would; nothing is put.
async fn judged(config: &ConfigService, rule: &DeployedRule, bucket: &str) -> String {
    let account = config.account();
    let item = recorder::s3_bucket(&account.config, &account.id, bucket)
        .await
        .unwrap();
    let evaluation = config
        .run_change_rule(&s3_bucket_encryption::entry(), rule, &item, Mode::DryRun)
        .await
        .unwrap()
        .remove(0);
    format!(
        "{:?} ({})",
        evaluation.compliance_type,
        evaluation
            .annotation
            .map(|a| a.to_string())
            .unwrap_or_default()
    )
}

fn shown(default: Option<&(String, Option<String>)>) -> String {
    match default {
        None => "none".into(),
        Some((algorithm, None)) => algorithm.clone(),
        Some((algorithm, Some(key))) => format!("{algorithm}+{}", &key[key.len() - 8..]),
    }
}

/// The rule's parameters for one combination, and how the table names it.
fn combination(sse: Option<&str>, keys: Option<&str>) -> (BTreeMap<String, String>, String) {
    let mut parameters = BTreeMap::new();
    if let Some(sse) = sse {
        parameters.insert("sseAlgorithm".to_owned(), sse.to_owned());
    }
    if let Some(keys) = keys {
        parameters.insert("kmsKeyArns".to_owned(), keys.to_owned());
    }
    let named = format!(
        "sseAlgorithm={sse:?} kmsKeyArns={:?}",
        keys.map(|k| k.matches(',').count() + 1)
    );
    (parameters, named)
}

/// The same parameters as a `deployer.toml` inline table's contents (lists as TOML arrays).
fn as_settings(parameters: &BTreeMap<String, String>) -> String {
    parameters
        .iter()
        .map(|(name, value)| {
            if name == "kmsKeyArns" {
                let items: Vec<String> = value.split(',').map(|k| format!("\"{k}\"")).collect();
                format!("{name} = [{}]", items.join(", "))
            } else {
                format!("{name} = \"{value}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One organisation, one OU and member account per combination, each combination a per-OU
/// override of the rule's parameters; one `apply`. Returns each combination's account with its
/// remediation configuration created in Config from the deployed template.
async fn deployed_per_combination(combinations: &[BTreeMap<String, String>]) -> Vec<Account> {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let mut settings = workloads_settings("\n[rules.s3-bucket-encryption]\n");
    let mut members = Vec::new();
    for (i, parameters) in combinations.iter().enumerate() {
        let name = format!("Combination{i}");
        let ou = org.create_ou(&workloads, &name).await.unwrap();
        let member = org.create_member(&format!("member-{i}")).await.unwrap();
        org.move_account(&member.id, &ou).await.unwrap();
        if !parameters.is_empty() {
            write!(
                settings,
                "\n[[rules.s3-bucket-encryption.overrides]]\nou = \"Workloads/{name}\"\nparameters = {{ {} }}\n",
                as_settings(parameters)
            )
            .unwrap();
        }
        members.push(member.id);
    }
    org.enable_stacksets_trusted_access().await.unwrap();
    let deployer = deployer_for(&emulator, &org).await;
    deployer.write_settings(&settings);
    let applied = deployer.apply();
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    let mut accounts = Vec::new();
    for id in members {
        let account = Account {
            config: org.assume_role(&id, ACCESS_ROLE).await.unwrap(),
            id,
        };
        let provisioned =
            cloudformation::provision_remediations(&account.config, "StackSet-custos-rule-")
                .await
                .unwrap();
        assert_eq!(provisioned, ["s3-bucket-encryption"]);
        accounts.push(account);
    }
    accounts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ssm_remediation_meets_the_rule_for_every_parameter_combination_and_never_weakens() {
    // Every combination of the rule's parameters, deployed by the deployer (one OU each), on
    // buckets in every starting state: the document's input as the deployed remediation
    // configuration gives it, its step as SSM runs it, then the rule's own evaluate on the rule
    // as deployed. A bucket it found NON_COMPLIANT must end COMPLIANT, and never with weaker
    // encryption than it had unless the rule itself demands that algorithm.
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let starts: [Option<(&str, Option<&str>)>; 6] = [
        None,
        Some(("AES256", None)),
        Some(("aws:kms", None)),
        Some(("aws:kms", Some(KEY))),
        Some(("aws:kms", Some(OTHER_KEY))),
        Some(("aws:kms:dsse", Some(KEY))),
    ];
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    let mut accepted = Vec::new();
    for sse in [None, Some("AES256"), Some("aws:kms"), Some("aws:kms:dsse")] {
        for keys in [None, Some(KEY.to_owned()), Some(format!("{KEY2},{KEY}"))] {
            let (parameters, combination) = combination(sse, keys.as_deref());
            let given = parameters
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            if let Err(e) = config_rule_sdk::params::decode::<Params>(&meta, &given) {
                // The rule refuses it: no bucket is ever reported, so nothing is remediated.
                table.push(format!("{combination}: refused by the rule: {e}"));
                if sse != Some("AES256") {
                    wrong.push(format!("{combination}: refused: {e}"));
                }
                continue;
            }
            accepted.push((sse, parameters, combination));
        }
    }
    let parameters: Vec<_> = accepted.iter().map(|(_, p, _)| p.clone()).collect();
    let accounts = deployed_per_combination(&parameters).await;
    for ((sse, parameters, combination), account) in accepted.into_iter().zip(accounts) {
        let config = ConfigService::new(&account);
        let rule = config.deployed_rule(&meta.name).await.unwrap();
        let stored: BTreeMap<String, String> =
            serde_json::from_str(&rule.input_parameters).unwrap();
        for name in parameters.keys() {
            assert_eq!(
                stored.get(name),
                parameters.get(name),
                "{combination}: deployed {stored:?}"
            );
        }
        let remediation = config
            .remediation(&meta.name)
            .await
            .unwrap()
            .expect("the deployed remediation configuration");
        for start in starts {
            let name = bucket(&account, &[]).await;
            if let Some((algorithm, key)) = start {
                let s3 = aws_sdk_s3::Client::new(&account.config);
                workspace_tests::s3::put_default_encryption(&s3, &name, algorithm, key)
                    .await
                    .unwrap();
            }
            let before = default_encryption(&account, &name).await;
            let found = judged(&config, &rule, &name).await;
            if !found.starts_with("NonCompliant") {
                continue;
            }
            let execution = remediation
                .on_non_compliant(&name)
                .expect("the deployed remediation is automatic");
            assert_eq!(execution.document, "AWS-EnableS3BucketEncryption");
            ssm::run(&account.config, &execution).await.unwrap();
            let after = default_encryption(&account, &name).await;
            let now = judged(&config, &rule, &name).await;
            let demanded = after.as_ref().is_some_and(|(a, _)| sse == Some(a.as_str()));
            let weaker = strength(after.as_ref()) < strength(before.as_ref()) && !demanded;
            let line = format!(
                "{combination}: {} -> {} ({}): {now}{}",
                shown(before.as_ref()),
                shown(after.as_ref()),
                execution
                    .input
                    .iter()
                    .filter(|(k, _)| !["BucketName", "AutomationAssumeRole"].contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={}", &v[v.len().saturating_sub(8)..]))
                    .collect::<Vec<_>>()
                    .join(" "),
                if weaker { "; WEAKER" } else { "" }
            );
            if !now.starts_with("Compliant") || weaker {
                wrong.push(line.clone());
            }
            table.push(line);
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        table.len() > 30,
        "the table covers the combinations: {table:#?}"
    );
    assert!(
        wrong.is_empty(),
        "not compliant after the fix, or weakened: {wrong:#?}"
    );
}
