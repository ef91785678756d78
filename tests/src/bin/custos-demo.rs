//! The Custos demo on the local AWS emulator: two buckets, the `s3-bucket-encryption` rule run
//! the way AWS Config runs it, and what Config then reports. Re-runnable: every run makes new
//! buckets and reports on those.
//!
//! Run it with `make demo`, or against a running emulator with
//! `cargo run -p workspace-tests --bin custos-demo`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use comfy_table::{ContentArrangement, Table, presets};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::runtime::Mode;
use s3_bucket_encryption::{RULE_TOML, S3BucketEncryption};
use workspace_tests::config_service::{ConfigService, events, function_arn};
use workspace_tests::emulator::{Account, Emulator, REGION};
use workspace_tests::{recorder, unique_name};

#[tokio::main]
async fn main() -> Result<()> {
    let emulator = Emulator::try_from_env()?;
    let account = emulator.management_account().await;
    println!(
        "AWS: local emulator at {}, account {}",
        emulator.url(),
        account.id
    );

    let key_arn = format!(
        "arn:aws:kms:{REGION}:{}:key/{}",
        account.id,
        uuid::Uuid::new_v4()
    );
    let plain = create_bucket(&account, "custos-demo-plain", None).await?;
    let kms = create_bucket(&account, "custos-demo-kms", Some(&key_arn)).await?;
    println!("created bucket {plain} (no default encryption)");
    println!("created bucket {kms} (SSE-KMS, key {key_arn})");

    let meta = RuleMeta::from_toml(RULE_TOML)?;
    let config = ConfigService::new(&account);
    let lambda = function_arn(&account.id, &meta.name);
    let rule = config
        .put_custom_lambda_rule(&meta.name, &lambda, &meta.resource_types, &BTreeMap::new())
        .await?;
    println!("Config rule {} ({}) -> {lambda}", rule.name, rule.arn);

    let mut items = BTreeMap::new();
    for bucket in [&plain, &kms] {
        let item = recorder::s3_bucket(&account.config, &account.id, bucket).await?;
        config
            .run_change_rule(&S3BucketEncryption, &meta, &rule, &item, Mode::Put)
            .await?;
        items.insert(bucket.clone(), item);
    }
    println!(
        "ran {} on each bucket's configuration change; Config now reports:\n",
        rule.name
    );

    let results = config.compliance_by_resource(&rule.name).await?;
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        // Not a terminal (piped, CI): wrap long annotations at a readable width.
        table.set_width(100);
    }
    table.set_header(["bucket", "compliance", "annotation"]);
    for bucket in [&plain, &kms] {
        let result = results
            .get(bucket)
            .with_context(|| format!("Config has no result for {bucket}"))?;
        table.add_row([
            bucket.as_str(),
            &result.compliance,
            result.annotation.as_deref().unwrap_or(""),
        ]);
    }
    println!("{table}\n");

    let event = events::change_event(&rule, &account.id, &items[&plain], workspace_tests::now());
    let event_file = save_event(&event)?;
    let evaluations = config
        .run_change_rule(
            &S3BucketEncryption,
            &meta,
            &rule,
            &items[&plain],
            Mode::DryRun,
        )
        .await?;
    println!("the rule's evaluation of {plain}, as --dry-run prints it:");
    println!("{}\n", serde_json::to_string_pretty(&evaluations)?);
    println!(
        "the Config event for {plain} is in {}; run the rule binary on it with:",
        event_file.display()
    );
    println!(
        "  cargo run -p {} -- --event {} --dry-run",
        meta.name,
        event_file.display()
    );
    Ok(())
}

async fn create_bucket(
    account: &Account,
    prefix: &str,
    sse_kms_key: Option<&str>,
) -> Result<String> {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let name = unique_name(prefix);
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .with_context(|| format!("CreateBucket {name}"))?;
    if let Some(key) = sse_kms_key {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key)
            .build()?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .build();
        s3.put_bucket_encryption()
            .bucket(&name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("PutBucketEncryption {name}"))?;
    }
    Ok(name)
}

/// Writes the event to `.custos/demo/` in the repository (ignored by git), relative to the
/// current directory when that is the repository.
fn save_event(event: &serde_json::Value) -> Result<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate is in the repository")?;
    let dir = repo.join(".custos/demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("event-unencrypted-bucket.json");
    std::fs::write(&file, serde_json::to_string_pretty(event)?)
        .with_context(|| format!("writing {}", file.display()))?;
    let cwd = std::env::current_dir()?;
    Ok(file
        .strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or(file))
}
