use std::collections::BTreeSet;
use std::path::Path;

use chrono::TimeZone;

use super::gate::{Reading, judge};
use super::state::{RolloutState, key};
use super::waves::{REST, WaveError, held_after, resolve};
use crate::catalog::Catalog;
use crate::org::fixture::organization;
use crate::settings::{DEFAULT_GATE, Gate, Settings};

fn settings(rollout: &str) -> Settings {
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = format!(
        r#"
[organization]
regions = ["eu-west-1"]
target-ous = ["Workloads", "Sandbox"]

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}
{rollout}"#
    );
    Settings::parse(Path::new("deployer.toml"), &text, &catalog).unwrap()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(ToString::to_string).collect()
}

#[test]
fn waves_take_their_ous_and_accounts_and_the_rest_comes_last() {
    let s = settings(
        r#"
[[rollout.waves]]
name = "canary"
ous = ["Sandbox"]

[[rollout.waves]]
name = "prod"
ous = ["Workloads/Prod"]
accounts = ["222222222222"]
"#,
    );
    let waves = resolve(s.rollout.as_ref().unwrap(), &organization()).unwrap();
    let names: Vec<&str> = waves.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["canary", "prod", REST]);
    assert_eq!(waves[0].accounts, set(&["444444444444"]));
    assert_eq!(waves[1].accounts, set(&["222222222222", "333333333333"]));
    assert_eq!(waves[2].accounts, set(&["111111111111"]));
    assert_eq!(
        held_after(&waves, 0),
        set(&["111111111111", "222222222222", "333333333333"])
    );
    assert!(held_after(&waves, 2).is_empty());
}

#[test]
fn a_rest_wave_takes_what_no_earlier_wave_holds() {
    let s = settings(
        r#"
[[rollout.waves]]
name = "canary"
accounts = ["444444444444"]

[[rollout.waves]]
name = "everything-else"
rest = true
"#,
    );
    let waves = resolve(s.rollout.as_ref().unwrap(), &organization()).unwrap();
    assert_eq!(waves.len(), 2);
    assert_eq!(
        waves[1].accounts,
        set(&["111111111111", "222222222222", "333333333333"])
    );
}

#[test]
fn an_unknown_ou_or_an_account_in_two_waves_is_refused_with_its_place() {
    let s = settings(
        r#"
[[rollout.waves]]
name = "dev"
ous = ["Workloads/Dev"]

[[rollout.waves]]
name = "prod"
ous = ["Workloads/Prod"]

[[rollout.waves]]
name = "workloads"
ous = ["Workloads"]
"#,
    );
    let errors = resolve(s.rollout.as_ref().unwrap(), &organization()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(matches!(errors[0], WaveError::UnknownOu { .. }), "{text:?}");
    assert_eq!(
        text[0],
        "deployer.toml:11:8: wave `dev`: no OU `Workloads/Dev` in the organisation"
    );
    assert_eq!(
        text[1],
        "deployer.toml:19:8: account 333333333333 (prod) is in wave `prod` and in wave \
         `workloads`: an account belongs to one wave (list it once, or leave it to a `rest` wave)"
    );
    assert_eq!(errors.len(), 2, "{text:?}");
}

#[test]
fn rollout_settings_are_checked_where_they_are_written() {
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = r#"[organization]
regions = ["eu-west-1"]
target-ous = ["Workloads"]

[rules.s3-bucket-encryption.gate]
max-evaluation-errors = 2

[[rollout.waves]]
name = "all"
rest = true

[[rollout.waves]]
name = "two"
accounts = ["222222222222", "22222"]

[[rollout.waves]]
name = "two"
accounts = ["222222222222"]
"#;
    let error = Settings::parse(Path::new("deployer.toml"), text, &catalog)
        .unwrap_err()
        .to_string();
    for expected in [
        "deployer.toml:9:8: only the last wave can be `rest = true`",
        "deployer.toml:14:29: expected a 12-digit account id",
        "deployer.toml:17:8: a second wave named `two`",
        "deployer.toml:18:13: account already in wave `two`",
    ] {
        assert!(error.contains(expected), "{expected} not in:\n{error}");
    }
}

#[test]
fn a_rule_gate_overrides_the_default_gate() {
    let s = settings(
        r#"
[rules.s3-bucket-encryption.gate]
max-new-noncompliant-per-account = 0
allow-remediation-failures = true

[rollout.gate]
max-evaluation-errors = 3
wait-seconds = 60

[[rollout.waves]]
name = "canary"
ous = ["Sandbox"]
"#,
    );
    let rollout = s.rollout.unwrap();
    assert_eq!(rollout.wait_seconds, 60);
    let other = rollout.gate_of("vpc-creation-approved");
    assert_eq!(
        other,
        Gate {
            max_evaluation_errors: 3,
            ..DEFAULT_GATE
        }
    );
    assert_eq!(
        rollout.gate_of("s3-bucket-encryption"),
        Gate {
            max_new_noncompliant_per_account: 0,
            max_evaluation_errors: 3,
            allow_remediation_failures: true,
        }
    );
}

fn reading(account: &str, rule: &str, noncompliant: &[&str]) -> Reading {
    Reading {
        account: account.into(),
        region: "eu-west-1".into(),
        rule: rule.into(),
        evaluated: true,
        noncompliant: noncompliant.iter().map(ToString::to_string).collect(),
        ..Reading::default()
    }
}

#[test]
fn the_gate_trips_on_the_account_and_rule_over_a_threshold_and_names_the_resources() {
    let gate = Gate {
        max_new_noncompliant_per_account: 1,
        ..DEFAULT_GATE
    };
    let readings = [
        reading("222222222222", "s3-bucket-encryption", &["b1"]),
        reading("444444444444", "s3-bucket-encryption", &["b2", "b3"]),
        Reading {
            errors: vec!["InvalidParameterValueException: bad".into()],
            ..reading("444444444444", "vpc-creation-approved", &[])
        },
        Reading {
            remediation_failures: vec!["b9".into()],
            ..reading("222222222222", "vpc-creation-approved", &[])
        },
    ];
    let trips = judge(&readings, |_| gate, 60);
    let lines: Vec<String> = trips
        .iter()
        .map(|t| format!("{} {} {} {:?}", t.account, t.rule, t.reason, t.resources))
        .collect();
    assert_eq!(
        lines,
        [
            "222222222222 vpc-creation-approved 1 remediations failed [\"b9\"]",
            "444444444444 s3-bucket-encryption 2 new NON_COMPLIANT resources, more than 1 [\"b2\", \"b3\"]",
            "444444444444 vpc-creation-approved 1 evaluation errors, more than 0: \
             InvalidParameterValueException: bad []",
        ]
    );
    let lenient = Gate {
        max_new_noncompliant_per_account: 2,
        max_evaluation_errors: 1,
        allow_remediation_failures: true,
    };
    assert!(judge(&readings, |_| lenient, 60).is_empty());
}

#[test]
fn a_rule_not_evaluated_in_time_or_an_unreadable_account_never_passes() {
    let readings = [
        Reading {
            evaluated: false,
            ..reading("222222222222", "s3-bucket-encryption", &[])
        },
        Reading {
            evaluated: false,
            unreadable: Some("AccessDenied".into()),
            ..reading("333333333333", "s3-bucket-encryption", &[])
        },
    ];
    let trips = judge(&readings, |_| DEFAULT_GATE, 60);
    assert_eq!(trips.len(), 2);
    assert_eq!(trips[0].reason, "eu-west-1: no evaluation within 60 s");
    assert_eq!(trips[1].reason, "eu-west-1: cannot be read: AccessDenied");
}

#[test]
fn a_recorded_rollout_resumes_only_when_nothing_rolled_out_changed() {
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let k = key("settings", ["lambda/a/1.zip"], ["body"]);
    let mut state = RolloutState::resume(None, &k);
    let lab = set(&["444444444444"]);
    assert_eq!(state.start("canary", t0, &lab), (t0, lab.clone()));
    state.settle(
        "canary",
        true,
        Some("known findings".into()),
        vec!["x".into()],
    );
    let later = t0 + chrono::Duration::hours(1);
    assert_eq!(
        state.start("canary", later, &BTreeSet::new()),
        (t0, lab),
        "a started wave keeps its start and the accounts its gate reads"
    );
    let again = RolloutState::resume(Some(state.clone()), &k);
    assert!(again.passed("canary"));
    let changed = key("settings", ["lambda/a/2.zip"], ["body"]);
    assert_ne!(changed, k);
    assert!(!RolloutState::resume(Some(state), &changed).passed("canary"));
}
