//! The rule's parameters, checked once when the invocation starts.

use std::collections::BTreeMap;

use config_rule_sdk::params::Json;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

/// Parameters as `rule.toml` declares them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The budget for one instance's estimated spend since launch.
    #[serde(rename = "maxSpendUsd")]
    pub max_spend: Usd,
    /// USD per hour by instance type, over the shipped table.
    #[serde(rename = "priceOverrides", default)]
    pub price_overrides: PriceOverrides,
}

/// An amount of US dollars: a finite number, not negative.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Usd(pub f64);

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let amount: f64 =
            text.trim().trim_start_matches('$').parse().map_err(|_| {
                D::Error::custom(format!("`{text}` is not an amount of US dollars"))
            })?;
        if !amount.is_finite() || amount < 0.0 {
            return Err(D::Error::custom(format!(
                "`{text}` is not an amount of US dollars (a number, 0 or more)"
            )));
        }
        Ok(Self(amount))
    }
}

/// `{"<instance type>": <USD per hour>, ...}`: finite prices, 0 or more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceOverrides(pub BTreeMap<String, f64>);

impl<'de> Deserialize<'de> for PriceOverrides {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Json(prices) = Json::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
        let mut checked = BTreeMap::new();
        for (instance_type, value) in prices {
            let price = value
                .as_f64()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| {
                    D::Error::custom(format!(
                        "`{instance_type}`: {value} is not a price in USD per hour (a number, 0 or more)"
                    ))
                })?;
            if !instance_type.contains('.') {
                return Err(D::Error::custom(format!(
                    "`{instance_type}` is not an instance type (family.size, e.g. m5.large)"
                )));
            }
            checked.insert(instance_type, price);
        }
        Ok(Self(checked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_rule_sdk::RuleMeta;
    use config_rule_sdk::params::decode;
    use serde_json::{Value, json};

    fn meta() -> RuleMeta {
        RuleMeta::from_toml(crate::RULE_TOML).unwrap()
    }

    fn decode_json(value: Value) -> Result<Params, String> {
        let given = serde_json::from_value(value).unwrap();
        decode::<Params>(&meta(), &given).map_err(|e| e.to_string())
    }

    #[test]
    fn a_budget_and_overrides_decode() {
        let p = decode_json(json!({
            "maxSpendUsd": "$250.5",
            "priceOverrides": "{\"m5.large\": 0.107, \"x2idn.32xlarge\": 13}"
        }))
        .unwrap();
        assert_eq!(p.max_spend, Usd(250.5));
        assert_eq!(
            p.price_overrides.0.get("x2idn.32xlarge").copied(),
            Some(13.0)
        );
    }

    #[test]
    fn overrides_are_optional() {
        let p = decode_json(json!({"maxSpendUsd": "10"})).unwrap();
        assert!(p.price_overrides.0.is_empty());
    }

    #[test]
    fn bad_budgets_are_named() {
        for bad in ["lots", "-5", "NaN", "inf"] {
            let err = decode_json(json!({ "maxSpendUsd": bad })).unwrap_err();
            assert!(
                err.starts_with("invalid parameter `maxSpendUsd`: "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_missing_budget_is_named() {
        let err = decode_json(json!({})).unwrap_err();
        assert!(err.contains("maxSpendUsd"), "{err}");
    }

    #[test]
    fn bad_overrides_are_named_with_the_entry() {
        let cases = [
            (
                "{\"m5.large\": \"cheap\"}",
                "`m5.large`: \"cheap\" is not a price",
            ),
            ("{\"m5.large\": -1}", "`m5.large`: -1 is not a price"),
            ("{\"large\": 1}", "`large` is not an instance type"),
            ("[1, 2]", "not the expected JSON"),
        ];
        for (given, expected) in cases {
            let err =
                decode_json(json!({"maxSpendUsd": "1", "priceOverrides": given})).unwrap_err();
            assert!(
                err.starts_with("invalid parameter `priceOverrides`: ") && err.contains(expected),
                "{given}: {err}"
            );
        }
    }
}
