//! Exemptions: a resource may be excused from a rule, by a tag on the resource or an entry in
//! the registry passed as the `exemptions` rule parameter, always with a reason and an expiry.
//!
//! Entry syntax (tag value or registry value):
//! `<rule-name[,rule-name...] | all>; until=YYYY-MM-DD; reason=<text>[; owner=<who>]`,
//! spaces around `;` optional. The exemption holds through the `until` day.
//!
//! What a rule honours is its [`Policy`] (`[exemptions]` in `rule.toml`, compiled into the
//! binary, so no rule parameter can loosen it): which sources count, and how far ahead `until`
//! may lie. `all` counts only from the registry: a tag saying `all` silences nothing.

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

/// Where an exemption was found. In `rule.toml`: `tags` or `registry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub enum Source {
    #[serde(rename = "tags")]
    Tag,
    #[serde(rename = "registry")]
    Registry,
}

/// Exemptions last at most this many days ahead of the evaluation, unless `rule.toml` says.
pub const DEFAULT_MAX_DAYS: u32 = 90;

/// Which exemptions a rule honours: `[exemptions]` in its `rule.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Policy {
    /// The sources that count. Rules watching identities list only `registry`: a principal that
    /// can tag itself must not silence the rule watching it.
    #[serde(default = "both_sources")]
    pub sources: Vec<Source>,
    /// An exemption whose `until` lies further ahead than this, counted from the evaluation, is
    /// not honoured.
    #[serde(default = "default_max_days")]
    pub max_days: u32,
}

fn both_sources() -> Vec<Source> {
    vec![Source::Tag, Source::Registry]
}

fn default_max_days() -> u32 {
    DEFAULT_MAX_DAYS
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            sources: both_sources(),
            max_days: DEFAULT_MAX_DAYS,
        }
    }
}

impl Policy {
    pub fn accepts(&self, source: Source) -> bool {
        self.sources.contains(&source)
    }

    /// Why `e` is not honoured on `today` though it names the rule, if it is not.
    pub fn refusal(&self, e: &Exemption, today: NaiveDate) -> Option<String> {
        if !self.accepts(e.source) {
            return Some(match e.source {
                Source::Tag => "this rule accepts exemptions from the registry only".to_owned(),
                Source::Registry => "this rule accepts tag exemptions only".to_owned(),
            });
        }
        if e.source == Source::Tag && e.scope == Scope::All {
            return Some("`all` is accepted from the registry only".to_owned());
        }
        self.too_far_ahead(e.until, today)
            .map(|ahead| format!("{ahead} {TOO_FAR_AHEAD} {} days", self.max_days))
    }

    /// How many days ahead of `today` an `until` lies, when that is over the limit.
    pub fn too_far_ahead(&self, until: NaiveDate, today: NaiveDate) -> Option<i64> {
        let ahead = (until - today).num_days();
        (ahead > i64::from(self.max_days)).then_some(ahead)
    }
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

    /// What an evaluation says when an exemption names the rule but is not honoured. Why comes
    /// before the free-text reason, so a long reason cut at Config's 256 characters never hides
    /// it ([`time_may_change`] reads it).
    pub fn refused_note(&self, why: &str) -> String {
        format!(
            "{REFUSED_PREFIX} until {}: {why}; evaluated normally ({}{}: {})",
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

/// How the annotation of an exemption that is not honoured starts.
pub const REFUSED_PREFIX: &str = "exemption not honoured";
/// How the annotation of an honoured exemption starts ([`Exemption::active_note`]).
pub const ACTIVE_PREFIX: &str = "exempt until ";
/// What a refusal for lying too far ahead says after the day count; [`time_may_change`] finds
/// such results by it.
const TOO_FAR_AHEAD: &str = "days ahead, over this rule's limit of";

/// Whether a result with this annotation may change with time alone: an honoured exemption
/// (it expires) or one refused as too long (it comes within the limit). A scheduled run of a
/// change-triggered rule evaluates these resources again.
pub fn time_may_change(annotation: &str) -> bool {
    annotation.starts_with(ACTIVE_PREFIX)
        || (annotation.starts_with(REFUSED_PREFIX) && annotation.contains(TOO_FAR_AHEAD))
}

/// Exemptions from the registry parameter, by resource id, and the rule's [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    entries: BTreeMap<String, Vec<Exemption>>,
    policy: Policy,
}

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
        Ok(Self {
            entries: registry,
            policy: Policy::default(),
        })
    }

    /// The same entries, judged by `policy`.
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// The outcome of looking for exemptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    None,
    Active(Exemption),
    /// Names the rule but is not honoured (source, `all` by tag, too long): why.
    Refused(Exemption, String),
    Expired(Exemption),
    /// A `custos:exempt` tag that could not be read: ignored, and said so.
    Malformed(String),
}

/// Looks for an exemption of `resource_id` from `rule` on `today`, under the registry's policy.
/// An honoured exemption wins over a refused one, a refused one over an expired one; a
/// malformed tag is reported only when nothing else applies.
pub fn check(
    rule: &str,
    resource_id: &str,
    tags: &BTreeMap<String, String>,
    registry: &Registry,
    today: NaiveDate,
) -> Check {
    let mut found: Vec<Exemption> = registry
        .entries
        .get(resource_id)
        .cloned()
        .unwrap_or_default();
    let mut malformed = None;
    if let Some(value) = tags.get(TAG_KEY) {
        match Exemption::parse(value, Source::Tag) {
            Ok(e) => found.push(e),
            Err(problem) => malformed = Some(format!("ignored tag {TAG_KEY}: {problem}")),
        }
    }
    let relevant: Vec<Exemption> = found.into_iter().filter(|e| e.covers(rule)).collect();
    let policy = &registry.policy;
    let (active, expired): (Vec<Exemption>, Vec<Exemption>) =
        relevant.into_iter().partition(|e| e.is_active(today));
    let mut refused = None;
    for e in active {
        match policy.refusal(&e, today) {
            None => return Check::Active(e),
            Some(why) => {
                refused.get_or_insert((e, why));
            }
        }
    }
    if let Some((e, why)) = refused {
        return Check::Refused(e, why);
    }
    if let Some(expired) = expired.into_iter().max_by_key(|e| e.until) {
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
            check("r1", "bucket-a", &none, &registry, day("2026-12-01")),
            Check::Active(_)
        ));
        assert!(matches!(
            check("r1", "bucket-b", &none, &registry, day("2026-12-01")),
            Check::Expired(_)
        ));
        assert_eq!(
            check("r1", "bucket-c", &none, &registry, day("2026-12-01")),
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

    fn registry_only() -> Registry {
        Registry::default().with_policy(Policy {
            sources: vec![Source::Registry],
            max_days: DEFAULT_MAX_DAYS,
        })
    }

    #[test]
    fn a_registry_only_rule_ignores_a_tag_and_says_why() {
        let t = tags("iam-access-key-behaviour; until=2026-02-01; reason=pen test");
        let c = check(
            "iam-access-key-behaviour",
            "AIDAX",
            &t,
            &registry_only(),
            day("2026-01-15"),
        );
        let Check::Refused(e, why) = c else {
            panic!("expected refused, got {c:?}")
        };
        assert_eq!(
            e.refused_note(&why),
            "exemption not honoured until 2026-02-01: this rule accepts exemptions from the \
             registry only; evaluated normally (tag custos:exempt: pen test)"
        );
    }

    #[test]
    fn a_registry_only_rule_honours_the_registry() {
        let registry = Registry::parse(r#"{"AIDAX": "all; until=2026-02-01; reason=drill"}"#)
            .unwrap()
            .with_policy(registry_only().policy().clone());
        let t = tags("all; until=2026-02-01; reason=self-granted");
        let c = check(
            "iam-access-key-behaviour",
            "AIDAX",
            &t,
            &registry,
            day("2026-01-15"),
        );
        assert!(
            matches!(c, Check::Active(ref e) if e.source == Source::Registry),
            "{c:?}"
        );
    }

    #[test]
    fn all_is_honoured_from_the_registry_but_not_from_a_tag() {
        let t = tags("all; until=2026-02-01; reason=everything");
        let c = check(
            "s3-bucket-encryption",
            "b",
            &t,
            &Registry::default(),
            day("2026-01-15"),
        );
        let Check::Refused(_, why) = c else {
            panic!("expected refused, got {c:?}")
        };
        assert_eq!(why, "`all` is accepted from the registry only");
        let registry = Registry::parse(r#"{"b": "all; until=2026-02-01; reason=r"}"#).unwrap();
        let none = BTreeMap::new();
        assert!(matches!(
            check(
                "s3-bucket-encryption",
                "b",
                &none,
                &registry,
                day("2026-01-15")
            ),
            Check::Active(_)
        ));
    }

    #[test]
    fn an_exemption_further_ahead_than_the_limit_is_not_honoured() {
        let t = tags("r; until=2026-04-02; reason=long");
        // 2026-01-01 + 90 days = 2026-04-01: one day over.
        let c = check("r", "b", &t, &Registry::default(), day("2026-01-01"));
        let Check::Refused(e, why) = c else {
            panic!("expected refused, got {c:?}")
        };
        assert_eq!(why, "91 days ahead, over this rule's limit of 90 days");
        assert!(time_may_change(&e.refused_note(&why)));
        let at_limit = tags("r; until=2026-04-01; reason=long");
        assert!(matches!(
            check("r", "b", &at_limit, &Registry::default(), day("2026-01-01")),
            Check::Active(_)
        ));
        let shorter = Registry::default().with_policy(Policy {
            sources: both_sources(),
            max_days: 30,
        });
        assert!(matches!(
            check("r", "b", &at_limit, &shorter, day("2026-01-01")),
            Check::Refused(..)
        ));
    }

    #[test]
    fn a_long_reason_cut_at_256_characters_keeps_a_too_long_refusal_rechecked() {
        let reason = "r".repeat(300);
        let e = Exemption::parse(
            &format!("r; until=2026-12-31; reason={reason}"),
            Source::Tag,
        )
        .unwrap();
        let note = e.refused_note("364 days ahead, over this rule's limit of 90 days");
        let cut = crate::Annotation::new(note);
        assert!(cut.as_str().chars().count() <= 256);
        assert!(time_may_change(cut.as_str()), "{}", cut.as_str());
    }

    #[test]
    fn only_honoured_or_too_long_exemptions_may_change_with_time() {
        let e = Exemption::parse("r; until=2026-01-31; reason=x", Source::Tag).unwrap();
        assert!(time_may_change(&e.active_note()));
        assert!(!time_may_change(&e.expired_note()));
        assert!(!time_may_change(
            &e.refused_note("`all` is accepted from the registry only")
        ));
        assert!(!time_may_change("bucket has no default encryption"));
    }
}
