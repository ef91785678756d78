//! The history store at scale: ingests N configuration items and N CloudTrail events from
//! generated files in AWS's delivery shapes (gzip, 10,000 records a file), then asks for one
//! resource's timeline. Each size runs in a child process of its own, so its peak memory
//! (VmHWM) is its own; the table shows it staying flat as the input grows.
//!
//! `cargo bench -p custos-history --profile history-bench` (sizes: `HISTORY_BENCH_SIZES`,
//! default `100000,1000000`).

#![allow(
    clippy::cast_precision_loss,
    clippy::disallowed_methods,
    reason = "a benchmark: its settings come from the environment, its figures are approximate"
)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use custos_history::{Ingest, Store, query, show};
use flate2::Compression;
use flate2::write::GzEncoder;

const PER_FILE: usize = 10_000;
const ACCOUNTS: usize = 20;
const RESOURCES_PER_ACCOUNT: usize = 500;

fn main() {
    if let Ok(dir) = std::env::var("HISTORY_BENCH_CHILD") {
        child(Path::new(&dir));
        return;
    }
    let sizes: Vec<usize> = std::env::var("HISTORY_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".to_owned())
        .split(',')
        .map(|s| s.trim().parse().expect("sizes are numbers"))
        .collect();
    let base = tempfile_dir();
    println!(
        "| items + events | files | generated input (gzip) | ingest s | records/s | peak RSS MB | store MB | timeline query ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for size in sizes {
        let dir = base.join(format!("n{size}"));
        let (files, bytes) = generate(&dir.join("input"), size);
        let output = Command::new(std::env::current_exe().unwrap())
            .env("HISTORY_BENCH_CHILD", &dir)
            .output()
            .expect("run the child");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<&str> = line.trim().split(' ').collect();
        println!(
            "| {} + {} | {files} | {:.0} MB | {} | {} | {} | {} | {} |",
            size,
            size,
            bytes as f64 / 1e6,
            fields[0],
            fields[1],
            fields[2],
            fields[3],
            fields[4]
        );
        let _ = fs::remove_dir_all(&dir);
    }
    let _ = fs::remove_dir_all(&base);
}

fn tempfile_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history-bench");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + (i % ACCOUNTS))
}

/// Config history files and CloudTrail files of `size` records each, in their delivery paths.
fn generate(dir: &Path, size: usize) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let base = 1_796_112_000_000_i64; // 2026-12-01T08:00:00Z
    for chunk in 0..size.div_ceil(PER_FILE) {
        let n = PER_FILE.min(size - chunk * PER_FILE);
        let acct = account(chunk);
        let mut items = Vec::with_capacity(n);
        let mut records = Vec::with_capacity(n);
        for i in 0..n {
            let seq = chunk * PER_FILE + i;
            let t = base + i64::try_from(seq).unwrap() * 600;
            let time = chrono::DateTime::from_timestamp_millis(t)
                .unwrap()
                .to_rfc3339();
            let bucket = format!("bucket-{}-{}", acct, seq % RESOURCES_PER_ACCOUNT);
            items.push(serde_json::json!({
                "configurationItemVersion": "1.3",
                "configurationItemCaptureTime": time,
                "configurationStateId": t,
                "awsAccountId": acct,
                "configurationItemStatus": "OK",
                "resourceType": "AWS::S3::Bucket",
                "resourceId": bucket,
                "resourceName": bucket,
                "ARN": format!("arn:aws:s3:::{bucket}"),
                "awsRegion": "eu-west-1",
                "availabilityZone": "Regional",
                "tags": {"team": "payments", "seq": seq.to_string()},
                "relatedEvents": [],
                "relationships": [],
                "configuration": {"name": bucket, "owner": {"id": "6f1b2c3d4e5f6071"}, "creationDate": "2026-11-01T00:00:00.000Z"},
                "supplementaryConfiguration": {
                    "BucketVersioningConfiguration": {"status": if seq.is_multiple_of(2) { "Off" } else { "Enabled" }, "isMfaDeleteEnabled": null},
                    "IsRequesterPaysEnabled": false
                }
            }));
            records.push(serde_json::json!({
                "eventVersion": "1.10",
                "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{acct}:user/u{}", seq % 50), "accountId": acct, "accessKeyId": format!("AKIA{:016}", seq % 50), "userName": format!("u{}", seq % 50)},
                "eventTime": time,
                "eventSource": "s3.amazonaws.com",
                "eventName": if seq.is_multiple_of(3) { "PutBucketVersioning" } else { "GetBucketAcl" },
                "awsRegion": "eu-west-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "[aws-cli/2.22.0]",
                "requestParameters": {"bucketName": bucket, "Host": "s3.eu-west-1.amazonaws.com"},
                "responseElements": null,
                "requestID": format!("{seq:016X}"),
                "eventID": format!("00000000-0000-4000-8000-{seq:012}"),
                "readOnly": !seq.is_multiple_of(3),
                "resources": [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}],
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": acct,
                "eventCategory": "Management"
            }));
        }
        let config = dir.join(format!("AWSLogs/{acct}/Config/eu-west-1/2026/12/1/ConfigHistory/{acct}_Config_eu-west-1_ConfigHistory_AWS::S3::Bucket_{chunk}.json.gz"));
        let trail = dir.join(format!("AWSLogs/{acct}/CloudTrail/eu-west-1/2026/12/01/{acct}_CloudTrail_eu-west-1_{chunk}.json.gz"));
        bytes += write_gz(
            &config,
            &serde_json::json!({"fileVersion": "1.0", "configurationItems": items}),
        );
        bytes += write_gz(&trail, &serde_json::json!({"Records": records}));
        files += 2;
    }
    (files, bytes)
}

fn write_gz(path: &Path, value: &serde_json::Value) -> u64 {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    serde_json::to_writer(&mut encoder, value).unwrap();
    let bytes = encoder.finish().unwrap();
    fs::File::create(path).unwrap().write_all(&bytes).unwrap();
    bytes.len() as u64
}

fn peak_rss_mb() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        total += if path.is_dir() {
            dir_size(&path)
        } else {
            fs::metadata(&path).unwrap().len()
        };
    }
    total
}

/// Ingests `dir/input` into `dir/store`; prints `seconds records/s peak_mb store_mb query_ms`.
fn child(dir: &Path) {
    let store_dir = dir.join("store");
    let store = Store::open(&store_dir).unwrap();
    let started = Instant::now();
    let mut ingest = Ingest::new(store.clone());
    for path in custos_history::ingest::walk(&dir.join("input")).unwrap() {
        let content = fs::read(&path).unwrap();
        ingest.add(&path.to_string_lossy(), &content).unwrap();
    }
    let report = ingest.finish().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let records: usize = report.added.values().sum();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let query_ms = runtime.block_on(async {
        let ctx = query::session(&store).await.unwrap();
        let resource = format!("bucket-{}-7", account(0));
        let started = Instant::now();
        let timeline = show::timeline(&ctx, &resource, None).await.unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert!(!timeline.events.is_empty());
        ms
    });
    println!(
        "{seconds:.1} {:.0} {:.0} {:.0} {query_ms:.0}",
        records as f64 / seconds,
        peak_rss_mb(),
        dir_size(&store_dir) as f64 / 1e6
    );
}
