//! The preview for people (a table) and for tools (JSON).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Outcome, Row};
use crate::aws::calls::CallCounts;
use crate::layout::{self, Screen};

/// `--output json`: every row, the count of each outcome, and the calls made (no writes).
#[derive(Debug, Serialize)]
pub struct PreviewJson<'a> {
    pub rows: &'a [Row],
    pub outcomes: BTreeMap<Outcome, usize>,
    pub write_calls: u64,
    pub calls: &'a CallCounts,
}

impl<'a> PreviewJson<'a> {
    pub fn new(rows: &'a [Row], calls: &'a CallCounts) -> Self {
        Self {
            rows,
            outcomes: outcomes(rows),
            write_calls: calls.total_writes(),
            calls,
        }
    }
}

/// How many rows have each outcome.
pub fn outcomes(rows: &[Row]) -> BTreeMap<Outcome, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.outcome).or_default() += 1;
    }
    counts
}

/// One line per resource; accounts with names where the organisation has them.
pub fn table(rows: &[Row], names: &BTreeMap<String, String>, screen: Screen) -> String {
    let lines = rows
        .iter()
        .map(|row| {
            let account = match names.get(&row.account) {
                Some(name) if !name.is_empty() => format!("{} ({name})", row.account),
                _ => row.account.clone(),
            };
            vec![
                account,
                row.region.clone(),
                row.rule.clone(),
                row.resource.clone(),
                row.outcome.as_str().to_owned(),
                row.annotation.clone(),
            ]
        })
        .collect();
    layout::table(
        &[
            "Account",
            "Region",
            "Rule",
            "Resource",
            "Compliance",
            "Annotation",
        ],
        lines,
        screen,
    )
}

/// `12 COMPLIANT, 3 NON_COMPLIANT, ...` for the closing line.
pub fn summary(rows: &[Row]) -> String {
    let parts: Vec<String> = outcomes(rows)
        .iter()
        .map(|(outcome, n)| format!("{n} {}", outcome.as_str()))
        .collect();
    if parts.is_empty() {
        "nothing recorded to evaluate".to_owned()
    } else {
        parts.join(", ")
    }
}
