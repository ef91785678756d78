//! The fixture, parameter, oversized and command-line tests every rule has.

config_rule_sdk::rule_tests!(change: s3_bucket_encryption::S3BucketEncryption, s3_bucket_encryption::RULE_TOML);
