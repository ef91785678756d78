//! The fixture, parameter and command-line tests every rule has.

config_rule_sdk::rule_tests!(periodic: ec2_cost_context::Ec2CostContext::new(), ec2_cost_context::RULE_TOML);
