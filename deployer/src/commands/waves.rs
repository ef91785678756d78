//! `apply` with `[rollout]`: wave by wave, each under the lock like a whole apply, the later
//! waves' accounts left as they are; after each wave its rules' first evaluations are read and
//! held to the gate. A tripped gate stops the rollout; the waves that passed are recorded, so
//! a run again resumes after the last of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::apply::{Held, Locked, Refused, Request, confirm, now, reviewed_plan};
use super::{Run, print_json};
use crate::apply::ChangeResult;
use crate::aws::gate::GateRule;
use crate::aws::{self, Aws};
use crate::cli::{OutputFormat, PackageArgs};
use crate::desired::Desired;
use crate::evaluate::Outcome;
use crate::exit::ExitStatus;
use crate::guard::{self, Deletions};
use crate::output;
use crate::plan::Change;
use crate::rollout::gate::{self, Reading, Trip};
use crate::rollout::preview::{self, Predicted, WavePreview};
use crate::rollout::state::{self, RolloutState};
use crate::rollout::waves::{self, Wave};
use crate::settings::Rollout;
use crate::workflow::{self, Built, Prepared};

/// How one wave went, for the output.
#[derive(Debug, Clone, Serialize)]
struct WaveJson {
    name: String,
    accounts: BTreeSet<String>,
    changes: usize,
    /// `passed`, `passed-earlier`, `skipped` (with `--skip-gate`), `tripped`, `failed` (a
    /// change failed) or `not-started`.
    gate: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trips: Vec<Trip>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct RolloutJson<'a> {
    /// `succeeded`, `failed` or `gate-tripped`.
    status: &'a str,
    waves: &'a [WaveJson],
    changes: &'a [ChangeResult],
    accounts: &'a [output::AccountResult],
    calls: &'a aws::calls::CallCounts,
    write_calls: u64,
    skipped: &'a [crate::skipped::Skipped],
    not_managed: &'a [crate::ownership::Foreign],
}

/// The rules whose stack sets the plan changes: the rules a rollout gates.
pub(super) fn rolled_out_rules(prepared: &Prepared) -> BTreeSet<String> {
    let changed: BTreeSet<&str> = prepared
        .changes
        .iter()
        .filter(|c| !c.deletes())
        .filter_map(Change::stack_set)
        .collect();
    prepared
        .desired
        .stack_sets
        .values()
        .filter(|s| changed.contains(s.name.as_str()))
        .filter_map(|s| s.config_rule.as_ref().map(|r| r.name.clone()))
        .collect()
}

/// The accounts of `wave` where `prepared` deploys the rules in `rules`: instances created,
/// updated or repaired, or every instance of a rule stack set whose template changes.
fn changed_accounts(
    prepared: &Prepared,
    rules: &BTreeSet<String>,
    wave: &BTreeSet<String>,
) -> BTreeSet<String> {
    let is_gated = |name: &str| {
        prepared
            .desired
            .stack_sets
            .get(name)
            .and_then(|s| s.config_rule.as_ref())
            .is_some_and(|r| rules.contains(&r.name))
    };
    let mut out = BTreeSet::new();
    for change in &prepared.changes {
        match change {
            Change::CreateInstances(i)
            | Change::UpdateInstances(i)
            | Change::RepairInstances(i)
                if is_gated(&i.stack_set) =>
            {
                out.extend(i.instances.iter().map(|k| k.account.clone()));
            }
            Change::UpdateStackSet { name, .. } if is_gated(name) => {
                out.extend(
                    prepared.desired.stack_sets[name.as_str()]
                        .instances
                        .keys()
                        .map(|k| k.account.clone()),
                );
            }
            _ => {}
        }
    }
    out.retain(|a| wave.contains(a));
    out
}

/// Account -> region -> the gated rules its wanted instances hold (accounts left as they are
/// excepted).
fn gate_targets(
    desired: &Desired,
    accounts: &BTreeSet<String>,
    rules: &BTreeSet<String>,
) -> BTreeMap<String, BTreeMap<String, Vec<GateRule>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<GateRule>>> = BTreeMap::new();
    for spec in desired.stack_sets.values() {
        let Some(rule) = spec
            .config_rule
            .as_ref()
            .filter(|r| rules.contains(&r.name))
        else {
            continue;
        };
        for key in spec.instances.keys() {
            if !accounts.contains(&key.account) || desired.left_as_is.contains(&key.account) {
                continue;
            }
            let list = out
                .entry(key.account.clone())
                .or_default()
                .entry(key.region.clone())
                .or_default();
            if !list.iter().any(|r| r.name == rule.name) {
                list.push(GateRule {
                    name: rule.name.clone(),
                    remediated: rule.remediation.is_some(),
                });
            }
        }
    }
    out
}

/// The readings of every target, read again until each is settled or `wait` has passed.
async fn read_gate(
    aws: &Aws,
    admin_account: &str,
    role: &str,
    targets: &BTreeMap<String, BTreeMap<String, Vec<GateRule>>>,
    start: chrono::DateTime<chrono::Utc>,
    wait: Duration,
) -> Vec<Reading> {
    let began = tokio::time::Instant::now();
    let mut pause = Duration::from_secs(2);
    loop {
        let mut readings = Vec::new();
        for (account, regions) in targets {
            let member = aws.member(account, admin_account, role).await;
            for (region, rules) in regions {
                let client = member.config_service(region);
                match aws::gate::read(&client, account, region, rules, start).await {
                    Ok(found) => readings.extend(found),
                    Err(e) => readings.extend(rules.iter().map(|r| Reading {
                        account: account.clone(),
                        region: region.clone(),
                        rule: r.name.clone(),
                        unreadable: Some(e.brief().to_owned()),
                        ..Reading::default()
                    })),
                }
            }
        }
        let elapsed = began.elapsed();
        if readings.iter().all(Reading::settled) || elapsed >= wait {
            return readings;
        }
        let waiting = readings.iter().filter(|r| !r.settled()).count();
        eprintln!(
            "waiting for {waiting} first evaluations ({} of {} s)",
            elapsed.as_secs(),
            wait.as_secs()
        );
        tokio::time::sleep(pause.min(wait.saturating_sub(elapsed))).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

/// The key of what this run rolls out.
fn rollout_key(settings_digest: &str, built: &Built) -> String {
    state::key(
        settings_digest,
        built.artifacts.values().map(|a| a.key.as_str()),
        built.templates.values().map(|t| t.body.as_str()),
    )
}

impl Run {
    #[expect(
        clippy::too_many_lines,
        reason = "one sequence: plan, guard, confirm, then each wave's apply, gate and record"
    )]
    pub(super) async fn apply_in_waves(
        &self,
        rollout: &Rollout,
        package: &PackageArgs,
        request: Request<'_>,
    ) -> anyhow::Result<ExitStatus> {
        let verb = "apply";
        let aws = self.aws().await;
        let built = workflow::build(&self.settings, &self.source(package))
            .context("packaging and rendering")?;
        let options = self.options(request.adopt, true);
        let full = workflow::prepare(&aws, &self.settings, Some(&built), options)
            .await
            .context("reading what is deployed")?;
        let waves = match waves::resolve(rollout, &full.org) {
            Ok(waves) => waves,
            Err(errors) => {
                let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return self.refused(&aws, verb, &reasons);
            }
        };
        let mut allowed = request.allowed;
        if let Some(path) = request.plan_file {
            if let Err(Refused(reasons)) = reviewed_plan(path, &full) {
                return self.refused(&aws, verb, &reasons);
            }
            allowed.delete = true;
        }
        let deletions = Deletions::of(&full.changes, &full.observed);
        if let Some(reason) = guard::refusal(&deletions, allowed, self.thresholds()) {
            return self.refused(&aws, verb, &[reason]);
        }
        let client = aws.dynamodb();
        aws::lock::ensure_table(&client).await?;
        let key = rollout_key(&self.settings.source_digest, &built);
        let mut record = RolloutState::resume(
            aws::rollout::read(&client, &full.deployment_id).await?,
            &key,
        );
        let resumed = waves.iter().take_while(|w| record.passed(&w.name)).count();
        if full.changes.is_empty() && resumed == waves.len() {
            return self.nothing_to_do(&aws, &full, verb);
        }
        if self.output == OutputFormat::Table {
            println!(
                "{}",
                output::plan_table(&full.org, &full.changes, self.screen)
            );
            println!("{}", waves_table(&full.org, &waves, &record));
        }
        if !request.yes
            && !confirm(&format!(
                "{verb}: {} changes in {} waves",
                full.changes.len(),
                waves.len()
            ))?
        {
            eprintln!("{verb}: nothing done");
            return Ok(ExitStatus::Error);
        }
        let gated = rolled_out_rules(&full);
        let role = self.settings.organization.role_name.clone();
        let mut shown: Vec<WaveJson> = waves
            .iter()
            .map(|w| WaveJson {
                name: w.name.clone(),
                accounts: w.accounts.clone(),
                changes: 0,
                gate: "not-started",
                trips: Vec::new(),
                skip_reason: None,
            })
            .collect();
        let mut results: Vec<ChangeResult> = Vec::new();
        let mut last = full;
        let mut status = "succeeded";
        for (i, wave) in waves.iter().enumerate() {
            let mut hold = waves::held_after(&waves, i);
            // The administering account holds the central artifacts every wave's rules read.
            hold.remove(&last.admin_account);
            let prepared =
                workflow::prepare_holding(&aws, &self.settings, Some(&built), options, &hold)
                    .await
                    .context("reading what is deployed")?;
            let passed_earlier = record.passed(&wave.name);
            shown[i].changes = prepared.changes.len();
            if passed_earlier && prepared.changes.is_empty() {
                shown[i].gate = "passed-earlier";
                eprintln!("wave {}: passed earlier, up to date", wave.name);
                last = prepared;
                continue;
            }
            let changed = changed_accounts(&prepared, &gated, &wave.accounts);
            let (start, gated_accounts) = record.start(&wave.name, now(), &changed);
            aws::rollout::write(&client, &last.deployment_id, &record).await?;
            eprintln!(
                "wave {} ({} accounts): {} changes",
                wave.name,
                wave.accounts.len(),
                prepared.changes.len()
            );
            let current = if prepared.changes.is_empty() {
                prepared
            } else {
                let lock = match Held::take(&aws, &prepared.deployment_id, &self.settings).await? {
                    Ok(lock) => lock,
                    Err(holder) => {
                        return self.refused(&aws, verb, &[holder.held_message(now())]);
                    }
                };
                let outcome = self
                    .apply_under_lock(&aws, &lock, Some(&built), options, &prepared, &hold)
                    .await;
                let released = lock.release().await;
                let outcome = outcome?;
                released?;
                match outcome {
                    Locked::Refused(reasons) => return self.refused(&aws, verb, &reasons),
                    Locked::Applied(current, applied) => {
                        let failed = applied.iter().any(ChangeResult::failed);
                        results.extend(applied);
                        if failed {
                            shown[i].gate = "failed";
                            status = "failed";
                            last = *current;
                            break;
                        }
                        *current
                    }
                }
            };
            last = current;
            if passed_earlier {
                shown[i].gate = "passed-earlier";
                continue;
            }
            let targets = gate_targets(&last.desired, &gated_accounts, &gated);
            let readings = read_gate(
                &aws,
                &last.admin_account,
                &role,
                &targets,
                start,
                Duration::from_secs(u64::from(rollout.wait_seconds)),
            )
            .await;
            let trips = gate::judge(&readings, |r| rollout.gate_of(r), rollout.wait_seconds);
            let lines: Vec<String> = trips.iter().map(|t| trip_line(&last, t)).collect();
            for line in &lines {
                eprintln!("wave {}: gate: {line}", wave.name);
            }
            shown[i].trips.clone_from(&trips);
            if trips.is_empty() {
                shown[i].gate = "passed";
                eprintln!(
                    "wave {}: gate passed ({} rule readings)",
                    wave.name,
                    readings.len()
                );
                record.settle(&wave.name, true, None, Vec::new());
            } else if let Some(reason) = request.skip_gate {
                shown[i].gate = "skipped";
                shown[i].skip_reason = Some(reason.to_owned());
                eprintln!(
                    "wave {}: gate tripped, skipped with --skip-gate: {reason}",
                    wave.name
                );
                tracing::warn!(wave = %wave.name, reason, "rollout gate skipped");
                record.settle(&wave.name, true, Some(reason.to_owned()), lines);
            } else {
                shown[i].gate = "tripped";
                status = "gate-tripped";
                eprintln!(
                    "wave {}: gate tripped: the rollout stops here; `apply` again resumes with \
                     this wave's gate (`--skip-gate REASON` goes on past it)",
                    wave.name
                );
                record.settle(&wave.name, false, None, lines);
                aws::rollout::write(&client, &last.deployment_id, &record).await?;
                break;
            }
            aws::rollout::write(&client, &last.deployment_id, &record).await?;
        }
        self.report_waves(&aws, &last, &results, &shown, status)
    }

    fn report_waves(
        &self,
        aws: &Aws,
        last: &Prepared,
        results: &[ChangeResult],
        waves: &[WaveJson],
        status: &str,
    ) -> anyhow::Result<ExitStatus> {
        let accounts = output::account_results(&last.org, results);
        let counts = aws.calls.counts();
        match self.output {
            OutputFormat::Json => print_json(&RolloutJson {
                status,
                waves,
                changes: results,
                accounts: &accounts,
                calls: &counts,
                write_calls: counts.total_writes(),
                skipped: &last.skipped,
                not_managed: &last.observed.foreign,
            })?,
            OutputFormat::Table => {
                if !results.is_empty() {
                    println!(
                        "{}",
                        output::accounts_table(&accounts, results, self.screen)
                    );
                }
                for w in waves {
                    println!("wave {}: {} changes, gate {}", w.name, w.changes, w.gate);
                }
                for line in Self::notes(last) {
                    println!("{line}");
                }
                eprintln!(
                    "apply: {status}: {} changes, {} write calls",
                    results.len(),
                    counts.total_writes()
                );
            }
        }
        Ok(if status == "succeeded" && last.skipped.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Attention
        })
    }
}

/// A trip for people: the account by name, the rule, why, and the resources.
fn trip_line(prepared: &Prepared, trip: &Trip) -> String {
    let name = prepared
        .org
        .accounts
        .get(&trip.account)
        .map(|a| format!(" ({})", a.name))
        .unwrap_or_default();
    let mut line = format!(
        "account {}{name}, rule {}: {}",
        trip.account, trip.rule, trip.reason
    );
    if !trip.resources.is_empty() {
        line.push_str(": ");
        line.push_str(&trip.resources.join(", "));
    }
    line
}

/// The waves, their accounts and what is recorded of them.
pub(super) fn waves_table(
    org: &crate::org::Organization,
    waves: &[Wave],
    record: &RolloutState,
) -> String {
    let mut out = String::from("rollout waves:");
    for (i, wave) in waves.iter().enumerate() {
        let names: Vec<String> = wave
            .accounts
            .iter()
            .map(|a| match org.accounts.get(a) {
                Some(acc) => format!("{a} ({})", acc.name),
                None => a.clone(),
            })
            .collect();
        let note = match record.wave(&wave.name) {
            Some(w) if w.passed && w.skipped_gate.is_some() => " [passed, gate skipped]",
            Some(w) if w.passed => " [passed]",
            Some(_) => " [gate not passed]",
            None => "",
        };
        let _ = write!(
            out,
            "\n  {}. {}{note}: {} accounts: {}",
            i + 1,
            wave.name,
            wave.accounts.len(),
            names.join(", ")
        );
    }
    out
}

impl Run {
    /// `plan`'s view of the rollout: the waves, the instances each changes, and the
    /// non-compliance `evaluate`'s preview predicts for the rules rolled out. Invalid waves are
    /// the error.
    pub(super) async fn wave_preview(
        &self,
        aws: &Aws,
        rollout: &Rollout,
        prepared: &Prepared,
    ) -> Result<Vec<WavePreview>, Vec<String>> {
        let waves = waves::resolve(rollout, &prepared.org)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let rolled_out = rolled_out_rules(prepared);
        let mut predicted = Vec::new();
        if !rolled_out.is_empty() {
            #[expect(
                clippy::disallowed_methods,
                reason = "the preview's now, as `evaluate` takes it"
            )]
            let now = chrono::Utc::now();
            let scope = crate::evaluate::Scope::default();
            match crate::evaluate::evaluate(
                aws,
                &self.settings,
                &prepared.org,
                &prepared.admin_account,
                &scope,
                now,
            )
            .await
            {
                Ok(rows) => {
                    predicted = rows
                        .into_iter()
                        .map(|r| Predicted {
                            noncompliant: r.outcome == Outcome::NonCompliant,
                            failed: r.outcome == Outcome::Failed && r.resource.is_empty(),
                            account: r.account,
                            rule: r.rule,
                            resource: r.resource,
                        })
                        .collect();
                }
                Err(e) => eprintln!("plan: no prediction of non-compliance: {e:#}"),
            }
        }
        Ok(preview::preview(
            rollout,
            &waves,
            &prepared.changes,
            &rolled_out,
            &predicted,
        ))
    }
}

/// The waves of a plan, for people.
pub(super) fn preview_table(org: &crate::org::Organization, waves: &[WavePreview]) -> String {
    let name = |a: &str| {
        org.accounts
            .get(a)
            .map_or_else(|| a.to_owned(), |x| format!("{a} ({})", x.name))
    };
    let mut out = String::from("rollout waves:");
    for (i, w) in waves.iter().enumerate() {
        let accounts: Vec<String> = w.accounts.iter().map(|a| name(a)).collect();
        let _ = write!(
            out,
            "\n  {}. {}: {} instance changes in {} accounts: {}",
            i + 1,
            w.name,
            w.instance_changes,
            w.accounts.len(),
            accounts.join(", ")
        );
        for (account, rules) in &w.predicted_noncompliant {
            let rules: Vec<String> = rules.iter().map(|(r, n)| format!("{r} {n}")).collect();
            let _ = write!(
                out,
                "\n     predicted NON_COMPLIANT in {}: {}",
                name(account),
                rules.join(", ")
            );
        }
        if !w.not_previewed.is_empty() {
            let accounts: Vec<String> = w.not_previewed.iter().map(|a| name(a)).collect();
            let _ = write!(out, "\n     not previewed: {}", accounts.join(", "));
        }
        for over in &w.over_gate {
            let _ = write!(out, "\n     would trip the gate: {over}");
        }
    }
    out
}
