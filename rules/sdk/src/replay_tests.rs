use chrono::{TimeZone, Utc};
use serde_json::Value;

use super::*;
use crate::compliance::Verdict;
use crate::item::ResourceKey;

/// Stands in for a rule: `{"bucket":"b","encrypted":true}` is judged, anything else fails.
async fn judge(event: Value) -> Result<Vec<Evaluation>, RuleError> {
    let Some(bucket) = event["bucket"].as_str() else {
        return Err(RuleError::Gather("no bucket in the event".to_owned()));
    };
    let verdict = if event["encrypted"] == true {
        Verdict::compliant()
    } else {
        Verdict::non_compliant("bucket has no default encryption")
    };
    Ok(vec![Evaluation::new(
        ResourceKey::new("AWS::S3::Bucket", bucket),
        verdict,
        Utc.with_ymd_and_hms(2026, 5, 20, 8, 15, 30).unwrap(),
    )])
}

async fn run(events: &str) -> (Tally, Vec<Value>) {
    let mut out = Vec::new();
    let tally = replay(events.as_bytes(), judge, &mut out).await.unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each result line is JSON"))
        .collect();
    (tally, lines)
}

#[tokio::test]
async fn each_event_gets_one_result_line_and_the_summary_counts_verdicts() {
    let events = r#"{"bucket":"a","encrypted":true}
{"bucket":"b","encrypted":false}

{"bucket":"c","encrypted":true}
"#;
    let (tally, lines) = run(events).await;
    assert_eq!(lines.len(), 3);
    // Line numbers are the file's, blank lines included.
    let numbers: Vec<&Value> = lines.iter().map(|l| &l["line"]).collect();
    assert_eq!(numbers, [1, 2, 4]);
    assert_eq!(
        lines[1]["evaluations"][0]["ComplianceType"],
        "NON_COMPLIANT"
    );
    assert_eq!(lines[1]["evaluations"][0]["ComplianceResourceId"], "b");
    assert!(!tally.failed());
    assert_eq!(
        tally.to_string(),
        "replayed 3 events: 2 COMPLIANT, 1 NON_COMPLIANT"
    );
}

#[tokio::test]
async fn a_bad_line_is_reported_by_number_and_the_replay_goes_on() {
    let events = r#"{"bucket":"a","encrypted":true}
{"bucket":
{"object":"x"}
{"bucket":"d","encrypted":false}
"#;
    let (tally, lines) = run(events).await;
    assert_eq!(lines.len(), 4, "every line answered: {lines:#?}");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not JSON: EOF while parsing"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2]["error"],
        "gathering facts failed: no bucket in the event"
    );
    assert_eq!(lines[3]["evaluations"][0]["ComplianceResourceId"], "d");
    assert!(tally.failed());
    let errors: Vec<usize> = tally.errors.iter().map(|(line, _)| *line).collect();
    assert_eq!(errors, [2, 3]);
    let summary = tally.to_string();
    assert!(
        summary.starts_with(
            "replayed 4 events: 1 COMPLIANT, 1 NON_COMPLIANT; 2 failed (line 2: not JSON"
        ),
        "{summary}"
    );
    assert!(
        summary.ends_with("line 3: gathering facts failed: no bucket in the event)"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_empty_file_replays_nothing_and_fails_nothing() {
    let (tally, lines) = run("\n\n").await;
    assert!(lines.is_empty());
    assert!(!tally.failed());
    assert_eq!(tally.to_string(), "replayed 0 events");
}
