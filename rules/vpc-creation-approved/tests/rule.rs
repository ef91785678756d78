//! The fixture, parameter, oversized and command-line tests every rule has.

config_rule_sdk::rule_tests!(change: vpc_creation_approved::VpcCreationApproved, vpc_creation_approved::RULE_TOML);
