use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;
use crate::query;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn ingest_dir(store: &Store, dir: &Path) -> Report {
    let mut ingest = Ingest::with_batch(store.clone(), 3);
    for path in walk(dir).unwrap() {
        let content = fs::read(&path).unwrap();
        ingest.add(&path.to_string_lossy(), &content).unwrap();
    }
    ingest.finish().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn count(store: &Store, sql: &str) -> i64 {
    let ctx = query::session(store).await.unwrap();
    let batches = query::run(&ctx, sql).await.unwrap();
    let rows = query::json_rows(&batches).unwrap();
    rows[0]["n"].as_i64().unwrap()
}

#[tokio::test]
async fn a_folder_is_ingested_once_and_the_broken_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let report = ingest_dir(&store, &fixtures());
    assert_eq!(report.added.get("items"), Some(&2));
    assert_eq!(report.added.get("trail"), Some(&2));
    assert_eq!(report.added.get("evaluations"), Some(&2));
    assert_eq!(report.added.get("remediations"), Some(&1));
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].source.ends_with("broken/truncated.json"));
    assert!(
        report.failed[0].error.starts_with("line 3, column "),
        "{:?}",
        report.failed
    );

    // Partitioned by account, region and date.
    assert!(
        dir.path()
            .join("kind=items/account=111122223333/region=eu-west-1/date=2026-12-01")
            .is_dir()
    );
    assert_eq!(count(&store, "SELECT count(*) AS n FROM items").await, 2);
    assert_eq!(
        count(&store, "SELECT count(*) AS n FROM trail WHERE event_name = 'PutBucketEncryption' AND account = '111122223333'").await,
        1
    );

    // The same files again: nothing added, nothing lost; the broken one still reported.
    let again = ingest_dir(&store, &fixtures());
    assert!(again.added.is_empty(), "{again:?}");
    assert_eq!(again.duplicates, 4);
    assert_eq!(again.failed.len(), 1);
    assert_eq!(
        count(&store, "SELECT count(*) AS n FROM items_all").await,
        2
    );
}

#[tokio::test]
async fn the_same_records_in_another_file_are_stored_but_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let history = walk(&fixtures().join("AWSLogs/111122223333/Config"))
        .unwrap()
        .remove(0);
    let plain = fs::read(&history).unwrap();
    let mut ingest = Ingest::new(store.clone());
    let name = history.to_string_lossy().into_owned();
    assert_eq!(ingest.add(&name, &plain).unwrap(), Outcome::Added(2));
    // Compressed, it is the same content: a duplicate.
    assert_eq!(
        ingest.add(&format!("{name}.gz"), &gzip(&plain)).unwrap(),
        Outcome::Duplicate
    );
    // Re-indented, it is another file with the same items.
    let value: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    let compact = serde_json::to_vec(&value).unwrap();
    assert_eq!(ingest.add(&name, &compact).unwrap(), Outcome::Added(2));
    ingest.finish().unwrap();
    assert_eq!(
        count(&store, "SELECT count(*) AS n FROM items_all").await,
        4
    );
    assert_eq!(count(&store, "SELECT count(*) AS n FROM items").await, 2);
}

#[tokio::test]
async fn a_truncated_gzip_file_says_how_far_it_got_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let trail = walk(&fixtures().join("AWSLogs/111122223333/CloudTrail"))
        .unwrap()
        .remove(0);
    let gz = gzip(&fs::read(&trail).unwrap());
    let mut ingest = Ingest::new(store.clone());
    let outcome = ingest.add("cut.json.gz", &gz[..gz.len() / 2]).unwrap();
    let Outcome::Failed(why) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(why.contains("decompressed bytes"), "{why}");
    assert_eq!(ingest.add("whole.json.gz", &gz).unwrap(), Outcome::Added(2));
    let report = ingest.finish().unwrap();
    assert_eq!(report.failed[0].source, "cut.json.gz");
    assert_eq!(count(&store, "SELECT count(*) AS n FROM trail").await, 2);
}

#[tokio::test]
async fn a_bucket_timeline_shows_its_change_verdicts_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    ingest_dir(&store, &fixtures());
    let ctx = query::session(&store).await.unwrap();
    let timeline = crate::show::timeline(&ctx, "arn:aws:s3:::payments-logs", None)
        .await
        .unwrap();
    assert_eq!(timeline.resource_id, "payments-logs");
    let json = serde_json::to_value(&timeline.events).unwrap();
    let kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["recorded", "verdict", "remediation", "recorded", "verdict"]
    );
    assert_eq!(
        json[3]["changes"][1]["path"],
        "/supplementaryConfiguration/ServerSideEncryptionConfiguration"
    );
    assert_eq!(
        json[2]["changes"][0]["path"],
        "/supplementaryConfiguration/ServerSideEncryptionConfiguration"
    );

    let before = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:20:00Z")
        .unwrap()
        .to_utc();
    let then = crate::show::timeline(&ctx, "payments-logs", Some(before))
        .await
        .unwrap();
    let state = then.state.unwrap();
    assert!(
        state["supplementaryConfiguration"]
            .get("ServerSideEncryptionConfiguration")
            .is_none()
    );
    assert_eq!(then.events.len(), 2);
}
