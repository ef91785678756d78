//! `deployer audit --pack NAME --org`: checks the request, reads compliance, writes the report
//! (built by `crate::audit`).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::NaiveDate;

use super::{load_settings, report_unreadable, runtime};
use crate::aws::Aws;
use crate::cli::{AuditArgs, AwsArgs, GlobalArgs, OutputArg};
use crate::compliance::exit_status;
use crate::exit::ExitStatus;
use crate::layout::Screen;
use crate::readings;
use crate::settings::Settings;

pub fn run(global: &GlobalArgs, args: &AuditArgs) -> anyhow::Result<ExitStatus> {
    let settings = load_settings(global)?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the report's date, against which exemptions are judged"
    )]
    let today = chrono::Utc::now().date_naive();
    let request = Request {
        pack: &args.pack,
        rule: args.rule.as_deref(),
        account: args.account.as_deref(),
        format: global.output,
        out: args.out.as_deref(),
        screen: Screen::detect(global.wide),
        today,
    };
    runtime()?.block_on(audit(&global.aws, &settings, &request))
}

/// What the audit is asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub pack: &'a str,
    pub rule: Option<&'a str>,
    pub account: Option<&'a str>,
    pub format: OutputArg,
    pub out: Option<&'a Path>,
    /// How wide the tables may be.
    pub screen: Screen,
    /// Today (UTC), from the edge: exemptions are judged against it.
    pub today: NaiveDate,
}

/// The pack's rules (Custos and managed), or the one asked for; unknown names are refused.
pub fn rules_of(
    settings: &Settings,
    pack: &str,
    rule: Option<&str>,
) -> anyhow::Result<BTreeSet<String>> {
    let Some(definition) = settings.packs.get(pack) else {
        let known: Vec<&str> = settings.packs.keys().map(String::as_str).collect();
        bail!(
            "no pack named `{pack}` in deployer.toml (expected one of: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    // Its Custos rules (deployer.toml) and its AWS managed rules (conformance-packs/NAME.toml).
    let rules: BTreeSet<String> = definition
        .rules
        .iter()
        .cloned()
        .chain(definition.definition.managed.iter().map(|m| m.name.clone()))
        .collect();
    match rule {
        Some(rule) if !rules.contains(rule) => bail!(
            "pack `{pack}` has no rule `{rule}` (its rules: {})",
            rules.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        Some(rule) => Ok(BTreeSet::from([rule.to_owned()])),
        None => Ok(rules),
    }
}

pub async fn audit(
    aws_args: &AwsArgs,
    settings: &Settings,
    request: &Request<'_>,
) -> anyhow::Result<ExitStatus> {
    // Refuse what cannot be answered before any AWS call, and before writing anything.
    let rules = rules_of(settings, request.pack, request.rule)?;
    if let Some(out) = request.out
        && let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "cannot write {}: {} is not a directory",
            out.display(),
            parent.display()
        );
    }
    let aws = Aws::load(aws_args.profile.as_deref(), aws_args.region.as_deref()).await;
    let mut scope = readings::scope(&aws, settings).await?;
    if let Some(account) = request.account {
        if !scope.accounts.contains_key(account) {
            bail!(
                "account {account} is not a target account of deployer.toml (targets: {})",
                scope
                    .accounts
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        scope.accounts.retain(|id, _| id == account);
    }
    let readings = readings::read(&aws, settings, &scope, &rules).await?;
    let report = crate::audit::report(
        request.pack,
        settings,
        &rules,
        &scope.accounts,
        &scope.regions,
        &readings,
        request.today,
    );
    let text = match request.format {
        OutputArg::Json => serde_json::to_string_pretty(&report)? + "\n",
        OutputArg::Html => {
            crate::audit::html::render(&report).context("rendering the HTML report")?
        }
        OutputArg::Table => crate::output::audit_tables(&report, request.screen),
    };
    match request.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote the {} audit of pack {} to {} ({} non-compliant resources)",
                request.format.name(),
                request.pack,
                path.display(),
                report.matrix.totals.non_compliant
            );
        }
        None => print!("{text}"),
    }
    report_unreadable(&report.matrix);
    Ok(exit_status(&report.matrix))
}
