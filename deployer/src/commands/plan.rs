//! `deployer plan`: what would change, per stack set, OU, account and region; with `--out`, the
//! plan saved for `apply --plan`.

use std::path::Path;

use anyhow::Context;

use super::{Run, colour, load_run, print_json, runtime, saved_plan};
use crate::cli::{GlobalArgs, OutputFormat, PackageArgs, PlanArgs};
use crate::exit::ExitStatus;
use crate::guard::Deletions;
use crate::output;
use crate::workflow;

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        load_run(global)?
            .plan(&args.package, args.out.as_deref(), args.adopt.adopt)
            .await
    })
}

impl Run {
    pub async fn plan(
        &self,
        package: &PackageArgs,
        out: Option<&Path>,
        adopt: bool,
    ) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let built = workflow::build(&self.settings, &self.source(package)).context("planning")?;
        let prepared = workflow::prepare(
            &aws,
            &self.settings,
            Some(&built),
            self.options(adopt, true),
        )
        .await
        .context("planning")?;
        let saved = saved_plan(&prepared);
        for line in Self::notes(&prepared) {
            eprintln!("{line}");
        }
        if let Some(path) = out {
            let text = serde_json::to_string_pretty(&saved)?;
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let deletions = Deletions::of(&prepared.changes, &prepared.observed);
        let waves = match &self.settings.rollout {
            Some(rollout) => match self.wave_preview(&aws, rollout, &prepared).await {
                Ok(waves) => Some(waves),
                Err(reasons) => {
                    for reason in reasons {
                        eprintln!("plan refused: {reason}");
                    }
                    return Ok(ExitStatus::Error);
                }
            },
            None => None,
        };
        match self.output {
            OutputFormat::Json => print_json(&output::PlanJson {
                deletes: &deletions,
                pending: prepared.changes.len(),
                changes: &prepared.changes,
                left_as_is: &prepared.skipped,
                not_managed: &prepared.observed.foreign,
                stack_sets: output::StackSetJson::of(&prepared.desired),
                waves: waves.as_deref(),
            })?,
            OutputFormat::Table if prepared.changes.is_empty() => {
                eprintln!("nothing to change: every target is up to date");
            }
            OutputFormat::Table => {
                if let Some(warning) = output::deletion_warning(&deletions, colour()) {
                    println!("{warning}");
                }
                println!(
                    "{}",
                    output::plan_table(&prepared.org, &prepared.changes, self.screen)
                );
                eprintln!("{} changes pending", prepared.changes.len());
            }
        }
        if self.output == OutputFormat::Table
            && let Some(waves) = &waves
        {
            println!("{}", super::waves::preview_table(&prepared.org, waves));
        }
        Ok(
            if prepared.changes.is_empty() && prepared.skipped.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Attention
            },
        )
    }
}
