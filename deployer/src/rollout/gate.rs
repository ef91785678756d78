//! The gate after a wave: what the wave's rules reported since it was deployed, against the
//! thresholds of `[rollout.gate]` and `[rules.NAME.gate]`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::settings::Gate;

/// What one rule reported in one account and region since the wave was deployed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub account: String,
    pub region: String,
    pub rule: String,
    /// The rule was invoked or evaluated since (Config's evaluation status).
    pub evaluated: bool,
    /// Resources reported NON_COMPLIANT since.
    pub noncompliant: Vec<String>,
    /// Failed invocations or evaluations since (Config keeps the last error only).
    pub errors: Vec<String>,
    /// Resources whose remediation failed since.
    pub remediation_failures: Vec<String>,
    /// Why the account could not be read: never a pass.
    pub unreadable: Option<String>,
}

impl Reading {
    /// Read in full: nothing more to wait for.
    pub fn settled(&self) -> bool {
        self.evaluated || self.unreadable.is_some()
    }
}

/// One reason a wave did not pass: the account, rule and resources that tripped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trip {
    pub account: String,
    pub rule: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// Every trip in `readings`, per account and rule (over its regions), in account order.
/// `wait_seconds` names the bound of the wait in the trip of a rule that never evaluated.
pub fn judge(readings: &[Reading], gate_of: impl Fn(&str) -> Gate, wait_seconds: u32) -> Vec<Trip> {
    let mut by: BTreeMap<(&str, &str), Vec<&Reading>> = BTreeMap::new();
    for r in readings {
        by.entry((r.account.as_str(), r.rule.as_str()))
            .or_default()
            .push(r);
    }
    let mut trips = Vec::new();
    for ((account, rule), readings) in by {
        let gate = gate_of(rule);
        let trip = |reason: String, resources: Vec<String>| Trip {
            account: account.to_owned(),
            rule: rule.to_owned(),
            reason,
            resources,
        };
        let all = |f: fn(&Reading) -> &Vec<String>| -> Vec<String> {
            let mut v: Vec<String> = readings.iter().flat_map(|r| f(r).iter().cloned()).collect();
            v.sort();
            v.dedup();
            v
        };
        for r in &readings {
            if let Some(why) = &r.unreadable {
                trips.push(trip(
                    format!("{}: cannot be read: {why}", r.region),
                    Vec::new(),
                ));
            } else if !r.evaluated {
                trips.push(trip(
                    format!("{}: no evaluation within {wait_seconds} s", r.region),
                    Vec::new(),
                ));
            }
        }
        let noncompliant = all(|r| &r.noncompliant);
        if noncompliant.len() > gate.max_new_noncompliant_per_account as usize {
            trips.push(trip(
                format!(
                    "{} new NON_COMPLIANT resources, more than {}",
                    noncompliant.len(),
                    gate.max_new_noncompliant_per_account
                ),
                noncompliant,
            ));
        }
        let errors = all(|r| &r.errors);
        if errors.len() > gate.max_evaluation_errors as usize {
            trips.push(trip(
                format!(
                    "{} evaluation errors, more than {}: {}",
                    errors.len(),
                    gate.max_evaluation_errors,
                    errors.join("; ")
                ),
                Vec::new(),
            ));
        }
        let failed = all(|r| &r.remediation_failures);
        if !failed.is_empty() && !gate.allow_remediation_failures {
            trips.push(trip(
                format!("{} remediations failed", failed.len()),
                failed,
            ));
        }
    }
    trips
}
