use std::fmt;
use std::sync::{Arc, Mutex};

use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde::Serialize;

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
    assert_eq!(record.record, "custos.remediation/v1");
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
