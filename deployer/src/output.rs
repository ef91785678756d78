//! Results on stdout: tables for people, JSON (and nothing else) for programs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::apply::ChangeResult;
use crate::aws::calls::CallCounts;
use crate::compliance::cell_text;
use crate::layout::{self, Screen};
use crate::org::Organization;
use crate::plan::Change;

fn targets(org: &Organization, ous: &BTreeSet<String>, accounts: &BTreeSet<String>) -> String {
    let mut parts: Vec<String> = ous
        .iter()
        .map(|ou| format!("OU {}", org.path(ou)))
        .collect();
    if !accounts.is_empty() {
        let names: Vec<String> = accounts
            .iter()
            .map(|a| match org.accounts.get(a) {
                Some(details) => format!("{a} ({})", details.name),
                None => a.clone(),
            })
            .collect();
        parts.push(names.join(", "));
    }
    parts.join("; ")
}

/// Which instances a stack set update reaches.
fn updated_instances(left_as_is: &BTreeSet<String>) -> String {
    if left_as_is.is_empty() {
        return "every instance".to_owned();
    }
    let accounts: Vec<&str> = left_as_is.iter().map(String::as_str).collect();
    format!(
        "every instance but those of {} (left as is)",
        accounts.join(", ")
    )
}

/// The plan as a table: one line per change.
pub fn plan_table(org: &Organization, changes: &[Change], screen: Screen) -> String {
    let header = [
        "Stack set or pack",
        "Change",
        "Targets",
        "Regions",
        "Instances",
        "Why",
    ];
    let rows = changes
        .iter()
        .map(|change| plan_row(org, change).to_vec())
        .collect();
    layout::table(&header, rows, screen)
}

/// One change of the plan table: stack set or pack, change, targets, regions, instances, why.
fn plan_row(org: &Organization, change: &Change) -> [String; 6] {
    match change {
        Change::UploadArtifact(o) => [
            String::new(),
            "upload code".into(),
            o.account.clone(),
            o.region.clone(),
            String::new(),
            format!("{} is new: {}", o.binary, o.key),
        ],
        Change::CreateStackSet { name } => [
            name.clone(),
            "create stack set".into(),
            String::new(),
            String::new(),
            String::new(),
            "new".into(),
        ],
        Change::UpdateStackSet {
            name,
            reasons,
            left_as_is,
        } => [
            name.clone(),
            "update stack set".into(),
            updated_instances(left_as_is),
            String::new(),
            String::new(),
            reasons.join("; "),
        ],
        Change::CreateInstances(c)
        | Change::UpdateInstances(c)
        | Change::DeleteInstances(c)
        | Change::RepairInstances(c) => {
            let action = match change {
                Change::CreateInstances(_) => "create instances",
                Change::UpdateInstances(_) => "update instances",
                Change::RepairInstances(_) => "repair instances (delete, create again)",
                _ => "delete instances",
            };
            let why = if c.overrides.is_empty() {
                c.reason.clone()
            } else {
                let values: Vec<String> = c
                    .overrides
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect();
                format!("{} ({})", c.reason, values.join(", "))
            };
            [
                c.stack_set.clone(),
                action.into(),
                targets(org, &c.ous, &c.accounts),
                c.regions.iter().cloned().collect::<Vec<_>>().join(", "),
                c.instances.len().to_string(),
                why,
            ]
        }
        Change::DeleteStackSet { name } => [
            name.clone(),
            "delete stack set".into(),
            String::new(),
            String::new(),
            String::new(),
            "no longer in deployer.toml".into(),
        ],
        Change::PutOrganizationPack {
            name,
            region,
            reasons,
            ..
        } => [
            name.clone(),
            "put organization pack".into(),
            "organization".into(),
            region.clone(),
            String::new(),
            reasons.join("; "),
        ],
        Change::DeleteOrganizationPack { name, region } => [
            name.clone(),
            "delete organization pack".into(),
            "organization".into(),
            region.clone(),
            String::new(),
            "no longer in deployer.toml".into(),
        ],
    }
}

/// The line a plan that deletes starts with; red and bold on a terminal.
pub fn deletion_warning(deletions: &crate::guard::Deletions, colour: bool) -> Option<String> {
    let warning = deletions.warning()?;
    Some(if colour {
        format!("\x1b[1;31m{warning}\x1b[0m")
    } else {
        warning
    })
}

#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    /// What the plan deletes (first: a plan that deletes says so first).
    pub deletes: &'a crate::guard::Deletions,
    pub pending: usize,
    pub changes: &'a [Change],
    /// Accounts left exactly as they are this run, and why.
    pub left_as_is: &'a [crate::skipped::Skipped],
    /// Custos-named objects of someone else, left alone.
    pub not_managed: &'a [crate::ownership::Foreign],
    /// Each stack set the plan deploys: its template file (as `deployer render` writes it),
    /// the template's digest and the parameters it is given, for review.
    pub stack_sets: BTreeMap<&'a str, StackSetJson<'a>>,
    /// With `[rollout]`: the waves, their changes and predicted non-compliance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waves: Option<&'a [crate::rollout::preview::WavePreview]>,
}

/// What one stack set is given, in a plan.
#[derive(Debug, Serialize)]
pub struct StackSetJson<'a> {
    pub template: String,
    pub template_sha256: String,
    pub parameters: &'a BTreeMap<String, String>,
}

impl<'a> StackSetJson<'a> {
    /// The stack sets `desired` deploys, by name.
    pub fn of(desired: &'a crate::desired::Desired) -> BTreeMap<&'a str, Self> {
        desired
            .stack_sets
            .iter()
            .map(|(name, spec)| {
                (
                    name.as_str(),
                    Self {
                        template: spec.template.file_name(),
                        template_sha256: crate::digest::of(&spec.body),
                        parameters: &spec.parameters,
                    },
                )
            })
            .collect()
    }
}

/// A run refused before writing anything.
#[derive(Debug, Serialize)]
pub struct RefusedJson<'a> {
    /// `refused`.
    pub status: &'a str,
    pub reasons: &'a [String],
    pub write_calls: u64,
    pub calls: &'a CallCounts,
}

/// One account's outcome over every operation of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountResult {
    pub account: String,
    pub name: String,
    pub succeeded: usize,
    pub failed: usize,
    pub stack_sets: BTreeSet<String>,
    /// The first failure reasons, by stack set and region.
    pub failures: Vec<String>,
}

/// Per-account results of the operations' targets.
pub fn account_results(org: &Organization, results: &[ChangeResult]) -> Vec<AccountResult> {
    let mut by_account: BTreeMap<String, AccountResult> = BTreeMap::new();
    for result in results {
        let stack_set = match &result.change {
            Change::PutOrganizationPack { name, .. }
            | Change::DeleteOrganizationPack { name, .. } => name.as_str(),
            change => change.stack_set().unwrap_or_default(),
        };
        for target in &result.targets {
            let entry = by_account
                .entry(target.account.clone())
                .or_insert_with(|| AccountResult {
                    account: target.account.clone(),
                    name: org
                        .accounts
                        .get(&target.account)
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    ..AccountResult::default()
                });
            entry.stack_sets.insert(stack_set.to_owned());
            if target.status == "SUCCEEDED" {
                entry.succeeded += 1;
            } else {
                entry.failed += 1;
                entry.failures.push(format!(
                    "{stack_set} {}: {} {}",
                    target.region,
                    target.status,
                    target.reason.as_deref().unwrap_or("")
                ));
            }
        }
    }
    by_account.into_values().collect()
}

pub fn accounts_table(
    accounts: &[AccountResult],
    results: &[ChangeResult],
    screen: Screen,
) -> String {
    let header = [
        "Account",
        "Name",
        "Succeeded",
        "Failed",
        "Stack sets",
        "Failures",
    ];
    let rows = accounts
        .iter()
        .map(|a| {
            vec![
                a.account.clone(),
                a.name.clone(),
                a.succeeded.to_string(),
                a.failed.to_string(),
                a.stack_sets.len().to_string(),
                a.failures.first().cloned().unwrap_or_default(),
            ]
        })
        .collect();
    let call_failures: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.error
                .as_ref()
                .map(|e| format!("{}: {e}", crate::apply::label(&r.change)))
        })
        .collect();
    let mut lines = vec![layout::table(&header, rows, screen)];
    lines.extend(call_failures.into_iter().map(|f| format!("failed: {f}")));
    lines.join("\n")
}

#[derive(Debug, Serialize)]
pub struct ApplyJson<'a> {
    /// `no-changes`, `succeeded` or `failed`.
    pub status: &'a str,
    pub changes: &'a [ChangeResult],
    pub accounts: &'a [AccountResult],
    pub calls: &'a CallCounts,
    pub write_calls: u64,
    /// Accounts left exactly as they are this run, and why.
    pub skipped: &'a [crate::skipped::Skipped],
    /// Custos-named objects of someone else, left alone.
    pub not_managed: &'a [crate::ownership::Foreign],
}

/// Doctor's checks: what is missing where.
pub fn doctor_table(checks: &[crate::doctor::Check], screen: Screen) -> String {
    let header = ["Account", "Name", "Region", "Ready", "Missing"];
    let mut rows = Vec::with_capacity(checks.len());
    for c in checks {
        rows.push(vec![
            c.account.clone(),
            c.name.clone(),
            if c.region.is_empty() {
                "(all)".to_owned()
            } else {
                c.region.clone()
            },
            if c.missing.is_empty() {
                "yes".to_owned()
            } else {
                "no".to_owned()
            },
            c.missing.join("; "),
        ]);
    }
    layout::table(&header, rows, screen)
}

/// A cell in the narrow matrix, whose legend says what the short words mean.
fn short_cell_text(cell: &crate::compliance::Cell) -> String {
    use crate::compliance::CellState;
    match cell.state {
        CellState::NonCompliant => format!("{} NC", cell.non_compliant),
        CellState::Compliant => format!("ok ({})", cell.compliant),
        CellState::NotApplicable => format!("n/a ({})", cell.not_applicable),
        CellState::NotDeployed => "-".to_owned(),
        other => other.label().to_owned(),
    }
}

const SHORT_CELL_LEGEND: [&str; 2] = [
    "NC non-compliant resources, ok compliant (resources),",
    "n/a not applicable (resources), - not deployed",
];

/// The account x rule matrix: one line per account and region, one column per rule. On a
/// narrow screen the rules are numbered, with a legend; narrower still, each account and region
/// is a block with one line per rule.
pub fn compliance_table(matrix: &crate::compliance::Matrix, screen: Screen) -> String {
    let account = |row: &crate::compliance::Row| {
        if row.name.is_empty() {
            row.account.clone()
        } else {
            format!("{} ({})", row.account, row.name)
        }
    };
    let rows = |short: bool| -> Vec<Vec<String>> {
        let cell = if short { short_cell_text } else { cell_text };
        let mut out: Vec<Vec<String>> = matrix
            .rows
            .iter()
            .map(|row| {
                let mut line = vec![account(row), row.region.clone()];
                line.extend(
                    matrix
                        .rules
                        .iter()
                        .map(|rule| row.cells.get(rule).map(cell).unwrap_or_default()),
                );
                line
            })
            .collect();
        let mut totals = vec!["total".to_owned(), String::new()];
        totals.extend(matrix.rules.iter().map(|rule| {
            let n = matrix.totals.non_compliant_by_rule.get(rule).unwrap_or(&0);
            if short {
                format!("{n} NC")
            } else {
                format!("{n} non-compliant")
            }
        }));
        out.push(totals);
        out
    };
    let mut header = vec!["Account", "Region"];
    header.extend(matrix.rules.iter().map(String::as_str));
    let full = rows(false);
    if screen.fits(&header, &full) {
        return layout::table(&header, full, screen);
    }
    let codes: Vec<String> = (1..=matrix.rules.len()).map(|i| format!("R{i}")).collect();
    let mut short_header = vec!["Account", "Region"];
    short_header.extend(codes.iter().map(String::as_str));
    let short = rows(true);
    if !screen.fits(&short_header, &short) {
        return layout::table(&header, full, screen);
    }
    let legend: Vec<String> = codes
        .iter()
        .zip(&matrix.rules)
        .map(|(code, rule)| format!("{code} {rule}"))
        .chain(SHORT_CELL_LEGEND.iter().map(|s| (*s).to_owned()))
        .collect();
    format!(
        "{}\n{}",
        layout::table(&short_header, short, screen),
        legend.join("\n")
    )
}

/// The audit for people: the matrix, then each non-compliant or exempt resource, then the
/// exemptions with owner and expiry.
pub fn audit_tables(report: &crate::audit::Report, screen: Screen) -> String {
    let mut findings = Vec::new();
    for f in &report.findings {
        for r in &f.resources {
            findings.push(vec![
                format!("{} ({})", f.account, f.name),
                f.region.clone(),
                f.rule.clone(),
                r.resource_id.clone(),
                serde_json::to_value(r.compliance)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                r.annotation.clone().unwrap_or_default(),
            ]);
        }
    }
    format!(
        "pack {}\n{}\n\nresources to look at\n{}\n\nexemptions\n{}",
        report.pack,
        compliance_table(&report.matrix, screen),
        layout::table(
            &[
                "Account",
                "Region",
                "Rule",
                "Resource",
                "Compliance",
                "Annotation"
            ],
            findings,
            screen
        ),
        exemption_table(&report.exemptions, screen),
    )
}

/// The exemptions with where they come from, owner, expiry and days left.
pub fn exemption_table(exemptions: &[crate::audit::ExemptionEntry], screen: Screen) -> String {
    let rows = exemptions
        .iter()
        .map(|e| {
            vec![
                e.rule.clone(),
                e.resource_id.clone(),
                if e.account.is_empty() {
                    "every target (deployer.toml)".to_owned()
                } else {
                    format!("{} {}", e.account, e.region)
                },
                e.source.clone(),
                e.owner.clone().unwrap_or_default(),
                if e.active {
                    e.until.to_string()
                } else {
                    format!("{} (expired)", e.until)
                },
                if e.active {
                    e.days_left.to_string()
                } else {
                    "0".to_owned()
                },
                e.reason.clone(),
            ]
        })
        .collect();
    layout::table(
        &[
            "Rule",
            "Resource",
            "Where",
            "Source",
            "Owner",
            "Until",
            "Days left",
            "Reason",
        ],
        rows,
        screen,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::desired::InstanceKey;
    use crate::plan::InstanceChange;

    /// Six rules with the seed rules' names, two accounts, one non-compliant cell.
    fn matrix() -> crate::compliance::Matrix {
        use crate::compliance::{Compliance, Matrix, Reading, ResourceResult};
        let rules: BTreeSet<String> = [
            "ec2-cost-context",
            "ec2-instance-baseline",
            "iam-access-key-behaviour",
            "iam-policy-no-admin-wildcards",
            "s3-bucket-encryption",
            "vpc-creation-approved",
        ]
        .map(str::to_owned)
        .into();
        let accounts = BTreeMap::from([
            ("111111111111".to_owned(), "dev".to_owned()),
            ("222222222222".to_owned(), "prod".to_owned()),
        ]);
        let readings: Vec<Reading> = rules
            .iter()
            .map(|rule| Reading {
                account: "111111111111".into(),
                region: "eu-west-1".into(),
                rule: rule.clone(),
                deployed: true,
                results: vec![ResourceResult {
                    resource_type: "AWS::S3::Bucket".into(),
                    resource_id: "logs".into(),
                    compliance: if rule == "s3-bucket-encryption" {
                        Compliance::NonCompliant
                    } else {
                        Compliance::Compliant
                    },
                    annotation: None,
                }],
                unreadable: None,
            })
            .collect();
        Matrix::build(&rules, &accounts, &["eu-west-1".to_owned()], &readings)
    }

    fn widest(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn the_matrix_names_its_rules_in_full_where_they_fit() {
        let text = compliance_table(&matrix(), Screen::fixed(250));
        assert!(widest(&text) <= 250, "{text}");
        assert!(text.contains("| s3-bucket-encryption "), "{text}");
        assert!(text.contains("1 non-compliant"), "{text}");
    }

    #[test]
    fn on_an_ordinary_terminal_the_matrix_numbers_its_rules_with_a_legend() {
        let text = compliance_table(&matrix(), Screen::fixed(100));
        assert!(widest(&text) <= 100, "{text}");
        assert!(text.contains("| R5 "), "{text}");
        assert!(text.contains("\nR5 s3-bucket-encryption\n"), "{text}");
        assert!(text.contains("1 NC"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn on_a_narrow_terminal_each_account_is_a_block_of_rules() {
        let text = compliance_table(&matrix(), Screen::fixed(50));
        assert!(widest(&text) <= 50, "{text}");
        let line = |rule: &str| text.lines().find(|l| l.contains(rule)).unwrap_or_default();
        assert!(
            line("s3-bucket-encryption")
                .trim_end()
                .ends_with("1 non-compliant"),
            "{text}"
        );
        assert!(text.contains("iam-policy-no-admin-wildcards"), "{text}");
    }

    #[test]
    fn wide_output_is_one_line_per_account() {
        let text = compliance_table(&matrix(), Screen::unlimited());
        // Header, two accounts and the totals, each on one line, and five border lines.
        assert_eq!(text.lines().count(), 9, "{text}");
        assert!(text.contains("iam-policy-no-admin-wildcards"), "{text}");
    }

    #[test]
    fn the_plan_table_says_what_each_change_does_where_and_why() {
        let org = crate::org::fixture::organization();
        let changes = vec![
            Change::CreateStackSet {
                name: "custos-pack-baseline".into(),
            },
            Change::CreateInstances(InstanceChange {
                stack_set: "custos-pack-baseline".into(),
                ous: BTreeSet::new(),
                accounts: BTreeSet::from(["222222222222".to_owned()]),
                filter: None,
                regions: BTreeSet::from(["eu-west-1".to_owned()]),
                overrides: BTreeMap::new(),
                instances: BTreeSet::from([InstanceKey {
                    account: "222222222222".into(),
                    region: "eu-west-1".into(),
                }]),
                reason: "new target".into(),
            }),
            Change::PutOrganizationPack {
                name: "custos-baseline".into(),
                region: "eu-west-1".into(),
                reasons: vec![
                    "template changed".into(),
                    "now excludes account 444444444444".into(),
                ],
                excluded_accounts: BTreeSet::from(["444444444444".to_owned()]),
            },
            Change::DeleteOrganizationPack {
                name: "custos-old".into(),
                region: "eu-west-1".into(),
            },
        ];
        insta::assert_snapshot!(plan_table(&org, &changes, Screen::fixed(100)));
    }
}
