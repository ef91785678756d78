//! `[rollout]`: canary waves and the compliance gate read after each, checked as written (which
//! OUs and accounts exist is known once the organisation is read: `rollout::waves`).

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::file::{self, SettingsFile};
use super::{Checker, Located, OuRef, values};

/// How long a wave waits for its rules' first evaluations unless `wait-seconds` says otherwise.
pub const DEFAULT_WAIT_SECONDS: u32 = 1800;

/// The thresholds unless `[rollout.gate]` says otherwise.
pub const DEFAULT_GATE: Gate = Gate {
    max_new_noncompliant_per_account: 10,
    max_evaluation_errors: 0,
    allow_remediation_failures: false,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// In order; at most the last one is `rest`.
    pub waves: Vec<WaveSpec>,
    /// `[rollout.gate]`.
    pub gate: Gate,
    /// `[rules.NAME.gate]`, over `gate`.
    pub rule_gates: BTreeMap<String, Gate>,
    pub wait_seconds: u32,
}

impl Rollout {
    /// The thresholds `rule` is held to.
    pub fn gate_of(&self, rule: &str) -> Gate {
        self.rule_gates.get(rule).copied().unwrap_or(self.gate)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveSpec {
    pub name: String,
    pub ous: Vec<Located<OuRef>>,
    pub accounts: Vec<Located<String>>,
    /// Every account of the organisation no earlier wave holds.
    pub rest: bool,
}

/// What a wave's first evaluations may show before the rollout stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Gate {
    /// NON_COMPLIANT results recorded since the wave was deployed, per account (and rule).
    pub max_new_noncompliant_per_account: u32,
    /// Failed evaluations (the rule's last error) per account (and rule).
    pub max_evaluation_errors: u32,
    pub allow_remediation_failures: bool,
}

impl Checker<'_> {
    pub(super) fn rollout(&mut self, file: &SettingsFile) -> Option<Rollout> {
        let Some(rollout) = &file.rollout else {
            for rule in file.rules.values() {
                if let Some(gate) = &rule.gate {
                    self.problem(gate.span(), "a rule's gate needs a `[rollout]` section");
                }
            }
            return None;
        };
        let span = rollout.span();
        let rollout = rollout.get_ref();
        let gate = self.gate(&rollout.gate, DEFAULT_GATE);
        let wait_seconds = match &rollout.gate.wait_seconds {
            Some(s) if *s.get_ref() == 0 => {
                self.problem(s.span(), "expected a wait of at least 1 second");
                DEFAULT_WAIT_SECONDS
            }
            Some(s) => *s.get_ref(),
            None => DEFAULT_WAIT_SECONDS,
        };
        let mut rule_gates = BTreeMap::new();
        for (name, rule) in &file.rules {
            if let Some(g) = &rule.gate {
                let thresholds = file::GateFile {
                    max_new_noncompliant_per_account: g
                        .get_ref()
                        .max_new_noncompliant_per_account
                        .clone(),
                    max_evaluation_errors: g.get_ref().max_evaluation_errors.clone(),
                    allow_remediation_failures: g.get_ref().allow_remediation_failures,
                    wait_seconds: None,
                };
                rule_gates.insert(name.get_ref().clone(), self.gate(&thresholds, gate));
            }
        }
        let waves = self.waves(&rollout.waves);
        if waves.is_empty() {
            self.problem(
                span.start..span.start + "[rollout]".len(),
                "expected at least one `[[rollout.waves]]`",
            );
        }
        Some(Rollout {
            waves,
            gate,
            rule_gates,
            wait_seconds,
        })
    }

    fn gate(&mut self, g: &file::GateFile, defaults: Gate) -> Gate {
        let _ = self;
        let value =
            |v: &Option<Spanned<u32>>, default: u32| v.as_ref().map_or(default, |v| *v.get_ref());
        Gate {
            max_new_noncompliant_per_account: value(
                &g.max_new_noncompliant_per_account,
                defaults.max_new_noncompliant_per_account,
            ),
            max_evaluation_errors: value(&g.max_evaluation_errors, defaults.max_evaluation_errors),
            allow_remediation_failures: g
                .allow_remediation_failures
                .unwrap_or(defaults.allow_remediation_failures),
        }
    }

    fn waves(&mut self, waves: &[Spanned<file::WaveFile>]) -> Vec<WaveSpec> {
        let mut out = Vec::new();
        let mut names = BTreeSet::new();
        let mut ous: BTreeMap<OuRef, String> = BTreeMap::new();
        let mut accounts: BTreeMap<String, String> = BTreeMap::new();
        for (i, wave) in waves.iter().enumerate() {
            let w = wave.get_ref();
            let name = w.name.get_ref().trim().to_owned();
            if name.is_empty() {
                self.problem(w.name.span(), "expected a wave name");
            } else if !names.insert(name.clone()) {
                self.problem(w.name.span(), format!("a second wave named `{name}`"));
            }
            if w.rest && (!w.ous.is_empty() || !w.accounts.is_empty()) {
                self.problem(
                    w.name.span(),
                    "a `rest` wave takes every account no earlier wave holds: it lists no OU or account",
                );
            }
            if w.rest && i + 1 != waves.len() {
                self.problem(w.name.span(), "only the last wave can be `rest = true`");
            }
            if !w.rest && w.ous.is_empty() && w.accounts.is_empty() {
                self.problem(
                    w.name.span(),
                    "a wave needs `ous`, `accounts` or `rest = true`",
                );
            }
            let mut spec = WaveSpec {
                name: name.clone(),
                ous: Vec::new(),
                accounts: Vec::new(),
                rest: w.rest,
            };
            for ou in &w.ous {
                match OuRef::parse(ou.get_ref()) {
                    Ok(parsed) => {
                        if let Some(other) = ous.insert(parsed.clone(), name.clone()) {
                            self.problem(ou.span(), format!("OU already in wave `{other}`"));
                        } else {
                            spec.ous.push(self.locate(parsed, ou.span()));
                        }
                    }
                    Err(message) => self.problem(ou.span(), message),
                }
            }
            for account in &w.accounts {
                let id = account.get_ref();
                if !values::is_account_id(id) {
                    self.problem(account.span(), "expected a 12-digit account id");
                } else if let Some(other) = accounts.insert(id.clone(), name.clone()) {
                    self.problem(account.span(), format!("account already in wave `{other}`"));
                } else {
                    spec.accounts.push(self.locate(id.clone(), account.span()));
                }
            }
            out.push(spec);
        }
        out
    }
}
