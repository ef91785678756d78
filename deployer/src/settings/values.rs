//! Checks of single values in `deployer.toml`.

use config_rule_sdk::meta::{ParameterFormat, ParameterSpec, ParameterType};
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
    match spec.kind {
        ParameterType::Number if text.trim().parse::<f64>().is_err() => {
            return Err(format!("expected a number, found `{text}`"));
        }
        ParameterType::Boolean if text != "true" && text != "false" => {
            return Err(format!("expected true or false, found `{text}`"));
        }
        ParameterType::Json if serde_json::from_str::<serde_json::Value>(&text).is_err() => {
            return Err("expected a JSON document".to_owned());
        }
        _ => {}
    }
    if let Some(format) = spec.format {
        check_format(spec.kind, format, &text)?;
    }
    if !spec.allowed.is_empty() && !spec.allowed.contains(&text) {
        return Err(format!(
            "`{text}` is not allowed (expected one of: {})",
            spec.allowed.join(", ")
        ));
    }
    Ok(text)
}

/// Checks the value (each item of a comma-list) has the declared shape.
fn check_format(kind: ParameterType, format: ParameterFormat, text: &str) -> Result<(), String> {
    let items: Vec<&str> = if kind == ParameterType::CommaList {
        text.split(',').map(str::trim).collect()
    } else {
        vec![text.trim()]
    };
    for item in items {
        let (ok, what) = match format {
            ParameterFormat::SecurityGroupId => (
                is_security_group_id(item),
                "a security group id (sg- and 8 or 17 lowercase hexadecimal digits)",
            ),
            ParameterFormat::Cidr => (
                is_cidr(item),
                "a CIDR range such as 10.0.0.0/16 or 2001:db8::/32",
            ),
        };
        if !ok {
            return Err(format!("`{item}` is not {what}"));
        }
    }
    Ok(())
}

/// `sg-` and 8 (older) or 17 lowercase hexadecimal digits, as EC2 writes group ids.
pub fn is_security_group_id(text: &str) -> bool {
    text.strip_prefix("sg-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// An IPv4 or IPv6 address, `/`, and a prefix length of at most 32 or 128.
pub fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let longest = if address.is_ipv4() { 32 } else { 128 };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_digit())
        && prefix.len() <= 3
        && prefix.parse::<u32>().is_ok_and(|p| p <= longest)
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
    fn security_group_ids() {
        for ok in ["sg-0123abcd", "sg-0123456789abcdef0"] {
            assert!(is_security_group_id(ok), "{ok}");
        }
        for bad in [
            "sg-0123abc",
            "sg-0123456789ABCDEF0",
            "sg-0123456789abcdef",
            "sg-0123456789abcdefg",
            "0123456789abcdef0",
            "sg_0123abcd",
            "",
        ] {
            assert!(!is_security_group_id(bad), "{bad}");
        }
    }

    #[test]
    fn cidr_ranges() {
        for ok in [
            "10.0.0.0/16",
            "0.0.0.0/0",
            "192.168.1.7/32",
            "2001:db8::/32",
            "::/0",
        ] {
            assert!(is_cidr(ok), "{ok}");
        }
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/16",
            "256.0.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "2001:db8::/129",
            "10.0.0.0/16 ",
        ] {
            assert!(!is_cidr(bad), "{bad}");
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
        };
        let array = Value::Array(vec![Value::String("a".into()), Value::String("b".into())]);
        assert_eq!(parameter_value(&spec, &array).unwrap(), "a,b");
        assert_eq!(
            parameter_value(&spec, &Value::String("a,b".into())).unwrap(),
            "a,b"
        );
    }
}
