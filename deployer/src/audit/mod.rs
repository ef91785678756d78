//! `deployer audit`: a pack's compliance per account and rule, with the non-compliant resources
//! and their annotations, and the exemptions in force. The report is built purely from the
//! readings (`commands::audit` reads them) and `html` renders the report for auditors.

pub mod html;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use config_rule_sdk::exemption::{Exemption, Source};
use serde::Serialize;

use crate::compliance::{Compliance, Matrix, Reading, ResourceResult};
use crate::settings::Settings;

/// The resources behind one account x rule cell that an auditor looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub account: String,
    pub name: String,
    pub region: String,
    pub rule: String,
    /// NON_COMPLIANT first, then NOT_APPLICABLE (exempt or out of scope).
    pub resources: Vec<ResourceResult>,
    pub compliant: usize,
}

/// Where an exemption was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExemptionOrigin {
    /// `[[exemptions]]` in deployer.toml: passed to the rule in every target.
    Settings,
    /// A NOT_APPLICABLE annotation in one account naming an exemption (a `custos:exempt` tag or
    /// the registry).
    Annotation,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ExemptionEntry {
    pub rule: String,
    pub resource_id: String,
    pub origin: ExemptionOrigin,
    /// The account and region of an annotation; empty for settings, which hold everywhere.
    pub account: String,
    pub region: String,
    pub owner: Option<String>,
    pub until: NaiveDate,
    pub reason: String,
    /// `tag custos:exempt` or `exemption registry`.
    pub source: String,
    /// False once `until` has passed. The rule then evaluates the resource normally at its next
    /// evaluation: a configuration change, or its daily scheduled run (change-triggered rules
    /// that honour exemptions get one), so within 24 hours.
    pub active: bool,
    /// Days from the report's date to `until`: 0 on the last day, negative once expired.
    pub days_left: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub pack: String,
    pub description: Option<String>,
    /// The day the report was made (UTC); exemptions are judged active against it.
    pub date: NaiveDate,
    pub matrix: Matrix,
    pub findings: Vec<Finding>,
    pub exemptions: Vec<ExemptionEntry>,
}

/// What an active exemption's NOT_APPLICABLE annotation says, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptionNote {
    pub until: NaiveDate,
    /// `tag custos:exempt` or `exemption registry`.
    pub source: String,
    pub owner: Option<String>,
    pub reason: String,
}

/// Reads the annotation the SDK writes for an active exemption (`Exemption::active_note`):
/// `exempt until DATE (SOURCE[, owner OWNER]): REASON`.
pub fn parse_exemption_note(annotation: &str) -> Option<ExemptionNote> {
    let rest = annotation.strip_prefix("exempt until ")?;
    let (until, rest) = rest.split_once(" (")?;
    let until = NaiveDate::parse_from_str(until, "%Y-%m-%d").ok()?;
    let (inside, reason) = rest.split_once("): ")?;
    let (source, owner) = match inside.split_once(", owner ") {
        Some((source, owner)) => (source, Some(owner.to_owned())),
        None => (inside, None),
    };
    Some(ExemptionNote {
        until,
        source: source.to_owned(),
        owner,
        reason: reason.to_owned(),
    })
}

/// The exemptions of `rules` configured in deployer.toml.
fn configured_exemptions(
    settings: &Settings,
    rules: &BTreeSet<String>,
    today: NaiveDate,
) -> Vec<ExemptionEntry> {
    let mut out = Vec::new();
    for rule in rules {
        let Some(rule_settings) = settings.rules.get(rule) else {
            continue;
        };
        for (resource, entry) in &rule_settings.exemptions {
            // Settings refuse entries the SDK cannot read, so this always parses.
            let Ok(e) = Exemption::parse(entry, Source::Registry) else {
                continue;
            };
            out.push(ExemptionEntry {
                rule: rule.clone(),
                resource_id: resource.clone(),
                origin: ExemptionOrigin::Settings,
                account: String::new(),
                region: String::new(),
                owner: e.owner.clone(),
                until: e.until,
                reason: e.reason.clone(),
                source: Source::Registry.to_string(),
                active: e.is_active(today),
                days_left: (e.until - today).num_days(),
            });
        }
    }
    out
}

/// Every exemption of `rules`: configured in deployer.toml (the registry), and as Config's
/// NOT_APPLICABLE annotations report them per account and region (tags and registry alike).
pub fn exemptions(
    settings: &Settings,
    rules: &BTreeSet<String>,
    accounts: &BTreeMap<String, String>,
    regions: &[String],
    readings: &[Reading],
    today: NaiveDate,
) -> Vec<ExemptionEntry> {
    let mut out = configured_exemptions(settings, rules, today);
    for reading in readings {
        if !accounts.contains_key(&reading.account)
            || !rules.contains(&reading.rule)
            || !regions.contains(&reading.region)
        {
            continue;
        }
        for r in &reading.results {
            let note = (r.compliance == Compliance::NotApplicable)
                .then(|| r.annotation.as_deref().and_then(parse_exemption_note))
                .flatten();
            if let Some(note) = note {
                out.push(ExemptionEntry {
                    rule: reading.rule.clone(),
                    resource_id: r.resource_id.clone(),
                    origin: ExemptionOrigin::Annotation,
                    account: reading.account.clone(),
                    region: reading.region.clone(),
                    owner: note.owner,
                    active: today <= note.until,
                    days_left: (note.until - today).num_days(),
                    until: note.until,
                    reason: note.reason,
                    source: note.source,
                });
            }
        }
    }
    out.sort();
    out
}

/// Builds the report of `pack` over `rules` (the pack's, or the one asked for).
pub fn report(
    pack: &str,
    settings: &Settings,
    rules: &BTreeSet<String>,
    accounts: &BTreeMap<String, String>,
    regions: &[String],
    readings: &[Reading],
    today: NaiveDate,
) -> Report {
    let matrix = Matrix::build(rules, accounts, regions, readings);
    let mut findings = Vec::new();
    let exemptions = exemptions(settings, rules, accounts, regions, readings, today);
    for reading in readings {
        let Some(name) = accounts.get(&reading.account) else {
            continue;
        };
        if !rules.contains(&reading.rule) || !regions.contains(&reading.region) {
            continue;
        }
        let mut resources: Vec<ResourceResult> = reading
            .results
            .iter()
            .filter(|r| r.compliance != Compliance::Compliant)
            .cloned()
            .collect();
        resources
            .sort_by(|a, b| (a.compliance, &a.resource_id).cmp(&(b.compliance, &b.resource_id)));
        if !resources.is_empty() {
            findings.push(Finding {
                account: reading.account.clone(),
                name: name.clone(),
                region: reading.region.clone(),
                rule: reading.rule.clone(),
                compliant: reading
                    .results
                    .iter()
                    .filter(|r| r.compliance == Compliance::Compliant)
                    .count(),
                resources,
            });
        }
    }
    findings
        .sort_by(|a, b| (&a.account, &a.region, &a.rule).cmp(&(&b.account, &b.region, &b.rule)));
    Report {
        pack: pack.to_owned(),
        description: settings.packs.get(pack).and_then(|p| p.description.clone()),
        date: today,
        matrix,
        findings,
        exemptions,
    }
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
