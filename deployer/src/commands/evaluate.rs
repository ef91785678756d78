//! `deployer evaluate`: runs the rules locally on what Config recorded, read-only, and prints
//! what each would report.

use super::{Run, load_run, print_json, runtime};
use crate::cli::{EvaluateArgs, GlobalArgs, OutputFormat};
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &EvaluateArgs) -> anyhow::Result<ExitStatus> {
    let scope = crate::evaluate::Scope {
        rule: args.rule.clone(),
        account: args.account.clone(),
    };
    runtime()?.block_on(async { load_run(global)?.evaluate(&scope).await })
}

impl Run {
    /// `evaluate`: the preview, with the calls it made (reads only).
    pub async fn evaluate(&self, scope: &crate::evaluate::Scope) -> anyhow::Result<ExitStatus> {
        use crate::evaluate::{self, Outcome, report};
        // Bad input stops here, before any AWS call.
        evaluate::selected_rules(&self.settings, scope)?;
        let aws = self.aws().await;
        let (admin, org) = crate::readings::caller_and_organisation(&aws).await?;
        #[expect(
            clippy::disallowed_methods,
            reason = "the preview's now: exemption expiry and periodic windows, as at a real run"
        )]
        let now = chrono::Utc::now();
        let rows = evaluate::evaluate(&aws, &self.settings, &org, &admin, scope, now).await?;
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => print_json(&report::PreviewJson::new(&rows, &counts))?,
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
}
