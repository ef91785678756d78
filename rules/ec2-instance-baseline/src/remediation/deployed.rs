//! The deployed Config rule's parameters: the remediation's only source of settings.

use std::collections::BTreeMap;

use config_rule_sdk::RuleError;
use config_rule_sdk::host::event::{EventError, parse_parameters};
use serde_json::Value;

/// `DescribeConfigRules` for `rule`: its `InputParameters`, decoded.
pub async fn rule_parameters(
    config: &aws_sdk_config::Client,
    rule: &str,
) -> Result<BTreeMap<String, Value>, RuleError> {
    let out = config
        .describe_config_rules()
        .config_rule_names(rule)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeConfigRules", e))?;
    let found = out
        .config_rules()
        .iter()
        .find(|r| r.config_rule_name() == Some(rule))
        .ok_or_else(|| RuleError::Aws {
            operation: "DescribeConfigRules",
            message: format!("the Config rule {rule} is not in the answer"),
        })?;
    decode(rule, found.input_parameters())
}

/// Pure: `InputParameters` is read as the SDK reads an event's `ruleParameters`.
pub fn decode(rule: &str, text: Option<&str>) -> Result<BTreeMap<String, Value>, RuleError> {
    parse_parameters(text).map_err(|e| {
        let why = match e {
            EventError::RuleParameters(why) => why,
            other => other.to_string(),
        };
        RuleError::Aws {
            operation: "DescribeConfigRules",
            message: format!("the InputParameters of {rule} are not a JSON object: {why}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn input_parameters_are_a_json_object_in_a_string() {
        assert_eq!(
            decode("r", Some(r#"{"adminSecurityGroupId":"sg-0a0a0a0a"}"#)).unwrap(),
            BTreeMap::from([("adminSecurityGroupId".to_owned(), json!("sg-0a0a0a0a"))])
        );
        assert!(decode("r", None).unwrap().is_empty());
        assert!(
            decode("r", Some("[1]"))
                .unwrap_err()
                .to_string()
                .contains("r are not")
        );
    }
}
