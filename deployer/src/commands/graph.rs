//! `deployer graph impact|export`: the infrastructure graph (crate `custos-graph`) built from
//! AWS Config's delivered files. Reads files only; no AWS call.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use custos_graph::export::{self, Format};
use custos_graph::{DeliveredFiles, Impact, InfraGraph, Stats};
use serde::Serialize;

use crate::cli::{GlobalArgs, GraphExportArgs, GraphFormat, GraphImpactArgs, OutputFormat};
use crate::exit::ExitStatus;

/// The graph of the items under `dir`; a file that cannot be read is named on stderr (with its
/// line and column) and the others are used. Returns the graph and whether every file was read.
pub fn load(dir: &Path) -> anyhow::Result<(InfraGraph, bool)> {
    let source = DeliveredFiles::new(dir);
    let files = source
        .files()
        .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    if files.is_empty() {
        bail!(
            "{} holds no AWS Config history or snapshot file (*.json, *.json.gz)",
            dir.display()
        );
    }
    let (graph, problems) = InfraGraph::load(&source);
    for problem in &problems {
        eprintln!("warning: skipped {problem}");
    }
    let stats = graph.stats();
    eprintln!(
        "graph: {} items in {} files, {} resources ({} named only by relationships), {} edges{}",
        stats.items_read,
        files.len(),
        graph.node_count(),
        stats.unrecorded,
        stats.edges,
        unknown_note(stats)
    );
    Ok((graph, problems.is_empty()))
}

fn unknown_note(stats: &Stats) -> String {
    let unknown: usize = stats.unknown_relationships.values().sum();
    if unknown == 0 {
        return String::new();
    }
    format!(
        "; {unknown} relationships of unknown direction not followed ({})",
        stats
            .unknown_relationships
            .iter()
            .map(|(name, n)| format!("{name}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What `graph impact --output json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpactOutput<'a> {
    #[serde(flatten)]
    pub impact: &'a Impact,
    pub unknown_relationships: &'a std::collections::BTreeMap<String, usize>,
}

/// The impact for people: a heading, then one line per dependent with its path.
pub fn impact_text(impact: &Impact) -> String {
    let r = &impact.resource;
    let mut out = format!(
        "{} ({}, {} {}): {} dependent{}{}\n",
        r.resource_id,
        r.resource_type,
        r.account,
        r.region,
        impact.dependents.len(),
        if impact.dependents.len() == 1 {
            ""
        } else {
            "s"
        },
        impact
            .max_depth
            .map(|d| format!(" within depth {d}"))
            .unwrap_or_default()
    );
    let type_width = impact
        .dependents
        .iter()
        .map(|d| d.resource.resource_type.len())
        .max()
        .unwrap_or(0);
    for d in &impact.dependents {
        let where_ = if d.resource.account == r.account && d.resource.region == r.region {
            String::new()
        } else {
            format!(" [{} {}]", d.resource.account, d.resource.region)
        };
        let _ = writeln!(
            out,
            "  {:>2}  {:<type_width$}  {}{where_}  {}",
            d.depth,
            d.resource.resource_type,
            d.resource.label(),
            d.path_text()
        );
    }
    out
}

pub fn impact(global: &GlobalArgs, args: &GraphImpactArgs) -> anyhow::Result<ExitStatus> {
    let format = global.output.plain()?;
    let (graph, complete) = load(&args.source.from)?;
    let start = graph.find(&args.resource)?;
    let impact = custos_graph::impact(&graph, start, args.depth);
    match format {
        OutputFormat::Json => super::print_json(&ImpactOutput {
            impact: &impact,
            unknown_relationships: &graph.stats().unknown_relationships,
        })?,
        OutputFormat::Table => print!("{}", impact_text(&impact)),
    }
    Ok(if complete {
        ExitStatus::Success
    } else {
        ExitStatus::Attention
    })
}

pub fn export(_global: &GlobalArgs, args: &GraphExportArgs) -> anyhow::Result<ExitStatus> {
    if let Some(out) = &args.out
        && let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "cannot write {}: {} is not a directory",
            out.display(),
            parent.display()
        );
    }
    let (graph, complete) = load(&args.source.from)?;
    let format = match args.format {
        GraphFormat::Graphml => Format::GraphMl,
        GraphFormat::Cypher => Format::Cypher,
        GraphFormat::Dot => Format::Dot,
    };
    if let Some(path) = &args.out {
        let file =
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        export::write(&graph, format, &mut writer)
            .and_then(|()| writer.flush())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} resources and {} edges to {}",
            graph.node_count(),
            graph.edge_count(),
            path.display()
        );
    } else {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        export::write(&graph, format, &mut stdout)
            .and_then(|()| stdout.flush())
            .context("writing the export to stdout")?;
    }
    Ok(if complete {
        ExitStatus::Success
    } else {
        ExitStatus::Attention
    })
}
