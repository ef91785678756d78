//! The Custos demo on the local AWS emulator, the whole loop: an organisation with compliant and
//! non-compliant resources, `deployer evaluate`, `deployer apply`, the rules run the way AWS
//! Config runs them, `deployer status`, remediation, the rules again, `deployer status` again,
//! and the HTML audit report. Re-runnable: every run builds a new organisation.
//!
//! Run it with `make demo` (which builds the deployer and the rule binaries first), or against a
//! running emulator with `cargo build --bins && target/debug/custos-demo`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    workspace_tests::demo::run().await
}
