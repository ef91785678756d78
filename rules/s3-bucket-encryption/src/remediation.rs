//! Inline remediation: set the bucket's default encryption to what the parameters require.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use config_rule_sdk::remediation::Remediation;
use config_rule_sdk::{AwsScope, Compliance, RuleError};
use serde::Serialize;

use crate::{EncryptionDefault, Params, judge};

/// Sets a bucket's default encryption with `PutBucketEncryption`.
pub struct EnableDefaultEncryption;

/// What the remediation reads: the bucket's default encryption and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketState {
    pub bucket: String,
    pub default_encryption: Option<EncryptionDefault>,
    pub tags: BTreeMap<String, String>,
}

/// The default encryption to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutDefaultEncryption {
    pub sse_algorithm: String,
    pub kms_key: Option<String>,
}

impl fmt::Display for PutDefaultEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "set default encryption {}", self.sse_algorithm)?;
        match &self.kms_key {
            Some(key) => write!(f, " with key {key}"),
            None => Ok(()),
        }
    }
}

/// The encryption the parameters ask for: the required algorithm (SSE-KMS when only keys are
/// listed, else SSE-S3) and, for KMS algorithms, the first allowed key.
pub fn target(params: &Params) -> PutDefaultEncryption {
    let keys = params
        .kms_key_arns
        .as_ref()
        .map(|k| k.0.as_slice())
        .unwrap_or_default();
    let sse_algorithm = match (&params.sse_algorithm, keys.is_empty()) {
        (Some(required), _) => required.clone(),
        (None, false) => "aws:kms".to_owned(),
        (None, true) => "AES256".to_owned(),
    };
    let kms_key = sse_algorithm
        .starts_with("aws:kms")
        .then(|| keys.first().cloned())
        .flatten();
    PutDefaultEncryption {
        sse_algorithm,
        kms_key,
    }
}

impl Remediation for EnableDefaultEncryption {
    type Params = Params;
    type State = BucketState;
    type Action = PutDefaultEncryption;

    fn resource_type(&self) -> &'static str {
        "AWS::S3::Bucket"
    }

    fn inline(&self, params: &Params) -> bool {
        params.inline_remediation.0
    }

    fn tags(state: &BucketState) -> BTreeMap<String, String> {
        state.tags.clone()
    }

    fn plan(&self, state: &BucketState, params: &Params) -> Option<PutDefaultEncryption> {
        let verdict = judge(state.default_encryption.as_ref(), params);
        (verdict.compliance != Compliance::Compliant).then(|| target(params))
    }

    async fn read(&self, aws: &AwsScope, bucket: &str) -> Result<BucketState, RuleError> {
        let s3 = aws_sdk_s3::Client::new(aws.config());
        let default_encryption = match s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(out) => out
                .server_side_encryption_configuration()
                .and_then(|c| {
                    c.rules()
                        .iter()
                        .find_map(ServerSideEncryptionRule::apply_server_side_encryption_by_default)
                })
                .map(|d| EncryptionDefault {
                    sse_algorithm: d.sse_algorithm().as_str().to_owned(),
                    kms_master_key_id: d.kms_master_key_id().map(str::to_owned),
                }),
            // No configuration at all is an answer, not a failure.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
            Err(e) => return Err(RuleError::aws("GetBucketEncryption", e)),
        };
        let tags = match s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                BTreeMap::new()
            }
            Err(e) => return Err(RuleError::aws("GetBucketTagging", e)),
        };
        Ok(BucketState {
            bucket: bucket.to_owned(),
            default_encryption,
            tags,
        })
    }

    async fn apply(
        &self,
        aws: &AwsScope,
        bucket: &str,
        action: &PutDefaultEncryption,
    ) -> Result<(), RuleError> {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(action.sse_algorithm.as_str()))
            .set_kms_master_key_id(action.kms_key.clone())
            .build()
            .map_err(|e| RuleError::aws("PutBucketEncryption", e))?;
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .build(),
            )
            .build()
            .map_err(|e| RuleError::aws("PutBucketEncryption", e))?;
        aws_sdk_s3::Client::new(aws.config())
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(configuration)
            .send()
            .await
            .map_err(|e| RuleError::aws("PutBucketEncryption", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_rule_sdk::params::{CommaList, Parsed};

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1111";

    fn params(sse: Option<&str>, keys: &[&str]) -> Params {
        Params {
            sse_algorithm: sse.map(str::to_owned),
            kms_key_arns: (!keys.is_empty())
                .then(|| CommaList(keys.iter().map(|k| (*k).to_owned()).collect())),
            inline_remediation: Parsed(true),
        }
    }

    fn state(default: Option<(&str, Option<&str>)>) -> BucketState {
        BucketState {
            bucket: "b".into(),
            default_encryption: default.map(|(a, k)| EncryptionDefault {
                sse_algorithm: a.into(),
                kms_master_key_id: k.map(str::to_owned),
            }),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn an_unencrypted_bucket_gets_sse_s3_when_nothing_more_is_required() {
        let plan = EnableDefaultEncryption.plan(&state(None), &params(None, &[]));
        assert_eq!(
            plan,
            Some(PutDefaultEncryption {
                sse_algorithm: "AES256".into(),
                kms_key: None
            })
        );
    }

    #[test]
    fn a_kms_requirement_gets_the_first_allowed_key() {
        let plan = EnableDefaultEncryption.plan(
            &state(Some(("AES256", None))),
            &params(Some("aws:kms"), &[KEY, "other"]),
        );
        assert_eq!(
            plan.unwrap().to_string(),
            format!("set default encryption aws:kms with key {KEY}")
        );
    }

    #[test]
    fn listed_keys_alone_imply_sse_kms() {
        assert_eq!(
            target(&params(None, &[KEY])),
            PutDefaultEncryption {
                sse_algorithm: "aws:kms".into(),
                kms_key: Some(KEY.into())
            }
        );
    }

    #[test]
    fn a_compliant_bucket_is_left_alone() {
        assert_eq!(
            EnableDefaultEncryption.plan(
                &state(Some(("aws:kms", Some(KEY)))),
                &params(Some("aws:kms"), &[KEY])
            ),
            None
        );
        assert_eq!(
            EnableDefaultEncryption.plan(&state(Some(("AES256", None))), &params(None, &[])),
            None
        );
    }

    #[test]
    fn inline_mode_follows_the_parameter() {
        let mut p = params(None, &[]);
        assert!(EnableDefaultEncryption.inline(&p));
        p.inline_remediation = Parsed(false);
        assert!(!EnableDefaultEncryption.inline(&p));
    }
}
