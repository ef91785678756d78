//! `deployer status --org`: the compliance matrix of every Custos rule in every target account
//! and region, with the exemptions in force.

use std::collections::BTreeSet;

use super::{load_settings, print_json, report_unreadable, runtime};
use crate::aws::Aws;
use crate::cli::{AwsArgs, GlobalArgs, OutputFormat, StatusArgs};
use crate::compliance::{Matrix, exit_status};
use crate::exit::ExitStatus;
use crate::layout::Screen;
use crate::output;
use crate::readings;
use crate::settings::Settings;

pub fn run(global: &GlobalArgs, _args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let settings = load_settings(global)?;
    let format = global.output.plain()?;
    let screen = Screen::detect(global.wide);
    runtime()?.block_on(status(&global.aws, &settings, format, screen))
}

/// `deployer status --org`: every Custos rule, every target account and region.
pub async fn status(
    aws_args: &AwsArgs,
    settings: &Settings,
    format: OutputFormat,
    screen: Screen,
) -> anyhow::Result<ExitStatus> {
    let aws = Aws::load(aws_args.profile.as_deref(), aws_args.region.as_deref()).await;
    let scope = readings::scope(&aws, settings).await?;
    let rules: BTreeSet<String> = settings.rules.keys().cloned().collect();
    let readings = readings::read(&aws, settings, &scope, &rules).await?;
    let matrix = Matrix::build(&rules, &scope.accounts, &scope.regions, &readings);
    #[expect(
        clippy::disallowed_methods,
        reason = "today, against which exemptions' days left are counted"
    )]
    let today = chrono::Utc::now().date_naive();
    let exemptions = crate::audit::exemptions(
        settings,
        &rules,
        &scope.accounts,
        &scope.regions,
        &readings,
        today,
    );
    match format {
        OutputFormat::Json => print_json(&StatusJson {
            matrix: &matrix,
            exemptions: &exemptions,
        })?,
        OutputFormat::Table => {
            println!("{}", output::compliance_table(&matrix, screen));
            if !exemptions.is_empty() {
                println!(
                    "\nexemptions\n{}",
                    output::exemption_table(&exemptions, screen)
                );
            }
            eprintln!(
                "{} non-compliant resources, {} compliant, {} not applicable",
                matrix.totals.non_compliant, matrix.totals.compliant, matrix.totals.not_applicable
            );
            report_unreadable(&matrix);
        }
    }
    Ok(exit_status(&matrix))
}

/// `status --output json`: the matrix's fields, and the exemptions beside them.
#[derive(serde::Serialize)]
struct StatusJson<'a> {
    #[serde(flatten)]
    matrix: &'a Matrix,
    exemptions: &'a [crate::audit::ExemptionEntry],
}
