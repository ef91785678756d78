//! Evaluation throughput of the S3 and EC2 rules' pure path over the corpus: one iteration is
//! the whole corpus, so criterion's element throughput is items per second on one core.
//!
//! `CUSTOS_BENCH_CORPUS=DIR` reads the corpus the rdklib harness reads (written by
//! `custos-bench corpus`); without it the same corpus is generated.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use custos_bench::{Subject, corpus, load};

fn throughput(c: &mut Criterion) {
    #[expect(
        clippy::disallowed_methods,
        reason = "the benchmark's input is chosen by its caller"
    )]
    let dir = std::env::var_os("CUSTOS_BENCH_CORPUS").map(PathBuf::from);
    let mut group = c.benchmark_group("evaluate");
    for rule in [corpus::S3, corpus::EC2] {
        let events = load(dir.as_deref(), rule, 1000).expect("the corpus can be read");
        let subject = Subject::new(rule).expect("a corpus rule");
        // Every event decides: a failure here would make the figure meaningless.
        for event in &events {
            subject
                .evaluate(event)
                .expect("every corpus event evaluates");
        }
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(rule, |b| {
            b.iter(|| {
                for event in &events {
                    std::hint::black_box(subject.evaluate(std::hint::black_box(event)).ok());
                }
            });
        });
    }
    group.finish();

    // Where the time goes, for the S3 corpus: the JSON envelope alone, then the whole decode.
    let events = load(dir.as_deref(), corpus::S3, 1000).expect("the corpus can be read");
    let mut stages = c.benchmark_group("stages-s3");
    stages.throughput(Throughput::Elements(events.len() as u64));
    stages.bench_function("json-envelope", |b| {
        b.iter(|| {
            for event in &events {
                std::hint::black_box(serde_json::from_str::<serde_json::Value>(event).ok());
            }
        });
    });
    stages.bench_function("decode-invocation", |b| {
        b.iter(|| {
            for event in &events {
                std::hint::black_box(
                    config_rule_sdk::host::event::Invocation::from_text(event).ok(),
                );
            }
        });
    });
    stages.finish();
}

criterion_group! {
    name = benches;
    // A noisy, shared 2-core machine: short and steady rather than long.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30);
    targets = throughput
}
criterion_main!(benches);
