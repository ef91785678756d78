//! The corpus step of `make bench`, through the binary: the files the rdklib harness reads and
//! the Rust rules' verdict counts it is compared with.

use std::process::Command;

#[test]
fn the_corpus_step_writes_one_event_per_line_and_the_verdict_counts() {
    let dir = std::env::temp_dir().join(format!("custos-bench-corpus-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_custos-bench"))
        .args(["corpus", "--count", "200", "--out"])
        .arg(&dir)
        .status()
        .expect("the runner runs");
    assert!(status.success());
    let tally: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rust-tally.json")).unwrap())
            .unwrap();
    for rule in ["s3-bucket-encryption", "ec2-instance-baseline"] {
        let text = std::fs::read_to_string(dir.join(format!("{rule}.jsonl"))).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
            .collect();
        assert_eq!(events.len(), 200, "{rule}");
        assert!(events.iter().all(|e| e["configRuleName"] == rule));
        let counted: u64 = tally[rule]
            .as_object()
            .unwrap()
            .values()
            .filter_map(serde_json::Value::as_u64)
            .sum();
        assert_eq!(counted, 200, "{rule}: {}", tally[rule]);
        assert!(
            tally[rule].get("error").is_none(),
            "{rule}: {}",
            tally[rule]
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
