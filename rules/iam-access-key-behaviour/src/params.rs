//! The rule's parameters, checked once when the invocation starts.

use config_rule_sdk::params::Parsed;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

/// Parameters as `rule.toml` declares them (every one has a default there).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Hours before the run whose services are compared with the baseline.
    #[serde(rename = "recentHours")]
    pub recent_hours: Count<1, 720>,
    /// Days before the recent window that make the baseline.
    #[serde(rename = "baselineDays")]
    pub baseline_days: Count<1, 89>,
    /// Deactivate keys found using new services.
    #[serde(rename = "deactivateSuspiciousKeys")]
    pub deactivate: Parsed<bool>,
    /// The most CloudTrail `LookupEvents` requests one run makes.
    #[serde(rename = "maxLookupRequests")]
    pub max_lookup_requests: Count<1, 100_000>,
    /// The one region whose runs deactivate keys; elsewhere the rule only reports.
    #[serde(rename = "deactivationRegion")]
    pub deactivation_region: RegionName,
    /// The most keys deactivated per account per day (UTC), over all runs.
    #[serde(rename = "maxDeactivationsPerDay")]
    pub max_deactivations_per_day: Count<1, 1000>,
    /// Report what would be deactivated, and change nothing.
    #[serde(rename = "deactivationDryRun")]
    pub dry_run: Parsed<bool>,
}

/// An AWS region name such as `us-east-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionName(pub String);

impl<'de> Deserialize<'de> for RegionName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let name = text.trim();
        let parts: Vec<&str> = name.split('-').collect();
        let shaped = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if shaped {
            Ok(Self(name.to_owned()))
        } else {
            Err(D::Error::custom(format!(
                "`{text}` is not a region name such as us-east-1"
            )))
        }
    }
}

/// A whole number from `MIN` to `MAX`, given as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count<const MIN: u32, const MAX: u32>(pub u32);

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Count<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (MIN..=MAX).contains(n))
            .map(Self)
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "`{text}` is not a whole number from {MIN} to {MAX}"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_rule_sdk::RuleMeta;
    use config_rule_sdk::params::decode;
    use serde_json::{Value, json};

    fn decode_json(value: Value) -> Result<Params, String> {
        let meta = RuleMeta::from_toml(crate::RULE_TOML).unwrap();
        let given = serde_json::from_value(value).unwrap();
        decode::<Params>(&meta, &given).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_come_from_rule_toml() {
        let p = decode_json(json!({})).unwrap();
        assert_eq!(p.recent_hours, Count(24));
        assert_eq!(p.baseline_days, Count(30));
        assert_eq!(p.deactivate, Parsed(false));
        assert_eq!(p.max_lookup_requests, Count(600));
        assert_eq!(p.deactivation_region, RegionName("us-east-1".into()));
        assert_eq!(p.max_deactivations_per_day, Count(5));
        assert_eq!(p.dry_run, Parsed(false));
    }

    #[test]
    fn the_home_region_and_the_daily_cap_are_checked() {
        let p =
            decode_json(json!({"deactivationRegion": "eu-west-2", "maxDeactivationsPerDay": "2"}))
                .unwrap();
        assert_eq!(p.deactivation_region, RegionName("eu-west-2".into()));
        assert_eq!(p.max_deactivations_per_day, Count(2));
        for bad in ["us_east_1", "Europe", "us-east", "us-east-1a"] {
            let err = decode_json(json!({"deactivationRegion": bad})).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "invalid parameter `deactivationRegion`: `{bad}` is not a region name such as us-east-1"
                )
            );
        }
        let err = decode_json(json!({"maxDeactivationsPerDay": "0"})).unwrap_err();
        assert!(
            err.starts_with(
                "invalid parameter `maxDeactivationsPerDay`: `0` is not a whole number from 1"
            ),
            "{err}"
        );
    }

    #[test]
    fn values_out_of_range_are_named() {
        for (name, bad) in [
            ("recentHours", "0"),
            ("recentHours", "721"),
            ("baselineDays", "90"),
            ("baselineDays", "1.5"),
            ("maxLookupRequests", "-1"),
        ] {
            let err = decode_json(json!({ name: bad })).unwrap_err();
            assert!(
                err.starts_with(&format!(
                    "invalid parameter `{name}`: `{bad}` is not a whole number from "
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn deactivation_is_a_boolean() {
        assert_eq!(
            decode_json(json!({"deactivateSuspiciousKeys": "true"}))
                .unwrap()
                .deactivate,
            Parsed(true)
        );
        let err = decode_json(json!({"deactivateSuspiciousKeys": "yes"})).unwrap_err();
        assert_eq!(
            err,
            "invalid parameter `deactivateSuspiciousKeys`: `yes` is not one of true, false"
        );
    }
}
