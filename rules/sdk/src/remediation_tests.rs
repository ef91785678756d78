use std::fmt;
use std::sync::{Arc, Mutex};

use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde::Serialize;
use serde_json::json;

use super::*;

/// A bucket whose only state is whether it is encrypted, kept in memory.
#[derive(Debug, Clone, Serialize)]
struct BucketState {
    encrypted: bool,
    tags: BTreeMap<String, String>,
}

type Store = Arc<Mutex<BTreeMap<String, BucketState>>>;

#[derive(Clone, Default)]
struct FakeBuckets {
    state: Store,
    applies: Arc<Mutex<usize>>,
}

struct Encrypt;

impl Display for Encrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("enabled default encryption AES256")
    }
}

impl Remediation for FakeBuckets {
    type Params = ();
    type State = BucketState;
    type Action = Encrypt;

    fn resource_type(&self) -> &'static str {
        "AWS::S3::Bucket"
    }

    fn tags(state: &BucketState) -> BTreeMap<String, String> {
        state.tags.clone()
    }

    fn plan(&self, state: &BucketState, (): &()) -> Option<Encrypt> {
        (!state.encrypted).then_some(Encrypt)
    }

    async fn read(&self, _: &AwsScope, id: &str) -> Result<BucketState, RuleError> {
        Ok(self.state.lock().unwrap()[id].clone())
    }

    async fn apply(&self, _: &AwsScope, id: &str, _: &Encrypt) -> Result<(), RuleError> {
        *self.applies.lock().unwrap() += 1;
        self.state.lock().unwrap().get_mut(id).unwrap().encrypted = true;
        Ok(())
    }
}

/// Bucket id, encrypted, tags.
type Seed<'a> = (&'a str, bool, &'a [(&'a str, &'a str)]);

fn buckets(entries: &[Seed<'_>]) -> FakeBuckets {
    let fake = FakeBuckets::default();
    for (id, encrypted, tags) in entries {
        let tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        fake.state.lock().unwrap().insert(
            (*id).to_owned(),
            BucketState {
                encrypted: *encrypted,
                tags,
            },
        );
    }
    fake
}

fn scope() -> AwsScope {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    AwsScope::new(config, Some("111122223333".into()))
}

fn context(registry: &Registry) -> Context<'_> {
    Context {
        rule: "s3-bucket-encryption",
        account: "111122223333",
        region: "eu-west-1",
        registry,
        trigger: RemediationTrigger::Lambda,
        now: "2026-06-01T09:00:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn a_non_compliant_resource_is_fixed_once_and_recorded_with_before_and_after() {
    let fake = buckets(&[("b1", false, &[])]);
    let registry = Registry::default();

    let outcome = remediate(&fake, &scope(), "b1", &(), &context(&registry), None)
        .await
        .unwrap();

    let Outcome::Remediated(record) = outcome else {
        panic!("expected a remediation, got {outcome:?}")
    };
    assert_eq!(record.before["encrypted"], false);
    assert_eq!(record.after["encrypted"], true);
    assert_eq!(record.action, "enabled default encryption AES256");
    assert_eq!(record.record, "custos.remediation/v2");
    assert_eq!(
        (record.account.as_str(), record.region.as_str()),
        ("111122223333", "eu-west-1")
    );

    // Config may run the same remediation again from a stale snapshot: nothing happens.
    let again = remediate(&fake, &scope(), "b1", &(), &context(&registry), None)
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyCompliant);
    assert_eq!(*fake.applies.lock().unwrap(), 1);
}

#[tokio::test]
async fn an_exempt_resource_is_left_alone() {
    let fake = buckets(&[(
        "b2",
        false,
        &[(
            "custos:exempt",
            "s3-bucket-encryption; until=2026-08-15; reason=vendor bucket",
        )],
    )]);
    let registry = Registry::default();

    let outcome = remediate(&fake, &scope(), "b2", &(), &context(&registry), None)
        .await
        .unwrap();

    assert!(
        matches!(&outcome, Outcome::Exempt(note) if note.contains("vendor bucket")),
        "{outcome:?}"
    );
    assert_eq!(*fake.applies.lock().unwrap(), 0);
}

#[tokio::test]
async fn an_expired_exemption_does_not_stop_the_fix() {
    let fake = buckets(&[(
        "b3",
        false,
        &[("custos:exempt", "all; until=2026-01-01; reason=old")],
    )]);
    let registry = Registry::default();
    let outcome = remediate(&fake, &scope(), "b3", &(), &context(&registry), None)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Remediated(_)));
}

/// Topic, subject and message of one SNS publish.
type Published = (String, String, String);

#[tokio::test]
async fn the_record_is_published_to_the_notification_topic() {
    let published: Arc<Mutex<Vec<Published>>> = Arc::default();
    let seen = published.clone();
    let rule = mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.topic_arn().unwrap_or_default().to_owned(),
            req.subject().unwrap_or_default().to_owned(),
            req.message().unwrap_or_default().to_owned(),
        ));
        PublishOutput::builder().message_id("m-1").build()
    });
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
    let notifier = Notifier::new(
        sns,
        "arn:aws:sns:eu-west-1:111122223333:custos-notifications",
    );
    let fake = buckets(&[("b4", false, &[])]);
    let registry = Registry::default();

    remediate(
        &fake,
        &scope(),
        "b4",
        &(),
        &context(&registry),
        Some(&notifier),
    )
    .await
    .unwrap();

    let published = published.lock().unwrap();
    assert_eq!(published.len(), 1, "one record, one notification");
    let (topic, subject, message) = &published[0];
    assert_eq!(
        topic,
        "arn:aws:sns:eu-west-1:111122223333:custos-notifications"
    );
    assert_eq!(
        subject,
        "Custos remediated AWS::S3::Bucket b4 (s3-bucket-encryption)"
    );
    assert!(message.contains("update that code"), "{message}");
    let json_start = message.find('{').unwrap();
    let record: RemediationRecord = serde_json::from_str(&message[json_start..]).unwrap();
    assert_eq!(record.resource(), ResourceKey::new("AWS::S3::Bucket", "b4"));
}

#[tokio::test]
async fn a_record_carries_identifiers_and_the_changed_fields_only() {
    let fake = buckets(&[("b5", false, &[("team", "data"), ("cost-centre", "42")])]);
    let registry = Registry::default();

    let Outcome::Remediated(record) =
        remediate(&fake, &scope(), "b5", &(), &context(&registry), None)
            .await
            .unwrap()
    else {
        panic!("expected a remediation")
    };

    assert_eq!(record.changed, ["encrypted"]);
    assert_eq!(
        record.before,
        json!({"encrypted": false}),
        "no tags: they did not change"
    );
    assert_eq!(record.after, json!({"encrypted": true}));
    let mut fields: Vec<String> = serde_json::to_value(&*record)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "account",
            "action",
            "after",
            "before",
            "changed",
            "record",
            "region",
            "resourceId",
            "resourceType",
            "rule",
            "time",
            "trigger"
        ]
    );
}

#[test]
fn changes_are_found_as_deep_as_asked_and_kept_whole_below() {
    let before = json!({
        "configuration": {"name": "logs", "policy": "{...}", "acl": {"grants": [1]}},
        "supplementaryConfiguration": {"Tags": {"a": "1"}}
    });
    let after = json!({
        "configuration": {"name": "logs", "policy": "{...}", "acl": {"grants": [1, 2]}},
        "supplementaryConfiguration": {
            "Tags": {"a": "1"},
            "ServerSideEncryptionConfiguration": {"rules": []}
        }
    });

    let changes = Changes::between(&before, &after, 2);

    assert_eq!(
        changes.changed,
        [
            "configuration.acl",
            "supplementaryConfiguration.ServerSideEncryptionConfiguration"
        ]
    );
    assert_eq!(
        changes.before,
        json!({
            "configuration": {"acl": {"grants": [1]}},
            "supplementaryConfiguration": {"ServerSideEncryptionConfiguration": null}
        })
    );
    assert_eq!(
        changes.after,
        json!({
            "configuration": {"acl": {"grants": [1, 2]}},
            "supplementaryConfiguration": {"ServerSideEncryptionConfiguration": {"rules": []}}
        })
    );

    let top = Changes::between(&before, &after, 1);
    assert_eq!(top.changed, ["configuration", "supplementaryConfiguration"]);
    let none = Changes::between(&before, &before, 2);
    assert!(none.changed.is_empty());
    assert_eq!((none.before, none.after), (json!({}), json!({})));
}

/// A record whose changed field holds `size` bytes.
fn record_with(size: usize) -> RemediationRecord {
    RemediationRecord {
        record: RemediationRecord::SCHEMA.to_owned(),
        rule: "s3-bucket-encryption".into(),
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: "b6".into(),
        action: "enabled default encryption AES256".into(),
        changed: vec!["policy".into()],
        before: json!({"policy": null}),
        after: json!({"policy": "p".repeat(size)}),
        time: "2026-06-01T09:00:00Z".parse().unwrap(),
        trigger: RemediationTrigger::Inline,
        cut: None,
    }
}

#[test]
fn a_record_that_fits_is_published_whole() {
    let record = record_with(1000);
    assert_eq!(
        record.message_within(SNS_MESSAGE_LIMIT, None),
        record.message()
    );
}

#[test]
fn a_record_larger_than_sns_allows_is_cut_with_a_note_saying_where_the_full_one_is() {
    let record = record_with(300 * 1024);
    let log = LogLocation {
        group: "/aws/lambda/s3-bucket-encryption".into(),
        stream: "2026/06/01/[$LATEST]0123abcd".into(),
    };

    let message = record.message_within(SNS_MESSAGE_LIMIT, Some(&log));

    assert!(record.message().len() > SNS_MESSAGE_LIMIT);
    assert!(message.len() <= SNS_MESSAGE_LIMIT, "{}", message.len());
    let published: RemediationRecord =
        serde_json::from_str(&message[message.find('{').unwrap()..]).unwrap();
    let note = published.cut.as_deref().expect("a cut record says so");
    assert!(
        note.contains("CloudWatch Logs group /aws/lambda/s3-bucket-encryption stream 2026/06/01/[$LATEST]0123abcd"),
        "{note}"
    );
    assert!(message.contains(note), "the note is in the text as well");
    assert_eq!(
        (published.before, published.after),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        published.changed,
        ["policy"],
        "the changed fields are still named"
    );
    assert_eq!(
        (
            published.resource_id.as_str(),
            published.time,
            published.trigger
        ),
        ("b6", record.time, RemediationTrigger::Inline)
    );
}

#[tokio::test]
async fn an_oversized_record_is_published_cut_and_logged_whole() {
    let published: Arc<Mutex<Vec<Published>>> = Arc::default();
    let seen = published.clone();
    let rule = mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.topic_arn().unwrap_or_default().to_owned(),
            req.subject().unwrap_or_default().to_owned(),
            req.message().unwrap_or_default().to_owned(),
        ));
        PublishOutput::builder().message_id("m-1").build()
    });
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
    let notifier = Notifier::new(
        sns,
        "arn:aws:sns:eu-west-1:111122223333:custos-notifications",
    );

    emit(&record_with(400 * 1024), Some(&notifier))
        .await
        .unwrap();

    let published = published.lock().unwrap();
    let message = &published[0].2;
    assert!(message.len() <= SNS_MESSAGE_LIMIT, "{}", message.len());
    assert!(
        message.contains("The full record, with the values before and after, is in"),
        "{message}"
    );
}

#[tokio::test]
async fn a_preview_says_what_would_be_done_and_changes_nothing() {
    let fake = buckets(&[("b7", false, &[]), ("b8", true, &[])]);
    let registry = Registry::default();

    let would = preview(&fake, &scope(), "b7", &(), &context(&registry))
        .await
        .unwrap();
    let nothing = preview(&fake, &scope(), "b8", &(), &context(&registry))
        .await
        .unwrap();

    assert_eq!(
        would,
        Preview::Would("enabled default encryption AES256".into())
    );
    assert_eq!(nothing, Preview::AlreadyCompliant);
    assert_eq!(*fake.applies.lock().unwrap(), 0, "nothing applied");
    assert!(!fake.state.lock().unwrap()["b7"].encrypted);
}
