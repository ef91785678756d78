//! S3 remediation end to end: the rule reports a bucket, the fix runs (inline, or the SSM
//! document's step as SSM would run it), the rule runs again, and Config says COMPLIANT.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{Tag, Tagging};
use config_rule_sdk::aws::Edge;
use config_rule_sdk::remediation::{RemediationRecord, RemediationTrigger};
use config_rule_sdk::runtime::{self, Mode};
use config_rule_sdk::{Compliance, RuleMeta};
use s3_bucket_encryption::remediation::EnableDefaultEncryption;
use s3_bucket_encryption::{Params, RULE_TOML, S3BucketEncryption};
use serde_json::Value;
use workspace_tests::config_service::{ConfigService, DeployedRule, events, function_arn};
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::{now, recorder, ssm, unique_name};

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
    let evaluations = Box::pin(runtime::handle_change_remediating(
        &S3BucketEncryption,
        &EnableDefaultEncryption,
        &world.meta,
        event,
        &edge,
        Mode::Put,
        Some(&world.topic),
    ))
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

#[tokio::test]
async fn the_ssm_document_step_makes_the_bucket_compliant() {
    // Without inline mode the rule only reports; Config's remediation runs the AWS-owned
    // document, whose step the harness carries out as SSM would.
    let world = world(&[("sseAlgorithm", "AES256")]).await;
    let name = bucket(&world.account, &[]).await;
    assert_eq!(notify(&world, &name).await, Compliance::NonCompliant);
    assert_eq!(
        default_encryption(&world.account, &name).await,
        None,
        "reporting alone changes nothing"
    );

    ssm::enable_s3_bucket_encryption(&world.account.config, &name, Some("AES256"), None)
        .await
        .unwrap();

    assert_eq!(notify(&world, &name).await, Compliance::Compliant);
    let reported = world
        .config
        .compliance_by_resource(&world.meta.name)
        .await
        .unwrap();
    assert_eq!(reported[&name].compliance, "COMPLIANT");
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
async fn judged(
    config: &ConfigService,
    meta: &RuleMeta,
    rule: &DeployedRule,
    bucket: &str,
) -> String {
    let account = config.account();
    let item = recorder::s3_bucket(&account.config, &account.id, bucket)
        .await
        .unwrap();
    let evaluation = config
        .run_change_rule(&S3BucketEncryption, meta, rule, &item, Mode::DryRun)
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

#[tokio::test]
async fn the_ssm_remediation_meets_the_rule_for_every_parameter_combination_and_never_weakens() {
    // Every combination of the rule's parameters, on buckets in every starting state: the
    // document's input as the rendered mapping gives it, its step as SSM runs it, then the
    // rule's own evaluate. A bucket it found NON_COMPLIANT must end COMPLIANT, and never with
    // weaker encryption than it had unless the rule itself demands that algorithm.
    let account = Emulator::from_env().new_account().await.unwrap();
    let config = ConfigService::new(&account);
    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let mapping = &meta.remediation.as_ref().unwrap().parameters;
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
            let rule = config
                .put_custom_lambda_rule(
                    &meta.name,
                    &function_arn(&account.id, &meta.name),
                    &meta.resource_types,
                    &parameters,
                )
                .await
                .unwrap();
            for start in starts {
                let name = bucket(&account, &[]).await;
                if let Some((algorithm, key)) = start {
                    let s3 = aws_sdk_s3::Client::new(&account.config);
                    workspace_tests::s3::put_default_encryption(&s3, &name, algorithm, key)
                        .await
                        .unwrap();
                }
                let before = default_encryption(&account, &name).await;
                let found = judged(&config, &meta, &rule, &name).await;
                if !found.starts_with("NonCompliant") {
                    continue;
                }
                let stored: BTreeMap<String, String> =
                    serde_json::from_str(&rule.input_parameters).unwrap();
                let input = ssm::document_input(mapping, &stored, &name);
                ssm::enable_s3_bucket_encryption(
                    &account.config,
                    &name,
                    input.get("SSEAlgorithm").map(String::as_str),
                    input.get("KMSMasterKey").map(String::as_str),
                )
                .await
                .unwrap();
                let after = default_encryption(&account, &name).await;
                let now = judged(&config, &meta, &rule, &name).await;
                let demanded = after.as_ref().is_some_and(|(a, _)| sse == Some(a.as_str()));
                let weaker = strength(after.as_ref()) < strength(before.as_ref()) && !demanded;
                let line = format!(
                    "{combination}: {} -> {} ({}): {now}{}",
                    shown(before.as_ref()),
                    shown(after.as_ref()),
                    input
                        .iter()
                        .filter(|(k, _)| *k != "BucketName")
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
