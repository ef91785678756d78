//! `deployer.toml` as written: serde types with spans, so later checks can point at the text.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SettingsFile {
    pub organization: Spanned<OrganizationFile>,
    #[serde(default)]
    pub deployment: DeploymentFile,
    #[serde(default)]
    pub artifacts: ArtifactsFile,
    #[serde(default)]
    pub remediation: RemediationFile,
    #[serde(default)]
    pub notifications: NotificationsFile,
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, RuleFile>,
    #[serde(default)]
    pub exemptions: Vec<ExemptionFile>,
    #[serde(default)]
    pub packs: BTreeMap<Spanned<String>, PackFile>,
    #[serde(default)]
    pub status: StatusFile,
    /// Canary waves and the gate between them.
    pub rollout: Option<Spanned<RolloutFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OrganizationFile {
    /// Role assumed in member accounts to read them (plan, doctor, artifact uploads).
    pub role_name: Option<Spanned<String>>,
    pub regions: Spanned<Vec<Spanned<String>>>,
    /// OUs the rules are deployed to, with every account below them, now and later.
    #[serde(default)]
    pub target_ous: Vec<Spanned<String>>,
    /// Accounts targeted one by one.
    #[serde(default)]
    pub accounts: Vec<Spanned<String>>,
    /// Whether the management account gets the rules too (OU deployments never reach it).
    #[serde(default)]
    pub include_management_account: bool,
    #[serde(default)]
    pub exclude_accounts: Vec<Spanned<String>>,
    /// Who administers the service-managed stack sets: the management account (`self`) or a
    /// delegated administrator of StackSets (`delegated-admin`), whose credentials then run the
    /// deployer.
    #[serde(default)]
    pub call_as: CallAs,
    /// Names this deployment: everything it creates carries it (`custos:managed=<id>`), and it
    /// updates or deletes only what carries it. Default: the management account's id.
    pub deployment_id: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallAs {
    #[default]
    #[serde(rename = "self")]
    Management,
    DelegatedAdmin,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeploymentFile {
    pub max_concurrent_percentage: Option<Spanned<u32>>,
    pub failure_tolerance_percentage: Option<Spanned<u32>>,
    pub region_concurrency: Option<RegionConcurrency>,
    #[serde(default)]
    pub retain_stacks_on_account_removal: bool,
    /// A run that deletes more than this share of the managed stack instances needs
    /// `--allow-mass-delete`.
    pub mass_delete_percentage: Option<Spanned<u32>>,
    /// A run that deletes more than this many whole stack sets needs `--allow-mass-delete`.
    pub mass_delete_stack_sets: Option<Spanned<u32>>,
    /// How long one StackSets operation (or organisation pack) may run before the run gives up
    /// waiting and reports what is still running.
    pub operation_timeout_minutes: Option<Spanned<u32>>,
    /// How long the apply lock outlives a run that stopped without releasing it.
    pub lock_lease_minutes: Option<Spanned<u32>>,
    /// Read the Custos rules and stacks back in each member account to find changes made by
    /// hand.
    pub detect_drift: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionConcurrency {
    Parallel,
    Sequential,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ArtifactsFile {
    pub bucket_prefix: Option<Spanned<String>>,
    pub distribution: Option<Distribution>,
}

/// Where rule Lambdas read their code from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// One bucket per region in the administering account, readable by the organisation.
    #[default]
    Central,
    /// A bucket per target account and region, filled by the deployer; for organisations whose
    /// data perimeter forbids reading another account's bucket.
    PerAccount,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RemediationFile {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Days the rule and remediation log groups (the remediation records) are kept.
    pub log_retention_days: Option<Spanned<u32>>,
}

impl Default for RemediationFile {
    fn default() -> Self {
        Self {
            enabled: true,
            log_retention_days: None,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NotificationsFile {
    #[serde(default)]
    pub emails: Vec<Spanned<String>>,
}

pub type ParametersFile = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub parameters: ParametersFile,
    /// Overrides the rule's own `automatic` setting.
    pub remediation: Option<Spanned<RemediationMode>>,
    #[serde(default)]
    pub overrides: Vec<OverrideFile>,
    /// This rule's thresholds for the rollout gate, over `[rollout.gate]`.
    pub gate: Option<Spanned<RuleGateFile>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationMode {
    /// Config remediates non-compliant resources itself.
    Automatic,
    /// The remediation is deployed; people start it from the console.
    Manual,
    /// No remediation is deployed.
    Off,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OverrideFile {
    pub ou: Spanned<String>,
    pub parameters: ParametersFile,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExemptionFile {
    /// A rule name, or `all`.
    pub rule: Spanned<String>,
    pub resource_id: Spanned<String>,
    pub until: Spanned<toml::value::Datetime>,
    pub reason: Spanned<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackFile {
    #[serde(default)]
    pub description: Option<String>,
    pub rules: Vec<Spanned<String>>,
    /// `account` (through a stack set) or `organization` (`PutOrganizationConformancePack`).
    #[serde(default)]
    pub deployment: crate::packs::Deployment,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StatusFile {
    /// An organisation aggregator to read compliance through, instead of each account.
    pub aggregator: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RolloutFile {
    /// In order: each is deployed, and its gate read, before the next.
    #[serde(default)]
    pub waves: Vec<Spanned<WaveFile>>,
    #[serde(default)]
    pub gate: GateFile,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WaveFile {
    pub name: Spanned<String>,
    /// OUs (paths or ids) whose accounts, at any depth, are in this wave.
    #[serde(default)]
    pub ous: Vec<Spanned<String>>,
    #[serde(default)]
    pub accounts: Vec<Spanned<String>>,
    /// Every account no earlier wave holds (the last wave only).
    #[serde(default)]
    pub rest: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GateFile {
    pub max_new_noncompliant_per_account: Option<Spanned<u32>>,
    pub max_evaluation_errors: Option<Spanned<u32>>,
    pub allow_remediation_failures: Option<bool>,
    /// How long to wait for the first evaluations of a wave's rules.
    pub wait_seconds: Option<Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleGateFile {
    pub max_new_noncompliant_per_account: Option<Spanned<u32>>,
    pub max_evaluation_errors: Option<Spanned<u32>>,
    pub allow_remediation_failures: Option<bool>,
}
