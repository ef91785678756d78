//! The Custos demo, the whole loop on the local emulator: an organisation with compliant and
//! non-compliant resources for every seed rule, a preview, the rollout, the rules run the way
//! Config runs them, compliance read back, remediation, the rules again, compliance again, and
//! the auditors' HTML report.
//!
//! One module per phase: [`estate`] (organisation and resources), [`deployer`] (the deployer
//! binary), [`config_runs`] (Config's part), [`remediate`] (SSM's part and the owners').

pub mod config_runs;
pub mod deployer;
pub mod estate;
pub mod remediate;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use comfy_table::{ContentArrangement, Table, presets};

use crate::emulator::Emulator;
use deployer::Deployer;

/// The pack the audit report covers (defined in the demo's `deployer.toml`).
const PACK: &str = "baseline";

pub async fn run() -> Result<()> {
    let started = *STARTED.get_or_init(Instant::now);
    let emulator = Emulator::try_from_env()?;
    let dir = demo_dir()?;
    println!(
        "Custos demo on the local AWS emulator at {}\n",
        emulator.url()
    );

    heading(
        1,
        "An organisation, with compliant and non-compliant resources in every member",
    );
    let estate = estate::build(&emulator).await?;
    println!("{}", estate_table(&estate));
    let deployer =
        Deployer::new(&emulator, &estate.org, &dir, &deployer::settings(&estate)).await?;
    println!(
        "deployer.toml for this organisation: {}\n",
        shown(deployer.settings_file())
    );
    let dev = &estate.members[0];

    preview(&deployer, dev)?;
    rollout(&deployer)?;

    heading(
        4,
        "Config runs the rules on every resource (change notifications, scheduled runs)",
    );
    let put = Box::pin(config_runs::run_all(&estate.members)).await?;
    println!(
        "{put} evaluations put with PutEvaluations. The emulator invokes no custom-rule Lambda, so\n\
         the harness runs each rule's handler on the event Config would send, with items recorded\n\
         in AWS's shape from live state. CloudTrail on the emulator has no events, so\n\
         iam-access-key-behaviour sees no key activity.\n"
    );
    save_example_event(&dir, dev).await?;

    heading(5, "deployer status --org: before remediation");
    print_status(&deployer)?;

    heading(
        6,
        "Remediation, as Config starts it, and the owners' part where a rule only notifies",
    );
    let mut actions = remediate::remediate(&estate.members).await?;
    actions.extend(remediate::owners_respond(&estate.members).await?);
    println!("{}", actions_table(&actions));
    println!(
        "The emulator runs no SSM Automation: the harness carries out each document's steps as SSM\n\
         would. ec2-cost-context and iam-access-key-behaviour notify only; they stay as they are.\n"
    );

    heading(7, "Config runs the rules again");
    let put = Box::pin(config_runs::run_all(&estate.members)).await?;
    println!("{put} evaluations put.\n");

    heading(8, "deployer status --org: after remediation");
    print_status(&deployer)?;

    let report = audit(&deployer, &dir)?;
    println!(
        "\nDemo finished in {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    next_steps(&report, &dir.join(EXAMPLE_EVENT));
    Ok(())
}

/// Where the demo leaves the user: three things to try, each a command that works as printed.
fn next_steps(report: &Path, event: &Path) {
    println!(
        "\nWhat to try next:\n  \
         open the auditors' report:      xdg-open {report}\n  \
         run a rule on the saved event:  target/debug/s3-bucket-encryption --event {event} --dry-run\n  \
         see the deployer's verbs:       target/debug/deployer\n  \
         run every test:                 make test",
        report = shown(report),
        event = shown(event),
    );
}

/// The saved change notification of a member's unencrypted bucket, in the demo's directory.
const EXAMPLE_EVENT: &str = "event-unencrypted-bucket.json";

/// `deployer evaluate` on one member, before anything is deployed.
fn preview(deployer: &Deployer, member: &estate::Member) -> Result<()> {
    heading(
        2,
        &format!(
            "Preview before rollout: deployer evaluate --org --account {} ({})",
            member.account.id, member.name
        ),
    );
    let preview = deployer.table(
        &["evaluate", "--org", "--account", &member.account.id],
        &[0],
    )?;
    println!("{}{}", preview.stdout, preview.stderr);
    println!(
        "The emulator's recorded items are not AWS-shaped (S3 settings as XML, EC2 as a summary,\n\
         IAM without documents), so the preview reports them NOT_EVALUABLE and names what is\n\
         missing, instead of guessing. Against AWS, the same command judges every item.\n"
    );
    Ok(())
}

fn rollout(deployer: &Deployer) -> Result<()> {
    heading(3, "Rollout: deployer apply --org --yes");
    let bootstrap = deployer.bootstrap_dir.to_string_lossy().into_owned();
    let applied = deployer.json_showing_progress(
        &["apply", "--org", "--yes", "--bootstrap-dir", &bootstrap],
        &[0],
    )?;
    println!("{}", applied_table(&applied));
    println!(
        "apply {}: {} changes, {} write calls; each Lambda's code is the host-built rule binary\n\
         from {} (the emulator never runs it).\n",
        applied["status"].as_str().unwrap_or("?"),
        applied["changes"].as_array().map_or(0, Vec::len),
        applied["write_calls"],
        shown(&deployer.bootstrap_dir)
    );
    Ok(())
}

/// The change notification of the member's unencrypted bucket, as an event file.
async fn save_example_event(dir: &Path, member: &estate::Member) -> Result<()> {
    let event = dir.join(EXAMPLE_EVENT);
    let example = config_runs::example_event(member).await?;
    std::fs::write(&event, serde_json::to_string_pretty(&example)?)
        .with_context(|| format!("writing {}", event.display()))?;
    println!(
        "The change notification of {}'s unencrypted bucket is in {}; run the rule on it:\n  \
         target/debug/s3-bucket-encryption --event {} --dry-run\n",
        member.name,
        shown(&event),
        shown(&event)
    );
    Ok(())
}

fn audit(deployer: &Deployer, dir: &Path) -> Result<PathBuf> {
    heading(
        9,
        &format!("The auditors' report: deployer audit --pack {PACK} --org --output html"),
    );
    let report = dir.join("audit.html");
    let out = report.to_string_lossy().into_owned();
    let audit = deployer.table(
        &[
            "audit", "--pack", PACK, "--org", "--output", "html", "--out", &out,
        ],
        &[0, 1],
    )?;
    print!("{}", audit.stderr);
    println!("\nThe HTML audit report is in {}", shown(&report));
    Ok(report)
}

/// When the demo started, for the time each phase begins at.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn heading(n: u32, text: &str) {
    let at = STARTED.get_or_init(Instant::now).elapsed().as_secs();
    println!("== {n}. {text}   [{at} s]\n");
}

fn print_status(deployer: &Deployer) -> Result<()> {
    // Exit 1: something is non-compliant, which is what a status is for.
    let status = deployer.table(&["status", "--org"], &[0, 1])?;
    println!("{}{}", status.stdout, status.stderr);
    Ok(())
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if table.width().is_none() {
        table.set_width(120);
    }
    table
}

fn estate_table(estate: &estate::Estate) -> String {
    let mut table = new_table(&[
        "account",
        "OU",
        "buckets",
        "instances",
        "VPCs",
        "IAM policies",
        "access keys",
    ]);
    table.add_row(vec![
        format!("{} (management)", estate.org.management_account_id),
        "Root".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    for m in &estate.members {
        table.add_row(vec![
            format!("{} ({})", m.account.id, m.name),
            m.ou.to_owned(),
            "1 plain, 1 SSE-S3".to_owned(),
            format!("{} ({} drifted)", m.instances.len(), 1),
            "1 unapproved, 1 approved".to_owned(),
            "1 with * on *, 1 read-only".to_owned(),
            m.users.len().to_string(),
        ]);
    }
    table.to_string()
}

/// `apply`'s per-account results.
fn applied_table(applied: &serde_json::Value) -> String {
    let mut table = new_table(&[
        "account",
        "name",
        "succeeded",
        "failed",
        "stack sets",
        "first failure",
    ]);
    for a in applied["accounts"].as_array().into_iter().flatten() {
        let text = |key: &str| match &a[key] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) if key == "failures" => items
                .first()
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            serde_json::Value::Array(items) => items.len().to_string(),
            other => other.to_string(),
        };
        table.add_row(
            [
                "account",
                "name",
                "succeeded",
                "failed",
                "stack_sets",
                "failures",
            ]
            .map(text),
        );
    }
    table.to_string()
}

fn actions_table(actions: &[remediate::Action]) -> String {
    let mut table = new_table(&["account", "resource", "what was done"]);
    for a in actions {
        table.add_row([a.account.as_str(), a.resource.as_str(), a.how.as_str()]);
    }
    table.to_string()
}

/// `.custos/demo/` in the repository (ignored by git).
fn demo_dir() -> Result<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate is in the repository")?;
    Ok(repo.join(".custos/demo"))
}

/// A path relative to the current directory when it is below it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}
