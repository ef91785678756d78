use super::*;
use proptest::prelude::*;
use serde_json::json;

fn example(name: &str) -> String {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_developer_guide_change_event_decodes() {
    let inv = Invocation::from_text(&example("change-notification.json")).unwrap();
    let Trigger::Change(item) = &inv.trigger else {
        panic!("expected a change, got {:?}", inv.trigger)
    };
    assert_eq!(item.key.resource_type, "AWS::EC2::Instance");
    assert_eq!(item.key.resource_id, "i-00000000");
    assert_eq!(item.tags["Foo"], "Bar");
    assert_eq!(inv.result_token, "myResultToken");
    assert_eq!(inv.parameters["myParameterKey"], json!("myParameterValue"));
    assert_eq!(inv.account_id.as_deref(), Some("123456789012"));
    assert!(!inv.event_left_scope);
    assert_eq!(
        inv.notification_time, None,
        "the guide's change example has no notification time"
    );
}

#[test]
fn the_developer_guide_oversized_event_decodes_to_a_summary() {
    let inv = Invocation::from_text(&example("oversized-notification.json")).unwrap();
    let Trigger::Oversized(summary) = &inv.trigger else {
        panic!("expected oversized, got {:?}", inv.trigger)
    };
    assert_eq!(summary.key.resource_id, "i-00000000");
    assert_eq!(summary.region.as_deref(), Some("us-west-2"));
    assert!(summary.extra.contains_key("changeType"));
    assert_eq!(
        inv.notification_time.unwrap().to_rfc3339(),
        "2016-10-06T16:46:16.261+00:00"
    );
}

#[test]
fn the_developer_guide_scheduled_event_decodes() {
    let inv = Invocation::from_text(&example("scheduled-notification.json")).unwrap();
    assert_eq!(inv.trigger, Trigger::Scheduled);
    assert_eq!(
        inv.config_rule_name.as_deref(),
        Some("periodic-config-rule")
    );
    assert_eq!(
        inv.notification_time.unwrap().to_rfc3339(),
        "2016-07-13T21:50:00.373+00:00"
    );
}

#[test]
fn a_truncated_event_is_an_envelope_error() {
    let text = example("change-notification.json");
    let err = Invocation::from_text(&text[..text.len() / 2]).unwrap_err();
    assert!(matches!(err, EventError::Envelope(_)), "{err}");
}

#[test]
fn an_unknown_message_type_is_named() {
    let event = json!({
        "invokingEvent": "{\"messageType\":\"SomethingNew\"}",
        "resultToken": "t", "eventLeftScope": false
    });
    let err = Invocation::from_json(event).unwrap_err().to_string();
    assert!(err.contains("SomethingNew"), "{err}");
}

#[test]
fn missing_result_token_and_bad_parameters_are_named() {
    let no_token = json!({"invokingEvent": "{\"messageType\":\"ScheduledNotification\"}", "eventLeftScope": false});
    assert_eq!(
        Invocation::from_json(no_token).unwrap_err(),
        EventError::Missing("resultToken")
    );

    let bad_params = json!({
        "invokingEvent": "{\"messageType\":\"ScheduledNotification\"}",
        "ruleParameters": "{not json", "resultToken": "t", "eventLeftScope": false
    });
    assert!(matches!(
        Invocation::from_json(bad_params).unwrap_err(),
        EventError::RuleParameters(_)
    ));
}

#[test]
fn unknown_fields_are_not_fatal() {
    let event = json!({
        "invokingEvent": "{\"messageType\":\"ScheduledNotification\",\"notificationCreationTime\":\"2024-01-01T00:00:00Z\",\"brandNew\":1}",
        "resultToken": "t", "eventLeftScope": false, "evaluationMode": "DETECTIVE", "anotherNewField": {}
    });
    assert_eq!(
        Invocation::from_json(event).unwrap().trigger,
        Trigger::Scheduled
    );
}

/// Arbitrary JSON values, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("configurationItem".to_owned()),
                    Just("resourceType".to_owned()),
                    Just("resourceId".to_owned()),
                    Just("configurationItemCaptureTime".to_owned()),
                    Just("messageType".to_owned()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = Invocation::from_text(&text);
    }

    #[test]
    fn decoding_any_truncation_of_a_real_event_never_panics(cut in 0usize..4000) {
        let text = example("change-notification.json");
        let end = text.char_indices().map(|(i, _)| i).take_while(|i| *i <= cut).last().unwrap_or(0);
        let _ = Invocation::from_text(&text[..end]);
    }

    #[test]
    fn decoding_arbitrary_invoking_events_never_panics(inner in any_json(), params in any_json(), left in any::<bool>()) {
        let event = json!({
            "invokingEvent": inner.to_string(),
            "ruleParameters": params.to_string(),
            "resultToken": "t",
            "eventLeftScope": left,
        });
        let _ = Invocation::from_json(event);
    }

    #[test]
    fn decoding_change_notifications_with_arbitrary_items_never_panics(item in any_json()) {
        let inner = json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item});
        let event = json!({"invokingEvent": inner.to_string(), "resultToken": "t", "eventLeftScope": false});
        let _ = Invocation::from_json(event);
    }
}
