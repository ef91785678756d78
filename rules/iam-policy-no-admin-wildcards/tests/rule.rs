//! The fixture, parameter, oversized and command-line tests every rule has.

config_rule_sdk::rule_tests!(change: iam_policy_no_admin_wildcards::IamPolicyNoAdminWildcards, iam_policy_no_admin_wildcards::RULE_TOML);
