//! `deployer doctor`: whether each account and region is ready; with `--print-policies`, the
//! least-privilege policies the deployer needs.

use anyhow::Context;

use super::{Run, load_run, load_settings, print_json, runtime};
use crate::cli::{DoctorArgs, GlobalArgs, OutputFormat};
use crate::exit::ExitStatus;
use crate::output;

pub fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<ExitStatus> {
    if args.print_policies {
        return print_policies(global);
    }
    runtime()?.block_on(async { load_run(global)?.doctor().await })
}

fn print_policies(global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let settings = load_settings(global)?;
    let policies = crate::policies::minimum_policies(&settings);
    match global.output.plain()? {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&policies)?);
        }
        OutputFormat::Table => print!(
            "{}",
            crate::policies::text(&policies, &settings.organization.role_name)
        ),
    }
    Ok(ExitStatus::Success)
}

impl Run {
    pub async fn doctor(&self) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let (admin, org) = crate::readings::caller_and_organisation(&aws).await?;
        let checks = crate::doctor::doctor(&aws, &self.settings, &org, &admin)
            .await
            .context("checking the targets")?;
        let missing = checks.iter().filter(|c| !c.missing.is_empty()).count();
        match self.output {
            OutputFormat::Json => print_json(&checks)?,
            OutputFormat::Table => {
                println!("{}", output::doctor_table(&checks, self.screen));
                eprintln!(
                    "{missing} of {} checks found something missing",
                    checks.len()
                );
            }
        }
        Ok(if missing == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::Attention
        })
    }
}
