use std::path::Path;

use super::*;

const HISTORY: &str = "fixtures/AWSLogs/111122223333/Config/eu-west-1/2026/12/1/ConfigHistory/111122223333_Config_eu-west-1_ConfigHistory_AWS::S3::Bucket_20261201T101520Z_20261201T161520Z_1.json";
const TRAIL: &str = "fixtures/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/01/111122223333_CloudTrail_eu-west-1_20261201T1030Z_Xy12AbCdEfGh3456.json";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn rows(path: &str) -> Rows {
    match decode(&fixture(path), &Origin::from_path(path)).unwrap() {
        Decoded::Rows(rows) => rows,
        Decoded::Other(what) => panic!("{path} not recognised: {what}"),
    }
}

#[test]
fn a_config_history_file_gives_one_row_per_item() {
    let rows = rows(HISTORY);
    assert_eq!(rows.len(), 2);
    let first = &rows.items[0];
    assert_eq!(first.resource_type, "AWS::S3::Bucket");
    assert_eq!(first.resource_id, "payments-logs");
    assert_eq!(first.arn.as_deref(), Some("arn:aws:s3:::payments-logs"));
    assert_eq!(first.account, "111122223333");
    assert_eq!(first.region, "eu-west-1");
    assert_eq!(first.status.as_deref(), Some("ResourceDiscovered"));
    assert_eq!(
        first.capture_time.to_rfc3339(),
        "2026-12-01T10:15:20.123+00:00"
    );
    // The numeric state id is part of the key: two states, two keys.
    assert!(first.key.ends_with("|1796120120123"));
    assert_ne!(first.key, rows.items[1].key);
    // The whole item is kept.
    let item: Value = serde_json::from_str(&first.item).unwrap();
    assert_eq!(
        item["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"],
        "Off"
    );
}

#[test]
fn a_cloudtrail_file_gives_one_row_per_record() {
    let rows = rows(TRAIL);
    assert_eq!(rows.trail.len(), 2);
    let put = &rows.trail[0];
    assert_eq!(put.event_name, "PutBucketEncryption");
    assert_eq!(put.event_source, "s3.amazonaws.com");
    assert_eq!(put.key, "7c9e0a51-2b3c-4d5e-8f90-1a2b3c4d5e6f");
    assert_eq!(put.access_key_id.as_deref(), Some("ASIAEXAMPLEKEY00001"));
    assert_eq!(put.resources, r#"["arn:aws:s3:::payments-logs"]"#);
    assert_eq!(
        rows.trail[1].user_arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/alice")
    );
    assert_eq!(rows.trail[1].error_code, None);
}

#[test]
fn evaluation_results_take_text_or_epoch_times() {
    let rows = rows("fixtures/evaluations/s3-bucket-encryption.json");
    assert_eq!(rows.evaluations.len(), 2);
    assert_eq!(rows.evaluations[0].compliance, "NON_COMPLIANT");
    assert_eq!(rows.evaluations[1].compliance, "COMPLIANT");
    assert_eq!(
        rows.evaluations[1].ordering_time.to_rfc3339(),
        "2026-12-01T10:31:02.456+00:00"
    );
    assert_eq!(rows.evaluations[0].account, "111122223333");
}

#[test]
fn remediation_records_are_read_one_per_line() {
    let one = fixture("fixtures/remediations/s3-bucket-encryption.json");
    let mut two = one.clone();
    two.extend(
        String::from_utf8(one)
            .unwrap()
            .replace("10:30:01Z", "11:00:00Z")
            .bytes(),
    );
    let Decoded::Rows(rows) = decode(&two, &Origin::default()).unwrap() else {
        panic!("not recognised");
    };
    assert_eq!(rows.remediations.len(), 2);
    assert_eq!(rows.remediations[0].trigger, "ssm");
    assert_ne!(rows.remediations[0].key, rows.remediations[1].key);
}

#[test]
fn a_truncated_file_is_an_error_with_its_position() {
    let error = decode(
        &fixture("fixtures/broken/truncated.json"),
        &Origin::default(),
    )
    .unwrap_err();
    assert_eq!(error.line, 3);
    assert!(error.column > 60, "{error}");
    assert!(error.message.contains("EOF"), "{error}");
}

#[test]
fn an_item_without_its_id_names_the_field_and_its_line() {
    let text = b"{\"configurationItems\": [\n {\"resourceType\": \"AWS::S3::Bucket\", \"configurationItemCaptureTime\": \"2026-12-01T10:15:20Z\"}]}";
    let error = decode(text, &Origin::default()).unwrap_err();
    assert_eq!((error.line, error.column), (2, 2));
    assert_eq!(error.message, "configuration item has no `resourceId`");
}

#[test]
fn the_path_gives_account_and_region_when_the_records_lack_them() {
    let origin = Origin::from_path(
        "s3://logs/AWSLogs/o-abc123/111122223333/CloudTrail/us-east-2/2026/12/01/x.json.gz",
    );
    assert_eq!(origin.account.as_deref(), Some("111122223333"));
    assert_eq!(origin.region.as_deref(), Some("us-east-2"));
    let text = br#"{"configurationItems": [{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1", "configurationItemCaptureTime": "2026-12-01T10:15:20Z"}]}"#;
    let Decoded::Rows(rows) = decode(text, &origin).unwrap() else {
        panic!()
    };
    assert_eq!(
        (
            rows.items[0].account.as_str(),
            rows.items[0].region.as_str()
        ),
        ("111122223333", "us-east-2")
    );
    let error = decode(text, &Origin::default()).unwrap_err();
    assert!(error.message.contains("awsAccountId"), "{error}");
}

#[test]
fn other_json_is_recognised_as_nothing_to_store() {
    let digest = br#"{"awsAccountId": "111122223333", "digestStartTime": "2026-12-01T10:00:00Z"}"#;
    assert!(matches!(
        decode(digest, &Origin::default()).unwrap(),
        Decoded::Other(_)
    ));
}
