//! Exemptions: a resource may be excused from a rule, by a tag on the resource or an entry in
//! the registry passed as the `exemptions` rule parameter, always with a reason and an expiry.
//!
//! Entry syntax (tag value or registry value):
//! `<rule-name[,rule-name...] | all>; until=YYYY-MM-DD; reason=<text>[; owner=<who>]`,
//! spaces around `;` optional. The exemption holds through the `until` day.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::params::ParameterError;

/// The tag that carries an exemption on a resource.
pub const TAG_KEY: &str = "custos:exempt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Rules(Vec<String>),
}

/// Where an exemption was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Tag,
    Registry,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tag => "tag custos:exempt",
            Self::Registry => "exemption registry",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub scope: Scope,
    pub until: NaiveDate,
    pub reason: String,
    pub owner: Option<String>,
    pub source: Source,
}

impl Exemption {
    /// Parses one entry.
    pub fn parse(entry: &str, source: Source) -> Result<Self, String> {
        let mut parts = entry.split(';').map(str::trim);
        let scope = match parts.next().unwrap_or_default() {
            "" => return Err("names no rule (expected a rule name or `all` first)".into()),
            "all" => Scope::All,
            names => Scope::Rules(names.split(',').map(|n| n.trim().to_owned()).collect()),
        };
        let (mut until, mut reason, mut owner) = (None, None, None);
        for part in parts.filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let value = value.trim();
            match key.trim() {
                "until" => {
                    until = Some(
                        NaiveDate::parse_from_str(value, "%Y-%m-%d")
                            .map_err(|_| format!("until=`{value}` is not a date (YYYY-MM-DD)"))?,
                    );
                }
                "reason" if !value.is_empty() => reason = Some(value.to_owned()),
                "owner" if !value.is_empty() => owner = Some(value.to_owned()),
                other => return Err(format!("`{other}` is not one of until, reason, owner")),
            }
        }
        Ok(Self {
            scope,
            until: until.ok_or("has no until=YYYY-MM-DD")?,
            reason: reason.ok_or("has no reason=")?,
            owner,
            source,
        })
    }

    fn covers(&self, rule: &str) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Rules(names) => names.iter().any(|n| n == rule),
        }
    }

    /// Active through the `until` day.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        today <= self.until
    }

    fn owner_text(&self) -> String {
        self.owner
            .as_ref()
            .map(|o| format!(", owner {o}"))
            .unwrap_or_default()
    }

    /// The NOT_APPLICABLE annotation of an active exemption.
    pub fn active_note(&self) -> String {
        format!(
            "exempt until {} ({}{}): {}",
            self.until,
            self.source,
            self.owner_text(),
            self.reason
        )
    }

    /// What an evaluation says when an exemption has run out.
    pub fn expired_note(&self) -> String {
        format!(
            "exemption expired {} ({}{}: {}), evaluated normally",
            self.until,
            self.source,
            self.owner_text(),
            self.reason
        )
    }
}

/// Exemptions from the registry parameter, by resource id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry(BTreeMap<String, Vec<Exemption>>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Registry {
    /// Parses the `exemptions` parameter: `{"<resource id>": "<entry>" | ["<entry>", ...]}`.
    pub fn parse(text: &str) -> Result<Self, ParameterError> {
        let problem = |problem: String| ParameterError {
            name: "exemptions".into(),
            problem,
        };
        let raw: BTreeMap<String, OneOrMany> = serde_json::from_str(text)
            .map_err(|e| problem(format!("expected {{\"<resource id>\": \"<entry>\"}}: {e}")))?;
        let mut registry = BTreeMap::new();
        for (resource, entries) in raw {
            let entries = match entries {
                OneOrMany::One(e) => vec![e],
                OneOrMany::Many(es) => es,
            };
            let parsed = entries
                .iter()
                .map(|e| {
                    Exemption::parse(e, Source::Registry)
                        .map_err(|p| problem(format!("{resource}: {p}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            registry.insert(resource, parsed);
        }
        Ok(Self(registry))
    }
}

/// The outcome of looking for exemptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    None,
    Active(Exemption),
    Expired(Exemption),
    /// A `custos:exempt` tag that could not be read: ignored, and said so.
    Malformed(String),
}

/// Looks for an exemption of `resource_id` from `rule` on `today`. An active exemption wins over
/// an expired one; a malformed tag is reported only when nothing else applies.
pub fn check(
    rule: &str,
    resource_id: &str,
    tags: &BTreeMap<String, String>,
    registry: &Registry,
    today: NaiveDate,
) -> Check {
    let mut found: Vec<Exemption> = registry.0.get(resource_id).cloned().unwrap_or_default();
    let mut malformed = None;
    if let Some(value) = tags.get(TAG_KEY) {
        match Exemption::parse(value, Source::Tag) {
            Ok(e) => found.push(e),
            Err(problem) => malformed = Some(format!("ignored tag {TAG_KEY}: {problem}")),
        }
    }
    let relevant: Vec<Exemption> = found.into_iter().filter(|e| e.covers(rule)).collect();
    if let Some(active) = relevant
        .iter()
        .filter(|e| e.is_active(today))
        .max_by_key(|e| e.until)
    {
        return Check::Active(active.clone());
    }
    if let Some(expired) = relevant.into_iter().max_by_key(|e| e.until) {
        return Check::Expired(expired);
    }
    malformed.map_or(Check::None, Check::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn tags(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(TAG_KEY.to_owned(), value.to_owned())])
    }

    #[test]
    fn a_tag_for_this_rule_exempts_through_its_last_day() {
        let t = tags("s3-bucket-encryption;until=2027-01-31;reason=legacy data; owner=team-web");
        let c = check(
            "s3-bucket-encryption",
            "b",
            &t,
            &Registry::default(),
            day("2027-01-31"),
        );
        let Check::Active(e) = c else {
            panic!("expected active, got {c:?}")
        };
        assert_eq!(
            e.active_note(),
            "exempt until 2027-01-31 (tag custos:exempt, owner team-web): legacy data"
        );
    }

    #[test]
    fn an_expired_tag_is_ignored_and_said() {
        let t = tags("all ; until=2025-01-01 ; reason=migration");
        let c = check("any-rule", "b", &t, &Registry::default(), day("2025-01-02"));
        let Check::Expired(e) = c else {
            panic!("expected expired, got {c:?}")
        };
        assert!(e.expired_note().starts_with("exemption expired 2025-01-01"));
    }

    #[test]
    fn a_tag_for_another_rule_does_not_exempt() {
        let t = tags("other-rule; until=2030-01-01; reason=x");
        assert_eq!(
            check(
                "s3-bucket-encryption",
                "b",
                &t,
                &Registry::default(),
                day("2026-01-01")
            ),
            Check::None
        );
    }

    #[test]
    fn a_malformed_tag_is_reported_not_fatal() {
        let t = tags("all; until=soon; reason=x");
        let c = check("r", "b", &t, &Registry::default(), day("2026-01-01"));
        assert_eq!(
            c,
            Check::Malformed(
                "ignored tag custos:exempt: until=`soon` is not a date (YYYY-MM-DD)".into()
            )
        );
    }

    #[test]
    fn the_registry_exempts_by_resource_id() {
        let registry =
            Registry::parse(r#"{"bucket-a": ["r1; until=2026-12-31; reason=vendor"], "bucket-b": "all; until=2020-01-01; reason=old"}"#)
                .unwrap();
        let none = BTreeMap::new();
        assert!(matches!(
            check("r1", "bucket-a", &none, &registry, day("2026-06-01")),
            Check::Active(_)
        ));
        assert!(matches!(
            check("r1", "bucket-b", &none, &registry, day("2026-06-01")),
            Check::Expired(_)
        ));
        assert_eq!(
            check("r1", "bucket-c", &none, &registry, day("2026-06-01")),
            Check::None
        );
    }

    #[test]
    fn a_bad_registry_names_the_parameter_and_resource() {
        let err = Registry::parse(r#"{"bucket-a": "r1; reason=x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter `exemptions`: bucket-a: has no until=YYYY-MM-DD"
        );
    }
}
