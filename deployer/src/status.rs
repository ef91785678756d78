//! `deployer status` and the read side of `deployer audit`: which accounts and regions to read,
//! and reading them (through the aggregator when one is configured, else each account with the
//! member role, the way the rest of the deployer reaches member accounts).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::compliance::{self, AggregateError};
use crate::aws::{self, Aws};
use crate::cli::{AwsArgs, OutputFormat};
use crate::compliance::{Matrix, Reading};
use crate::desired;
use crate::exit::ExitStatus;
use crate::org::Organization;
use crate::output;
use crate::settings::Settings;

/// What a compliance read covers: target accounts (id -> name) and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub admin_account: String,
    pub accounts: BTreeMap<String, String>,
    pub regions: Vec<String>,
}

/// The account running the deployer, and the organisation as it is now.
pub async fn caller_and_organisation(aws: &Aws) -> anyhow::Result<(String, Organization)> {
    let admin_account = aws
        .caller_account()
        .await
        .context("reading the caller identity")?;
    let org = aws::orgs::organization(aws)
        .await
        .context("reading the organisation")?;
    Ok((admin_account, org))
}

/// The target accounts of the settings, with their names, as the organisation has them now.
pub async fn scope(aws: &Aws, settings: &Settings) -> anyhow::Result<Scope> {
    let (admin_account, org) = caller_and_organisation(aws).await?;
    let accounts = desired::target_accounts(settings, &org)?
        .into_iter()
        .map(|id| {
            let name = org
                .accounts
                .get(&id)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            (id, name)
        })
        .collect();
    Ok(Scope {
        admin_account,
        accounts,
        regions: settings.organization.regions.clone(),
    })
}

/// Accounts read at once: enough to overlap round trips, few enough to stay clear of throttling.
const READS_AT_ONCE: usize = 16;

/// Reads `rules` in every account and region of `scope`; a place that cannot be read gives
/// `unreadable` readings, not an error.
pub async fn read(
    aws: &Aws,
    settings: &Settings,
    scope: &Scope,
    rules: &BTreeSet<String>,
) -> anyhow::Result<Vec<Reading>> {
    if let Some(aggregator) = &settings.status.aggregator {
        let region = aws
            .region()
            .or_else(|| scope.regions.first().cloned())
            .unwrap_or_default();
        let client = aws.config_service(&region);
        return match compliance::aggregate_readings(&client, aggregator, rules).await {
            Ok(readings) => Ok(readings),
            Err(AggregateError::NoSuchAggregator { name }) => Err(anyhow::anyhow!(
                "there is no configuration aggregator `{name}` in account {} region {region}: \
                 create it, or remove `[status] aggregator` from deployer.toml to read each \
                 account",
                scope.admin_account
            )),
            Err(other) => Err(other.into()),
        };
    }
    let limit = Arc::new(Semaphore::new(READS_AT_ONCE));
    let mut tasks = JoinSet::new();
    for account in scope.accounts.keys() {
        let (aws, account, rules, regions) = (
            aws.clone(),
            account.clone(),
            rules.clone(),
            scope.regions.clone(),
        );
        let admin = scope.admin_account.clone();
        let role = settings.organization.role_name.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _turn = limit.acquire_owned().await.expect("never closed");
            let member = aws.member(&account, &admin, &role).await;
            let mut readings = Vec::new();
            for region in &regions {
                let client = member.config_service(region);
                // One account that cannot be read is reported, not the end of the report.
                match compliance::account_readings(&client, &account, region, &rules).await {
                    Ok(read) => readings.extend(read),
                    Err(e) => readings.extend(
                        rules
                            .iter()
                            .map(|rule| Reading::unreadable(&account, region, rule, &e.message)),
                    ),
                }
            }
            readings
        });
    }
    let mut readings = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        readings.extend(joined.context("a read task failed")?);
    }
    readings
        .sort_by(|a, b| (&a.account, &a.region, &a.rule).cmp(&(&b.account, &b.region, &b.rule)));
    Ok(readings)
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// `deployer status --org`: every Custos rule, every target account and region.
pub async fn run(
    aws_args: &AwsArgs,
    settings: &Settings,
    format: OutputFormat,
    screen: crate::layout::Screen,
) -> anyhow::Result<ExitStatus> {
    let aws = Aws::load(aws_args.profile.as_deref(), aws_args.region.as_deref()).await;
    let scope = scope(&aws, settings).await?;
    let rules: BTreeSet<String> = settings.rules.keys().cloned().collect();
    let readings = read(&aws, settings, &scope, &rules).await?;
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

/// A report: non-compliance is its content, not a failure of the command; a place that could
/// not be read asks for attention.
pub fn exit_status(matrix: &Matrix) -> ExitStatus {
    if matrix.unreadable.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Attention
    }
}

/// Says, on stderr, which accounts and regions could not be read and why.
pub fn report_unreadable(matrix: &Matrix) {
    for place in &matrix.unreadable {
        eprintln!(
            "could not read account {} in {}: {}",
            place.account, place.region, place.reason
        );
    }
}
