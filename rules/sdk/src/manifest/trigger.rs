//! `[trigger]`: when Config invokes the rule.

use serde::{Deserialize, Serialize};

use super::Problems;

/// When Config invokes the rule: exactly one of `change` and `periodic`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TriggerSpec {
    /// Invoked on configuration changes of `resource-types`.
    #[serde(default)]
    pub change: bool,
    /// Invoked periodically at this `MaximumExecutionFrequency`.
    #[serde(default)]
    pub periodic: Option<Frequency>,
}

/// Config's `MaximumExecutionFrequency` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Frequency {
    #[serde(rename = "One_Hour")]
    OneHour,
    #[serde(rename = "Three_Hours")]
    ThreeHours,
    #[serde(rename = "Six_Hours")]
    SixHours,
    #[serde(rename = "Twelve_Hours")]
    TwelveHours,
    #[serde(rename = "TwentyFour_Hours")]
    TwentyFourHours,
}

/// The one way Config invokes a rule, which its entry point must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// On configuration changes of the rule's resource types.
    Change,
    /// On a schedule.
    Periodic(Frequency),
}

impl TriggerSpec {
    /// The trigger kind, when exactly one is declared.
    pub fn kind(&self) -> Option<TriggerKind> {
        match (self.change, self.periodic) {
            (true, None) => Some(TriggerKind::Change),
            (false, Some(frequency)) => Some(TriggerKind::Periodic(frequency)),
            _ => None,
        }
    }

    pub(super) fn check(&self, resource_types: &[String], problems: &mut Problems) {
        match self.kind() {
            None if self.change => problems.push(
                "trigger",
                "declares both `change` and `periodic`: a rule has exactly one trigger kind",
            ),
            None => problems.push(
                "trigger",
                "declares no trigger: set `change = true` or `periodic = \"<frequency>\"`",
            ),
            Some(TriggerKind::Change) if resource_types.is_empty() => problems.push(
                "resource-types",
                "a change-triggered rule names the resource types whose changes it evaluates",
            ),
            Some(_) => {}
        }
    }
}
