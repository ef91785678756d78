use super::*;
use crate::compliance::Compliance;
use crate::item::Item;
use crate::testing::Envelope;
use serde::Deserialize;
use serde_json::{Value, json};

/// A toy rule: a bucket named with "public" is non-compliant.
struct NoPublicNames;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    word: String,
}

#[derive(Debug, Deserialize)]
struct Bucket {
    name: String,
}

impl Rule for NoPublicNames {
    type Params = Params;
    type Resource = Bucket;

    fn evaluate(&self, item: &Item<Bucket>, params: &Params) -> Verdict {
        if item.configuration.name.contains(&params.word) {
            Verdict::non_compliant(format!("name contains {}", params.word))
        } else {
            Verdict::compliant()
        }
    }
}

fn meta() -> RuleMeta {
    RuleMeta::from_toml(
        r#"
name = "no-public-names"
description = "x"
resource-types = ["AWS::S3::Bucket"]
[trigger]
change = true
[parameters.word]
type = "string"
description = "w"
default = "public"
"#,
    )
    .unwrap()
}

fn item(name: &str, status: &str, tags: &Value) -> ConfigurationItem {
    ConfigurationItem::from_json(json!({
        "resourceType": "AWS::S3::Bucket", "resourceId": name,
        "configurationItemCaptureTime": "2026-03-01T10:00:00.000Z",
        "configurationItemStatus": status, "configuration": {"name": name}, "tags": tags
    }))
    .unwrap()
}

fn settings_with(params: &Value) -> Settings<Params> {
    let event = Envelope {
        rule_parameters: params.to_string(),
        ..Envelope::new("no-public-names")
    }
    .scheduled("2026-03-01T10:00:00.000Z");
    settings(&meta(), &Invocation::from_json(event).unwrap()).unwrap()
}

fn later() -> Option<DateTime<Utc>> {
    "2026-03-05T00:00:00Z".parse().ok()
}

#[test]
fn the_rule_decides_and_the_capture_time_orders() {
    let e = change(
        &NoPublicNames,
        &meta(),
        &settings_with(&json!({})),
        item("my-public-data", "OK", &json!({})),
        false,
        later(),
    )
    .unwrap();
    assert_eq!(e.compliance_type, Compliance::NonCompliant);
    assert_eq!(e.annotation.unwrap().as_str(), "name contains public");
    assert_eq!(
        e.ordering_timestamp.to_rfc3339(),
        "2026-03-01T10:00:00+00:00"
    );
}

#[test]
fn deleted_and_left_scope_resources_are_not_applicable() {
    let s = settings_with(&json!({}));
    let deleted = change(
        &NoPublicNames,
        &meta(),
        &s,
        item("public", "ResourceDeleted", &json!({})),
        false,
        later(),
    )
    .unwrap();
    assert_eq!(deleted.compliance_type, Compliance::NotApplicable);
    let left = change(
        &NoPublicNames,
        &meta(),
        &s,
        item("public", "OK", &json!({})),
        true,
        later(),
    )
    .unwrap();
    assert_eq!(left.compliance_type, Compliance::NotApplicable);
    assert_eq!(
        left.annotation.unwrap().as_str(),
        "resource left the rule's scope"
    );
}

#[test]
fn a_resource_type_outside_the_scope_is_an_error() {
    let mut other = item("x", "OK", &json!({}));
    other.key.resource_type = "AWS::EC2::Instance".into();
    let err = change(
        &NoPublicNames,
        &meta(),
        &settings_with(&json!({})),
        other,
        false,
        later(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "UnsupportedResourceType");
    assert!(err.to_string().contains("AWS::EC2::Instance"));
}

#[test]
fn an_active_exemption_tag_gives_not_applicable_with_reason_and_expiry() {
    let tags = json!({"custos:exempt": "no-public-names; until=2026-05-31; reason=website bucket; owner=web-team"});
    let e = change(
        &NoPublicNames,
        &meta(),
        &settings_with(&json!({})),
        item("public-site", "OK", &tags),
        false,
        later(),
    )
    .unwrap();
    assert_eq!(e.compliance_type, Compliance::NotApplicable);
    let note = e.annotation.unwrap();
    assert!(
        note.as_str().contains("2026-05-31") && note.as_str().contains("website bucket"),
        "{note}"
    );
}

#[test]
fn an_expired_exemption_is_ignored_and_said() {
    let tags = json!({"custos:exempt": "all; until=2026-01-31; reason=migration"});
    let e = change(
        &NoPublicNames,
        &meta(),
        &settings_with(&json!({})),
        item("public-site", "OK", &tags),
        false,
        later(),
    )
    .unwrap();
    assert_eq!(e.compliance_type, Compliance::NonCompliant);
    assert!(
        e.annotation
            .unwrap()
            .as_str()
            .starts_with("exemption expired 2026-01-31")
    );
}

#[test]
fn the_registry_parameter_exempts_too() {
    let s = settings_with(
        &json!({"exemptions": "{\"public-site\": \"all; until=2026-05-01; reason=approved\"}"}),
    );
    let e = change(
        &NoPublicNames,
        &meta(),
        &s,
        item("public-site", "OK", &json!({})),
        false,
        later(),
    )
    .unwrap();
    assert_eq!(e.compliance_type, Compliance::NotApplicable);
}

#[test]
fn invalid_parameters_fail_naming_the_parameter() {
    let event = Envelope {
        rule_parameters: r#"{"wrod": "x"}"#.to_owned(),
        ..Envelope::new("no-public-names")
    }
    .scheduled("2026-03-01T10:00:00.000Z");
    let err = settings::<Params>(&meta(), &Invocation::from_json(event).unwrap()).unwrap_err();
    assert_eq!(err.kind(), "InvalidParameter");
    assert!(err.to_string().contains("`wrod`"), "{err}");
}

#[test]
fn a_configuration_the_rule_cannot_read_is_an_error_naming_the_field() {
    let bad = ConfigurationItem::from_json(json!({
        "resourceType": "AWS::S3::Bucket", "resourceId": "b",
        "configurationItemCaptureTime": "2026-03-01T10:00:00Z", "configuration": {"name": 3}
    }))
    .unwrap();
    let err = change(
        &NoPublicNames,
        &meta(),
        &settings_with(&json!({})),
        bad,
        false,
        later(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("configuration.name"), "{err}");
}

#[test]
fn periodic_results_mark_vanished_resources_not_applicable_and_apply_exemptions() {
    let now: DateTime<Utc> = "2026-03-05T00:00:00Z".parse().unwrap();
    let key = |id: &str| ResourceKey::new("AWS::EC2::Instance", id);
    let findings = vec![
        Finding::new(key("i-1"), Verdict::non_compliant("too expensive")),
        Finding::new(key("i-2"), Verdict::non_compliant("too expensive")).with_tags(
            [(
                "custos:exempt".to_owned(),
                "cost; until=2026-04-01; reason=load test".to_owned(),
            )]
            .into(),
        ),
    ];
    let previously = BTreeSet::from([key("i-1"), key("i-gone")]);
    let out = periodic("cost", findings, &previously, &Registry::default(), now);
    let summary: Vec<(&str, Compliance)> = out
        .iter()
        .map(|e| (e.compliance_resource_id.as_str(), e.compliance_type))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("i-1", Compliance::NonCompliant),
            ("i-2", Compliance::NotApplicable),
            ("i-gone", Compliance::NotApplicable)
        ]
    );
    assert!(
        out.iter().all(|e| e.ordering_timestamp == now),
        "periodic results are ordered by the notification time"
    );
}
