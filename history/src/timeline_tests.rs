use chrono::TimeZone;
use serde_json::json;

use super::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap()
}

fn state(minute: u32, encrypted: bool) -> State {
    State {
        key: format!("k{minute}"),
        time: at(minute),
        item: json!({
            "configurationItemCaptureTime": at(minute).to_rfc3339(),
            "configurationStateId": minute,
            "configurationItemStatus": if minute == 0 { "ResourceDiscovered" } else { "OK" },
            "resourceType": "AWS::S3::Bucket",
            "supplementaryConfiguration": {"encrypted": encrypted},
        }),
    }
}

fn verdict(minute: u32, compliance: &str) -> Verdict {
    Verdict {
        key: format!("v{minute}"),
        time: at(minute),
        rule: "s3-bucket-encryption".into(),
        compliance: compliance.into(),
        annotation: None,
    }
}

#[test]
fn changes_verdicts_and_fixes_come_in_time_order_with_diffs() {
    let fix = Fix {
        key: "f".into(),
        time: at(30),
        rule: "s3-bucket-encryption".into(),
        action: "encrypted".into(),
        trigger: "ssm".into(),
        changes: Vec::new(),
    };
    // Copies (same key) and any input order.
    let states = vec![state(31, true), state(0, false), state(31, true)];
    let verdicts = vec![
        verdict(31, "COMPLIANT"),
        verdict(0, "NON_COMPLIANT"),
        verdict(0, "NON_COMPLIANT"),
    ];
    let timeline = build("b", states, verdicts, vec![fix], None);
    let kinds: Vec<String> = timeline
        .events
        .iter()
        .map(|e| match e {
            Event::Recorded { changes, .. } => format!("recorded {}", changes.len()),
            Event::Verdict(v) => v.compliance.clone(),
            Event::Remediation(_) => "fix".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "recorded 0",
            "NON_COMPLIANT",
            "fix",
            "recorded 2",
            "COMPLIANT"
        ]
    );
    let Event::Recorded { changes, .. } = &timeline.events[3] else {
        panic!()
    };
    // The capture time and state id changed too, but they say nothing of the resource.
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/configurationItemStatus",
            "/supplementaryConfiguration/encrypted"
        ]
    );
    assert_eq!(
        timeline.state.unwrap()["supplementaryConfiguration"]["encrypted"],
        true
    );
    assert_eq!(timeline.resource_type.as_deref(), Some("AWS::S3::Bucket"));
}

#[test]
fn at_a_time_the_state_is_the_latest_item_then_and_later_records_are_left_out() {
    let timeline = build(
        "b",
        vec![state(0, false), state(31, true)],
        vec![verdict(0, "NON_COMPLIANT"), verdict(31, "COMPLIANT")],
        Vec::new(),
        Some(at(20)),
    );
    assert_eq!(
        timeline.state.unwrap()["supplementaryConfiguration"]["encrypted"],
        false
    );
    assert_eq!(timeline.events.len(), 2);
    assert!(timeline.events.iter().all(|e| e.time() <= at(20)));
}

#[test]
fn a_resource_never_recorded_has_no_state() {
    let timeline = build("nothing", Vec::new(), Vec::new(), Vec::new(), None);
    assert_eq!(timeline.state, None);
    assert!(timeline.events.is_empty());
}
