//! Checks of single values in `deployer.toml`.

use config_rule_sdk::manifest::{ParameterSpec, ParameterType};
use toml::Value;
use toml::value::Datetime;

pub fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `eu-west-1`, `us-gov-east-1`, `ap-southeast-4`: letters, words, then a number.
pub fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// A deployment's name, written in tags and parameters: 1-40 letters, digits and hyphens.
pub fn is_deployment_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.starts_with('-')
}

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())
}

/// Room is left for `-<account>-<region>`, within S3's 63 characters.
pub fn is_bucket_prefix(prefix: &str) -> bool {
    (3..=30).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !prefix.starts_with('-')
        && !prefix.ends_with('-')
}

pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// `2027-03-31`, without a time.
pub fn date_only(value: &Datetime) -> Option<String> {
    match (value.date, value.time, value.offset) {
        (Some(date), None, None) => Some(date.to_string()),
        _ => None,
    }
}

/// The string Config will pass for `value`, after checking it against the parameter's type and
/// allowed values.
pub fn parameter_value(spec: &ParameterSpec, value: &Value) -> Result<String, String> {
    let text = match (spec.kind, value) {
        (_, Value::String(s)) => s.clone(),
        (ParameterType::Number | ParameterType::String, Value::Integer(i)) => i.to_string(),
        (ParameterType::Number | ParameterType::String, Value::Float(f)) => f.to_string(),
        (ParameterType::Boolean | ParameterType::String, Value::Boolean(b)) => b.to_string(),
        (ParameterType::CommaList, Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !s.contains(',') => Ok(s.clone()),
                Value::Integer(i) => Ok(i.to_string()),
                _ => Err("expected a list of strings without commas".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        (ParameterType::Json, Value::Table(_) | Value::Array(_)) => {
            serde_json::to_string(value).map_err(|e| format!("cannot be written as JSON: {e}"))?
        }
        (kind, _) => return Err(format!("expected {}", expected(kind))),
    };
    spec.check_value(&text)?;
    Ok(text)
}

fn expected(kind: ParameterType) -> &'static str {
    match kind {
        ParameterType::String => "a string",
        ParameterType::CommaList => "a list of strings, or one comma-separated string",
        ParameterType::Json => "a table, an array or a JSON string",
        ParameterType::Number => "a number",
        ParameterType::Boolean => "true or false",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["eu-west-1", "us-gov-east-1", "ap-southeast-4"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["eu-west", "EU-west-1", "euwest1", "e-west-1", "eu--1"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn comma_lists_accept_arrays_and_strings() {
        let spec = ParameterSpec {
            kind: ParameterType::CommaList,
            description: String::new(),
            default: None,
            example: None,
            allowed: vec![],
            required: false,
            format: None,
            min: None,
            max: None,
        };
        let array = Value::Array(vec![Value::String("a".into()), Value::String("b".into())]);
        assert_eq!(parameter_value(&spec, &array).unwrap(), "a,b");
        assert_eq!(
            parameter_value(&spec, &Value::String("a,b".into())).unwrap(),
            "a,b"
        );
    }
}
