//! `cargo bench -p custos-graph --bench impact [-- ITEMS]`: builds the graph of a generated
//! estate of about ITEMS configuration items (1,000,000 by default), then times impact queries
//! on it and prints one table: build time, size, query times (median of repeated runs) and the
//! process's peak resident memory.

use std::time::{Duration, Instant};

use custos_graph::impact::{count, impact};
use custos_graph::synthetic::Estate;
use custos_graph::{InfraGraph, ItemSource};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = None;
    let times = (0..runs)
        .map(|_| {
            let start = Instant::now();
            last = Some(std::hint::black_box(f()));
            start.elapsed()
        })
        .collect();
    (median(times), last.expect("at least one run"))
}

/// Peak resident set size, from Linux's /proc (`VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; the first number given is the estate's size.
    let items: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let estate = Estate::of_about(items);

    let mut generated = 0;
    let start = Instant::now();
    estate.items(&mut |_| generated += 1);
    let generate = start.elapsed();

    let start = Instant::now();
    let (graph, _) = InfraGraph::load(&estate);
    let build = start.elapsed().saturating_sub(generate);
    let stats = graph.stats().clone();

    let admin = graph.find(&estate.admin_group(7, 1)).expect("admin group");
    let vpc = graph.find(&estate.vpc(7, 1, 0)).expect("vpc");
    let instance = graph.find(&estate.instance(7, 1, 3)).expect("instance");

    let runs = 21;
    let queries = [
        (
            "admin security group, every depth, with paths",
            admin,
            None,
            true,
        ),
        (
            "admin security group, depth 1, with paths",
            admin,
            Some(1),
            true,
        ),
        (
            "admin security group, every depth, count only",
            admin,
            None,
            false,
        ),
        ("VPC, every depth, with paths", vpc, None, true),
        ("instance, every depth, with paths", instance, None, true),
    ];
    println!(
        "Infrastructure graph, generated estate: {} accounts x {} regions",
        estate.accounts, estate.regions
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| items | {generated} |");
    println!("| resources (nodes) | {} |", graph.node_count());
    println!("| dependency edges | {} |", stats.edges);
    println!(
        "| unknown relationship names kept | {} |",
        stats.unknown_relationships.values().sum::<usize>()
    );
    println!(
        "| generate the items (not part of the build) | {:.2} s |",
        generate.as_secs_f64()
    );
    println!(
        "| build the graph (latest per resource, resolve, dedupe) | {:.2} s |",
        build.as_secs_f64()
    );
    for (name, start, depth, paths) in queries {
        let (took, found) = if paths {
            time(runs, || impact(&graph, start, depth).dependents.len())
        } else {
            time(runs, || count(&graph, start, depth))
        };
        println!(
            "| impact: {name} ({found} dependents), median of {runs} | {:.2} ms |",
            took.as_secs_f64() * 1000.0
        );
    }
    if let Some(mb) = peak_rss_mb() {
        println!("| peak RSS (whole process) | {mb:.0} MB |");
    }
}
