//! Compliance as read back from Config, and the account x rule matrix built from it. Pure: the
//! readings come from `aws::compliance`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::exit::ExitStatus;

/// A resource's compliance with one rule, as Config reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    NonCompliant,
    Compliant,
    NotApplicable,
    InsufficientData,
}

impl Compliance {
    /// Config's wire value; anything else is not a resource result.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "COMPLIANT" => Some(Self::Compliant),
            "NON_COMPLIANT" => Some(Self::NonCompliant),
            "NOT_APPLICABLE" => Some(Self::NotApplicable),
            "INSUFFICIENT_DATA" => Some(Self::InsufficientData),
            _ => None,
        }
    }
}

/// One resource's latest evaluation by one rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceResult {
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: Compliance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
}

/// What Config said about one rule in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub account: String,
    pub region: String,
    pub rule: String,
    /// False when the rule does not exist there (not deployed, or deleted).
    pub deployed: bool,
    pub results: Vec<ResourceResult>,
    /// Why the account and region could not be read (the role cannot be assumed, Config
    /// refused): nothing is known of the rule there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl Reading {
    /// `rule` in a place that could not be read, and why.
    pub fn unreadable(account: &str, region: &str, rule: &str, reason: &str) -> Self {
        Self {
            account: account.to_owned(),
            region: region.to_owned(),
            rule: rule.to_owned(),
            deployed: false,
            results: Vec::new(),
            unreadable: Some(reason.to_owned()),
        }
    }
}

/// The state of one account x rule cell, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellState {
    /// At least one resource is NON_COMPLIANT.
    NonCompliant,
    /// The account and region could not be read: nothing is known.
    Unreadable,
    /// The rule is not deployed there: nothing is being checked.
    NotDeployed,
    /// Deployed, but no resource has been evaluated yet.
    NoResults,
    /// Every evaluated resource is exempt or out of scope.
    NotApplicable,
    Compliant,
}

impl CellState {
    pub fn label(self) -> &'static str {
        match self {
            Self::NonCompliant => "non-compliant",
            Self::Unreadable => "unreadable",
            Self::NotDeployed => "not deployed",
            Self::NoResults => "no results",
            Self::NotApplicable => "not applicable",
            Self::Compliant => "compliant",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub state: CellState,
    pub non_compliant: usize,
    pub compliant: usize,
    pub not_applicable: usize,
}

impl Cell {
    fn empty(state: CellState) -> Self {
        Self {
            state,
            non_compliant: 0,
            compliant: 0,
            not_applicable: 0,
        }
    }

    fn of(reading: Option<&Reading>) -> Self {
        if reading.is_some_and(|r| r.unreadable.is_some()) {
            return Self::empty(CellState::Unreadable);
        }
        let Some(reading) = reading.filter(|r| r.deployed) else {
            return Self::empty(CellState::NotDeployed);
        };
        let count = |c: Compliance| reading.results.iter().filter(|r| r.compliance == c).count();
        let (non_compliant, compliant, not_applicable) = (
            count(Compliance::NonCompliant),
            count(Compliance::Compliant),
            count(Compliance::NotApplicable),
        );
        let state = if non_compliant > 0 {
            CellState::NonCompliant
        } else if compliant > 0 {
            CellState::Compliant
        } else if not_applicable > 0 {
            CellState::NotApplicable
        } else {
            CellState::NoResults
        };
        Self {
            state,
            non_compliant,
            compliant,
            not_applicable,
        }
    }
}

/// One account in one region, one cell per rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub account: String,
    pub name: String,
    pub region: String,
    pub cells: BTreeMap<String, Cell>,
    /// NON_COMPLIANT resources over every rule of the row.
    pub non_compliant: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// NON_COMPLIANT resources per rule, over every account and region.
    pub non_compliant_by_rule: BTreeMap<String, usize>,
    pub non_compliant: usize,
    pub compliant: usize,
    pub not_applicable: usize,
    /// Cells (account, region, rule) in each state.
    pub cells: BTreeMap<String, usize>,
}

/// Every target account and region against every rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    pub rules: Vec<String>,
    pub rows: Vec<Row>,
    pub totals: Totals,
    /// The accounts and regions that could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

/// An account and region whose compliance could not be read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unreadable {
    pub account: String,
    pub region: String,
    pub reason: String,
}

impl Matrix {
    /// Builds the matrix of `rules` over `accounts` (id -> name) x `regions`. A cell with no
    /// reading is `not deployed`; readings of other rules, accounts or regions are ignored.
    pub fn build(
        rules: &BTreeSet<String>,
        accounts: &BTreeMap<String, String>,
        regions: &[String],
        readings: &[Reading],
    ) -> Self {
        let by_key: BTreeMap<(&str, &str, &str), &Reading> = readings
            .iter()
            .map(|r| ((r.account.as_str(), r.region.as_str(), r.rule.as_str()), r))
            .collect();
        let mut totals = Totals::default();
        let mut rows = Vec::new();
        for (account, name) in accounts {
            for region in regions {
                let cells: BTreeMap<String, Cell> = rules
                    .iter()
                    .map(|rule| {
                        let reading =
                            by_key.get(&(account.as_str(), region.as_str(), rule.as_str()));
                        (rule.clone(), Cell::of(reading.copied()))
                    })
                    .collect();
                for (rule, cell) in &cells {
                    *totals
                        .non_compliant_by_rule
                        .entry(rule.clone())
                        .or_default() += cell.non_compliant;
                    totals.non_compliant += cell.non_compliant;
                    totals.compliant += cell.compliant;
                    totals.not_applicable += cell.not_applicable;
                    *totals
                        .cells
                        .entry(cell.state.label().to_owned())
                        .or_default() += 1;
                }
                rows.push(Row {
                    account: account.clone(),
                    name: name.clone(),
                    region: region.clone(),
                    non_compliant: cells.values().map(|c| c.non_compliant).sum(),
                    cells,
                });
            }
        }
        let unreadable: BTreeSet<Unreadable> = readings
            .iter()
            .filter(|r| accounts.contains_key(&r.account) && regions.contains(&r.region))
            .filter_map(|r| {
                r.unreadable.as_ref().map(|reason| Unreadable {
                    account: r.account.clone(),
                    region: r.region.clone(),
                    reason: reason.clone(),
                })
            })
            .collect();
        Self {
            rules: rules.iter().cloned().collect(),
            rows,
            totals,
            unreadable: unreadable.into_iter().collect(),
        }
    }
}

/// A report: non-compliance is its content, not a failure of the command; a place that could
/// not be read asks for attention.
pub fn exit_status(matrix: &Matrix) -> ExitStatus {
    if matrix.unreadable.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Attention
    }
}

/// One compliance cell for people: the count that matters, or why there is none.
pub fn cell_text(cell: &Cell) -> String {
    match cell.state {
        CellState::NonCompliant => format!("{} non-compliant", cell.non_compliant),
        CellState::Compliant => format!("compliant ({})", cell.compliant),
        CellState::NotApplicable => format!("n/a ({})", cell.not_applicable),
        other => other.label().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, compliance: Compliance) -> ResourceResult {
        ResourceResult {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: id.into(),
            compliance,
            annotation: None,
        }
    }

    fn reading(account: &str, rule: &str, results: Vec<ResourceResult>) -> Reading {
        Reading {
            account: account.into(),
            region: "eu-west-1".into(),
            rule: rule.into(),
            deployed: true,
            results,
            unreadable: None,
        }
    }

    #[test]
    fn cells_count_resources_and_take_the_worst_state() {
        let rules = BTreeSet::from(["a-rule".to_owned(), "b-rule".to_owned()]);
        let accounts = BTreeMap::from([
            ("111111111111".to_owned(), "dev".to_owned()),
            ("222222222222".to_owned(), "prod".to_owned()),
        ]);
        let readings = vec![
            reading(
                "111111111111",
                "a-rule",
                vec![
                    result("x", Compliance::NonCompliant),
                    result("y", Compliance::NonCompliant),
                    result("z", Compliance::Compliant),
                ],
            ),
            reading(
                "111111111111",
                "b-rule",
                vec![result("x", Compliance::NotApplicable)],
            ),
            reading(
                "222222222222",
                "a-rule",
                vec![result("p", Compliance::Compliant)],
            ),
            reading("222222222222", "b-rule", vec![]),
            // Another region and another rule: not part of the matrix.
            Reading {
                region: "us-east-1".into(),
                ..reading(
                    "222222222222",
                    "a-rule",
                    vec![result("q", Compliance::NonCompliant)],
                )
            },
            reading(
                "222222222222",
                "c-rule",
                vec![result("q", Compliance::NonCompliant)],
            ),
        ];
        let m = Matrix::build(&rules, &accounts, &["eu-west-1".to_owned()], &readings);
        let states: Vec<(&str, &str, CellState, usize)> = m
            .rows
            .iter()
            .flat_map(|row| {
                row.cells
                    .iter()
                    .map(|(rule, c)| (row.name.as_str(), rule.as_str(), c.state, c.non_compliant))
            })
            .collect();
        assert_eq!(
            states,
            [
                ("dev", "a-rule", CellState::NonCompliant, 2),
                ("dev", "b-rule", CellState::NotApplicable, 0),
                ("prod", "a-rule", CellState::Compliant, 0),
                ("prod", "b-rule", CellState::NoResults, 0),
            ]
        );
        assert_eq!(m.rows[0].non_compliant, 2);
        assert_eq!(m.totals.non_compliant, 2);
        assert_eq!(m.totals.compliant, 2);
        assert_eq!(m.totals.non_compliant_by_rule["a-rule"], 2);
        assert_eq!(m.totals.non_compliant_by_rule["b-rule"], 0);
    }

    #[test]
    fn a_rule_missing_from_an_account_is_not_deployed() {
        let rules = BTreeSet::from(["a-rule".to_owned()]);
        let accounts = BTreeMap::from([("111111111111".to_owned(), "dev".to_owned())]);
        let mut absent = reading("111111111111", "a-rule", vec![]);
        absent.deployed = false;
        let regions = ["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let m = Matrix::build(&rules, &accounts, &regions, &[absent]);
        assert_eq!(m.rows.len(), 2);
        assert!(
            m.rows
                .iter()
                .all(|r| r.cells["a-rule"].state == CellState::NotDeployed)
        );
        assert_eq!(m.totals.cells["not deployed"], 2);
    }

    #[test]
    fn an_account_that_cannot_be_read_is_unreadable_with_its_reason_not_compliant() {
        let rules = BTreeSet::from(["a-rule".to_owned(), "b-rule".to_owned()]);
        let accounts = BTreeMap::from([
            ("111111111111".to_owned(), "dev".to_owned()),
            ("222222222222".to_owned(), "prod".to_owned()),
        ]);
        let reason = "AccessDenied: not authorized to perform sts:AssumeRole";
        let readings = vec![
            reading(
                "111111111111",
                "a-rule",
                vec![result("x", Compliance::Compliant)],
            ),
            Reading::unreadable("222222222222", "eu-west-1", "a-rule", reason),
            Reading::unreadable("222222222222", "eu-west-1", "b-rule", reason),
        ];
        let m = Matrix::build(&rules, &accounts, &["eu-west-1".to_owned()], &readings);
        let prod = &m.rows[1];
        assert!(
            prod.cells
                .values()
                .all(|c| c.state == CellState::Unreadable)
        );
        assert_eq!(m.totals.cells["unreadable"], 2);
        assert_eq!(
            m.unreadable,
            [Unreadable {
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                reason: reason.into(),
            }]
        );
    }
}
