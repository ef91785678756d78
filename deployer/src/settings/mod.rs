//! Settings: `deployer.toml`, checked against the rules that exist, into one validated struct.
//!
//! Everything here is pure: the caller reads the files. Every problem is reported with file,
//! line and column, all at once, before any AWS call.

mod file;
mod rollout;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::exemption::{Exemption, Source};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use toml::Spanned;

pub use file::{Distribution, RegionConcurrency, RemediationMode};
pub use rollout::{DEFAULT_GATE, DEFAULT_WAIT_SECONDS, Gate, Rollout, WaveSpec};

use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use file::{ParametersFile, SettingsFile};

/// The role assumed in member accounts unless `role-name` says otherwise.
pub const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";
const DEFAULT_BUCKET_PREFIX: &str = "custos-artifacts";
const DEFAULT_LOG_RETENTION_DAYS: u32 = 365;
/// S3's longest bucket name.
const MAX_BUCKET_NAME: usize = 63;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub organization: Organization,
    pub deployment: Deployment,
    pub artifacts: Artifacts,
    pub notifications: Notifications,
    /// Enabled rules only: a rule that is disabled or absent is removed by `apply`.
    pub rules: BTreeMap<String, RuleSettings>,
    pub packs: BTreeMap<String, Pack>,
    pub status: Status,
    pub remediation: Remediation,
    /// Canary waves (`[rollout]`); `None`: every target at once.
    pub rollout: Option<Rollout>,
    /// SHA-256 (hex) of `deployer.toml` as read: a saved plan applies only to the same text.
    pub source_digest: String,
}

/// What every rule's remediation shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remediation {
    /// Days the rule and remediation log groups keep their records.
    pub log_retention_days: u32,
}

/// Where `status` and `audit` read compliance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// An organisation aggregator in the administering account and region; `None`: each
    /// account's own Config, through the member role.
    pub aggregator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub role_name: String,
    /// Sorted, without duplicates.
    pub regions: Vec<String>,
    pub target_ous: Vec<Located<OuRef>>,
    pub accounts: BTreeSet<String>,
    pub include_management_account: bool,
    pub exclude_accounts: BTreeSet<String>,
    /// The caller is a delegated administrator of StackSets, not the management account.
    pub delegated_admin: bool,
    /// The deployment's name, as `deployment-id` gives it; `None`: the management account's id
    /// (known once the organisation is read, see `Settings::deployment_id`).
    pub deployment_id: Option<String>,
}

/// A value with the place in `deployer.toml` it came from, for errors found later (an OU path
/// that does not exist in the organisation).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Located<T> {
    pub value: T,
    pub location: Location,
}

/// An OU named by id (`ou-…`, or the root `r-…`) or by its path of names from the root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OuRef {
    Id(String),
    Path(Vec<String>),
}

impl OuRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("ou-") || text.starts_with("r-") {
            let ok = text.len() > 3 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            return ok
                .then(|| Self::Id(text.to_owned()))
                .ok_or_else(|| format!("`{text}` is not an OU id"));
        }
        let names: Vec<String> = text.split('/').map(|n| n.trim().to_owned()).collect();
        if names.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` is not an OU: expected an id (ou-…) or a path of OU names such as \
                 `Workloads/Prod`"
            ));
        }
        Ok(Self::Path(names))
    }
}

impl fmt::Display for OuRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => f.write_str(id),
            Self::Path(names) => f.write_str(&names.join("/")),
        }
    }
}

/// StackSet operation preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub max_concurrent_percentage: u32,
    pub failure_tolerance_percentage: u32,
    pub region_concurrency: RegionConcurrency,
    pub retain_stacks_on_account_removal: bool,
    /// Deleting more than this percentage of the managed stack instances in one run needs
    /// `--allow-mass-delete`.
    pub mass_delete_percentage: u32,
    /// Deleting more than this many whole stack sets in one run needs `--allow-mass-delete`.
    pub mass_delete_stack_sets: u32,
    /// The longest wait for one operation, in minutes.
    pub operation_timeout_minutes: u32,
    /// How long the apply lock outlives a run that ended without releasing it, in minutes.
    pub lock_lease_minutes: u32,
    /// Read the rules and stacks back in the member accounts to find changes made by hand.
    pub detect_drift: bool,
}

impl Settings {
    /// The deployment's name: `deployment-id`, else the management account's id.
    pub fn deployment_id(&self, management_account: &str) -> String {
        self.organization
            .deployment_id
            .clone()
            .unwrap_or_else(|| management_account.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    pub bucket_prefix: String,
    pub distribution: Distribution,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    pub emails: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSettings {
    pub meta: RuleMeta,
    /// Values given in `deployer.toml`, as Config passes them (strings); the SDK fills defaults.
    pub parameters: BTreeMap<String, String>,
    pub remediation: RemediationMode,
    pub overrides: Vec<OuOverride>,
    /// The exemption registry: resource id -> entry, as the SDK reads it.
    pub exemptions: BTreeMap<String, String>,
    /// SSM documents the rule ships, by name.
    pub documents: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuOverride {
    pub ou: Located<OuRef>,
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub description: Option<String>,
    pub rules: Vec<String>,
    /// How its conformance packs reach the accounts.
    pub deployment: crate::packs::Deployment,
    /// The AWS managed rules of `conformance-packs/NAME.toml` beside deployer.toml (read by
    /// `Settings::load`; none when the file is absent).
    pub definition: crate::packs::Definition,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid; each problem carries its line and column.
    #[error("{0}")]
    Invalid(Diagnostics),
    #[error(transparent)]
    Pack(#[from] crate::packs::DefinitionError),
}

impl Settings {
    /// Parses and checks `text` (the contents of `path`) against the rules in `catalog`.
    pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Self, SettingsError> {
        Self::parse_on(path, text, catalog, None)
    }

    /// As [`Settings::parse`], and, given `today`, refuses exemptions whose `until` lies
    /// further ahead than their rule allows (`[exemptions] max-days` in its rule.toml).
    pub fn parse_on(
        path: &Path,
        text: &str,
        catalog: &Catalog,
        today: Option<NaiveDate>,
    ) -> Result<Self, SettingsError> {
        let file: SettingsFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim_end().replace('\n', "; ");
            SettingsError::Invalid(Diagnostics(vec![Diagnostic::new(
                path, text, span, message,
            )]))
        })?;
        let mut check = Checker {
            path,
            text,
            today,
            problems: Vec::new(),
        };
        let mut settings = check.settings(&file, catalog);
        settings.source_digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        if check.problems.is_empty() {
            Ok(settings)
        } else {
            check.problems.sort_by(|a, b| a.location.cmp(&b.location));
            Err(SettingsError::Invalid(Diagnostics(check.problems)))
        }
    }

    /// Reads `path` and checks it.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Self, SettingsError> {
        Self::load_on(path, catalog, None)
    }

    /// Reads `path` and checks it, exemption lengths against `today` when given.
    pub fn load_on(
        path: &Path,
        catalog: &Catalog,
        today: Option<NaiveDate>,
    ) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut settings = Self::parse_on(path, &text, catalog, today)?;
        let dir = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(crate::packs::DIRECTORY);
        for (name, pack) in &mut settings.packs {
            pack.definition = crate::packs::Definition::load(&dir, name)?;
        }
        Ok(settings)
    }
}

/// Collects problems while turning the file into settings.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    /// The day exemption lengths are measured from; `None`: not measured.
    today: Option<NaiveDate>,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.problems
            .push(Diagnostic::new(self.path, self.text, span, message));
    }

    fn locate<T>(&self, value: T, span: Range<usize>) -> Located<T> {
        Located {
            value,
            location: Location::of(self.path, self.text, span.start),
        }
    }

    fn settings(&mut self, file: &SettingsFile, catalog: &Catalog) -> Settings {
        let organization = self.organization(&file.organization);
        let deployment = self.deployment(&file.deployment);
        let artifacts = self.artifacts(&file.artifacts, &organization.regions);
        let remediation = self.remediation(&file.remediation);
        let notifications = self.notifications(&file.notifications);
        let mut rules = self.rules(&file.rules, catalog, file.remediation.enabled);
        self.exemptions(&file.exemptions, &mut rules);
        let packs = self.packs(&file.packs, &rules);
        let status = self.status(&file.status);
        let rollout = self.rollout(file);
        Settings {
            organization,
            deployment,
            artifacts,
            notifications,
            rules,
            packs,
            status,
            remediation,
            rollout,
            source_digest: String::new(),
        }
    }

    fn remediation(&mut self, r: &file::RemediationFile) -> Remediation {
        let log_retention_days = match &r.log_retention_days {
            Some(days) if !values::LOG_RETENTION_DAYS.contains(days.get_ref()) => {
                self.problem(
                    days.span(),
                    format!(
                        "expected a retention CloudWatch Logs accepts (days: {})",
                        values::LOG_RETENTION_DAYS
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                DEFAULT_LOG_RETENTION_DAYS
            }
            Some(days) => *days.get_ref(),
            None => DEFAULT_LOG_RETENTION_DAYS,
        };
        Remediation { log_retention_days }
    }

    fn status(&mut self, s: &file::StatusFile) -> Status {
        let aggregator = s.aggregator.as_ref().and_then(|name| {
            // Config's aggregator names: 1-256 of letters, digits, `.`, `_` and `-`.
            let ok = !name.get_ref().is_empty()
                && name.get_ref().len() <= 256
                && name
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !ok {
                self.problem(
                    name.span(),
                    "expected a configuration aggregator name (1-256 of letters, digits, . _ -)",
                );
            }
            ok.then(|| name.get_ref().clone())
        });
        Status { aggregator }
    }

    fn organization(&mut self, org: &Spanned<file::OrganizationFile>) -> Organization {
        let span = org.span();
        let org = org.get_ref();
        let role_name = match &org.role_name {
            Some(name) if !values::is_role_name(name.get_ref()) => {
                self.problem(
                    name.span(),
                    "expected an IAM role name (1-64 of letters, digits and +=,.@_-)",
                );
                String::new()
            }
            Some(name) => name.get_ref().clone(),
            None => DEFAULT_ROLE_NAME.to_owned(),
        };

        let mut regions = BTreeSet::new();
        if org.regions.get_ref().is_empty() {
            self.problem(org.regions.span(), "expected at least one region");
        }
        for region in org.regions.get_ref() {
            if !values::is_region(region.get_ref()) {
                self.problem(region.span(), "expected a region name such as `eu-west-1`");
            } else if !regions.insert(region.get_ref().clone()) {
                self.problem(region.span(), "region listed twice");
            }
        }

        let mut target_ous = Vec::new();
        let mut seen_ous = BTreeSet::new();
        for ou in &org.target_ous {
            match OuRef::parse(ou.get_ref()) {
                Ok(parsed) if !seen_ous.insert(parsed.clone()) => {
                    self.problem(ou.span(), "OU listed twice");
                }
                Ok(parsed) => target_ous.push(self.locate(parsed, ou.span())),
                Err(message) => self.problem(ou.span(), message),
            }
        }
        let accounts = self.account_ids(&org.accounts);
        let exclude_accounts = self.account_ids(&org.exclude_accounts);
        for account in &org.accounts {
            if exclude_accounts.contains(account.get_ref()) {
                self.problem(account.span(), "account is both targeted and excluded");
            }
        }
        if target_ous.is_empty() && accounts.is_empty() && !org.include_management_account {
            self.problem(
                span.start..span.start + "[organization]".len(),
                "no targets: expected `target-ous`, `accounts` or \
                 `include-management-account = true`",
            );
        }
        let deployment_id = org.deployment_id.as_ref().and_then(|id| {
            let ok = values::is_deployment_id(id.get_ref());
            if !ok {
                self.problem(
                    id.span(),
                    "expected a deployment id of 1-40 letters, digits and hyphens, starting with a \
                     letter or digit",
                );
            }
            ok.then(|| id.get_ref().clone())
        });
        Organization {
            role_name,
            regions: regions.into_iter().collect(),
            target_ous,
            accounts,
            include_management_account: org.include_management_account,
            exclude_accounts,
            delegated_admin: org.call_as == file::CallAs::DelegatedAdmin,
            deployment_id,
        }
    }

    fn account_ids(&mut self, list: &[Spanned<String>]) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for id in list {
            if !values::is_account_id(id.get_ref()) {
                self.problem(id.span(), "expected a 12-digit account id");
            } else if !ids.insert(id.get_ref().clone()) {
                self.problem(id.span(), "account listed twice");
            }
        }
        ids
    }

    fn deployment(&mut self, d: &file::DeploymentFile) -> Deployment {
        let mut percentage = |value: Option<&Spanned<u32>>, default: u32, min: u32| match value {
            Some(v) if !(min..=100).contains(v.get_ref()) => {
                self.problem(v.span(), format!("expected a percentage from {min} to 100"));
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        };
        let max_concurrent_percentage = percentage(d.max_concurrent_percentage.as_ref(), 25, 1);
        let failure_tolerance_percentage =
            percentage(d.failure_tolerance_percentage.as_ref(), 10, 0);
        let mass_delete_percentage = percentage(d.mass_delete_percentage.as_ref(), 10, 0);
        let mut minutes = |value: Option<&Spanned<u32>>, default: u32| match value {
            Some(v) if !(1..=24 * 60).contains(v.get_ref()) => {
                self.problem(v.span(), "expected a number of minutes from 1 to 1440");
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        };
        let operation_timeout_minutes = minutes(d.operation_timeout_minutes.as_ref(), 60);
        let lock_lease_minutes = minutes(d.lock_lease_minutes.as_ref(), 15);
        Deployment {
            max_concurrent_percentage,
            failure_tolerance_percentage,
            region_concurrency: d.region_concurrency.unwrap_or(RegionConcurrency::Parallel),
            retain_stacks_on_account_removal: d.retain_stacks_on_account_removal,
            mass_delete_percentage,
            mass_delete_stack_sets: d
                .mass_delete_stack_sets
                .as_ref()
                .map_or(0, |v| *v.get_ref()),
            operation_timeout_minutes,
            lock_lease_minutes,
            detect_drift: d.detect_drift.unwrap_or(true),
        }
    }

    fn artifacts(&mut self, a: &file::ArtifactsFile, regions: &[String]) -> Artifacts {
        let bucket_prefix = match &a.bucket_prefix {
            Some(prefix) if !values::is_bucket_prefix(prefix.get_ref()) => {
                self.problem(
                    prefix.span(),
                    "expected a bucket name prefix of 3-30 lowercase letters, digits and hyphens \
                     (the account id, the region and the deployment's random part are appended)",
                );
                DEFAULT_BUCKET_PREFIX.to_owned()
            }
            Some(prefix) => {
                let longest = regions.iter().max_by_key(|r| r.len());
                if let Some(region) = longest {
                    let length = crate::names::bucket_name_length(prefix.get_ref(), region);
                    if length > MAX_BUCKET_NAME {
                        self.problem(
                            prefix.span(),
                            format!(
                                "in {region} the artifact bucket name would be {length} characters \
                                 (prefix, account id, region and a {}-character random part); S3 \
                                 allows {MAX_BUCKET_NAME}: shorten the prefix",
                                crate::names::BUCKET_SUFFIX_LENGTH
                            ),
                        );
                    }
                }
                prefix.get_ref().clone()
            }
            None => DEFAULT_BUCKET_PREFIX.to_owned(),
        };
        Artifacts {
            bucket_prefix,
            distribution: a.distribution.unwrap_or_default(),
        }
    }

    fn notifications(&mut self, n: &file::NotificationsFile) -> Notifications {
        let mut emails = BTreeSet::new();
        for email in &n.emails {
            if !values::is_email(email.get_ref()) {
                self.problem(email.span(), "expected an email address");
            } else if !emails.insert(email.get_ref().clone()) {
                self.problem(email.span(), "email listed twice");
            }
        }
        Notifications { emails }
    }

    fn rules(
        &mut self,
        rules: &BTreeMap<Spanned<String>, file::RuleFile>,
        catalog: &Catalog,
        remediation_enabled: bool,
    ) -> BTreeMap<String, RuleSettings> {
        let mut out = BTreeMap::new();
        for (name, rule) in rules {
            let Some(meta) = catalog.get(name.get_ref()) else {
                // A disabled entry may name a rule that is planned but not written yet.
                if rule.enabled {
                    self.problem(
                        name.span(),
                        format!(
                            "no rule named `{}` in the rules directory (expected one of: {})",
                            name.get_ref(),
                            or_none(&catalog.names())
                        ),
                    );
                }
                continue;
            };
            let parameters = self.parameters(meta, &rule.parameters);
            let remediation = self.remediation_mode(meta, rule, remediation_enabled);
            if rule.enabled {
                self.required_parameters(meta, &rule.parameters, name.span());
                self.rule_meta(meta, name.span());
            }
            let mut overrides = Vec::new();
            let mut seen = BTreeSet::new();
            for o in &rule.overrides {
                let parameters = self.parameters(meta, &o.parameters);
                match OuRef::parse(o.ou.get_ref()) {
                    Ok(ou) if !seen.insert(ou.clone()) => {
                        self.problem(o.ou.span(), "a second override for this OU");
                    }
                    Ok(ou) => overrides.push(OuOverride {
                        ou: self.locate(ou, o.ou.span()),
                        parameters,
                    }),
                    Err(message) => self.problem(o.ou.span(), message),
                }
            }
            if rule.enabled {
                out.insert(
                    name.get_ref().clone(),
                    RuleSettings {
                        meta: meta.clone(),
                        parameters,
                        remediation,
                        overrides,
                        exemptions: BTreeMap::new(),
                        documents: catalog.documents(name.get_ref()),
                    },
                );
            }
        }
        out
    }

    fn parameters(&mut self, meta: &RuleMeta, given: &ParametersFile) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, value) in given {
            let Some(spec) = meta.parameters.get(name.get_ref()) else {
                let known: Vec<&str> = meta.parameters.keys().map(String::as_str).collect();
                self.problem(
                    name.span(),
                    format!(
                        "`{}` is not a parameter of {} (expected one of: {})",
                        name.get_ref(),
                        meta.name,
                        or_none(&known)
                    ),
                );
                continue;
            };
            match values::parameter_value(spec, value.get_ref()) {
                Ok(text) => {
                    out.insert(name.get_ref().clone(), text);
                }
                Err(message) => self.problem(value.span(), message),
            }
        }
        out
    }

    /// Every parameter the rule cannot run without has a value for every account: the base
    /// parameters are what accounts outside any override get.
    fn required_parameters(&mut self, meta: &RuleMeta, given: &ParametersFile, span: Range<usize>) {
        for (name, spec) in &meta.parameters {
            let is_given = given.keys().any(|k| k.get_ref() == name);
            if spec.required && spec.default.is_none() && !is_given {
                self.problem(
                    span.clone(),
                    format!(
                        "{} requires the parameter `{name}` (every evaluation fails without it): \
                         set it in `parameters`{}",
                        meta.name,
                        spec.example
                            .as_ref()
                            .map(|e| format!(", e.g. {name} = \"{e}\""))
                            .unwrap_or_default()
                    ),
                );
            }
        }
    }

    /// The SDK's checks of `rule.toml`, again: a rule's metadata may have been built or changed
    /// after it was read.
    fn rule_meta(&mut self, meta: &RuleMeta, span: Range<usize>) {
        if let Err(error) = meta.check() {
            for problem in error.problems {
                self.problem(
                    span.clone(),
                    format!("{}'s rule.toml: {problem}", meta.name),
                );
            }
        }
    }

    fn remediation_mode(
        &mut self,
        meta: &RuleMeta,
        rule: &file::RuleFile,
        enabled: bool,
    ) -> RemediationMode {
        let declared = meta.remediation.as_ref().map(|r| {
            if r.automatic {
                RemediationMode::Automatic
            } else {
                RemediationMode::Manual
            }
        });
        match (&rule.remediation, declared) {
            (Some(mode), None) if *mode.get_ref() != RemediationMode::Off => {
                self.problem(
                    mode.span(),
                    format!("{} declares no remediation (expected `off`)", meta.name),
                );
                RemediationMode::Off
            }
            _ if !enabled => RemediationMode::Off,
            (Some(mode), _) => *mode.get_ref(),
            (None, Some(declared)) => declared,
            (None, None) => RemediationMode::Off,
        }
    }

    fn exemptions(
        &mut self,
        exemptions: &[file::ExemptionFile],
        rules: &mut BTreeMap<String, RuleSettings>,
    ) {
        for e in exemptions {
            let rule = e.rule.get_ref();
            if rule != "all" && !rules.contains_key(rule) {
                let names: Vec<&str> = rules.keys().map(String::as_str).collect();
                self.problem(
                    e.rule.span(),
                    format!(
                        "no enabled rule named `{rule}` (expected `all` or one of: {})",
                        or_none(&names)
                    ),
                );
                continue;
            }
            let Some(until) = values::date_only(e.until.get_ref()) else {
                self.problem(e.until.span(), "expected a date such as 2027-03-31");
                continue;
            };
            let owner = e
                .owner
                .as_ref()
                .map(|owner| format!("; owner={owner}"))
                .unwrap_or_default();
            let entry = format!(
                "{rule}; until={until}; reason={}{owner}",
                e.reason.get_ref()
            );
            // The SDK reads the entry; refuse here what it would refuse at run time.
            let parsed = match Exemption::parse(&entry, Source::Registry) {
                Ok(parsed) => parsed,
                Err(message) => {
                    self.problem(e.reason.span(), message);
                    continue;
                }
            };
            let resource = e.resource_id.get_ref();
            for (name, settings) in rules.iter_mut() {
                if rule != "all" && rule != name {
                    continue;
                }
                let policy = &settings.meta.exemptions;
                if !policy.accepts(Source::Registry) {
                    // `all` reaches only the rules that honour the registry.
                    if rule != "all" {
                        self.problem(
                            e.rule.span(),
                            format!("{name} honours no registry exemption (its rule.toml)"),
                        );
                    }
                    continue;
                }
                if let Some(ahead) = self
                    .today
                    .and_then(|today| policy.too_far_ahead(parsed.until, today))
                {
                    self.problem(
                        e.until.span(),
                        format!(
                            "{until} is {ahead} days ahead; {name} allows exemptions of at most \
                             {} days (renew it nearer the date)",
                            policy.max_days
                        ),
                    );
                    continue;
                }
                if settings
                    .exemptions
                    .insert(resource.clone(), entry.clone())
                    .is_some()
                {
                    self.problems.push(Diagnostic::new(
                        self.path,
                        self.text,
                        e.resource_id.span(),
                        format!("`{resource}` is exempted from {name} twice"),
                    ));
                }
            }
        }
    }

    fn packs(
        &mut self,
        packs: &BTreeMap<Spanned<String>, file::PackFile>,
        rules: &BTreeMap<String, RuleSettings>,
    ) -> BTreeMap<String, Pack> {
        let mut out = BTreeMap::new();
        for (name, pack) in packs {
            // It names the conformance pack `custos-NAME`, the file conformance-packs/NAME.toml
            // and the pack's remediation role in each region (IAM allows 64 characters).
            let text = name.get_ref();
            if text.is_empty()
                || text.len() > MAX_PACK_NAME
                || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                self.problem(
                    name.span(),
                    format!(
                        "expected a pack name of letters, digits and hyphens (at most {MAX_PACK_NAME})"
                    ),
                );
            }
            for rule in &pack.rules {
                if !rules.contains_key(rule.get_ref()) {
                    self.problem(
                        rule.span(),
                        format!(
                            "pack `{}` names `{}`, which is not an enabled rule",
                            name.get_ref(),
                            rule.get_ref()
                        ),
                    );
                }
            }
            out.insert(
                name.get_ref().clone(),
                Pack {
                    description: pack.description.clone(),
                    rules: pack.rules.iter().map(|r| r.get_ref().clone()).collect(),
                    deployment: pack.deployment,
                    definition: crate::packs::Definition::default(),
                },
            );
        }
        out
    }
}

/// The longest pack name: `custos-NAME-NN-ssm-REGION` must stay an IAM role name.
const MAX_PACK_NAME: usize = 32;

fn or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fuzz_tests.rs"]
mod fuzz;
