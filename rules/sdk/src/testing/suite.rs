//! The tests every rule has, written once: [`rule_tests!`](crate::rule_tests) generates them in a
//! rule crate's `tests/rule.rs` from its fixtures, and these functions do the work.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::cli::{self, DryRun, EventDir};
use super::{Fixture, PeriodicFixture, assert_expected, check_params_agree, run};
use crate::evaluation::Evaluation;
use crate::meta::RuleMeta;
use crate::rule::{PeriodicRule, Rule};

/// The tests of a rule crate, from its fixtures:
///
/// - `fixtures`: every `fixtures/*.json` through the production decision path, each result an
///   insta snapshot in `src/snapshots/`;
/// - `rule_toml_and_params_agree`: `rule.toml`'s parameters decode into the rule's `Params`;
/// - change rules: `an_oversized_notification_is_judged_as_the_full_one` (every fixture sent
///   as a summary, the item fetched from a mocked Config) and
///   `the_binary_prints_each_fixtures_verdict` (the built binary on each fixture's event,
///   `--event FILE --dry-run` and `replay`);
/// - periodic rules: `the_binary_refuses_what_it_cannot_run` (parameter errors, a change
///   notification) without any AWS call.
///
/// Both kinds also check `serve`'s answers to a truncated or missing event file and to wrong
/// arguments.
///
/// ```ignore
/// config_rule_sdk::rule_tests!(change: my_rule::MyRule, my_rule::RULE_TOML);
/// config_rule_sdk::rule_tests!(periodic: my_rule::MyRule::new(), my_rule::RULE_TOML);
/// ```
#[macro_export]
macro_rules! rule_tests {
    (change: $rule:expr, $rule_toml:expr $(,)?) => {
        $crate::rule_tests!(@common check_file, change_params_agree, $rule, $rule_toml);

        #[test]
        fn an_oversized_notification_is_judged_as_the_full_one() {
            $crate::testing::suite::oversized(&$rule, &meta(), &fixtures_dir());
        }

        #[test]
        fn the_binary_prints_each_fixtures_verdict() {
            $crate::testing::suite::change_cli(&$rule, &meta(), &binary(), &fixtures_dir());
        }
    };
    (periodic: $rule:expr, $rule_toml:expr $(,)?) => {
        $crate::rule_tests!(@common check_periodic_file, periodic_params_agree, $rule, $rule_toml);

        #[test]
        fn the_binary_refuses_what_it_cannot_run() {
            $crate::testing::suite::periodic_cli(&$rule, &meta(), &binary(), &fixtures_dir());
        }
    };
    (@common $check:ident, $agree:ident, $rule:expr, $rule_toml:expr) => {
        fn meta() -> $crate::RuleMeta {
            $crate::RuleMeta::from_toml($rule_toml).expect("rule.toml is valid")
        }

        fn fixtures_dir() -> ::std::path::PathBuf {
            ::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
        }

        fn binary() -> $crate::testing::cli::DryRun {
            $crate::testing::cli::DryRun::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
        }

        #[test]
        fn fixtures() {
            let meta = meta();
            // The snapshots stay beside the rule's sources, named as before.
            let mut settings = ::insta::Settings::clone_current();
            settings.set_snapshot_path("../src/snapshots");
            settings.set_prepend_module_to_snapshot(false);
            let name = $crate::testing::suite::snapshot_name(env!("CARGO_PKG_NAME"));
            settings.bind(|| {
                ::insta::glob!("../fixtures", "*.json", |path| {
                    ::insta::assert_yaml_snapshot!(
                        name.as_str(),
                        $crate::testing::$check(&$rule, &meta, path)
                    );
                });
            });
        }

        #[test]
        fn rule_toml_and_params_agree() {
            $crate::testing::suite::$agree(&$rule, &meta());
        }
    };
}

/// `<crate>__tests__fixtures`: the fixture snapshots' name before the `@FILE` insta adds.
pub fn snapshot_name(package: &str) -> String {
    format!("{}__tests__fixtures", package.replace('-', "_"))
}

pub fn change_params_agree<R: Rule>(_: &R, meta: &RuleMeta) {
    check_params_agree::<R::Params>(meta);
}

pub fn periodic_params_agree<R: PeriodicRule>(_: &R, meta: &RuleMeta) {
    check_params_agree::<R::Params>(meta);
}

/// The fixture files of `dir`, in name order.
pub fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no fixture", dir.display());
    files
}

/// Every fixture sent as an oversized notification gives the result of the full one; the item
/// is fetched at most once.
pub fn oversized<R: Rule>(rule: &R, meta: &RuleMeta, dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for path in fixture_files(dir) {
        let fixture = Fixture::load(&path);
        let full = run(rule, meta, &fixture);
        let (summarised, fetches) = runtime.block_on(super::run_oversized(rule, meta, &fixture));
        assert!(fetches <= 1, "{}: fetched {fetches} times", path.display());
        match (&full, &summarised) {
            (Ok(full), Ok(summarised)) => assert_eq!(full, summarised, "{}", path.display()),
            (Err(full), Err(summarised)) => {
                assert_eq!(
                    full.to_string(),
                    summarised.to_string(),
                    "{}",
                    path.display()
                );
            }
            _ => panic!(
                "{}: full {full:?}, oversized {summarised:?}",
                path.display()
            ),
        }
    }
}

/// The binary, on each fixture's event: `--event FILE --dry-run` prints the evaluation the
/// fixture expects (the one its snapshot holds), or fails with its error; `replay` of all of
/// them answers every line the same way.
pub fn change_cli<R: Rule>(rule: &R, meta: &RuleMeta, binary: &DryRun, dir: &Path) {
    let events = EventDir::new(&meta.name);
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for path in fixture_files(dir) {
        let fixture = Fixture::load(&path);
        let result = run(rule, meta, &fixture);
        assert_expected(&fixture, &path, &result);
        let event = fixture.event(&meta.name);
        let file = events.write(&file_name(&path), &event);
        let out = binary.output(&file);
        match &result {
            Ok(evaluation) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{}: {stderr}", path.display());
                let printed: Vec<Evaluation> = serde_json::from_slice(&out.stdout)
                    .expect("stdout is a JSON array of evaluations");
                assert_eq!(
                    printed,
                    std::slice::from_ref(evaluation),
                    "{}",
                    path.display()
                );
            }
            Err(err) => {
                let stderr = cli::failure(&out, &path.display().to_string());
                assert_eq!(stderr, format!("error: {err} ({})\n", err.kind()));
            }
        }
        lines.push(event.to_string());
        expected.push(result);
    }
    replay_answers_every_line(binary, &events, &lines, &expected);
    cli::assert_error_paths(binary, &events);
}

fn replay_answers_every_line(
    binary: &DryRun,
    events: &EventDir,
    lines: &[String],
    expected: &[Result<Evaluation, crate::RuleError>],
) {
    let file = events.write_text("replay.jsonl", &lines.join("\n"));
    let out = binary.replay(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed = expected.iter().filter(|r| r.is_err()).count();
    assert_eq!(out.status.code(), Some(i32::from(failed > 0)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a result line is JSON"))
        .collect();
    assert_eq!(results.len(), expected.len(), "one result line per event");
    for (n, (got, want)) in results.iter().zip(expected).enumerate() {
        assert_eq!(got["line"], n + 1);
        match want {
            Ok(evaluation) => assert_eq!(got["evaluations"], json!([evaluation])),
            Err(err) => assert_eq!(got["error"], err.to_string(), "line {}", n + 1),
        }
    }
    assert!(
        stderr.starts_with(&format!("replayed {} events: ", expected.len())),
        "{stderr}"
    );
}

/// A periodic rule reads AWS to gather facts, so its successful runs are tested with mocks and
/// the emulator; here, the binary on what it must refuse before any AWS call: each fixture that
/// expects an error, and a change notification.
pub fn periodic_cli<R>(rule: &R, meta: &RuleMeta, binary: &DryRun, dir: &Path)
where
    R: PeriodicRule,
    R::Facts: DeserializeOwned,
{
    let events = EventDir::new(&meta.name);
    let mut refused = 0;
    let mut valid_params = None;
    for path in fixture_files(dir) {
        let fixture = PeriodicFixture::<R::Facts>::load(&path);
        let Some(want) = &fixture.expect_error else {
            valid_params.get_or_insert(fixture.params);
            continue;
        };
        let err =
            super::run_periodic(rule, meta, &fixture).expect_err("the fixture expects an error");
        assert!(
            err.to_string().contains(want.as_str()),
            "{}: {err}",
            path.display()
        );
        let file = events.write(&file_name(&path), &fixture.event(&meta.name));
        let stderr = binary.failure(&file);
        assert_eq!(stderr, format!("error: {err} ({})\n", err.kind()));
        refused += 1;
    }
    assert!(
        refused > 0,
        "no fixture of {} expects an error",
        dir.display()
    );

    let resource_type = meta.resource_types.first().map_or("", String::as_str);
    let item = json!({
        "configurationItemCaptureTime": "2026-05-20T08:15:30.123Z",
        "configurationItemStatus": "OK",
        "awsAccountId": super::event::ACCOUNT,
        "awsRegion": "us-east-1",
        "resourceType": resource_type,
        "resourceId": "some-resource",
        "configuration": {},
    });
    // Valid parameters, so that only the trigger is wrong.
    let params = valid_params.expect("a fixture expects no error");
    let change = super::Envelope::new(&meta.name)
        .with_params(&params)
        .change(&item, "2026-05-20T08:16:00.000Z");
    let stderr = binary.failure(&events.write("change.json", &change));
    assert!(stderr.contains("this rule is periodic"), "{stderr}");
    assert!(stderr.contains("(UnexpectedTrigger)"), "{stderr}");

    cli::assert_error_paths(binary, &events);
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a fixture file")
        .to_string_lossy()
        .into_owned()
}
