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
use serde_json::Value;

use crate::compliance::Compliance;
use crate::decide;
use crate::evaluation::Evaluation;
use crate::event::{Invocation, Trigger};
use crate::item::ResourceKey;
use crate::meta::RuleMeta;
use crate::params;
use crate::rule::{PeriodicRule, Rule};

pub mod cli;
pub mod event;
pub mod mocks;
mod oversized;
pub mod suite;

pub use event::Envelope;
pub use oversized::run_oversized;

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
        self.envelope(rule_name)
            .change(&self.configuration_item, &self.notification_creation_time)
    }

    /// The same case as an oversized notification: only the item's summary is sent.
    pub fn oversized_event(&self, rule_name: &str) -> Value {
        self.envelope(rule_name)
            .oversized(&self.configuration_item, &self.notification_creation_time)
    }

    fn envelope(&self, rule_name: &str) -> Envelope {
        Envelope {
            event_left_scope: self.event_left_scope,
            ..Envelope::new(rule_name).with_params(&self.params)
        }
    }

    /// Reads the fixture at `path`.
    pub fn load(path: &Path) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()))
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
    let fixture = Fixture::load(path);
    let result = run(rule, meta, &fixture);
    assert_expected(&fixture, path, &result);
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

/// Asserts that `result` is what `fixture` expects: its compliance (or an error), and the text
/// its annotation (or error) must contain.
pub fn assert_expected(
    fixture: &Fixture,
    path: &Path,
    result: &Result<Evaluation, crate::RuleError>,
) {
    let (got, text) = match result {
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

/// Asserts that `meta` declares a periodic rule, run at `frequency` on `resource_type` only and
/// never on a change.
pub fn assert_periodic(meta: &RuleMeta, frequency: crate::meta::Frequency, resource_type: &str) {
    assert_eq!(meta.trigger.periodic, Some(frequency), "{}", meta.name);
    assert!(!meta.trigger.change, "{} runs on changes too", meta.name);
    assert_eq!(meta.resource_types, [resource_type], "{}", meta.name);
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

impl<F> PeriodicFixture<F> {
    /// The scheduled event this fixture stands for.
    pub fn event(&self, rule_name: &str) -> Value {
        Envelope::new(rule_name)
            .with_params(&self.params)
            .scheduled(&self.now)
    }
}

impl<F: DeserializeOwned> PeriodicFixture<F> {
    /// Reads the periodic fixture at `path`.
    pub fn load(path: &Path) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a fixture: {e}", path.display()))
    }
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
    let event = fixture.event(&meta.name);
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
    let fixture = PeriodicFixture::<R::Facts>::load(path);
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
