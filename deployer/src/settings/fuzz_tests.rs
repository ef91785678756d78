//! Fuzzing `deployer.toml` parsing: proptest at scale (cargo-fuzz needs a nightly toolchain),
//! on the example settings with lines deleted, repeated, swapped or replaced by random
//! settings lines, and with bytes edited. Parsing must never panic, and every problem must
//! carry a location inside the file (`deployer.toml:line:column`).
//!
//! `PROPTEST_CASES` sets the cases per round (default 256, the short run of `make test`);
//! `CUSTOS_FUZZ_SECONDS` repeats rounds, with fresh random seeds, until that many seconds
//! have passed (`make fuzz`).

use std::path::Path;

use config_rule_sdk::fuzzing::{edit_bytes, fuzz};
use proptest::prelude::*;

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Keys and values `deployer.toml` uses, mixed with random ones.
fn settings_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("role-name"),
        Just("regions"),
        Just("target-ous"),
        Just("accounts"),
        Just("exclude-accounts"),
        Just("include-management-account"),
        Just("max-concurrent-percentage"),
        Just("failure-tolerance-percentage"),
        Just("region-concurrency"),
        Just("retain-stacks-on-account-removal"),
        Just("distribution"),
        Just("bucket-prefix"),
        Just("enabled"),
        Just("emails"),
        Just("parameters"),
        Just("remediation"),
        Just("ou"),
        Just("rule"),
        Just("resource-id"),
        Just("until"),
        Just("rules"),
    ]
    .prop_map(str::to_owned);
    let value = prop_oneof![
        "\"[a-zA-Z0-9/:@._ -]{0,20}\"",
        any::<i64>().prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("2027-03-31".to_owned()),
        Just("[\"us-east-1\", \"Workloads\", 3]".to_owned()),
        Just("{ sseAlgorithm = \"AES256\", maxSpendUsd = -1 }".to_owned()),
        Just("\"per-account\"".to_owned()),
        Just("\"ou-ab12-zzzzzzzz\"".to_owned()),
        Just("\"automatic\"".to_owned()),
        "[\\[\\]{}=\",.a-z0-9 ]{0,12}",
    ];
    let header = prop_oneof![
        Just("[organization]"),
        Just("[deployment]"),
        Just("[artifacts]"),
        Just("[remediation]"),
        Just("[notifications]"),
        Just("[rules.s3-bucket-encryption]"),
        Just("[rules.no-such-rule]"),
        Just("[[rules.ec2-instance-baseline.overrides]]"),
        Just("[[exemptions]]"),
        Just("[packs.baseline]"),
    ]
    .prop_map(str::to_owned);
    prop_oneof![
        3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => header,
        1 => "\\PC{0,30}",
    ]
}

#[derive(Debug, Clone)]
enum LineEdit {
    Delete,
    Repeat,
    SwapWithNext,
    Replace(String),
    Insert(String),
}

fn line_edit() -> impl Strategy<Value = (usize, LineEdit)> {
    let kind = prop_oneof![
        Just(LineEdit::Delete),
        Just(LineEdit::Repeat),
        Just(LineEdit::SwapWithNext),
        settings_line().prop_map(LineEdit::Replace),
        settings_line().prop_map(LineEdit::Insert),
    ];
    (any::<usize>(), kind)
}

fn edited_lines(example: &str, edits: &[(usize, LineEdit)]) -> String {
    let mut lines: Vec<String> = example.lines().map(str::to_owned).collect();
    for (at, edit) in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let at = at % lines.len();
        match edit {
            LineEdit::Delete => {
                lines.remove(at);
            }
            LineEdit::Repeat => lines.insert(at, lines[at].clone()),
            LineEdit::SwapWithNext if at + 1 < lines.len() => lines.swap(at, at + 1),
            LineEdit::SwapWithNext => {}
            LineEdit::Replace(line) => lines[at].clone_from(line),
            LineEdit::Insert(line) => lines.insert(at, line.clone()),
        }
    }
    lines.join("\n")
}

fn edited_bytes(example: &str, edits: &[(usize, u8, u8)]) -> String {
    const ALPHABET: &[u8] = b"[]{}=\",.#'\\ \n\t0123456789-_azAZ\x00\xe2\xff";
    edit_bytes(example, ALPHABET, edits)
}

/// Parsing never panics; a refusal names, for each problem, a place inside the file.
fn parses_or_locates(text: &str, catalog: &Catalog) -> Result<(), TestCaseError> {
    let path = Path::new("deployer.toml");
    match Settings::parse(path, text, catalog) {
        Ok(_) => Ok(()),
        Err(SettingsError::Invalid(problems)) => {
            prop_assert!(!problems.0.is_empty(), "refused without a problem");
            let lines = text.split('\n').count();
            for d in &problems.0 {
                let at = &d.location;
                prop_assert_eq!(at.file.as_path(), path);
                prop_assert!(
                    (1..=lines).contains(&at.line) && at.column >= 1,
                    "{} is outside the file ({} lines): {}",
                    at,
                    lines,
                    d.message
                );
                prop_assert!(!d.message.trim().is_empty(), "{}: no message", at);
            }
            let shown = SettingsError::Invalid(problems).to_string();
            prop_assert!(shown.starts_with("deployer.toml:"), "{}", shown);
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "an error without a location: {other}"
        ))),
    }
}

#[test]
fn fuzz_settings_with_edited_lines() {
    let catalog =
        Catalog::discover(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules"))
            .unwrap();
    let example = std::fs::read_to_string(fixtures().join("deployer.toml")).unwrap();
    let strategy = prop::collection::vec(line_edit(), 1..8);
    fuzz("deployer.toml, edited lines", &strategy, |edits| {
        parses_or_locates(&edited_lines(&example, &edits), &catalog)
    });
}

#[test]
fn fuzz_settings_with_edited_bytes() {
    let catalog =
        Catalog::discover(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules"))
            .unwrap();
    let example = std::fs::read_to_string(fixtures().join("deployer.toml")).unwrap();
    let strategy = prop::collection::vec(any::<(usize, u8, u8)>(), 1..10);
    fuzz("deployer.toml, edited bytes", &strategy, |edits| {
        parses_or_locates(&edited_bytes(&example, &edits), &catalog)
    });
}

#[test]
fn the_example_parses_and_a_broken_line_is_located() {
    // The fuzzing starts from a valid file, and its edits are seen.
    let catalog =
        Catalog::discover(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules"))
            .unwrap();
    let example = std::fs::read_to_string(fixtures().join("deployer.toml")).unwrap();
    Settings::parse(Path::new("deployer.toml"), &example, &catalog).unwrap();
    let broken = edited_lines(
        &example,
        &[(8, LineEdit::Replace("role-name = 3".to_owned()))],
    );
    let Err(SettingsError::Invalid(problems)) =
        Settings::parse(Path::new("deployer.toml"), &broken, &catalog)
    else {
        panic!("a role name that is a number is refused");
    };
    assert_eq!(problems.0[0].location.line, 9, "{problems}");
}
