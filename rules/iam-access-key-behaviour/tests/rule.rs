//! The fixture, parameter and command-line tests every rule has.

config_rule_sdk::rule_tests!(periodic: iam_access_key_behaviour::IamAccessKeyBehaviour::new(), iam_access_key_behaviour::RULE_TOML);
