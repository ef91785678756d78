//! `deployer apply` (and the apply that `destroy` is): reads and plans, checks the guards and
//! a reviewed plan, takes the lock, reads again under it and applies.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};

use super::{Run, colour, load_run, print_json, runtime, saved_plan};
use crate::apply::{self, ApplyContext, ChangeResult, Journal};
use crate::aws::stacksets::{self, Caller, Polling};
use crate::aws::{self, Aws};
use crate::cli::{ApplyArgs, DeleteArgs, GlobalArgs, OutputFormat, PackageArgs};
use crate::exit::ExitStatus;
use crate::guard::{self, Allowed, Deletions};
use crate::lock::LockRecord;
use crate::output;
use crate::overrides;
use crate::plan::SavedPlan;
use crate::settings::Settings;
use crate::workflow::{self, Built, Options, Prepared};

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        let request = Request {
            package: Some(&args.package),
            plan_file: args.plan.as_deref(),
            yes: args.yes,
            allowed: allowed(args.delete),
            adopt: args.adopt.adopt,
            skip_gate: args.skip_gate.as_deref(),
        };
        Box::pin(load_run(global)?.apply(request, "apply")).await
    })
}

/// The deletions the flags allow.
pub fn allowed(flags: DeleteArgs) -> Allowed {
    Allowed {
        delete: flags.allow_delete,
        mass_delete: flags.allow_mass_delete,
    }
}

/// What `apply` (or `destroy`) is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The code to deploy; `None` for destroy.
    pub package: Option<&'a PackageArgs>,
    /// A saved plan to apply exactly.
    pub plan_file: Option<&'a Path>,
    pub yes: bool,
    pub allowed: Allowed,
    pub adopt: bool,
    /// Go on past a tripped rollout gate, for this reason.
    pub skip_gate: Option<&'a str>,
}

/// A run refused before it wrote anything, and why.
#[derive(Debug)]
pub(super) struct Refused(pub(super) Vec<String>);

/// What an apply under the lock came to.
pub(super) enum Locked {
    /// Nothing written, and why.
    Refused(Vec<String>),
    /// What was read under the lock, and each change's result.
    Applied(Box<Prepared>, Vec<ChangeResult>),
}

/// The time, at the edge.
pub(super) fn now() -> chrono::DateTime<chrono::Utc> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the lock's since and lease are wall-clock times"
    )]
    chrono::Utc::now()
}

impl Run {
    /// `apply` and `destroy`.
    pub async fn apply(&self, request: Request<'_>, verb: &str) -> anyhow::Result<ExitStatus> {
        if let (Some(rollout), Some(package)) = (&self.settings.rollout, request.package) {
            return self.apply_in_waves(rollout, package, request).await;
        }
        let aws = self.aws().await;
        let built = match request.package {
            Some(package) => Some(
                workflow::build(&self.settings, &self.source(package))
                    .context("packaging and rendering")?,
            ),
            None => None,
        };
        let options = self.options(request.adopt, request.package.is_some());
        let prepared = workflow::prepare(&aws, &self.settings, built.as_ref(), options)
            .await
            .context("reading what is deployed")?;
        let mut allowed = request.allowed;
        if let Some(path) = request.plan_file {
            if let Err(Refused(reasons)) = reviewed_plan(path, &prepared) {
                return self.refused(&aws, verb, &reasons);
            }
            // A reviewed plan that lists its deletions is the permission to delete them.
            allowed.delete = true;
        }
        if prepared.changes.is_empty() {
            return self.nothing_to_do(&aws, &prepared, verb);
        }
        let deletions = Deletions::of(&prepared.changes, &prepared.observed);
        if let Some(reason) = guard::refusal(&deletions, allowed, self.thresholds()) {
            if self.output == OutputFormat::Table {
                println!(
                    "{}",
                    output::plan_table(&prepared.org, &prepared.changes, self.screen)
                );
            }
            return self.refused(&aws, verb, &[reason]);
        }
        if self.output == OutputFormat::Table {
            if let Some(warning) = output::deletion_warning(&deletions, colour()) {
                println!("{warning}");
            }
            println!(
                "{}",
                output::plan_table(&prepared.org, &prepared.changes, self.screen)
            );
        }
        if !request.yes && !confirm(&format!("{verb}: {} changes", prepared.changes.len()))? {
            eprintln!("{verb}: nothing done");
            return Ok(ExitStatus::Error);
        }
        let lock = match Held::take(&aws, &prepared.deployment_id, &self.settings).await? {
            Ok(lock) => lock,
            Err(holder) => return self.refused(&aws, verb, &[holder.held_message(now())]),
        };
        let outcome = self
            .apply_locked(&aws, &lock, built.as_ref(), options, &prepared, verb)
            .await;
        let released = lock.release().await;
        let status = outcome?;
        released?;
        Ok(status)
    }

    /// Under the lock: waits for what an earlier run left running, reads everything again, and
    /// applies the plan only if nothing changed since it was made.
    async fn apply_locked(
        &self,
        aws: &Aws,
        lock: &Held,
        built: Option<&Built>,
        options: Options,
        planned: &Prepared,
        verb: &str,
    ) -> anyhow::Result<ExitStatus> {
        let hold = BTreeSet::new();
        match self
            .apply_under_lock(aws, lock, built, options, planned, &hold)
            .await?
        {
            Locked::Refused(reasons) => self.refused(aws, verb, &reasons),
            Locked::Applied(prepared, results) => self.report(aws, &prepared, &results, verb),
        }
    }

    /// [`Run::apply_locked`]'s work, leaving the accounts in `hold` as they are, without
    /// reporting.
    pub(super) async fn apply_under_lock(
        &self,
        aws: &Aws,
        lock: &Held,
        built: Option<&Built>,
        options: Options,
        planned: &Prepared,
        hold: &BTreeSet<String>,
    ) -> anyhow::Result<Locked> {
        let caller = Caller {
            delegated_admin: self.settings.organization.delegated_admin,
        };
        let polling =
            Polling::with_timeout_minutes(self.settings.deployment.operation_timeout_minutes);
        let earlier = aws::lock::journal(&lock.client, &lock.deployment).await?;
        for (stack_set, operation) in &earlier {
            if let Err(reason) =
                wait_for_earlier(aws, stack_set, operation, caller, planned, polling).await
            {
                return Ok(Locked::Refused(vec![reason]));
            }
        }
        let prepared = workflow::prepare_holding(aws, &self.settings, built, options, hold)
            .await
            .context("reading what is deployed, under the lock")?;
        let mut changed = planned.digests.differences(&prepared.digests);
        if changed.is_empty() && planned.approval != prepared.approval {
            changed.push("the changes differ from the plan".to_owned());
        }
        if !changed.is_empty() {
            changed.insert(
                0,
                "what is deployed changed while this run was planning: run it again".to_owned(),
            );
            return Ok(Locked::Refused(changed));
        }
        let context = ApplyContext::new(
            aws.clone(),
            prepared.admin_account.clone(),
            &self.settings,
            prepared.artifacts.clone(),
        )
        .with_deployed(&prepared.observed);
        let context = ApplyContext {
            journal: Some(Journal {
                client: lock.client.clone(),
                deployment: lock.deployment.clone(),
            }),
            lock_lost: lock.lost.clone(),
            ..context
        };
        // No record to trust while instances change; a fresh one once they have.
        aws::overrides::forget(&lock.client, &lock.deployment).await?;
        let results =
            apply::apply(&context, &prepared.desired, &prepared.changes, self.verbose).await;
        let failed: BTreeSet<String> = results
            .iter()
            .filter(|r| r.failed())
            .filter_map(|r| r.change.stack_set().map(str::to_owned))
            .collect();
        let record = overrides::after_apply(&prepared.desired, &prepared.observed, &failed);
        if let Err(e) = aws::overrides::write(&lock.client, &lock.deployment, &record).await {
            tracing::warn!(error = %e, "the overrides record was not kept: the next run reads every instance");
        }
        // Every operation ended (none timed out): nothing for a later run to wait for.
        if !results.iter().any(timed_out) {
            aws::lock::clear_journal(&lock.client, &lock.deployment).await?;
        }
        Ok(Locked::Applied(Box::new(prepared), results))
    }

    pub(super) fn nothing_to_do(
        &self,
        aws: &Aws,
        prepared: &Prepared,
        verb: &str,
    ) -> anyhow::Result<ExitStatus> {
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => print_json(&output::ApplyJson {
                status: "no-changes",
                changes: &[],
                accounts: &[],
                write_calls: counts.total_writes(),
                calls: &counts,
                skipped: &prepared.skipped,
                not_managed: &prepared.observed.foreign,
            })?,
            OutputFormat::Table => {
                for line in Self::notes(prepared) {
                    println!("{line}");
                }
                eprintln!(
                    "{verb}: nothing to change: every target is up to date ({} write calls)",
                    counts.total_writes()
                );
            }
        }
        Ok(if prepared.skipped.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Attention
        })
    }

    /// Exit 2, having written nothing: the reasons, and the calls made (reads only).
    pub(super) fn refused(
        &self,
        aws: &Aws,
        verb: &str,
        reasons: &[String],
    ) -> anyhow::Result<ExitStatus> {
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => print_json(&output::RefusedJson {
                status: "refused",
                reasons,
                write_calls: counts.total_writes(),
                calls: &counts,
            })?,
            OutputFormat::Table => {
                for reason in reasons {
                    eprintln!("{verb} refused: {reason}");
                }
                eprintln!(
                    "{verb}: nothing written ({} write calls)",
                    counts.total_writes()
                );
            }
        }
        Ok(ExitStatus::Error)
    }

    fn report(
        &self,
        aws: &Aws,
        prepared: &Prepared,
        results: &[ChangeResult],
        verb: &str,
    ) -> anyhow::Result<ExitStatus> {
        let failed = results.iter().filter(|r| r.failed()).count();
        let accounts = output::account_results(&prepared.org, results);
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => print_json(&output::ApplyJson {
                status: if failed == 0 { "succeeded" } else { "failed" },
                changes: results,
                accounts: &accounts,
                write_calls: counts.total_writes(),
                calls: &counts,
                skipped: &prepared.skipped,
                not_managed: &prepared.observed.foreign,
            })?,
            OutputFormat::Table => {
                println!(
                    "{}",
                    output::accounts_table(&accounts, results, self.screen)
                );
                for line in Self::notes(prepared) {
                    println!("{line}");
                }
                eprintln!(
                    "{verb}: {} changes, {failed} failed, {} write calls",
                    results.len(),
                    counts.total_writes()
                );
            }
        }
        Ok(if prepared.skipped.is_empty() {
            status_of(results)
        } else {
            ExitStatus::Attention
        })
    }
}

/// A change whose wait reached its limit (its operation may still run).
fn timed_out(result: &ChangeResult) -> bool {
    result
        .error
        .as_deref()
        .is_some_and(|e| e.contains("operation-timeout-minutes"))
}

/// Waits for an operation an earlier run recorded and may have left running; an error (the
/// reason to refuse) when it is still running at the limit.
async fn wait_for_earlier(
    aws: &Aws,
    stack_set: &str,
    operation: &str,
    caller: Caller,
    planned: &Prepared,
    polling: Polling,
) -> Result<(), String> {
    let Some(set) = planned.observed.stack_sets.get(stack_set) else {
        return Ok(());
    };
    let call_as = caller.call_as(set.permission_model);
    let client = aws.cloudformation();
    match stacksets::in_flight(&client, stack_set, operation, call_as.clone()).await {
        Ok(false) => Ok(()),
        Ok(true) => {
            tracing::info!(
                stack_set,
                operation,
                "waiting for an operation an earlier run started"
            );
            stacksets::wait(&client, stack_set, operation, call_as, polling)
                .await
                .map(drop)
                .map_err(|e| format!("an operation an earlier run started is not finished: {e}"))
        }
        Err(e) => Err(format!(
            "cannot tell whether operation {operation} an earlier run started on {stack_set} is \
             finished: {e}"
        )),
    }
}

/// The apply lock, held by this run, its lease renewed in the background.
pub(super) struct Held {
    client: aws_sdk_dynamodb::Client,
    deployment: String,
    lock_id: String,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Held {
    /// Takes the lock of `deployment`; the holder's record when another run holds it.
    pub(super) async fn take(
        aws: &Aws,
        deployment: &str,
        settings: &Settings,
    ) -> anyhow::Result<Result<Self, LockRecord>> {
        let client = aws.dynamodb();
        aws::lock::ensure_table(&client).await?;
        let lease = chrono::Duration::minutes(i64::from(settings.deployment.lock_lease_minutes));
        let since = now();
        let record = LockRecord {
            lock_id: uuid::Uuid::new_v4().to_string(),
            deployment: deployment.to_owned(),
            holder: aws.caller_arn().await?,
            host: crate::lock::host_name(),
            since,
            expires: since + lease,
        };
        if let Err(holder) = aws::lock::acquire(&client, &record, since).await? {
            return Ok(Err(holder));
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = {
            let (client, deployment, lock_id, lost) = (
                client.clone(),
                deployment.to_owned(),
                record.lock_id.clone(),
                lost.clone(),
            );
            let every = lease.to_std().unwrap_or_default() / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) =
                        aws::lock::renew(&client, &deployment, &lock_id, now() + lease).await
                    {
                        tracing::error!(error = %e, "the apply lock could not be renewed");
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            })
        };
        Ok(Ok(Self {
            client,
            deployment: deployment.to_owned(),
            lock_id: record.lock_id,
            lost,
            renewer,
        }))
    }

    pub(super) async fn release(self) -> anyhow::Result<()> {
        self.renewer.abort();
        if !aws::lock::release(&self.client, &self.deployment, &self.lock_id).await? {
            tracing::warn!(lock = %self.lock_id, "the apply lock was no longer this run's");
        }
        Ok(())
    }
}

fn status_of(results: &[ChangeResult]) -> ExitStatus {
    if results.iter().any(ChangeResult::failed) {
        ExitStatus::Attention
    } else {
        ExitStatus::Success
    }
}

/// A saved plan, accepted only when this run, rendering and reading everything again, arrives
/// at the same plan from the same tree, settings and deployed state. Nothing is taken from it
/// but the permission to carry out exactly these changes.
pub(super) fn reviewed_plan(path: &Path, prepared: &Prepared) -> Result<SavedPlan, Refused> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Refused(vec![format!("cannot read {shown}: {e}")]))?;
    let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Refused(vec![format!(
            "{shown} is not a saved plan of this deployer: {e}"
        )])
    })?;
    let refusals = plan.refusals(&saved_plan(prepared));
    if refusals.is_empty() {
        Ok(plan)
    } else {
        let mut reasons = vec![format!("{shown} cannot be applied:")];
        reasons.extend(refusals);
        Err(Refused(reasons))
    }
}

/// Asks on the terminal; without one, refuses (pass --yes).
pub(super) fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question}: not confirmed (no terminal to ask on; pass --yes)");
    }
    eprint!("{question}. Go ahead? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
