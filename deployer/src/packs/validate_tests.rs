use std::fmt::Write;
use std::path::Path;

use super::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/packs")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect()
}

/// A pack of `rules` managed rules, each with a padded description of `padding` characters.
fn generated(rules: usize, padding: usize) -> String {
    let mut text = String::from("Resources:\n");
    for i in 0..rules {
        write!(
            text,
            "  Rule{i}:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      \
             ConfigRuleName: rule-{i}\n      Description: {}\n      Source:\n        \
             Owner: AWS\n        SourceIdentifier: S3_BUCKET_VERSIONING_ENABLED\n",
            "x".repeat(padding)
        )
        .unwrap();
    }
    text
}

#[test]
fn the_aws_sample_packs_are_accepted_unchanged() {
    let s3 = validate(&fixture("Operational-Best-Practices-for-Amazon-S3.yaml"));
    assert_eq!(lines(&s3), Vec::<String>::new());
    assert_eq!((s3.summary.rules, s3.summary.parameters), (11, 6));
    let remediation = validate(&fixture("s3-encryption-with-remediation.yaml"));
    assert_eq!(lines(&remediation), Vec::<String>::new());
    assert_eq!(
        (remediation.summary.rules, remediation.summary.remediations),
        (2, 2)
    );
}

#[test]
fn problems_are_reported_at_their_line() {
    let outcome = validate(&fixture("broken.yaml"));
    assert_eq!(
        lines(&outcome),
        [
            "5:3: rule NoSource has no Source",
            "10:11: resource Topic: unknown resource type `AWS::SNS::Topic` (a conformance pack \
             holds only AWS::Config::ConfigRule and AWS::Config::RemediationConfiguration)",
            "14:23: remediation Fix: ConfigRuleName `not-in-this-pack` is not a rule of this \
             pack (its rules: no-source)",
            "19:16: resource Versioning: Condition `IsProd` is not in Conditions",
            "21:28: Sub variable `${Stage}` names no parameter, resource or pseudo parameter",
            "23:22: Ref `Buckett` names no parameter, resource or pseudo parameter",
        ]
    );
}

#[test]
fn unknown_tags_and_broken_yaml_are_located() {
    let outcome = validate(
        "Resources:\n  R:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      \
         Source: !Magic {Owner: AWS}\n",
    );
    assert!(
        lines(&outcome)
            .iter()
            .any(|l| l.starts_with("5:") && l.contains("unknown tag `!Magic`")),
        "{:?}",
        lines(&outcome)
    );
    let outcome = validate("Resources:\n  R: [1, 2\n");
    assert_eq!(outcome.problems.len(), 1);
    assert!(outcome.problems[0].message.starts_with("not YAML or JSON"));
    assert!(outcome.problems[0].line >= 2);
}

#[test]
fn config_limits_are_enforced() {
    let at_limit = validate(&generated(MAX_RULES, 0));
    assert_eq!(lines(&at_limit), Vec::<String>::new());
    let over = validate(&generated(MAX_RULES + 1, 0));
    assert_eq!(
        lines(&over),
        [
            "1:1: too many rules: 131 (a conformance pack holds at most 130; `deployer` splits its own packs)"
        ]
    );
    // Larger than Config takes inline: valid (AWS's larger samples are), deployed from S3.
    let large = generated(40, 1_300);
    assert!(large.len() > MAX_TEMPLATE_BODY_BYTES && large.len() < MAX_TEMPLATE_S3_BYTES);
    let outcome = validate(&large);
    assert_eq!(outcome.problems, []);
    assert_eq!(outcome.notes.len(), 1);
    assert!(
        outcome.notes[0].message.contains("TemplateS3Uri"),
        "{:?}",
        outcome.notes
    );
    // Larger than Config reads at all.
    let huge = generated(120, 2_700);
    assert!(huge.len() > MAX_TEMPLATE_S3_BYTES, "{}", huge.len());
    let outcome = validate(&huge);
    assert_eq!(outcome.problems.len(), 1);
    assert!(
        outcome.problems[0]
            .message
            .starts_with(&format!("too large: {} bytes", huge.len())),
        "{:?}",
        outcome.problems
    );
}

#[test]
fn a_template_without_rules_is_refused() {
    assert_eq!(
        lines(&validate("Description: nothing\n")),
        ["1:1: no Resources: a conformance pack needs at least one AWS::Config::ConfigRule"]
    );
}
