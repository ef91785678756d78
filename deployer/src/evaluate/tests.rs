//! The preview on AWS-shaped `BatchGetResourceConfig` answers (mocked as AWS documents them):
//! the verdicts the rules give, items that cannot be judged, batching, and bad input.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_config::Client;
use aws_sdk_config::operation::batch_get_resource_config::BatchGetResourceConfigOutput;
use aws_sdk_config::operation::list_discovered_resources::ListDiscoveredResourcesOutput;
use aws_sdk_config::types::{
    BaseConfigurationItem, ConfigurationItemStatus, ResourceIdentifier, ResourceKey as ApiKey,
    ResourceType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::catalog::Catalog;
use crate::org::fixture;

fn settings() -> Settings {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    Settings::load(&fixtures.join("deployer.toml"), &catalog).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// A `BatchGetResourceConfig` item: `configuration` and supplementary values as JSON strings.
fn item(
    resource_type: &str,
    id: &str,
    configuration: &str,
    supplementary: &[(&str, &str)],
) -> BaseConfigurationItem {
    let mut b = BaseConfigurationItem::builder()
        .version("1.3")
        .account_id("222222222222")
        .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(1_764_000_000))
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .resource_type(ResourceType::from(resource_type))
        .resource_id(id)
        .aws_region("us-east-1")
        .configuration(configuration);
    for (k, v) in supplementary {
        b = b.supplementary_configuration(*k, *v);
    }
    b.build()
}

fn s3(id: &str, encryption: Option<&str>) -> BaseConfigurationItem {
    let configuration = json!({"name": id, "creationDate": "2025-11-01T10:00:00.000Z"}).to_string();
    let mut supplementary = vec![
        ("BucketVersioningConfiguration", r#"{"status":"Off"}"#),
        ("IsRequesterPaysEnabled", "false"),
    ];
    if let Some(e) = encryption {
        supplementary.push(("ServerSideEncryptionConfiguration", e));
    }
    item("AWS::S3::Bucket", id, &configuration, &supplementary)
}

fn sse(algorithm: &str) -> String {
    json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm, "kmsMasterKeyID": null}, "bucketKeyEnabled": false}]}).to_string()
}

fn to_recorded(items: &[BaseConfigurationItem]) -> Vec<Recorded> {
    items
        .iter()
        .map(|i| {
            Recorded::Item(Box::new(
                config_rule_sdk::host::edge::item_from_batch(i).unwrap(),
            ))
        })
        .collect()
}

fn preview(
    rule: &str,
    account: &str,
    items: &[BaseConfigurationItem],
) -> Vec<(String, Outcome, String)> {
    let settings = settings();
    let rule = &settings.rules[rule];
    let Some(Previewer::Change(previewer)) = registry::lookup(&rule.meta.name) else {
        panic!("{} is a change rule", rule.meta.name);
    };
    let parameters = parameters_for(rule, &fixture::organization(), account);
    preview_items(
        rule,
        previewer.as_ref(),
        &parameters,
        &to_recorded(items),
        now(),
    )
}

#[test]
fn s3_verdicts_from_aws_shaped_items() {
    let aes = sse("AES256");
    let kms = sse("aws:kms");
    let rows = preview(
        "s3-bucket-encryption",
        "222222222222",
        &[
            s3("logs-aes", Some(&aes)),
            s3("data-kms", Some(&kms)),
            // Exempt in deployer.toml until 2027-02-28 (within 90 days of today).
            s3("legacy-access-logs", Some(&kms)),
        ],
    );
    assert_eq!(rows[0].1, Outcome::Compliant, "{rows:?}");
    assert_eq!(rows[0].2, "default encryption AES256");
    assert_eq!(rows[1].1, Outcome::NonCompliant);
    assert_eq!(rows[1].2, "default encryption is aws:kms, required AES256");
    assert_eq!(rows[2].1, Outcome::NotApplicable);
    assert!(rows[2].2.contains("platform-team"), "{}", rows[2].2);
}

#[test]
fn an_item_without_what_the_rule_reads_is_not_evaluable_and_says_what_is_missing() {
    // As some recorders store a bucket: settings as XML in `configuration`, no supplementary.
    let xml = item(
        "AWS::S3::Bucket",
        "raw-bucket",
        "<ServerSideEncryptionConfiguration><Rule/></ServerSideEncryptionConfiguration>",
        &[],
    );
    let rows = preview(
        "s3-bucket-encryption",
        "222222222222",
        &[xml, s3("no-sse", None)],
    );
    for (resource, outcome, annotation) in &rows {
        assert_eq!(*outcome, Outcome::NotEvaluable, "{resource}: {annotation}");
        assert_eq!(
            annotation,
            "not evaluable from the recorded item: it lacks \
             supplementaryConfiguration.ServerSideEncryptionConfiguration"
        );
    }
}

#[test]
fn ec2_baseline_uses_the_listed_tags_and_the_ou_override() {
    let instance = |id: &str, group: &str, tags: Value| {
        let configuration = json!({
            "instanceId": id,
            "instanceType": "t3.micro",
            "state": {"code": 16, "name": "running"},
            "securityGroups": [{"groupId": group, "groupName": "admin"}],
            "tags": tags,
        });
        item("AWS::EC2::Instance", id, &configuration.to_string(), &[])
    };
    let tagged = json!([{"key": "Owner", "value": "team-a"}, {"key": "CostCenter", "value": "42"}]);
    let prod_group = "sg-0fedcba9876543210";
    // Account 333333333333 is in Workloads/Prod, whose override names prod_group.
    let rows = preview(
        "ec2-instance-baseline",
        "333333333333",
        &[
            instance("i-0000000000000000a", prod_group, tagged.clone()),
            instance("i-0000000000000000b", "sg-0123456789abcdef0", tagged),
            instance("i-0000000000000000c", prod_group, json!([])),
        ],
    );
    assert_eq!(rows[0].1, Outcome::Compliant, "{rows:?}");
    assert_eq!(rows[1].1, Outcome::NonCompliant);
    assert!(rows[1].2.contains(prod_group), "{}", rows[1].2);
    assert_eq!(rows[2].1, Outcome::NonCompliant);
    assert!(rows[2].2.contains("Owner"), "{}", rows[2].2);

    // A summary without the group list cannot be judged.
    let summary = item(
        "AWS::EC2::Instance",
        "i-0000000000000000d",
        &json!({"instanceId": "i-0000000000000000d", "instanceType": "t3.micro"}).to_string(),
        &[],
    );
    let rows = preview("ec2-instance-baseline", "333333333333", &[summary]);
    assert_eq!(rows[0].1, Outcome::NotEvaluable);
    assert!(
        rows[0].2.ends_with("it lacks configuration.securityGroups"),
        "{}",
        rows[0].2
    );
}

#[test]
fn iam_policies_with_and_without_admin_wildcards() {
    let policy = |name: &str, document: &Value| {
        let encoded = percent_encode(&document.to_string());
        let configuration = json!({
            "policyName": name,
            "defaultVersionId": "v1",
            "policyVersionList": [{"document": encoded, "versionId": "v1", "isDefaultVersion": true}],
        });
        item(
            "AWS::IAM::Policy",
            &format!("ANPA{name}"),
            &configuration.to_string(),
            &[],
        )
    };
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let read = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let rows = preview(
        "iam-policy-no-admin-wildcards",
        "222222222222",
        &[policy("Admin", &admin), policy("Reader", &read)],
    );
    assert_eq!(rows[0].0, "AWS::IAM::Policy ANPAAdmin");
    assert_eq!(rows[0].1, Outcome::NonCompliant, "{rows:?}");
    assert_eq!(rows[1].1, Outcome::Compliant, "{rows:?}");
}

#[test]
fn an_inline_policy_without_its_document_is_not_evaluable() {
    let user = |policies: Value| {
        let configuration =
            json!({"userName": "ci", "userId": "AIDAEXAMPLE", "userPolicyList": policies});
        item(
            "AWS::IAM::User",
            "AIDAEXAMPLE",
            &configuration.to_string(),
            &[],
        )
    };
    let rows = preview(
        "iam-policy-no-admin-wildcards",
        "222222222222",
        &[user(json!([{"policyName": "deploy"}]))],
    );
    assert_eq!(rows[0].1, Outcome::NotEvaluable, "{rows:?}");
    assert!(
        rows[0]
            .2
            .ends_with("it lacks configuration.userPolicyList[].policyDocument"),
        "{}",
        rows[0].2
    );
    let rows = preview(
        "iam-policy-no-admin-wildcards",
        "222222222222",
        &[user(json!([]))],
    );
    assert_eq!(rows[0].1, Outcome::Compliant, "{rows:?}");
}

/// IAM documents in configuration items are URL-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn recorded_items_are_read_in_batches_of_100_and_unprocessed_keys_asked_again() {
    let ids: Vec<String> = (0..150).map(|i| format!("bucket-{i:03}")).collect();
    let listed = ids.clone();
    let list = mock!(Client::list_discovered_resources).then_output(move || {
        ListDiscoveredResourcesOutput::builder()
            .set_resource_identifiers(Some(
                listed
                    .iter()
                    .map(|id| {
                        ResourceIdentifier::builder()
                            .resource_type(ResourceType::Bucket)
                            .resource_id(id)
                            .build()
                    })
                    .collect(),
            ))
            .build()
    });
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (seen, count) = (sizes.clone(), calls.clone());
    let aes = sse("AES256");
    let batch = mock!(Client::batch_get_resource_config).then_compute_output(move |req| {
        let keys = req.resource_keys();
        seen.lock().unwrap().push(keys.len());
        let first_call = count.fetch_add(1, Ordering::SeqCst) == 0;
        // The first answer leaves its last key unprocessed, as Config may under load.
        let (done, left) = if first_call {
            keys.split_at(keys.len() - 1)
        } else {
            keys.split_at(keys.len())
        };
        BatchGetResourceConfigOutput::builder()
            .set_base_configuration_items(Some(
                done.iter()
                    .map(|k| s3(k.resource_id(), Some(&aes)))
                    .collect(),
            ))
            .set_unprocessed_resource_keys(Some(
                left.iter()
                    .map(|k| {
                        ApiKey::builder()
                            .resource_type(k.resource_type().clone())
                            .resource_id(k.resource_id())
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&list, &batch]);
    let items = recorded::recorded(&client, &["AWS::S3::Bucket".to_owned()])
        .await
        .unwrap();
    assert_eq!(*sizes.lock().unwrap(), [100, 1, 50]);
    let mut read: Vec<String> = items
        .iter()
        .map(|r| match r {
            Recorded::Item(i) => i.key.resource_id.clone(),
            Recorded::Unreadable { key, why } => panic!("{key}: {why}"),
        })
        .collect();
    read.sort();
    assert_eq!(read, ids);
}

#[test]
fn unknown_rules_and_accounts_are_refused_by_name() {
    let settings = settings();
    let scope = Scope {
        rule: Some("s3-bucket-encrypton".into()),
        account: None,
    };
    let err = selected_rules(&settings, &scope).unwrap_err().to_string();
    assert!(
        err.starts_with("unknown rule `s3-bucket-encrypton`: deployer.toml enables "),
        "{err}"
    );
    assert!(err.contains("s3-bucket-encryption"), "{err}");

    let scope = Scope {
        rule: None,
        account: Some("999999999999".into()),
    };
    let err = selected_accounts(&settings, &fixture::organization(), &scope)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("unknown account `999999999999`: not a target"),
        "{err}"
    );
    let scope = Scope {
        rule: None,
        account: Some("444444444444".into()),
    };
    let one = selected_accounts(&settings, &fixture::organization(), &scope).unwrap();
    assert_eq!(one.into_iter().collect::<Vec<_>>(), ["444444444444"]);
}

#[test]
fn every_enabled_example_rule_has_a_previewer() {
    for name in settings().rules.keys() {
        assert!(registry::lookup(name).is_some(), "{name}");
        assert!(registry::known().contains(name), "{name}");
    }
}
