//! Rule parameters: Config passes strings; rules get typed values or an error naming the
//! parameter.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde_json::Value;

use crate::meta::RuleMeta;

/// Parameter names the SDK reads itself; they never reach a rule's `Params`.
pub mod reserved {
    /// Role assumed in the event's account when rules run centrally.
    pub const EXECUTION_ROLE_NAME: &str = "ExecutionRoleName";
    /// The exemption registry: a JSON object of resource id -> exemption entry.
    pub const EXEMPTIONS: &str = "exemptions";
}

/// A parameter that is not valid for this rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter `{name}`: {problem}")]
pub struct ParameterError {
    pub name: String,
    pub problem: String,
}

/// Parameters as Config passed them, split into what the SDK reads and what the rule reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawParameters {
    pub execution_role_name: Option<String>,
    pub exemptions: Option<String>,
    pub rule: BTreeMap<String, Value>,
}

impl RawParameters {
    /// Splits off the reserved parameters; empty values count as absent (the console sends "").
    pub fn split(parameters: &BTreeMap<String, Value>) -> Self {
        let mut raw = Self::default();
        for (name, value) in parameters {
            if matches!(value, Value::Null) || value.as_str().is_some_and(|s| s.trim().is_empty()) {
                continue;
            }
            match name.as_str() {
                reserved::EXECUTION_ROLE_NAME => {
                    raw.execution_role_name = value.as_str().map(str::to_owned);
                }
                reserved::EXEMPTIONS => raw.exemptions = Some(as_text(value)),
                _ => {
                    raw.rule.insert(name.clone(), value.clone());
                }
            }
        }
        raw
    }
}

/// Decodes the rule's parameters: rejects names `rule.toml` does not declare, fills defaults,
/// checks allowed values, then decodes into `P` (which should `deny_unknown_fields`).
pub fn decode<P: DeserializeOwned>(
    meta: &RuleMeta,
    given: &BTreeMap<String, Value>,
) -> Result<P, ParameterError> {
    let mut values = serde_json::Map::new();
    for (name, value) in given {
        let Some(spec) = meta.parameters.get(name) else {
            let known: Vec<&str> = meta.parameters.keys().map(String::as_str).collect();
            return Err(ParameterError {
                name: name.clone(),
                problem: format!(
                    "not a parameter of {} (known: {})",
                    meta.name,
                    list_or_none(&known)
                ),
            });
        };
        let text = as_text(value);
        if !spec.allowed.is_empty() && !spec.allowed.contains(&text) {
            return Err(ParameterError {
                name: name.clone(),
                problem: format!("`{text}` is not one of {}", spec.allowed.join(", ")),
            });
        }
        values.insert(name.clone(), Value::String(text));
    }
    for (name, spec) in &meta.parameters {
        if let (false, Some(default)) = (values.contains_key(name), &spec.default) {
            values.insert(name.clone(), Value::String(default.clone()));
        }
    }
    serde_path_to_error::deserialize(Value::Object(values)).map_err(|e| {
        let problem = e.inner().to_string();
        let name = match e.path().iter().next() {
            Some(segment) => segment.to_string(),
            // A missing parameter has no path of its own; serde names it in the message.
            None => missing_field(&problem).unwrap_or("(parameters)").to_owned(),
        };
        ParameterError { name, problem }
    })
}

/// The field serde's "missing field `x`" message names.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A comma-separated list parameter (`"a, b,c"`), empty items dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommaList(pub Vec<String>);

impl<'de> Deserialize<'de> for CommaList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

/// A parameter holding a JSON document in a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(|e| D::Error::custom(format!("not the expected JSON: {e}")))
    }
}

/// A parameter parsed from its text with `FromStr` (numbers, booleans).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim()
            .parse()
            .map(Parsed)
            .map_err(|e| D::Error::custom(format!("`{text}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        mode: String,
        #[serde(rename = "maxSpendUsd")]
        max_spend: Parsed<f64>,
        #[serde(default)]
        keys: Option<CommaList>,
    }

    fn meta() -> RuleMeta {
        RuleMeta::from_toml(
            r#"
name = "example"
description = "x"
resource-types = ["AWS::S3::Bucket"]
[trigger]
change = true
[parameters.mode]
type = "string"
description = "m"
default = "strict"
allowed = ["strict", "lax"]
[parameters.maxSpendUsd]
type = "number"
description = "n"
[parameters.keys]
type = "comma-list"
description = "k"
"#,
        )
        .unwrap()
    }

    fn given(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_fill_missing_values_and_text_is_typed() {
        let p: Params = decode(
            &meta(),
            &given(json!({"maxSpendUsd": "12.5", "keys": "a, b,,c"})),
        )
        .unwrap();
        assert_eq!(p.mode, "strict");
        assert!((p.max_spend.0 - 12.5).abs() < f64::EPSILON);
        assert_eq!(p.keys.unwrap().0, vec!["a", "b", "c"]);
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let err = decode::<Params>(
            &meta(),
            &given(json!({"maxSpendUsd": "1", "colour": "red"})),
        )
        .unwrap_err();
        assert_eq!(err.name, "colour");
        assert!(
            err.problem.contains("known: keys, maxSpendUsd, mode"),
            "{err}"
        );
    }

    #[test]
    fn a_value_outside_the_allowed_list_is_named() {
        let err = decode::<Params>(
            &meta(),
            &given(json!({"maxSpendUsd": "1", "mode": "loose"})),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter `mode`: `loose` is not one of strict, lax"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named() {
        let err = decode::<Params>(&meta(), &given(json!({"maxSpendUsd": "lots"}))).unwrap_err();
        assert_eq!(err.name, "maxSpendUsd");
        assert!(err.problem.contains("lots"), "{err}");
    }

    #[test]
    fn a_missing_required_parameter_is_named() {
        let err = decode::<Params>(&meta(), &BTreeMap::new()).unwrap_err();
        assert_eq!(err.name, "maxSpendUsd");
        assert_eq!(
            err.to_string(),
            "invalid parameter `maxSpendUsd`: missing field `maxSpendUsd`"
        );
    }

    #[test]
    fn reserved_and_empty_parameters_are_split_off() {
        let raw = RawParameters::split(&given(json!({
            "ExecutionRoleName": "custos-exec", "exemptions": "{}", "mode": "", "keys": "a"
        })));
        assert_eq!(raw.execution_role_name.as_deref(), Some("custos-exec"));
        assert_eq!(raw.exemptions.as_deref(), Some("{}"));
        assert_eq!(raw.rule, given(json!({"keys": "a"})));
    }
}
