//! Generates `all()` from this crate's dependencies: adding a rule is one line in Cargo.toml.

use std::fmt::Write as _;

/// The rule crates among the `[dependencies]` of `manifest`: every name but the SDK's.
fn rule_crates(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut crates = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim().split('.').next().unwrap_or_default();
        if in_dependencies && !line.starts_with('#') && name != "config-rule-sdk" {
            crates.push(name.replace('-', "_"));
        }
    }
    crates
}

#[expect(
    clippy::disallowed_methods,
    reason = "a build script's edge: cargo passes OUT_DIR in the environment"
)]
fn main() {
    println!("cargo::rerun-if-changed=Cargo.toml");
    let manifest = std::fs::read_to_string("Cargo.toml").expect("Cargo.toml");
    let crates = rule_crates(&manifest);
    let mut out = String::new();
    for name in &crates {
        writeln!(out, "pub use {name};").unwrap();
    }
    out.push_str("\n/// Every rule, one entry each, in the order of Cargo.toml.\npub fn all() -> Vec<Entry> {\n    vec![\n");
    for name in &crates {
        writeln!(out, "        {name}::entry(),").unwrap();
    }
    out.push_str("    ]\n}\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("all.rs");
    std::fs::write(path, out).expect("write all.rs");
}
