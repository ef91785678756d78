//! `deployer evaluate` on the emulator, through its command line: it reads what Config recorded
//! in a member account (with that account's assumed credentials), runs change and periodic rules
//! in-process, and writes nothing: no write call counted, no rule deployed, the resource as it
//! was. Verdicts on AWS-shaped items are tested with mocked Config responses in the deployer.
//!
//! The emulator records items in its own shape (an S3 item holds no
//! `supplementaryConfiguration`), so the preview must say the bucket is not evaluable, naming
//! the missing field, rather than guess.

use serde_json::Value;
use workspace_tests::demo::deployer::Deployer;
use workspace_tests::demo::estate::record_configuration;
use workspace_tests::emulator::Emulator;
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::unique_name;

fn settings() -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["us-east-1"]
target-ous = ["Workloads"]
include-management-account = false

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}

[rules.ec2-cost-context]
parameters = {{ maxSpendUsd = 500 }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_reads_the_member_runs_the_rules_and_writes_nothing() {
    crate::deployer::deployer_binary();
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let member = org.create_member("dev").await.unwrap();
    org.move_account(&member.id, &workloads).await.unwrap();
    record_configuration(&member).await.unwrap();
    let s3 = aws_sdk_s3::Client::new(&member.config);
    let bucket = unique_name("custos-preview");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&member.config);
    let instance = ec2
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_owned();

    let dir = std::env::temp_dir().join(unique_name("custos-evaluate"));
    let deployer = Deployer::new(&emulator, &org, &dir, &settings())
        .await
        .unwrap();
    let preview = deployer.json(&["evaluate", "--org"], &[0]).unwrap();

    assert_eq!(preview["write_calls"], 0, "{preview:#}");
    let rows = preview["rows"].as_array().unwrap();
    let row = |rule: &str, resource: &str| -> &Value {
        rows.iter()
            .find(|r| r["rule"] == rule && r["resource"] == resource)
            .unwrap_or_else(|| panic!("no row for {rule} {resource}: {preview:#}"))
    };
    let bucket_row = row("s3-bucket-encryption", &format!("AWS::S3::Bucket {bucket}"));
    assert_eq!(bucket_row["account"], member.id.as_str());
    assert_eq!(bucket_row["outcome"], "NOT_EVALUABLE");
    assert_eq!(
        bucket_row["annotation"],
        "not evaluable from the recorded item: it lacks \
         supplementaryConfiguration.ServerSideEncryptionConfiguration"
    );
    // The periodic rule gathered read-only and judged the instance (the emulator launches every
    // instance at 2024-01-01, so a t3.micro has run about two years: within the budget).
    let cost = row(
        "ec2-cost-context",
        &format!("AWS::EC2::Instance {instance}"),
    );
    assert_eq!(cost["outcome"], "COMPLIANT", "{cost:#}");
    let reads = preview["calls"]["reads"].as_object().unwrap();
    for operation in [
        "ListDiscoveredResources",
        "BatchGetResourceConfig",
        "DescribeInstances",
        "AssumeRole",
    ] {
        assert!(
            reads.keys().any(|k| k.ends_with(&format!(":{operation}"))),
            "{operation} not among {reads:?}"
        );
    }

    // Nothing was deployed or changed.
    let rules = aws_sdk_config::Client::new(&member.config)
        .describe_config_rules()
        .send()
        .await
        .unwrap();
    assert!(rules.config_rules().is_empty(), "{rules:?}");
    assert!(
        s3.get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .is_err(),
        "the bucket still has no default encryption"
    );

    // Bad input: exit 2, named.
    let unknown = deployer
        .run(&["evaluate", "--org", "--rule", "s3-bucket-encrypton"])
        .unwrap();
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("unknown rule `s3-bucket-encrypton`"),
        "{}",
        unknown.stderr
    );
    let unknown = deployer
        .run(&["evaluate", "--org", "--account", "123456789012"])
        .unwrap();
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("unknown account `123456789012`"),
        "{}",
        unknown.stderr
    );
    let _ = std::fs::remove_dir_all(dir);
}
