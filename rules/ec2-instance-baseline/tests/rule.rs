//! The fixture, parameter, oversized and command-line tests every rule has.

config_rule_sdk::rule_tests!(change: ec2_instance_baseline::Ec2InstanceBaseline, ec2_instance_baseline::RULE_TOML);
