//! `deployer audit --pack NAME --org`: checks the request, reads compliance, writes the report.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::NaiveDate;

use crate::aws::Aws;
use crate::cli::{AwsArgs, OutputArg};
use crate::exit::ExitStatus;
use crate::settings::Settings;
use crate::status;

/// What the audit is asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub pack: &'a str,
    pub rule: Option<&'a str>,
    pub account: Option<&'a str>,
    pub format: OutputArg,
    pub out: Option<&'a Path>,
    /// How wide the tables may be.
    pub screen: crate::layout::Screen,
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

pub async fn run(
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
    let mut scope = status::scope(&aws, settings).await?;
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
    let readings = status::read(&aws, settings, &scope, &rules).await?;
    let report = super::report(
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
        OutputArg::Html => super::html::render(&report).context("rendering the HTML report")?,
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
    status::report_unreadable(&report.matrix);
    Ok(status::exit_status(&report.matrix))
}
