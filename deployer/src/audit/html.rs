//! The audit report as one self-contained HTML file: inline CSS, no script, no network.

use serde::Serialize;
use tera::{Context, Tera};

use super::Report;
use crate::compliance::{CellState, cell_text};

const TEMPLATE: &str = include_str!("../../../templates/audit.html.tera");
/// Named `.html` so tera escapes every value (annotations are written by rules, ids by users).
const NAME: &str = "audit.html";

#[derive(Serialize)]
struct CellView {
    rule: String,
    class: &'static str,
    text: String,
}

#[derive(Serialize)]
struct RowView {
    account: String,
    name: String,
    region: String,
    cells: Vec<CellView>,
    non_compliant: usize,
}

fn class(state: CellState) -> &'static str {
    match state {
        CellState::NonCompliant => "nc",
        CellState::Unreadable => "ur",
        CellState::NotDeployed => "nd",
        CellState::NoResults => "nr",
        CellState::NotApplicable => "na",
        CellState::Compliant => "ok",
    }
}

pub fn render(report: &Report) -> Result<String, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_template(NAME, TEMPLATE)?;
    let rows: Vec<RowView> = report
        .matrix
        .rows
        .iter()
        .map(|row| RowView {
            account: row.account.clone(),
            name: row.name.clone(),
            region: row.region.clone(),
            non_compliant: row.non_compliant,
            cells: report
                .matrix
                .rules
                .iter()
                .filter_map(|rule| {
                    row.cells.get(rule).map(|cell| CellView {
                        rule: rule.clone(),
                        class: class(cell.state),
                        text: cell_text(cell),
                    })
                })
                .collect(),
        })
        .collect();
    let accounts: std::collections::BTreeSet<&str> = report
        .matrix
        .rows
        .iter()
        .map(|r| r.account.as_str())
        .collect();
    let mut context = Context::new();
    context.insert("report", report);
    context.insert("rows", &rows);
    context.insert("account_count", &accounts.len());
    // One exemption seen in deployer.toml and in an account's annotations counts once.
    let active: std::collections::BTreeSet<(&str, &str)> = report
        .exemptions
        .iter()
        .filter(|e| e.active)
        .map(|e| (e.rule.as_str(), e.resource_id.as_str()))
        .collect();
    context.insert("active_exemptions", &active.len());
    tera.render(NAME, &context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_self_contained_and_escaped() {
        let mut report = super::super::tests::sample();
        report.findings[0].resources[0].annotation = Some("<script>alert(1)</script>".into());
        let html = render(&report).unwrap();
        for external in ["<script", "src=", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "found {external}");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
        assert!(html.contains("<td class=\"cell nc\""));
        assert!(html.contains("platform-team"));
    }
}
