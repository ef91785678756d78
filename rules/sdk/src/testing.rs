//! Fixture harness for rule crates (`features = ["testing"]` in dev-dependencies).
//!
//! A fixture is one case a reviewer can read on its own:
//! `{"name": "...", "expect": "NON_COMPLIANT", "params": {...}, "configurationItem": {...}}`.
//! It is wrapped in the Config Lambda event AWS sends and run through the same decoding and
//! decision path as production (`decide::settings` + `decide::change`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aws::Edge;
use crate::compliance::Compliance;
use crate::decide;
use crate::evaluation::Evaluation;
use crate::event::{Invocation, Trigger};
use crate::item::ResourceKey;
use crate::meta::RuleMeta;
use crate::params;
use crate::rule::{PeriodicRule, Rule};

/// What a fixture expects: a compliance value, or `error` (the invocation fails).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Expect {
    Compliant,
    NonCompliant,
    NotApplicable,
    #[serde(rename = "error")]
    Error,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    pub expect: Expect,
    /// Text the annotation (or the error) must contain.
    #[serde(default)]
    pub annotation_contains: Option<String>,
    /// `ruleParameters` as Config would pass them (strings).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    #[serde(default)]
    pub event_left_scope: bool,
    /// The event's notion of "now" (exemption expiry); defaults to a fixed date.
    #[serde(default = "default_notification_time")]
    pub notification_creation_time: String,
    pub configuration_item: Value,
}

fn default_notification_time() -> String {
    "2026-06-01T12:00:00.000Z".to_owned()
}

/// The result of running a fixture, for snapshots.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Fixture {
    /// The Config Lambda event this fixture stands for.
    pub fn event(&self, rule_name: &str) -> Value {
        let invoking = json!({
            "configurationItem": self.configuration_item,
            "notificationCreationTime": self.notification_creation_time,
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3",
        });
        json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": Value::Object(self.params.clone().into_iter().collect()).to_string(),
            "resultToken": "TESTMODE",
            "eventLeftScope": self.event_left_scope,
            "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
            "configRuleArn": format!("arn:aws:config:us-east-1:123456789012:config-rule/{rule_name}"),
            "configRuleName": rule_name,
            "accountId": "123456789012",
            "version": "1.0",
        })
    }
}

/// Runs one fixture through the production decision path.
pub fn run<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    fixture: &Fixture,
) -> Result<Evaluation, crate::RuleError> {
    let invocation = Invocation::from_json(fixture.event(&meta.name))?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    let Trigger::Change(item) = invocation.trigger else {
        unreachable!("fixtures are change notifications")
    };
    decide::change(
        rule,
        meta,
        &settings,
        *item,
        invocation.event_left_scope,
        invocation.notification_time,
    )
}

/// Loads the fixture at `path`, runs it, asserts its expectation, and returns the outcome.
pub fn check_file<R: Rule>(rule: &R, meta: &RuleMeta, path: &Path) -> Outcome {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fixture: Fixture = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()));
    let result = run(rule, meta, &fixture);
    let (got, text) = match &result {
        Ok(e) => (
            match e.compliance_type {
                Compliance::Compliant => Expect::Compliant,
                Compliance::NonCompliant => Expect::NonCompliant,
                Compliance::NotApplicable => Expect::NotApplicable,
            },
            e.annotation
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        ),
        Err(err) => (Expect::Error, err.to_string()),
    };
    assert_eq!(
        got,
        fixture.expect,
        "fixture {:?} ({}): {text}",
        fixture.name,
        path.display()
    );
    if let Some(want) = &fixture.annotation_contains {
        assert!(
            text.contains(want.as_str()),
            "fixture {:?}: {text:?} does not contain {want:?}",
            fixture.name
        );
    }
    match result {
        Ok(evaluation) => Outcome {
            name: fixture.name,
            evaluation: Some(evaluation),
            error: None,
        },
        Err(err) => Outcome {
            name: fixture.name,
            evaluation: None,
            error: Some(format!("{}: {err}", err.kind())),
        },
    }
}

/// Checks that `rule.toml` and `P` agree: every declared parameter, given its example (or
/// default), decodes into `P`, and `P` needs nothing `rule.toml` does not declare.
pub fn check_params_agree<P: DeserializeOwned>(meta: &RuleMeta) {
    let mut given = BTreeMap::new();
    for (name, spec) in &meta.parameters {
        let value = spec
            .example
            .as_ref()
            .or(spec.default.as_ref())
            .unwrap_or_else(|| {
                panic!("rule.toml: parameter `{name}` needs an `example` or a `default`")
            });
        given.insert(name.clone(), Value::String(value.clone()));
    }
    if let Err(e) = params::decode::<P>(meta, &given) {
        panic!("rule.toml and Params disagree: {e}");
    }
}

/// Runs `rule` on an oversized notification for `item`, the way production does: the event
/// carries only the item's summary, and the handler fetches the item with
/// `GetResourceConfigHistory(limit=1)`, here answered by a mock with `item` (AWS's API shape:
/// configuration and supplementary values as JSON strings). Nothing is put.
pub async fn run_oversized<R: Rule>(
    rule: &R,
    meta: &RuleMeta,
    params: &BTreeMap<String, Value>,
    item: aws_sdk_config::types::ConfigurationItem,
) -> Result<Evaluation, crate::RuleError> {
    use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    let resource_id = item.resource_id().unwrap_or_default().to_owned();
    let summary = json!({
        "changeType": "UPDATE",
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2026-05-20T08:15:30.123Z",
        "configurationStateId": 1,
        "awsAccountId": item.account_id(),
        "configurationItemStatus": item.configuration_item_status().map(aws_sdk_config::types::ConfigurationItemStatus::as_str),
        "resourceType": item.resource_type().map(aws_sdk_config::types::ResourceType::as_str),
        "resourceId": resource_id,
        "ARN": item.arn(),
        "awsRegion": item.aws_region(),
    });
    let invoking = json!({
        "configurationItemSummary": summary,
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": default_notification_time(),
        "recordVersion": "1.0",
    });
    let event = json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": Value::Object(params.clone().into_iter().collect()).to_string(),
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "configRuleName": meta.name,
        "accountId": item.account_id(),
    });
    let wanted = resource_id.clone();
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .match_requests(move |req| {
            req.resource_id() == Some(wanted.as_str()) && req.limit() == Some(1)
        })
        .then_output(move || {
            GetResourceConfigHistoryOutput::builder()
                .configuration_items(item.clone())
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let edge = Edge::with_config_client(config, client);
    // Boxed: the handler's future is large.
    let mut evaluations = Box::pin(crate::entry::handle_change(
        rule,
        None,
        meta,
        event,
        &edge,
        crate::entry::Mode::DryRun,
        None,
    ))
    .await?;
    assert_eq!(
        history.num_calls(),
        1,
        "the oversized item is fetched once, with limit 1"
    );
    Ok(evaluations.remove(0))
}

/// A periodic rule's fixture: the parameters as Config passes them, the notification time, the
/// facts `gather` would have found, the resources reported on in an earlier run, and the
/// expected result of every resource (or the expected error).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(deserialize = "F: DeserializeOwned")
)]
pub struct PeriodicFixture<F> {
    pub name: String,
    /// `notificationCreationTime` of the scheduled event.
    pub now: String,
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Ids of resources (of the rule's first resource type) reported on in an earlier run.
    #[serde(default)]
    pub previously_evaluated: Vec<String>,
    /// What `gather` found; may be left out when the fixture expects an error.
    #[serde(default)]
    pub facts: Option<F>,
    /// Expected result by resource id; every evaluation must be listed.
    #[serde(default)]
    pub expect: BTreeMap<String, ExpectedResult>,
    /// Text the invocation's error must contain (instead of `expect`).
    #[serde(default)]
    pub expect_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedResult {
    pub compliance: Compliance,
    #[serde(default)]
    pub annotation_contains: Option<String>,
}

/// The result of running a periodic fixture, for snapshots.
#[derive(Debug, Serialize)]
pub struct PeriodicOutcome {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<Vec<Evaluation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs a periodic fixture through the production path: the scheduled event decoded, the
/// parameters checked, `evaluate`, then `decide::periodic` (exemptions, vanished resources).
pub fn run_periodic<R: PeriodicRule>(
    rule: &R,
    meta: &RuleMeta,
    fixture: &PeriodicFixture<R::Facts>,
) -> Result<Vec<Evaluation>, crate::RuleError> {
    let invoking = json!({
        "awsAccountId": "123456789012",
        "notificationCreationTime": fixture.now,
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    let event = json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": Value::Object(fixture.params.clone().into_iter().collect()).to_string(),
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "configRuleName": meta.name,
        "accountId": "123456789012",
        "version": "1.0",
    });
    let invocation = Invocation::from_json(event)?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    let now = invocation
        .notification_time
        .ok_or(crate::RuleError::MissingTime)?;
    let facts = fixture.facts.as_ref().unwrap_or_else(|| {
        panic!(
            "fixture {:?} has no facts and expects no error",
            fixture.name
        )
    });
    let findings = rule.evaluate(facts, &settings.params, now);
    let resource_type = meta.resource_types.first().map_or("", String::as_str);
    let previous: BTreeSet<ResourceKey> = fixture
        .previously_evaluated
        .iter()
        .map(|id| ResourceKey::new(resource_type, id))
        .collect();
    Ok(decide::periodic(
        &meta.name,
        findings,
        &previous,
        &settings.registry,
        now,
    ))
}

/// Loads the periodic fixture at `path`, runs it, asserts its expectations, and returns the
/// outcome.
pub fn check_periodic_file<R>(rule: &R, meta: &RuleMeta, path: &Path) -> PeriodicOutcome
where
    R: PeriodicRule,
    R::Facts: DeserializeOwned,
{
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fixture: PeriodicFixture<R::Facts> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()));
    let name = fixture.name.clone();
    match (run_periodic(rule, meta, &fixture), &fixture.expect_error) {
        (Err(err), Some(want)) => {
            assert!(err.to_string().contains(want.as_str()), "{name}: {err}");
            PeriodicOutcome {
                name,
                evaluations: None,
                error: Some(format!("{}: {err}", err.kind())),
            }
        }
        (Err(err), None) => panic!("{name}: unexpected error {err}"),
        (Ok(evaluations), Some(want)) => {
            panic!("{name}: expected an error containing {want:?}, got {evaluations:?}")
        }
        (Ok(evaluations), None) => {
            let got: Vec<&str> = evaluations
                .iter()
                .map(|e| e.compliance_resource_id.as_str())
                .collect();
            let expected: Vec<&str> = fixture.expect.keys().map(String::as_str).collect();
            assert_eq!(got, expected, "{name}: evaluated resources");
            for e in &evaluations {
                let want = &fixture.expect[&e.compliance_resource_id];
                let annotation = e.annotation.as_ref().map_or("", |a| a.as_str());
                assert_eq!(
                    e.compliance_type, want.compliance,
                    "{name}: {} ({annotation})",
                    e.compliance_resource_id
                );
                if let Some(text) = &want.annotation_contains {
                    assert!(
                        annotation.contains(text.as_str()),
                        "{name}: {}: {annotation:?} does not contain {text:?}",
                        e.compliance_resource_id
                    );
                }
            }
            PeriodicOutcome {
                name,
                evaluations: Some(evaluations),
                error: None,
            }
        }
    }
}

/// A rule binary run the way a user runs it locally: `BINARY --event events/FILE --dry-run`,
/// with no AWS endpoint, credentials, instance metadata or Lambda runtime to reach.
pub mod cli {
    use std::path::PathBuf;
    use std::process::{Command, Output};

    use serde_json::Value;

    pub struct DryRun {
        binary: PathBuf,
        events: PathBuf,
    }

    impl DryRun {
        /// `binary` is `env!("CARGO_BIN_EXE_<name>")`; events are read from `<crate>/events/`.
        pub fn new(binary: &str, manifest_dir: &str) -> Self {
            Self {
                binary: binary.into(),
                events: PathBuf::from(manifest_dir).join("events"),
            }
        }

        pub fn output(&self, event: &str) -> Output {
            self.command()
                .arg("--event")
                .arg(self.events.join(event))
                .arg("--dry-run")
                .output()
                .expect("the rule binary runs")
        }

        /// The evaluations printed for `event`; the run must succeed.
        pub fn evaluations(&self, event: &str) -> Vec<Value> {
            let out = self.output(event);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{event}: exit {:?}, stderr: {stderr}",
                out.status.code()
            );
            serde_json::from_slice(&out.stdout).expect("stdout is a JSON array of evaluations")
        }

        /// The one evaluation printed for a change event.
        pub fn only(&self, event: &str) -> Value {
            let mut all = self.evaluations(event);
            assert_eq!(all.len(), 1, "{event}: one evaluation per change event");
            all.remove(0)
        }

        /// The error printed for `event`: exit 1, nothing on stdout, one `error: ` line, no panic.
        pub fn failure(&self, event: &str) -> String {
            let out = self.output(event);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "{event}: stderr: {stderr}");
            assert!(
                out.stdout.is_empty(),
                "{event}: nothing is printed as a result"
            );
            assert!(!stderr.contains("panicked"), "{event}: {stderr}");
            assert!(stderr.starts_with("error: "), "{event}: {stderr}");
            stderr
        }

        /// `events/FILE` as one line of a replay file.
        pub fn line(&self, event: &str) -> String {
            let text = std::fs::read_to_string(self.events.join(event)).expect("the event file");
            match serde_json::from_str::<Value>(&text) {
                Ok(json) => json.to_string(),
                // A broken event stays broken, on one line.
                Err(_) => text.replace('\n', " "),
            }
        }

        /// `BINARY replay --events FILE --dry-run` on a file holding `lines`.
        pub fn replay(&self, lines: &[String]) -> Output {
            // Tests of one binary run in parallel: each file of its own.
            static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let file = std::env::temp_dir()
                .join(format!("custos-replay-{}-{n}.jsonl", std::process::id()));
            std::fs::write(&file, lines.join("\n")).expect("the replay file is written");
            let out = self
                .command()
                .arg("replay")
                .arg("--events")
                .arg(&file)
                .arg("--dry-run")
                .output();
            let _ = std::fs::remove_file(&file);
            out.expect("the rule binary runs")
        }

        /// The binary, with nothing of AWS or Lambda to reach.
        fn command(&self) -> Command {
            let mut command = Command::new(&self.binary);
            command
                .env_remove("AWS_ENDPOINT_URL")
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env_remove("AWS_LAMBDA_RUNTIME_API")
                .env("AWS_EC2_METADATA_DISABLED", "true");
            command
        }
    }
}
