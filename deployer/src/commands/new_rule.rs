//! `deployer new-rule NAME --resource-type TYPE`: a new rule crate under the rules directory
//! (written by `crate::scaffold`).

use anyhow::Context;

use super::rules_dir;
use crate::cli::{GlobalArgs, NewRuleArgs};
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &NewRuleArgs) -> anyhow::Result<ExitStatus> {
    let rules_dir = rules_dir(global);
    let dir = crate::scaffold::write(&rules_dir, &args.name, &args.resource_type)
        .context("scaffolding the rule")?;
    eprintln!(
        "created {}; run `cargo test -p {}`",
        dir.display(),
        args.name
    );
    Ok(ExitStatus::Success)
}
