//! `[parameters.NAME]`: the values Config passes the rule, and the checks each value passes
//! before the deployer rolls it out.

use serde::{Deserialize, Serialize};

use super::Problems;

/// The kind of value a parameter holds. Config passes every value as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterType {
    String,
    /// Comma-separated list.
    CommaList,
    /// A JSON document in a string.
    Json,
    Number,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ParameterSpec {
    #[serde(rename = "type")]
    pub kind: ParameterType,
    pub description: String,
    /// Used when Config passes no value (or an empty one).
    #[serde(default)]
    pub default: Option<String>,
    /// A valid value, shown in docs and used by the test that checks `rule.toml` against `Params`.
    #[serde(default)]
    pub example: Option<String>,
    /// The only values accepted, when the parameter is an enumeration.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// The rule cannot run without a value: the deployer refuses settings that give none.
    #[serde(default)]
    pub required: bool,
    /// The shape of the value (of each item, for a comma-list), checked by the deployer.
    #[serde(default)]
    pub format: Option<ParameterFormat>,
    /// The smallest value a `number` parameter accepts.
    #[serde(default)]
    pub min: Option<f64>,
    /// The largest value a `number` parameter accepts.
    #[serde(default)]
    pub max: Option<f64>,
}

/// Value shapes the deployer checks before rollout, so a typo fails `plan` rather than every
/// invocation in every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterFormat {
    /// `sg-` and 8 or 17 lowercase hexadecimal digits.
    SecurityGroupId,
    /// An IPv4 or IPv6 CIDR range: an address, `/`, a prefix length the family allows.
    Cidr,
}

impl ParameterSpec {
    /// Checks a value as Config would pass it: its type, shape, range and allowed values.
    pub fn check_value(&self, text: &str) -> Result<(), String> {
        self.check_shape(text)?;
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == text) {
            return Err(format!(
                "`{text}` is not allowed (expected one of: {})",
                self.allowed.join(", ")
            ));
        }
        Ok(())
    }

    /// Everything [`Self::check_value`] checks but the allowed values.
    fn check_shape(&self, text: &str) -> Result<(), String> {
        match self.kind {
            ParameterType::Number => {
                let Ok(number) = text.trim().parse::<f64>() else {
                    return Err(format!("expected a number, found `{text}`"));
                };
                if self.min.is_some_and(|min| number < min)
                    || self.max.is_some_and(|max| number > max)
                {
                    return Err(format!("`{text}` is outside {}", self.range()));
                }
            }
            ParameterType::Boolean if text != "true" && text != "false" => {
                return Err(format!("expected true or false, found `{text}`"));
            }
            ParameterType::Json if serde_json::from_str::<serde_json::Value>(text).is_err() => {
                return Err("expected a JSON document".to_owned());
            }
            _ => {}
        }
        if let Some(format) = self.format {
            format.check(self.kind, text)?;
        }
        Ok(())
    }

    fn range(&self) -> String {
        let bound = |b: Option<f64>| b.map_or_else(String::new, |b| b.to_string());
        format!("the range {}..={}", bound(self.min), bound(self.max))
    }

    /// The spec is consistent with itself: bounds and formats fit the type, and `default`,
    /// `example` and `allowed` are values the parameter accepts.
    pub(super) fn check(&self, path: &str, problems: &mut Problems) {
        if (self.min.is_some() || self.max.is_some()) && self.kind != ParameterType::Number {
            problems.push(path, "`min` and `max` apply to `number` parameters only");
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            problems.push(
                &format!("{path}.min"),
                format!("{min} is above `max` {max}"),
            );
        }
        if self.format.is_some()
            && !matches!(self.kind, ParameterType::String | ParameterType::CommaList)
        {
            problems.push(
                &format!("{path}.format"),
                "a format applies to `string` and `comma-list` parameters only",
            );
        }
        if self.required && self.default.is_some() {
            problems.push(
                &format!("{path}.default"),
                "a required parameter has no default: settings must give its value",
            );
        }
        for (i, value) in self.allowed.iter().enumerate() {
            if let Err(why) = self.check_shape(value) {
                problems.push(&format!("{path}.allowed[{i}]"), why);
            }
        }
        for (field, value) in [("default", &self.default), ("example", &self.example)] {
            if let Some(value) = value
                && let Err(why) = self.check_value(value)
            {
                problems.push(&format!("{path}.{field}"), why);
            }
        }
    }
}

impl ParameterFormat {
    /// Checks the value (each item of a comma-list) has this shape.
    fn check(self, kind: ParameterType, text: &str) -> Result<(), String> {
        let items: Vec<&str> = if kind == ParameterType::CommaList {
            text.split(',').map(str::trim).collect()
        } else {
            vec![text.trim()]
        };
        for item in items {
            let (ok, what) = match self {
                Self::SecurityGroupId => (
                    is_security_group_id(item),
                    "a security group id (sg- and 8 or 17 lowercase hexadecimal digits)",
                ),
                Self::Cidr => (
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
