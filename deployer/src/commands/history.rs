//! `deployer history ingest|query|show|athena-template`: the history store
//! (`custos_history`), from files or the delivery bucket, queried with SQL, one resource's
//! timeline, and the Glue tables for Athena.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use custos_history::timeline::{Event, Timeline};
use custos_history::{Ingest, Outcome, Report, Store, query, show};

use super::{print_json, runtime};
use crate::aws::Aws;
use crate::cli::{
    GlobalArgs, HistoryAthenaArgs, HistoryCommand, HistoryIngestArgs, HistoryQueryArgs,
    HistoryShowArgs, OutputFormat,
};
use crate::exit::ExitStatus;
use crate::layout::{Screen, table};

pub fn run(global: &GlobalArgs, command: &HistoryCommand) -> anyhow::Result<ExitStatus> {
    match command {
        HistoryCommand::Ingest(args) => ingest(global, args),
        HistoryCommand::Query(args) => run_query(global, args),
        HistoryCommand::Show(args) => show_resource(global, args),
        HistoryCommand::AthenaTemplate(args) => athena(args),
    }
}

fn open(path: &Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| format!("opening the history store {}", path.display()))
}

fn ingest(global: &GlobalArgs, args: &HistoryIngestArgs) -> anyhow::Result<ExitStatus> {
    let format = global.output.plain()?;
    let store = open(&args.store.store)?;
    let mut ingest = Ingest::new(store);
    if let Some(dir) = &args.from {
        let files = custos_history::ingest::walk(dir)
            .with_context(|| format!("reading {}", dir.display()))?;
        for path in files {
            let name = path.display().to_string();
            let content = std::fs::read(&path).with_context(|| format!("reading {name}"))?;
            say(&name, &ingest.add(&name, &content)?);
        }
    } else if let Some(bucket) = &args.bucket {
        from_bucket(global, bucket, &mut ingest)?;
    }
    let report = ingest.finish()?;
    match format {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Table => eprintln!("{}", summary(&report)),
    }
    Ok(if report.failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Attention
    })
}

/// Every object under `AWSLogs/` in the delivery bucket (Config's delivery channel and
/// CloudTrail write there for every account and region of the organisation).
fn from_bucket(global: &GlobalArgs, bucket: &str, ingest: &mut Ingest) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let aws = Aws::load(global.aws.profile.as_deref(), global.aws.region.as_deref()).await;
        let region = aws.region().unwrap_or_else(|| "us-east-1".to_owned());
        let keys = crate::aws::history::keys(&aws, &region, bucket, "AWSLogs/").await?;
        for key in keys
            .iter()
            .filter(|k| custos_history::ingest::is_source(Path::new(k)))
        {
            let name = format!("s3://{bucket}/{key}");
            match crate::aws::history::get(&aws, &region, bucket, key).await {
                Ok(content) => say(&name, &ingest.add(&name, &content)?),
                Err(e) => {
                    // Counted as failed: the object is named and the others go on.
                    eprintln!("{name}: {}", e.brief());
                    ingest.unreadable(&name, e.brief());
                }
            }
        }
        anyhow::Ok(())
    })
}

/// A source that failed or was skipped, said as it happens (stderr).
fn say(name: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Failed(why) => eprintln!("{name}: {why}"),
        Outcome::Skipped(why) => eprintln!("{name}: skipped, {why}"),
        Outcome::Added(_) | Outcome::Duplicate => {}
    }
}

fn summary(report: &Report) -> String {
    let added: Vec<String> = report
        .added
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    format!(
        "{} sources: added {}; {} already ingested; {} skipped; {} failed",
        report.sources,
        if added.is_empty() {
            "nothing".to_owned()
        } else {
            added.join(", ")
        },
        report.duplicates,
        report.skipped.len(),
        report.failed.len()
    )
}

fn run_query(global: &GlobalArgs, args: &HistoryQueryArgs) -> anyhow::Result<ExitStatus> {
    let format = global.output.plain()?;
    let store = open(&args.store.store)?;
    let batches = runtime()?.block_on(async {
        let ctx = query::session(&store).await?;
        let frame = ctx.sql(&args.sql).await?;
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await?;
        Ok::<_, query::Error>((schema, batches))
    });
    let (schema, batches) = batches.context("running the query")?;
    match format {
        OutputFormat::Json => print_json(&query::json_rows(&batches)?)?,
        OutputFormat::Table => {
            let result = query::table(&schema, &batches)?;
            let header: Vec<&str> = result.columns.iter().map(String::as_str).collect();
            let rows = result
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
                .collect();
            println!("{}", table(&header, rows, Screen::detect(global.wide)));
        }
    }
    Ok(ExitStatus::Success)
}

fn show_resource(global: &GlobalArgs, args: &HistoryShowArgs) -> anyhow::Result<ExitStatus> {
    let format = global.output.plain()?;
    let store = open(&args.store.store)?;
    let at = args.at.map(|t| t.with_timezone(&Utc));
    let timeline = runtime()?
        .block_on(async {
            let ctx = query::session(&store).await?;
            show::timeline(&ctx, &args.resource, at).await
        })
        .context("reading the resource's history")?;
    match format {
        OutputFormat::Json => print_json(&timeline)?,
        OutputFormat::Table => print!("{}", timeline_text(&timeline, Screen::detect(global.wide))),
    }
    Ok(if timeline.state.is_none() && timeline.events.is_empty() {
        eprintln!("nothing is stored about {}", args.resource);
        ExitStatus::Attention
    } else {
        ExitStatus::Success
    })
}

fn short(value: Option<&serde_json::Value>) -> String {
    let text = value.map_or_else(|| "(absent)".to_owned(), ToString::to_string);
    if text.chars().count() > 80 {
        text.chars().take(79).collect::<String>() + "…"
    } else {
        text
    }
}

fn changes_text(changes: &[custos_history::diff::FieldChange]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.path,
                short(c.old.as_ref()),
                short(c.new.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The timeline for people: a heading, the events in a table, the state at the time.
fn timeline_text(timeline: &Timeline, screen: Screen) -> String {
    let when = timeline
        .at
        .map_or_else(|| "now".to_owned(), |t| t.to_rfc3339());
    let mut out = format!(
        "{} ({}) as of {when}\n",
        timeline.resource_id,
        timeline.resource_type.as_deref().unwrap_or("type unknown")
    );
    let rows: Vec<Vec<String>> = timeline
        .events
        .iter()
        .map(|event| {
            let time = event.time().to_rfc3339();
            match event {
                Event::Recorded {
                    status, changes, ..
                } => vec![
                    time,
                    format!("recorded {}", status.as_deref().unwrap_or("")),
                    if changes.is_empty() {
                        "first recorded state".to_owned()
                    } else {
                        changes_text(changes)
                    },
                ],
                Event::Verdict(v) => vec![
                    time,
                    format!("{} {}", v.rule, v.compliance),
                    v.annotation.clone().unwrap_or_default(),
                ],
                Event::Remediation(f) => vec![
                    time,
                    format!("{} remediated ({})", f.rule, f.trigger),
                    format!("{}\n{}", f.action, changes_text(&f.changes)),
                ],
            }
        })
        .collect();
    out.push_str(&table(&["time", "event", "detail"], rows, screen));
    out.push('\n');
    if let Some(state) = &timeline.state {
        let mut shown = serde_json::Map::new();
        for key in [
            "configurationItemCaptureTime",
            "configurationItemStatus",
            "configuration",
            "supplementaryConfiguration",
            "tags",
        ] {
            if let Some(value) = state.get(key) {
                shown.insert(key.to_owned(), value.clone());
            }
        }
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "state as of {when}:\n{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
    }
    out
}

fn athena(args: &HistoryAthenaArgs) -> anyhow::Result<ExitStatus> {
    print!(
        "{}",
        crate::athena::render(&args.location, &args.database, "2020-01-01")?
    );
    Ok(ExitStatus::Success)
}
