//! The one table `make bench` prints: every figure measured in the run, beside its anchor (the
//! side-by-side rdklib run, or DESIGN.md's reference values where no anchor can run here), the
//! ratio, the budget, and whether it is met.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// A row of the table.
struct Row {
    figure: String,
    custos: String,
    anchor: String,
    ratio: String,
    budget: String,
    met: Option<bool>,
}

fn row(
    figure: &str,
    custos: String,
    anchor: &str,
    ratio: String,
    budget: &str,
    met: Option<bool>,
) -> Row {
    Row {
        figure: figure.to_owned(),
        custos,
        anchor: anchor.to_owned(),
        ratio,
        budget: budget.to_owned(),
        met,
    }
}

fn read(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Items per second of criterion's estimate: one iteration evaluates the whole corpus.
fn criterion_rate(criterion: &Path, rule: &str, items: f64) -> Result<f64> {
    let estimates = read(
        &criterion
            .join("evaluate")
            .join(rule)
            .join("new/estimates.json"),
    )?;
    let ns = estimates["median"]["point_estimate"]
        .as_f64()
        .context("criterion's median estimate")?;
    Ok(items / (ns / 1e9))
}

fn thousands(v: f64) -> String {
    format!("{:.0}k", v / 1000.0)
}

fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "-",
    }
}

/// Builds the table from the run's result files in `dir` and criterion's output.
#[expect(
    clippy::too_many_lines,
    reason = "one row after the other, in table order"
)]
pub fn table(dir: &Path, criterion: &Path, zip: &Path) -> Result<String> {
    let mut rows = Vec::new();

    // 1. Throughput, side by side with rdklib on the same corpus.
    let rdklib = read(&dir.join("rdklib.json"))?;
    let rust_tally = read(&dir.join("corpus/rust-tally.json"))?;
    // Budgets: items/s on one core, and the ratio to rdklib on the same corpus.
    for (rule, label, budget) in [
        ("s3-bucket-encryption", "S3", 250_000.0),
        ("ec2-instance-baseline", "EC2", 100_000.0),
    ] {
        let py = &rdklib["rules"][rule];
        #[expect(clippy::cast_precision_loss, reason = "a corpus size")]
        let items = py["items"].as_u64().context("rdklib item count")? as f64;
        let custos = criterion_rate(criterion, rule, items)?;
        let anchor = py["items_per_second"].as_f64().context("rdklib rate")?;
        let ratio = custos / anchor;
        rows.push(row(
            &format!("{label} evaluation throughput, items/s on one core, criterion median ({items:.0} items)"),
            thousands(custos),
            &format!("rdklib {} (measured)", thousands(anchor)),
            format!("{ratio:.1}x"),
            &format!(">= {}, >= 5x rdklib", thousands(budget)),
            Some(custos >= budget && ratio >= 5.0),
        ));
        let agree = py["tally"] == rust_tally[rule];
        rows.push(row(
            &format!("{label} verdicts, Custos vs rdklib port"),
            compact(&rust_tally[rule]),
            &compact(&py["tally"]),
            String::new(),
            "identical",
            Some(agree),
        ));
    }

    // 2. Cold start and memory.
    let cold = read(&dir.join("cold-start.json"))?;
    let median = cold["init_median_ms"].as_f64().unwrap_or(f64::NAN);
    let p90 = cold["init_p90_ms"].as_f64().unwrap_or(f64::NAN);
    let starts = cold["starts"].as_u64().unwrap_or(0);
    rows.push(row(
        &format!("Lambda init: exec -> first Runtime API poll, median of {starts} starts (ms)"),
        format!("{median:.2}"),
        "Rust hello-world 13.8, Python 80 (reference, real Lambda p50)",
        format!("{:.2}x of 13.8", median / 13.8),
        "<= 10",
        Some(median <= 10.0),
    ));
    rows.push(row(
        "Lambda init p90 (ms)",
        format!("{p90:.2}"),
        "-",
        String::new(),
        "-",
        None,
    ));
    let contacts = cold["aws_contacts_during_init"]
        .as_u64()
        .unwrap_or(u64::MAX);
    let after = cold["first_aws_contact_after_first_poll_ms"]
        .as_f64()
        .unwrap_or(-1.0);
    rows.push(row(
        "AWS endpoint requests during init (all starts)",
        format!("{contacts}; first call {after:.1} ms after first poll"),
        "-",
        String::new(),
        "0, after the first poll",
        Some(contacts == 0 && after >= 0.0),
    ));
    let evaluations = cold["evaluations"].as_u64().unwrap_or(0);
    let errors = cold["evaluation_errors"].as_u64().unwrap_or(0);
    #[expect(clippy::cast_precision_loss, reason = "kilobytes")]
    let rss_mb = cold["peak_rss_kb"].as_u64().unwrap_or(0) as f64 / 1024.0;
    rows.push(row(
        &format!("Peak RSS (VmHWM) over {evaluations} evaluations via the Runtime API (MB)"),
        format!("{rss_mb:.1} ({errors} errors)"),
        "Python 36 (reference)",
        format!("{:.2}x", rss_mb / 36.0),
        "<= 20",
        Some(rss_mb <= 20.0 && errors == 0 && evaluations > 0),
    ));
    rows.push(row(
        "  PutEvaluations calls / items during those evaluations",
        format!(
            "{} / {}",
            cold["put_evaluations_calls"], cold["put_evaluations_items"]
        ),
        "-",
        String::new(),
        "one call per evaluation",
        Some(cold["put_evaluations_items"].as_u64() == Some(evaluations)),
    ));
    #[expect(clippy::cast_precision_loss, reason = "bytes")]
    let binary_mb = cold["binary_bytes"].as_u64().unwrap_or(0) as f64 / 1e6;
    match std::fs::metadata(zip) {
        Ok(m) => {
            #[expect(clippy::cast_precision_loss, reason = "bytes")]
            let mb = m.len() as f64 / 1e6;
            rows.push(row(
                "s3-bucket-encryption Lambda zip, arm64 (cargo-lambda) (MB)",
                format!("{mb:.2}"),
                "SDK-based Rust ~11 (reference)",
                format!("{:.2}x", mb / 11.0),
                "<= 6",
                Some(mb <= 6.0),
            ));
        }
        Err(_) => rows.push(row(
            "s3-bucket-encryption Lambda zip (MB)",
            format!("no zip ({} absent: run `make package`)", zip.display()),
            "SDK-based Rust ~11 (reference)",
            String::new(),
            "<= 6",
            None,
        )),
    }
    rows.push(row(
        "  x86_64 release binary measured above, unzipped (MB)",
        format!("{binary_mb:.2}"),
        "-",
        String::new(),
        "-",
        None,
    ));

    // 3. API-call accounting.
    let accounting = read(&dir.join("accounting.json"))?;
    let runs = accounting["periodic"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let field = |key: &str| -> Vec<String> { runs.iter().map(|r| r[key].to_string()).collect() };
    let exact = runs.iter().all(|r| {
        r["put_evaluations_calls"] == r["expected_calls"]
            && r["largest_batch"].as_u64().is_some_and(|b| b <= 100)
            && r["results_in_config"] == r["resources"]
    });
    rows.push(row(
        &format!(
            "PutEvaluations calls, periodic rule over N = {} (emulator)",
            field("resources").join("/")
        ),
        field("put_evaluations_calls").join("/"),
        &format!("ceil(N/100) = {}", field("expected_calls").join("/")),
        String::new(),
        "exactly ceil(N/100)",
        Some(exact && !runs.is_empty()),
    ));
    rows.push(row(
        "  largest batch / results Config then holds",
        format!(
            "{} / {}",
            field("largest_batch").join("/"),
            field("results_in_config").join("/")
        ),
        "rdklib ignores partial failures (reference)",
        String::new(),
        "<= 100 / N",
        Some(exact && !runs.is_empty()),
    ));
    let pages: Option<u64> = std::fs::read_to_string(dir.join("pagination.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|figure| figure["ListAccountsForParent"].as_u64());
    rows.push(row(
        "Organisation pages for 1,000 accounts at AWS's 20 per page (mocked Organizations)",
        pages.map_or("not measured".to_owned(), |p| p.to_string()),
        "50 (DESIGN budget)",
        String::new(),
        "50",
        Some(pages == Some(50)),
    ));
    if let Some(org) = accounting.get("organisation").filter(|o| !o.is_null()) {
        let members = org["member_accounts"].as_u64().unwrap_or(0);
        let first = &org["first"];
        let again = &org["again"];
        let assume = first["assume_role_calls"].as_u64().unwrap_or(u64::MAX);
        let assume_again = again["assume_role_calls"].as_u64().unwrap_or(u64::MAX);
        #[expect(clippy::cast_precision_loss, reason = "counts")]
        let per_account = assume as f64 / members.max(1) as f64;
        rows.push(row(
            &format!("deployer apply --org, {members} member accounts, 1 region, 1 rule: AssumeRole calls (first / re-apply)"),
            format!("{assume} / {assume_again}"),
            &format!("{members} accounts"),
            format!("{per_account:.2} per account"),
            "<= 1 per account",
            Some(assume <= members && assume_again <= members),
        ));
        let writes = again["write_calls"].as_u64().unwrap_or(u64::MAX);
        rows.push(row(
            "  write calls: first apply / no-op re-apply",
            format!("{} / {writes}", first["write_calls"]),
            "-",
            String::new(),
            "0 on re-apply",
            Some(writes == 0 && again["status"] == "no-changes"),
        ));
        let seconds = again["seconds"].as_f64().unwrap_or(f64::NAN);
        rows.push(row(
            "  wall time: first apply / no-op re-apply (s)",
            format!(
                "{:.0} / {seconds:.0}",
                first["seconds"].as_f64().unwrap_or(f64::NAN)
            ),
            "CfCT: 30 min per stack set with no change (reference)",
            format!("{:.3}x of 1800 s", seconds / 1800.0),
            "-",
            None,
        ));
        let reads: u64 = again["reads"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        let describe = again["reads"]["CloudFormation:DescribeStackInstance"]
            .as_u64()
            .unwrap_or(0);
        let lock_reads: u64 = again["lock_calls"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        rows.push(row(
            "  read calls on the no-op re-apply (all operations) / of them DescribeStackInstance / lock-table calls",
            format!("{reads} / {describe} / {lock_reads}"),
            "5030 / 2000 before the overrides record (measured)",
            String::new(),
            "-",
            None,
        ));
        let instances = first["instances_created"].as_u64().unwrap_or(0);
        #[expect(clippy::cast_precision_loss, reason = "counts")]
        let per_instance = reads as f64 / instances.max(1) as f64;
        rows.push(row(
            "  read calls per stack instance on the no-op re-apply",
            format!("{per_instance:.2} ({reads} / {instances})"),
            "2.5 before the overrides record (measured)",
            format!("{:.2}x of 2.5", per_instance / 2.5),
            "< 1",
            Some(per_instance < 1.0),
        ));
    }

    Ok(markdown(&rows))
}

/// A Markdown table, so the same text reads in a terminal and in BENCHMARKS.md.
fn markdown(rows: &[Row]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.custos.clone(),
                r.anchor.clone(),
                r.ratio.clone(),
                r.budget.clone(),
                mark(r.met).to_owned(),
            ]
        })
        .collect();
    let header = ["figure", "Custos", "anchor", "ratio", "budget", "met"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut out = vec![line(&header)];
    out.push(format!("|{}|", widths.map(|w| "-".repeat(w + 2)).join("|")));
    out.extend(cells.iter().map(line));
    out.join("\n")
}

/// `{"COMPLIANT": 3, ...}` as `C 3, NC 5, NA 2`.
fn compact(tally: &Value) -> String {
    let counts: BTreeMap<String, u64> = tally
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let short = |k: &str| {
        match k {
            "COMPLIANT" => "C",
            "NON_COMPLIANT" => "NC",
            "NOT_APPLICABLE" => "NA",
            other => other,
        }
        .to_owned()
    };
    counts
        .iter()
        .map(|(k, v)| format!("{} {v}", short(k)))
        .collect::<Vec<_>>()
        .join(", ")
}
