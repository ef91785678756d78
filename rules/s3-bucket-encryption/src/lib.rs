//! # s3-bucket-encryption
//!
//! ## What it checks
//! Every S3 bucket has default encryption. With `sseAlgorithm`, it must be that kind (SSE-S3
//! `AES256`, SSE-KMS `aws:kms`, or DSSE-KMS `aws:kms:dsse`); with `kmsKeyArns`, the bucket's
//! default KMS key must be one of the listed keys.
//!
//! ## Why it matters
//! Objects written without an explicit encryption header get the bucket's default. A bucket
//! without the required default leaves data encrypted with keys the organisation does not
//! control, or audits that cannot show which key protects it.
//!
//! ## Reads
//! `supplementaryConfiguration.ServerSideEncryptionConfiguration` of the `AWS::S3::Bucket`
//! configuration item (an object in change notifications, a JSON string in the API shapes).
//!
//! ## Remediation
//! Automatic, through Config's remediation with the AWS-owned SSM document
//! `AWS-EnableS3BucketEncryption` (mapped in `rule.toml`). With `inlineRemediation = true` the
//! rule fixes the bucket itself right after reporting it: it re-reads the bucket, does nothing if
//! it is already compliant or exempt, and otherwise calls `PutBucketEncryption` with the required
//! algorithm and the first allowed key (see [`remediation`]). Every fix leaves a record.

pub mod remediation;

use config_rule_sdk::params::{CommaList, Parsed};
use config_rule_sdk::{Item, Rule, Verdict};
use serde::Deserialize;

/// The rule's metadata, shared with the deployer.
pub const RULE_TOML: &str = include_str!("../rule.toml");

/// The rule as the SDK serves it (and the catalogue lists it).
pub fn entry() -> config_rule_sdk::Entry {
    config_rule_sdk::Entry::change(S3BucketEncryption, RULE_TOML)
        .remediating(remediation::EnableDefaultEncryption)
}

pub struct S3BucketEncryption;

#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "ParamsWire")]
pub struct Params {
    pub sse_algorithm: Option<String>,
    pub kms_key_arns: Option<CommaList>,
    /// The rule remediates right after reporting NON_COMPLIANT.
    pub inline_remediation: Parsed<bool>,
}

/// The parameters as Config passes them, before the combination is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsWire {
    #[serde(rename = "sseAlgorithm", default)]
    sse_algorithm: Option<String>,
    #[serde(rename = "kmsKeyArns", default)]
    kms_key_arns: Option<CommaList>,
    #[serde(rename = "inlineRemediation", default)]
    inline_remediation: Parsed<bool>,
}

impl TryFrom<ParamsWire> for Params {
    type Error = String;

    /// SSE-S3 uses no KMS key: with listed keys no bucket could comply, and every remediation
    /// would fail or loop, so the combination is refused.
    fn try_from(wire: ParamsWire) -> Result<Self, String> {
        let keys = wire.kms_key_arns.as_ref().is_some_and(|k| !k.0.is_empty());
        if keys && wire.sse_algorithm.as_deref() == Some("AES256") {
            return Err(
                "sseAlgorithm AES256 (SSE-S3) uses no KMS key, so kmsKeyArns cannot be met: \
                 set sseAlgorithm to aws:kms or aws:kms:dsse, or leave kmsKeyArns unset"
                    .into(),
            );
        }
        Ok(Self {
            sse_algorithm: wire.sse_algorithm,
            kms_key_arns: wire.kms_key_arns,
            inline_remediation: wire.inline_remediation,
        })
    }
}

/// The bucket configuration; the rule reads only the supplementary encryption settings.
#[derive(Debug, Deserialize)]
pub struct Bucket {}

/// `ServerSideEncryptionConfiguration` as Config records it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionConfiguration {
    #[serde(default)]
    pub rules: Vec<EncryptionRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionRule {
    pub apply_server_side_encryption_by_default: Option<EncryptionDefault>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionDefault {
    pub sse_algorithm: String,
    #[serde(rename = "kmsMasterKeyID", default)]
    pub kms_master_key_id: Option<String>,
}

const SUPPLEMENTARY_KEY: &str = "ServerSideEncryptionConfiguration";

impl Rule for S3BucketEncryption {
    type Params = Params;
    type Resource = Bucket;

    fn evaluate(&self, item: &Item<Bucket>, params: &Params) -> Verdict {
        match item.supplementary::<EncryptionConfiguration>(SUPPLEMENTARY_KEY) {
            Ok(configuration) => judge(first_default(configuration.as_ref()), params),
            Err(e) => Verdict::non_compliant(format!("default encryption cannot be read: {e}")),
        }
    }
}

/// The bucket's default encryption, if any rule sets one.
pub fn first_default(
    configuration: Option<&EncryptionConfiguration>,
) -> Option<&EncryptionDefault> {
    configuration
        .iter()
        .flat_map(|c| &c.rules)
        .find_map(|r| r.apply_server_side_encryption_by_default.as_ref())
}

/// Judges a bucket's default encryption against the parameters; shared by the rule and the
/// remediation, so both always agree on what compliant means.
pub fn judge(default: Option<&EncryptionDefault>, params: &Params) -> Verdict {
    let Some(default) = default else {
        return Verdict::non_compliant("bucket has no default encryption");
    };
    let algorithm = default.sse_algorithm.as_str();
    if let Some(required) = params.sse_algorithm.as_deref().filter(|r| *r != algorithm) {
        return Verdict::non_compliant(format!(
            "default encryption is {algorithm}, required {required}"
        ));
    }
    if let Some(allowed) = &params.kms_key_arns {
        match default.kms_master_key_id.as_deref() {
            Some(key) if allowed.0.iter().any(|a| same_key(a, key)) => {}
            Some(key) => {
                return Verdict::non_compliant(format!(
                    "default encryption {algorithm} uses key {key}, not one of the allowed keys"
                ));
            }
            None => {
                return Verdict::non_compliant(format!(
                    "default encryption {algorithm} uses no customer managed key; one of the allowed keys is required"
                ));
            }
        }
    }
    match &default.kms_master_key_id {
        Some(key) => {
            Verdict::compliant().because(format!("default encryption {algorithm} with key {key}"))
        }
        None => Verdict::compliant().because(format!("default encryption {algorithm}")),
    }
}

/// An allowed key ARN matches the bucket's key given as the same ARN or as the bare key id.
fn same_key(allowed_arn: &str, bucket_key: &str) -> bool {
    allowed_arn == bucket_key
        || allowed_arn
            .strip_suffix(bucket_key)
            .is_some_and(|rest| rest.ends_with(":key/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_rule_sdk::RuleMeta;

    fn meta() -> RuleMeta {
        RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
    }

    #[test]
    fn sse_s3_with_listed_keys_is_refused_naming_both_parameters() {
        let given = std::collections::BTreeMap::from([
            ("sseAlgorithm".to_owned(), serde_json::json!("AES256")),
            (
                "kmsKeyArns".to_owned(),
                serde_json::json!("arn:aws:kms:us-east-1:1:key/1"),
            ),
        ]);
        let err = config_rule_sdk::params::decode::<Params>(&meta(), &given)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sseAlgorithm AES256") && err.contains("kmsKeyArns"),
            "{err}"
        );
    }

    #[test]
    fn a_key_matches_by_arn_or_bare_id_only() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1111";
        assert!(same_key(arn, arn));
        assert!(same_key(arn, "1111"));
        assert!(!same_key(arn, "111"));
        assert!(!same_key(
            arn,
            "arn:aws:kms:us-east-1:123456789012:key/2222"
        ));
    }
}
