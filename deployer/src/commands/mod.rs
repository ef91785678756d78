//! One module per verb of the command line (`cli::Command`): each takes its parsed arguments,
//! loads what it needs and returns the exit status. What they share is here: loading the
//! settings, the async runtime, `Run` (the settings and flags of a command that talks to AWS)
//! and printing JSON.

pub mod apply;
pub mod audit;
pub mod destroy;
pub mod doctor;
pub mod evaluate;
pub mod graph;
pub mod history;
pub mod new_rule;
pub mod pack_validate;
pub mod plan;
pub mod render;
pub mod status;
pub mod unlock;
mod waves;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::aws::Aws;
use crate::catalog::Catalog;
use crate::cli::{AwsArgs, GlobalArgs, OutputFormat, PackageArgs};
use crate::compliance::Matrix;
use crate::guard::Thresholds;
use crate::layout::Screen;
use crate::package::Source;
use crate::plan::SavedPlan;
use crate::settings::Settings;
use crate::workflow::{Options, Prepared};

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

    fn options(&self, adopt: bool, drift: bool) -> Options {
        Options {
            adopt,
            drift: drift && self.settings.deployment.detect_drift,
        }
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            percentage: self.settings.deployment.mass_delete_percentage,
            stack_sets: self.settings.deployment.mass_delete_stack_sets,
        }
    }

    /// What was found that is not changed: objects of others, accounts left as they are.
    fn notes(prepared: &Prepared) -> Vec<String> {
        prepared
            .observed
            .foreign
            .iter()
            .map(crate::ownership::Foreign::line)
            .chain(crate::skipped::lines(&prepared.skipped))
            .collect()
    }
}

fn saved_plan(prepared: &Prepared) -> SavedPlan {
    SavedPlan::new(
        &prepared.admin_account,
        &prepared.deployment_id,
        prepared.digests.clone(),
        prepared.approval.clone(),
    )
}

/// Whether stdout is a terminal that wants colour (`NO_COLOR` unset).
fn colour() -> bool {
    #[expect(
        clippy::disallowed_methods,
        reason = "the edge: the user's NO_COLOR preference"
    )]
    let no_colour = std::env::var_os("NO_COLOR").is_some();
    !no_colour && std::io::stdout().is_terminal()
}

/// Pretty JSON on stdout, one value per command.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
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

/// The settings and flags of a command that talks to AWS.
pub fn load_run(global: &GlobalArgs) -> anyhow::Result<Run> {
    Ok(Run {
        settings: load_settings(global)?,
        rules_dir: rules_dir(global),
        aws: global.aws.clone(),
        output: global.output.plain()?,
        screen: Screen::detect(global.wide),
        verbose: global.verbose > 0,
    })
}

/// The async runtime an AWS command runs on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Reads the rules and `deployer.toml`; bad configuration stops here, before any AWS call.
pub fn load_settings(global: &GlobalArgs) -> anyhow::Result<Settings> {
    let rules_dir = rules_dir(global);
    let catalog = Catalog::discover(&rules_dir).context("reading the rules")?;
    #[expect(
        clippy::disallowed_methods,
        reason = "exemptions may reach at most their rule's max-days ahead of today"
    )]
    let today = chrono::Utc::now().date_naive();
    Ok(Settings::load_on(&global.config, &catalog, Some(today))?)
}

/// `--rules-dir`, else `rules/` beside `deployer.toml`.
pub fn rules_dir(global: &GlobalArgs) -> PathBuf {
    global.rules_dir.clone().unwrap_or_else(|| {
        global
            .config
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("rules")
    })
}
