//! What the throughput benchmark measures: a Config Lambda event, as the runtime receives it
//! (text), decoded, decided by the rule, and turned into the evaluation `PutEvaluations` takes.
//! Beside it, `rdklib/` holds the same two rules written with AWS's rdklib, run on the same
//! corpus.

// The EC2 configuration item of the corpus is one large `json!` literal.
#![recursion_limit = "256"]

pub mod corpus;

use std::collections::BTreeMap;
use std::path::Path;

use config_rule_sdk::host::event::{Invocation, Trigger};
use config_rule_sdk::host::{Evaluation, decide};
use config_rule_sdk::{Rule, RuleError, RuleMeta};

/// One event through the SDK's production decision path (no clock, no AWS): decode, read the
/// parameters, evaluate (with exemptions, deleted and out-of-scope items), build the evaluation.
pub fn evaluate<R: Rule>(rule: &R, meta: &RuleMeta, event: &str) -> Result<Evaluation, RuleError> {
    let invocation = Invocation::from_text(event)?;
    let settings = decide::settings::<R::Params>(meta, &invocation)?;
    let Trigger::Change(item) = invocation.trigger else {
        return Err(RuleError::UnexpectedTrigger(
            "the corpus holds change notifications only",
        ));
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

/// A rule of the corpus with its metadata, ready to evaluate events.
pub enum Subject {
    S3(RuleMeta),
    Ec2(RuleMeta),
}

impl Subject {
    pub fn new(rule: &str) -> Option<Self> {
        let meta = |toml: &str| RuleMeta::from_toml(toml).expect("the rule's rule.toml is valid");
        match rule {
            corpus::S3 => Some(Self::S3(meta(s3_bucket_encryption::RULE_TOML))),
            corpus::EC2 => Some(Self::Ec2(meta(ec2_instance_baseline::RULE_TOML))),
            _ => None,
        }
    }

    pub fn evaluate(&self, event: &str) -> Result<Evaluation, RuleError> {
        match self {
            Self::S3(meta) => evaluate(&s3_bucket_encryption::S3BucketEncryption, meta, event),
            Self::Ec2(meta) => evaluate(&ec2_instance_baseline::Ec2InstanceBaseline, meta, event),
        }
    }
}

/// How many events ended in each compliance value (or `error`): both harnesses print this, so
/// the rdklib port is shown to decide the corpus exactly as the Rust rule does.
pub fn tally(subject: &Subject, events: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        let key = match subject.evaluate(event) {
            Ok(e) => e.compliance_type.as_str().to_owned(),
            Err(_) => "error".to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// The corpus file of `rule` in `dir`: one event per line.
pub fn corpus_file(dir: &Path, rule: &str) -> std::path::PathBuf {
    dir.join(format!("{rule}.jsonl"))
}

/// The corpus of `rule`: read from `dir` when given (what the rdklib harness reads too), else
/// generated.
pub fn load(dir: Option<&Path>, rule: &str, count: usize) -> std::io::Result<Vec<String>> {
    match dir {
        Some(dir) => Ok(std::fs::read_to_string(corpus_file(dir, rule))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()),
        None => Ok(generate(rule, count)),
    }
}

/// The generated corpus of `rule`.
pub fn generate(rule: &str, count: usize) -> Vec<String> {
    match rule {
        corpus::S3 => corpus::s3(count, 0x5eed_0053),
        _ => corpus::ec2(count, 0x5eed_0ec2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus is the mix it claims: every outcome occurs, for both rules, and nothing fails.
    #[test]
    fn the_corpus_mixes_every_outcome_and_decodes() {
        for rule in [corpus::S3, corpus::EC2] {
            let subject = Subject::new(rule).unwrap();
            let counts = tally(&subject, &generate(rule, 1000));
            for outcome in ["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"] {
                assert!(
                    counts.get(outcome).copied().unwrap_or(0) >= 50,
                    "{rule}: {counts:?}"
                );
            }
            assert_eq!(counts.get("error"), None, "{rule}: {counts:?}");
            assert_eq!(counts.values().sum::<usize>(), 1000);
        }
    }

    #[test]
    fn the_corpus_is_the_same_every_time() {
        assert_eq!(generate(corpus::S3, 50), generate(corpus::S3, 50));
        assert_ne!(generate(corpus::S3, 50)[0], generate(corpus::S3, 50)[1]);
    }
}
