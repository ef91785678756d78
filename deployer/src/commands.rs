//! The commands that talk to AWS, joining the read side, the plan and apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::apply::{self, ApplyContext, ChangeResult};
use crate::aws::Aws;
use crate::cli::{AwsArgs, OutputFormat, PackageArgs};
use crate::exit::ExitStatus;
use crate::layout::Screen;
use crate::output;
use crate::package::Source;
use crate::plan::SavedPlan;
use crate::settings::Settings;
use crate::workflow::{self, Prepared};

/// What every AWS command shares.
#[derive(Debug, Clone)]
pub struct Run {
    pub settings: Settings,
    pub rules_dir: PathBuf,
    pub aws: AwsArgs,
    pub output: OutputFormat,
    /// How wide tables may be.
    pub screen: Screen,
    pub verbose: bool,
}

impl Run {
    async fn aws(&self) -> Aws {
        Aws::load(self.aws.profile.as_deref(), self.aws.region.as_deref()).await
    }

    fn source(&self, package: &PackageArgs) -> Source {
        match (&package.lambda_dir, &package.bootstrap_dir) {
            (Some(dir), _) => Source::LambdaDir(dir.clone()),
            (None, Some(dir)) => Source::BootstrapDir(dir.clone()),
            (None, None) => Source::CargoLambda {
                workspace: self
                    .rules_dir
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                cargo: PathBuf::from("cargo"),
            },
        }
    }

    fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        Ok(())
    }

    pub async fn plan(
        &self,
        package: &PackageArgs,
        out: Option<&Path>,
    ) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let prepared = workflow::prepare(&aws, &self.settings, Some(&self.source(package)))
            .await
            .context("planning")?;
        let saved = saved_plan(&prepared);
        for line in crate::skipped::lines(&prepared.skipped) {
            eprintln!("{line}");
        }
        if let Some(path) = out {
            let text = serde_json::to_string_pretty(&saved)?;
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        match self.output {
            OutputFormat::Json => Self::print_json(&output::PlanJson {
                pending: saved.changes.len(),
                changes: &saved.changes,
            })?,
            OutputFormat::Table if saved.changes.is_empty() => {
                eprintln!("nothing to change: every target is up to date");
            }
            OutputFormat::Table => {
                println!(
                    "{}",
                    output::plan_table(&prepared.org, &saved.changes, self.screen)
                );
                eprintln!("{} changes pending", saved.changes.len());
            }
        }
        Ok(if saved.changes.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Attention
        })
    }

    pub async fn apply(
        &self,
        package: &PackageArgs,
        plan_file: Option<&Path>,
        yes: bool,
    ) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let prepared = workflow::prepare(&aws, &self.settings, Some(&self.source(package)))
            .await
            .context("reading what is deployed")?;
        let plan = match plan_file {
            Some(path) => reviewed_plan(path, &prepared)?,
            None => saved_plan(&prepared),
        };
        self.execute(aws, prepared, &plan, yes, "apply").await
    }

    pub async fn destroy(&self, yes: bool) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let prepared = workflow::prepare(&aws, &self.settings, None)
            .await
            .context("reading what is deployed")?;
        let plan = saved_plan(&prepared);
        self.execute(aws, prepared, &plan, yes, "destroy").await
    }

    pub async fn doctor(&self) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let (admin, org) = crate::status::caller_and_organisation(&aws).await?;
        let checks = crate::doctor::doctor(&aws, &self.settings, &org, &admin)
            .await
            .context("checking the targets")?;
        let missing = checks.iter().filter(|c| !c.missing.is_empty()).count();
        match self.output {
            OutputFormat::Json => Self::print_json(&checks)?,
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

    /// `evaluate`: the preview, with the calls it made (reads only).
    pub async fn evaluate(&self, scope: &crate::evaluate::Scope) -> anyhow::Result<ExitStatus> {
        use crate::evaluate::{self, Outcome, report};
        // Bad input stops here, before any AWS call.
        evaluate::selected_rules(&self.settings, scope)?;
        let aws = self.aws().await;
        let (admin, org) = crate::status::caller_and_organisation(&aws).await?;
        #[expect(
            clippy::disallowed_methods,
            reason = "the preview's now: exemption expiry and periodic windows, as at a real run"
        )]
        let now = chrono::Utc::now();
        let rows = evaluate::evaluate(&aws, &self.settings, &org, &admin, scope, now).await?;
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => Self::print_json(&report::PreviewJson::new(&rows, &counts))?,
            OutputFormat::Table => {
                let names = org
                    .accounts
                    .iter()
                    .map(|(id, a)| (id.clone(), a.name.clone()))
                    .collect();
                println!("{}", report::table(&rows, &names, self.screen));
                eprintln!(
                    "evaluate: {} ({} write calls)",
                    report::summary(&rows),
                    counts.total_writes()
                );
            }
        }
        let failed = rows
            .iter()
            .any(|r| r.outcome == Outcome::Failed && r.resource.is_empty());
        Ok(if failed {
            ExitStatus::Attention
        } else {
            ExitStatus::Success
        })
    }

    async fn execute(
        &self,
        aws: Aws,
        prepared: Prepared,
        plan: &SavedPlan,
        yes: bool,
        verb: &str,
    ) -> anyhow::Result<ExitStatus> {
        let skipped = prepared.skipped.clone();
        if plan.changes.is_empty() {
            let counts = aws.calls.counts();
            match self.output {
                OutputFormat::Json => Self::print_json(&output::ApplyJson {
                    status: "no-changes",
                    changes: &[],
                    accounts: &[],
                    write_calls: counts.total_writes(),
                    calls: &counts,
                    skipped: &skipped,
                })?,
                OutputFormat::Table => {
                    for line in crate::skipped::lines(&skipped) {
                        println!("{line}");
                    }
                    eprintln!(
                        "nothing to change: every target is up to date ({} write calls)",
                        counts.total_writes()
                    );
                }
            }
            return Ok(if skipped.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Attention
            });
        }
        if self.output == OutputFormat::Table {
            println!(
                "{}",
                output::plan_table(&prepared.org, &plan.changes, self.screen)
            );
        }
        if !yes && !confirm(&format!("{verb}: {} changes", plan.changes.len()))? {
            eprintln!("{verb}: nothing done");
            return Ok(ExitStatus::Error);
        }
        let context = ApplyContext::new(
            aws.clone(),
            prepared.admin_account.clone(),
            &self.settings,
            prepared.artifacts,
        )
        .with_deployed(&prepared.observed);
        let results = apply::apply(&context, plan, self.verbose).await;
        let failed = results.iter().filter(|r| r.failed()).count();
        let accounts = output::account_results(&prepared.org, &results);
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => Self::print_json(&output::ApplyJson {
                status: if failed == 0 { "succeeded" } else { "failed" },
                changes: &results,
                accounts: &accounts,
                write_calls: counts.total_writes(),
                calls: &counts,
                skipped: &skipped,
            })?,
            OutputFormat::Table => {
                println!(
                    "{}",
                    output::accounts_table(&accounts, &results, self.screen)
                );
                for line in crate::skipped::lines(&skipped) {
                    println!("{line}");
                }
                eprintln!(
                    "{verb}: {} changes, {failed} failed, {} write calls",
                    results.len(),
                    counts.total_writes()
                );
            }
        }
        Ok(if skipped.is_empty() {
            status_of(&results)
        } else {
            ExitStatus::Attention
        })
    }
}

fn status_of(results: &[ChangeResult]) -> ExitStatus {
    if results.iter().any(ChangeResult::failed) {
        ExitStatus::Attention
    } else {
        ExitStatus::Success
    }
}

fn saved_plan(prepared: &Prepared) -> SavedPlan {
    SavedPlan::new(
        &prepared.admin_account,
        &prepared.desired,
        prepared.fingerprint(),
        prepared.changes.clone(),
    )
}

/// A saved plan, refused unless it was made against what is deployed now.
fn reviewed_plan(path: &Path, prepared: &Prepared) -> anyhow::Result<SavedPlan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let plan: SavedPlan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a saved plan", path.display()))?;
    if plan.format != SavedPlan::FORMAT {
        bail!(
            "{} is a plan of format {}; this deployer reads format {}",
            path.display(),
            plan.format,
            SavedPlan::FORMAT
        );
    }
    if plan.admin_account != prepared.admin_account {
        bail!(
            "{} was made as account {}; these credentials are account {}",
            path.display(),
            plan.admin_account,
            prepared.admin_account
        );
    }
    if plan.observed_fingerprint != prepared.fingerprint() {
        bail!(
            "the organisation or its stack sets changed since {} was made: run `deployer plan` again",
            path.display()
        );
    }
    Ok(plan)
}

/// Asks on the terminal; without one, refuses (pass --yes).
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question}: not confirmed (no terminal to ask on; pass --yes)");
    }
    eprint!("{question}. Go ahead? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
