//! The pure part: what each active key did in the two windows, and what that says about its user.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use config_rule_sdk::{Finding, ResourceKey, Verdict};
use serde::{Deserialize, Serialize};

use crate::params::Params;

/// The resource type this rule reports on (Config's resource id of a user is its `UserId`).
pub const RESOURCE_TYPE: &str = "AWS::IAM::User";

/// How far back CloudTrail event history (`LookupEvents`) reaches.
pub const HISTORY_DAYS: i64 = 90;

/// The two windows of one run: `[baseline_start, recent_start)` and `[recent_start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Windows {
    pub baseline_start: DateTime<Utc>,
    pub recent_start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Windows {
    /// The windows of a run that looks at `end`; the baseline is cut where event history ends.
    pub fn ending_at(end: DateTime<Utc>, params: &Params) -> Self {
        let recent_start = end - Duration::hours(i64::from(params.recent_hours.0));
        let wanted = recent_start - Duration::days(i64::from(params.baseline_days.0));
        let oldest = end - Duration::days(HISTORY_DAYS);
        Self {
            baseline_start: wanted.max(oldest),
            recent_start,
            end,
        }
    }

    /// "24 h".
    pub fn recent_text(&self) -> String {
        format!("{} h", (self.end - self.recent_start).num_hours())
    }

    /// "30-day", or "88.9-day" when history cut it.
    pub fn baseline_text(&self) -> String {
        let hours = (self.recent_start - self.baseline_start).num_hours();
        if hours % 24 == 0 {
            format!("{}-day", hours / 24)
        } else {
            #[expect(
                clippy::cast_precision_loss,
                reason = "at most 90 days of hours, exact in f64"
            )]
            let days = hours as f64 / 24.0;
            format!("{days:.1}-day")
        }
    }

    /// A key created after the baseline started has no full baseline to compare with.
    pub fn is_young(&self, created: Option<DateTime<Utc>>) -> bool {
        created.is_some_and(|c| c > self.baseline_start)
    }
}

/// The services (CloudTrail `eventSource`) one window showed for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scan {
    #[serde(default)]
    pub sources: BTreeSet<String>,
    /// Every page was read or, for a baseline, every service looked for was found. False when
    /// the run's `maxLookupRequests` ran out first.
    pub complete: bool,
}

/// What inline remediation did to a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
pub enum Deactivation {
    Deactivated,
    /// Found inactive when re-read: someone was faster.
    AlreadyInactive,
    /// An active exemption on the user; the note names owner, reason and expiry.
    Exempt(String),
    Failed(String),
    /// This run is not in the deactivation region (named): it only reports.
    OtherRegion(String),
    /// `maxDeactivationsPerDay` (given) keys were already deactivated in the account today.
    DailyCapReached(u32),
    /// A dry run (`deactivationDryRun`): the key would be deactivated; nothing was changed.
    WouldDeactivate,
    /// Not attempted, for the reason given (the day's count could not be read or kept).
    Skipped(String),
}

/// One active access key and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyFacts {
    pub access_key_id: String,
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    pub recent: Scan,
    /// Read only when the recent window shows activity and the key is older than both windows.
    #[serde(default)]
    pub baseline: Option<Scan>,
    #[serde(default)]
    pub deactivation: Option<Deactivation>,
}

/// A user, its tags (for exemptions) and its active keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFacts {
    pub user_name: String,
    pub user_id: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub keys: Vec<KeyFacts>,
}

/// Everything one run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Facts {
    pub windows: Windows,
    pub users: Vec<UserFacts>,
}

/// Whether the baseline must be read: the key was active recently and is old enough to judge.
pub fn needs_baseline(created: Option<DateTime<Utc>>, recent: &Scan, windows: &Windows) -> bool {
    !recent.sources.is_empty() && !windows.is_young(created)
}

/// What one key's activity means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReport<'a> {
    /// No call in the recent window.
    Quiet,
    /// Every recent service was seen in the baseline.
    Familiar { services: usize },
    /// Services called recently and never in the (fully read) baseline.
    New { services: Vec<&'a str> },
    /// Active recently, but created after the baseline started: not judged yet.
    Young { created: DateTime<Utc> },
    /// The lookups ran out of `maxLookupRequests` before the answer was known.
    Unfinished,
}

/// Judges one key. Only a fully read baseline can make services new.
pub fn judge<'a>(key: &'a KeyFacts, windows: &Windows) -> KeyReport<'a> {
    let recent = &key.recent;
    if recent.sources.is_empty() {
        return if recent.complete {
            KeyReport::Quiet
        } else {
            KeyReport::Unfinished
        };
    }
    if let Some(created) = key.created.filter(|_| windows.is_young(key.created)) {
        return KeyReport::Young { created };
    }
    let Some(baseline) = &key.baseline else {
        return KeyReport::Unfinished;
    };
    let new: Vec<&str> = recent
        .sources
        .difference(&baseline.sources)
        .map(String::as_str)
        .collect();
    match (new.is_empty(), baseline.complete, recent.complete) {
        (false, true, _) => KeyReport::New { services: new },
        (true, _, true) => KeyReport::Familiar {
            services: recent.sources.len(),
        },
        _ => KeyReport::Unfinished,
    }
}

fn services(n: usize) -> String {
    if n == 1 {
        "1 service".to_owned()
    } else {
        format!("{n} services")
    }
}

fn deactivation_text(d: Option<&Deactivation>) -> String {
    match d {
        None => String::new(),
        Some(Deactivation::Deactivated) => " (key deactivated)".to_owned(),
        Some(Deactivation::AlreadyInactive) => " (key already inactive)".to_owned(),
        Some(Deactivation::Exempt(note)) => format!(" (not deactivated: {note})"),
        Some(Deactivation::Failed(why)) => format!(" (deactivation not confirmed: {why})"),
        Some(Deactivation::OtherRegion(home)) => {
            format!(" (not deactivated: keys are deactivated from {home} only)")
        }
        Some(Deactivation::DailyCapReached(max)) => format!(
            " (not deactivated: {max} keys already deactivated in this account today, the most maxDeactivationsPerDay allows)"
        ),
        Some(Deactivation::WouldDeactivate) => {
            " (dry run: would be deactivated, nothing changed)".to_owned()
        }
        Some(Deactivation::Skipped(why)) => format!(" (not deactivated: {why})"),
    }
}

/// The verdict on one user, from its active keys. The most urgent keys are named first, so they
/// survive the 256-character cut of the annotation.
pub fn judge_user(user: &UserFacts, windows: &Windows, params: &Params) -> Verdict {
    if user.keys.is_empty() {
        return Verdict::not_applicable("no active access keys");
    }
    let mut parts: Vec<(u8, String)> = user
        .keys
        .iter()
        .map(|key| {
            let id = &key.access_key_id;
            match judge(key, windows) {
                KeyReport::New { services: new } => (
                    0,
                    format!(
                        "key {id} called {} not seen in its {} baseline: {}{}",
                        services(new.len()),
                        windows.baseline_text(),
                        new.join(", "),
                        deactivation_text(key.deactivation.as_ref())
                    ),
                ),
                KeyReport::Unfinished => (
                    1,
                    format!(
                        "key {id}: activity not fully read within maxLookupRequests ({}); raise it or exempt the user",
                        params.max_lookup_requests.0
                    ),
                ),
                KeyReport::Young { created } => (
                    2,
                    format!(
                        "key {id} created {}, inside the windows: not judged until it has a {} baseline",
                        created.format("%Y-%m-%d"),
                        windows.baseline_text()
                    ),
                ),
                KeyReport::Quiet => (
                    3,
                    format!("key {id}: no activity in the last {}", windows.recent_text()),
                ),
                KeyReport::Familiar { services: n } => (
                    3,
                    format!(
                        "key {id}: {}, all seen in the {} baseline",
                        services(n),
                        windows.baseline_text()
                    ),
                ),
            }
        })
        .collect();
    parts.sort_by_key(|(rank, _)| *rank);
    let worst = parts.first().map_or(3, |(rank, _)| *rank);
    let all_young = parts.iter().all(|(rank, _)| *rank == 2);
    let text = parts
        .into_iter()
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join("; ");
    match worst {
        0 | 1 => Verdict::non_compliant(text),
        _ if all_young => Verdict::not_applicable(text),
        _ => Verdict::compliant().because(text),
    }
}

/// One finding per user, with the user's tags for exemptions.
pub fn evaluate(facts: &Facts, params: &Params) -> Vec<Finding> {
    facts
        .users
        .iter()
        .map(|user| {
            Finding::new(
                ResourceKey::new(RESOURCE_TYPE, &user.user_id),
                judge_user(user, &facts.windows, params),
            )
            .with_tags(user.tags.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Count;
    use config_rule_sdk::Compliance;
    use config_rule_sdk::params::Parsed;

    fn params() -> Params {
        Params {
            recent_hours: Count(24),
            baseline_days: Count(30),
            deactivate: Parsed(false),
            max_lookup_requests: Count(600),
            deactivation_region: crate::params::RegionName("us-east-1".into()),
            max_deactivations_per_day: Count(5),
            dry_run: Parsed(false),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn windows() -> Windows {
        Windows::ending_at(at("2026-06-01T12:00:00Z"), &params())
    }

    fn scan(sources: &[&str], complete: bool) -> Scan {
        Scan {
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            complete,
        }
    }

    fn key(recent: Scan, baseline: Option<Scan>) -> KeyFacts {
        KeyFacts {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            created: Some(at("2025-01-01T00:00:00Z")),
            recent,
            baseline,
            deactivation: None,
        }
    }

    #[test]
    fn the_windows_follow_the_parameters_and_history_cuts_the_baseline() {
        let w = windows();
        assert_eq!(w.recent_start, at("2026-05-31T12:00:00Z"));
        assert_eq!(w.baseline_start, at("2026-05-01T12:00:00Z"));
        assert_eq!(
            (w.recent_text(), w.baseline_text()),
            ("24 h".into(), "30-day".into())
        );

        let long = Params {
            recent_hours: Count(25),
            baseline_days: Count(89),
            ..params()
        };
        let w = Windows::ending_at(at("2026-06-01T12:00:00Z"), &long);
        assert_eq!(
            w.baseline_start,
            at("2026-03-03T12:00:00Z"),
            "90 days before the end"
        );
        assert_eq!(w.baseline_text(), "89.0-day");
    }

    #[test]
    fn new_services_need_a_fully_read_baseline() {
        let w = windows();
        let k = key(scan(&["s3", "ec2", "iam"], true), Some(scan(&["s3"], true)));
        assert_eq!(
            judge(&k, &w),
            KeyReport::New {
                services: vec!["ec2", "iam"]
            }
        );
        let k = key(scan(&["s3", "ec2"], true), Some(scan(&["s3"], false)));
        assert_eq!(judge(&k, &w), KeyReport::Unfinished);
    }

    #[test]
    fn new_services_found_in_a_partly_read_recent_window_still_count() {
        let k = key(scan(&["ec2"], false), Some(scan(&[], true)));
        assert_eq!(
            judge(&k, &windows()),
            KeyReport::New {
                services: vec!["ec2"]
            }
        );
    }

    #[test]
    fn familiar_services_need_a_fully_read_recent_window() {
        let w = windows();
        let k = key(scan(&["s3"], true), Some(scan(&["s3"], true)));
        assert_eq!(judge(&k, &w), KeyReport::Familiar { services: 1 });
        let k = key(scan(&["s3"], false), Some(scan(&["s3"], true)));
        assert_eq!(judge(&k, &w), KeyReport::Unfinished);
    }

    #[test]
    fn quiet_young_and_unread_keys() {
        let w = windows();
        assert_eq!(judge(&key(scan(&[], true), None), &w), KeyReport::Quiet);
        assert_eq!(
            judge(&key(scan(&[], false), None), &w),
            KeyReport::Unfinished
        );
        let mut young = key(scan(&["s3"], true), None);
        young.created = Some(at("2026-05-20T00:00:00Z"));
        assert_eq!(
            judge(&young, &w),
            KeyReport::Young {
                created: at("2026-05-20T00:00:00Z")
            }
        );
        assert!(!needs_baseline(young.created, &young.recent, &w));
        let old_and_busy = key(scan(&["s3"], true), None);
        assert!(needs_baseline(
            old_and_busy.created,
            &old_and_busy.recent,
            &w
        ));
        assert_eq!(
            judge(&old_and_busy, &w),
            KeyReport::Unfinished,
            "baseline not read"
        );
    }

    #[test]
    fn a_user_is_named_by_its_worst_key_first() {
        let mut quiet = key(scan(&[], true), None);
        quiet.access_key_id = "AKIAQUIET".into();
        let mut new = key(
            scan(&["ec2.amazonaws.com", "s3.amazonaws.com"], true),
            Some(scan(&["s3.amazonaws.com"], true)),
        );
        new.access_key_id = "AKIANEW".into();
        new.deactivation = Some(Deactivation::Deactivated);
        let user = UserFacts {
            user_name: "ci".into(),
            user_id: "AIDACI".into(),
            tags: BTreeMap::new(),
            keys: vec![quiet, new],
        };
        let v = judge_user(&user, &windows(), &params());
        assert_eq!(v.compliance, Compliance::NonCompliant);
        assert_eq!(
            v.annotation.unwrap().as_str(),
            "key AKIANEW called 1 service not seen in its 30-day baseline: ec2.amazonaws.com (key deactivated); key AKIAQUIET: no activity in the last 24 h"
        );
    }

    #[test]
    fn users_without_active_keys_or_with_only_young_ones_are_not_applicable() {
        let mut user = UserFacts {
            user_name: "u".into(),
            user_id: "AIDAU".into(),
            tags: BTreeMap::new(),
            keys: vec![],
        };
        let v = judge_user(&user, &windows(), &params());
        assert_eq!(v.compliance, Compliance::NotApplicable);
        let mut young = key(scan(&["s3.amazonaws.com"], true), None);
        young.created = Some(at("2026-05-31T00:00:00Z"));
        user.keys.push(young);
        let v = judge_user(&user, &windows(), &params());
        assert_eq!(v.compliance, Compliance::NotApplicable, "{v:?}");
        user.keys.push(key(scan(&[], true), None));
        let v = judge_user(&user, &windows(), &params());
        assert_eq!(v.compliance, Compliance::Compliant, "{v:?}");
    }
}
