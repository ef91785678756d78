//! The record of a rollout, kept between runs: which waves started and passed, keyed by what
//! is rolled out, so a run again resumes after the last passed wave and a changed rollout
//! starts over.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    /// What is rolled out ([`key`]).
    pub key: String,
    pub waves: Vec<WaveRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRecord {
    pub name: String,
    /// When its deployment started: results recorded since are the wave's.
    pub started: DateTime<Utc>,
    /// The accounts where the wave deployed the rules rolled out: those its gate reads.
    #[serde(default)]
    pub gated: BTreeSet<String>,
    pub passed: bool,
    /// `--skip-gate` and its reason, when the gate was overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_gate: Option<String>,
    /// What tripped the gate, for people reading the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tripped: Vec<String>,
}

/// The key of a rollout: the settings as written, the code and the rendered templates.
pub fn key<'a>(
    settings_digest: &str,
    code_keys: impl IntoIterator<Item = &'a str>,
    templates: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(settings_digest.as_bytes());
    for part in code_keys.into_iter().chain(templates) {
        hash.update([0]);
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

impl RolloutState {
    /// The recorded state when it is of the rollout `key`; a fresh one otherwise.
    pub fn resume(recorded: Option<Self>, key: &str) -> Self {
        match recorded {
            Some(state) if state.key == key => state,
            _ => Self {
                key: key.to_owned(),
                waves: Vec::new(),
            },
        }
    }

    pub fn wave(&self, name: &str) -> Option<&WaveRecord> {
        self.waves.iter().find(|w| w.name == name)
    }

    pub fn passed(&self, name: &str) -> bool {
        self.wave(name).is_some_and(|w| w.passed)
    }

    /// When the wave started and the accounts its gate reads: as recorded, else `now` and
    /// `gated` (recorded).
    pub fn start(
        &mut self,
        name: &str,
        now: DateTime<Utc>,
        gated: &BTreeSet<String>,
    ) -> (DateTime<Utc>, BTreeSet<String>) {
        if let Some(w) = self.wave(name) {
            return (w.started, w.gated.clone());
        }
        self.waves.push(WaveRecord {
            name: name.to_owned(),
            started: now,
            gated: gated.clone(),
            passed: false,
            skipped_gate: None,
            tripped: Vec::new(),
        });
        (now, gated.clone())
    }

    /// The gate's outcome for a started wave.
    pub fn settle(
        &mut self,
        name: &str,
        passed: bool,
        skipped_gate: Option<String>,
        tripped: Vec<String>,
    ) {
        if let Some(w) = self.waves.iter_mut().find(|w| w.name == name) {
            w.passed = passed;
            w.skipped_gate = skipped_gate;
            w.tripped = tripped;
        }
    }
}
