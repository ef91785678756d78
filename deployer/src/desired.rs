//! What Custos wants deployed: the stack sets, their parameters and every stack instance,
//! from the settings, the rendered templates and the organisation. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::names::{
    BUCKET_SUFFIX_PARAMETER, DEPLOYMENT_PARAMETER, OWNERSHIP_TAG, STACK_SET_PREFIX, bucket_name,
};
use crate::org::Organization;
use crate::packs::organization::{MAX_EXCLUDED_ACCOUNTS, OrgPackSpec, template_hash};
use crate::render::{self, Template, TemplateId};
use crate::settings::{Distribution, OuRef, RemediationMode, RuleSettings, Settings};

/// Config accepts at most this many characters of `InputParameters`.
const MAX_INPUT_PARAMETERS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionModel {
    /// Deployed to OUs through Organizations, with auto-deployment to accounts that join.
    ServiceManaged,
    /// Deployed to listed accounts (and the management account, which OU deployments skip).
    SelfManaged,
}

/// One stack instance: an account and a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    pub account: String,
    pub region: String,
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredInstance {
    /// The target OU the instance is deployed through (service-managed stack sets).
    pub ou: Option<String>,
    /// Parameter values that differ for this instance (per-OU overrides).
    pub overrides: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSetSpec {
    pub name: String,
    pub template: TemplateId,
    pub permission_model: PermissionModel,
    pub description: String,
    pub body: String,
    pub parameters: BTreeMap<String, String>,
    /// Keep stacks when an account leaves a target OU (service-managed only).
    pub retain_stacks_on_account_removal: bool,
    #[serde(skip)]
    pub instances: BTreeMap<InstanceKey, DesiredInstance>,
    /// Target OUs holding accounts this stack set must not reach (excluded or skipped): never
    /// targeted whole, always with their accounts listed.
    #[serde(skip)]
    pub partial_ous: BTreeSet<String>,
    /// The stack set's tags: the ownership tag with the deployment's id.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The Config rule each instance holds (rule stack sets), to read it back for drift.
    #[serde(skip)]
    pub config_rule: Option<ConfigRuleSpec>,
}

/// A Config rule as a rule stack set deploys it, for comparing with what a member account has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigRuleSpec {
    pub name: String,
    /// CloudFormation parameter -> rule parameter (`InputParameters` key).
    pub cfn_names: BTreeMap<String, String>,
    /// Its remediation, when one is deployed: whether Config starts it automatically.
    pub remediation: Option<bool>,
}

impl ConfigRuleSpec {
    /// The `InputParameters` an instance deployed with the stack set `parameters` and its
    /// `overrides` holds (CloudFormation names in, rule parameter names out).
    pub fn input_for(
        &self,
        parameters: &BTreeMap<String, String>,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let value = |cfn: &str| overrides.get(cfn).or_else(|| parameters.get(cfn)).cloned();
        let mut input = BTreeMap::new();
        if let Some(exemptions) = value(render::EXEMPTIONS_PARAMETER) {
            input.insert("exemptions".to_owned(), exemptions);
        }
        for (cfn, param) in &self.cfn_names {
            if let Some(v) = value(cfn) {
                input.insert(param.clone(), v);
            }
        }
        input
    }
}

/// A rule Lambda zip as it must exist in one bucket (content-addressed key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArtifactObject {
    pub account: String,
    pub region: String,
    pub bucket: String,
    pub key: String,
    /// The Lambda binary the zip holds.
    pub binary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub stack_sets: BTreeMap<String, StackSetSpec>,
    pub artifacts: BTreeSet<ArtifactObject>,
    /// Conformance packs deployed organisation-wide, by name.
    pub org_packs: BTreeMap<String, OrgPackSpec>,
    /// Accounts this run cannot act in or read (unreachable, suspended, closing): whatever they
    /// hold is left exactly as it is (no create, update or delete).
    pub left_as_is: BTreeSet<String>,
}

/// What `desired` is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub settings: &'a Settings,
    pub templates: &'a BTreeMap<TemplateId, Template>,
    pub org: &'a Organization,
    /// The account that administers the stack sets (and holds central artifacts).
    pub admin_account: &'a str,
    /// The ARN of the principal running the deployer (`GetCallerIdentity`): the only one that
    /// may write the central artifact buckets.
    pub deployer_arn: &'a str,
    /// Lambda binary -> S3 key of its zip.
    pub code_keys: &'a BTreeMap<String, String>,
    /// The deployment that owns what is created (`OWNERSHIP_TAG`).
    pub deployment_id: &'a str,
    /// The random part of the artifact bucket names, kept in the deployment's stack sets.
    pub bucket_suffix: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DesiredError {
    #[error("{location}: no OU `{ou}` in the organisation")]
    UnknownOu { location: Location, ou: OuRef },
    #[error("account {0} is not an account of the organisation")]
    UnknownAccount(String),
    #[error(
        "{location}: the override OU `{ou}` is not below a target OU and holds no targeted account"
    )]
    OverrideOutsideTargets { location: Location, ou: OuRef },
    #[error(
        "{rule}: its parameters and exemptions take {length} characters; Config accepts {MAX_INPUT_PARAMETERS}"
    )]
    InputParametersTooLong { rule: String, length: usize },
    #[error("no packaged code for {0}")]
    MissingCode(String),
    #[error(
        "conformance pack {pack}: deployed organisation-wide it would exclude {excluded} accounts \
         that are not targeted; Config excludes at most {MAX_EXCLUDED_ACCOUNTS} (deploy it per \
         account: deployment = \"account\")"
    )]
    TooManyExcluded { pack: String, excluded: usize },
}

/// The Lambda binaries the settings deploy: each rule's, and its remediation's when it has a
/// Lambda remediation that is not switched off.
pub fn binaries(settings: &Settings) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (name, rule) in &settings.rules {
        out.insert(name.clone());
        if has_remediation_function(rule) {
            out.insert(render::remediation_function(name));
        }
    }
    out
}

fn has_remediation_function(rule: &RuleSettings) -> bool {
    rule.remediation != RemediationMode::Off
        && rule
            .meta
            .remediation
            .as_ref()
            .is_some_and(|r| r.kind == config_rule_sdk::manifest::RemediationKind::Lambda)
}

/// Everything Custos wants deployed.
pub fn desired(inputs: Inputs<'_>) -> Result<Desired, DesiredError> {
    let Inputs {
        settings,
        templates,
        org,
        admin_account,
        deployer_arn,
        code_keys,
        deployment_id,
        bucket_suffix,
    } = inputs;
    let targets = Targets::resolve(settings, org)?;
    let regions = &settings.organization.regions;
    let mut out = Desired {
        org_packs: org_packs(templates, org, &targets, regions, deployment_id)?,
        ..Desired::default()
    };
    let tags = BTreeMap::from([(OWNERSHIP_TAG.to_owned(), deployment_id.to_owned())]);
    let owned = BTreeMap::from([
        (DEPLOYMENT_PARAMETER.to_owned(), deployment_id.to_owned()),
        (BUCKET_SUFFIX_PARAMETER.to_owned(), bucket_suffix.to_owned()),
    ]);
    let per_account = settings.artifacts.distribution == Distribution::PerAccount;

    let mut add = |spec: StackSetSpec| {
        out.stack_sets.insert(spec.name.clone(), spec);
    };
    for (id, template) in templates {
        let (stem, parameters, overrides) = match id {
            TemplateId::Artifacts => {
                let mut parameters = owned.clone();
                parameters.insert("OrganizationId".to_owned(), org.id.clone());
                parameters.insert(
                    render::DEPLOYER_PRINCIPALS_PARAMETER.to_owned(),
                    render::principal_patterns(deployer_arn).join(","),
                );
                add(artifacts_spec(
                    template,
                    parameters,
                    admin_account,
                    regions,
                    &tags,
                ));
                continue;
            }
            // Per account, the base holds the bucket (named and tagged).
            TemplateId::Base if per_account => (stem(id), owned.clone(), BTreeMap::new()),
            TemplateId::Base | TemplateId::Pack(_) => (stem(id), BTreeMap::new(), BTreeMap::new()),
            // Config deploys it: carried inline by its `Pack` template, or put organisation-wide.
            TemplateId::PackBody(_) => continue,
            TemplateId::Rule(name) => {
                let rule = &settings.rules[name];
                let mut parameters =
                    rule_parameters(rule, template, settings, admin_account, code_keys)?;
                parameters.extend(owned.clone());
                let overrides = rule_overrides(rule, template, org, &targets)?;
                (format!("rule-{name}"), parameters, overrides)
            }
        };
        let config_rule = match id {
            TemplateId::Rule(name) => Some(config_rule_spec(&settings.rules[name], template)),
            _ => None,
        };
        let description = description(id);
        if !targets.ous.is_empty() {
            add(StackSetSpec {
                name: format!("{STACK_SET_PREFIX}{stem}"),
                template: id.clone(),
                permission_model: PermissionModel::ServiceManaged,
                description: description.clone(),
                body: template.body.clone(),
                parameters: parameters.clone(),
                retain_stacks_on_account_removal: settings
                    .deployment
                    .retain_stacks_on_account_removal,
                instances: instances(
                    &targets.ou_accounts.keys().cloned().collect(),
                    regions,
                    |account| targets.ou_accounts.get(account).cloned(),
                    &overrides,
                ),
                partial_ous: targets.partial_ous.clone(),
                tags: tags.clone(),
                config_rule: config_rule.clone(),
            });
        }
        if !targets.accounts.is_empty() {
            add(StackSetSpec {
                name: format!("{STACK_SET_PREFIX}{stem}-accounts"),
                template: id.clone(),
                permission_model: PermissionModel::SelfManaged,
                description,
                body: template.body.clone(),
                parameters,
                retain_stacks_on_account_removal: false,
                instances: instances(&targets.accounts, regions, |_| None, &overrides),
                partial_ous: BTreeSet::new(),
                tags: tags.clone(),
                config_rule,
            });
        }
    }

    out.artifacts = artifact_objects(settings, &targets, admin_account, code_keys, bucket_suffix)?;
    Ok(out)
}

/// The artifact bucket of each region, in the administering account (central artifacts).
fn artifacts_spec(
    template: &Template,
    parameters: BTreeMap<String, String>,
    admin_account: &str,
    regions: &[String],
    tags: &BTreeMap<String, String>,
) -> StackSetSpec {
    let admin = BTreeSet::from([admin_account.to_owned()]);
    StackSetSpec {
        name: format!("{STACK_SET_PREFIX}artifacts"),
        template: TemplateId::Artifacts,
        permission_model: PermissionModel::SelfManaged,
        description: "Custos: the artifact bucket of each region".to_owned(),
        body: template.body.clone(),
        parameters,
        retain_stacks_on_account_removal: false,
        instances: instances(&admin, regions, |_| None, &BTreeMap::new()),
        partial_ous: BTreeSet::new(),
        tags: tags.clone(),
        config_rule: None,
    }
}

/// The Config rule a rule stack set's instances hold.
fn config_rule_spec(rule: &RuleSettings, template: &Template) -> ConfigRuleSpec {
    let cfn_names = template
        .rule_parameters
        .iter()
        .map(|(param, cfn)| (cfn.clone(), param.clone()))
        .collect();
    let remediation = (rule.meta.remediation.is_some() && rule.remediation != RemediationMode::Off)
        .then_some(rule.remediation == RemediationMode::Automatic);
    ConfigRuleSpec {
        name: rule.meta.name.clone(),
        cfn_names,
        remediation,
    }
}

/// Leaves `accounts` exactly as they are: the plan creates, updates and deletes nothing of
/// theirs, and an OU that holds one is never targeted whole (that would reach it).
pub fn leave_as_is(desired: &mut Desired, accounts: &BTreeSet<String>, org: &Organization) {
    for account in accounts {
        let above: BTreeSet<String> = org.ancestry(account).into_iter().collect();
        for spec in desired.stack_sets.values_mut() {
            if spec.permission_model != PermissionModel::ServiceManaged {
                continue;
            }
            let ous: BTreeSet<String> = spec
                .instances
                .values()
                .filter_map(|i| i.ou.clone())
                .filter(|ou| above.contains(ou))
                .collect();
            spec.partial_ous.extend(ous);
        }
    }
    desired.left_as_is.extend(accounts.iter().cloned());
}

/// Each Lambda zip in every bucket that must hold it: the central buckets, or each target's.
fn artifact_objects(
    settings: &Settings,
    targets: &Targets,
    admin_account: &str,
    code_keys: &BTreeMap<String, String>,
    bucket_suffix: &str,
) -> Result<BTreeSet<ArtifactObject>, DesiredError> {
    let per_account = settings.artifacts.distribution == Distribution::PerAccount;
    let mut out = BTreeSet::new();
    for binary in binaries(settings) {
        let key = code_keys
            .get(&binary)
            .ok_or_else(|| DesiredError::MissingCode(binary.clone()))?;
        let accounts = if per_account {
            targets.all_accounts()
        } else {
            BTreeSet::from([admin_account.to_owned()])
        };
        for account in accounts {
            for region in &settings.organization.regions {
                out.insert(ArtifactObject {
                    bucket: bucket_name(
                        &settings.artifacts.bucket_prefix,
                        &account,
                        region,
                        bucket_suffix,
                    ),
                    account: account.clone(),
                    region: region.clone(),
                    key: key.clone(),
                    binary: binary.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The conformance packs deployed organisation-wide, by name.
fn org_packs(
    templates: &BTreeMap<TemplateId, Template>,
    org: &Organization,
    targets: &Targets,
    regions: &[String],
    deployment_id: &str,
) -> Result<BTreeMap<String, OrgPackSpec>, DesiredError> {
    // An organisation pack reaches every account but those it excludes: exclude every account
    // the settings do not target.
    let targeted = targets.all_accounts();
    let excluded_accounts: BTreeSet<String> = org
        .accounts
        .keys()
        .filter(|a| !targeted.contains(*a))
        .cloned()
        .collect();
    let mut out = BTreeMap::new();
    for (id, template) in templates {
        let TemplateId::PackBody(name) = id else {
            continue;
        };
        if !template.organization_wide {
            continue;
        }
        if excluded_accounts.len() > MAX_EXCLUDED_ACCOUNTS {
            return Err(DesiredError::TooManyExcluded {
                pack: name.clone(),
                excluded: excluded_accounts.len(),
            });
        }
        let spec = OrgPackSpec {
            name: name.clone(),
            body: template.body.clone(),
            template_hash: template_hash(&template.body),
            excluded_accounts: excluded_accounts.clone(),
            regions: regions.iter().cloned().collect(),
            deployment: deployment_id.to_owned(),
        };
        out.insert(name.clone(), spec);
    }
    Ok(out)
}

/// The stack set name after the prefix, for templates without parameters: `base`, and
/// `pack-baseline` for the conformance pack `custos-baseline`.
fn stem(id: &TemplateId) -> String {
    match id {
        TemplateId::Pack(name) => format!(
            "pack-{}",
            name.strip_prefix(STACK_SET_PREFIX).unwrap_or(name)
        ),
        other => other.to_string(),
    }
}

fn description(id: &TemplateId) -> String {
    match id {
        TemplateId::Rule(name) => format!("Custos rule {name}"),
        TemplateId::Pack(name) => format!("Custos conformance pack {name}"),
        _ => "Custos base: notification topic and artifacts of each target".to_owned(),
    }
}

fn instances(
    accounts: &BTreeSet<String>,
    regions: &[String],
    ou_of: impl Fn(&str) -> Option<String>,
    overrides: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<InstanceKey, DesiredInstance> {
    let mut out = BTreeMap::new();
    for account in accounts {
        for region in regions {
            out.insert(
                InstanceKey {
                    account: account.clone(),
                    region: region.clone(),
                },
                DesiredInstance {
                    ou: ou_of(account),
                    overrides: overrides.get(account).cloned().unwrap_or_default(),
                },
            );
        }
    }
    out
}

/// Every account the settings target (OUs, listed accounts, the management account when
/// included), resolved against the organisation.
pub fn target_accounts(
    settings: &Settings,
    org: &Organization,
) -> Result<BTreeSet<String>, DesiredError> {
    Ok(Targets::resolve(settings, org)?.all_accounts())
}

/// The accounts the settings target, resolved against the organisation.
struct Targets {
    /// Resolved target OU ids.
    ous: BTreeSet<String>,
    /// Account -> the nearest target OU it is deployed through.
    ou_accounts: BTreeMap<String, String>,
    /// Accounts targeted one by one, and the management account when included.
    accounts: BTreeSet<String>,
    /// Target OUs with an excluded account below them.
    partial_ous: BTreeSet<String>,
}

impl Targets {
    fn resolve(settings: &Settings, org: &Organization) -> Result<Self, DesiredError> {
        let o = &settings.organization;
        let mut ous = BTreeSet::new();
        for ou in &o.target_ous {
            let id = org
                .resolve(&ou.value)
                .ok_or_else(|| DesiredError::UnknownOu {
                    location: ou.location.clone(),
                    ou: ou.value.clone(),
                })?;
            ous.insert(id);
        }
        let mut ou_accounts = BTreeMap::new();
        let mut partial_ous = BTreeSet::new();
        for (account, details) in &org.accounts {
            // A whole-OU target would reach an excluded account, in nested OUs too.
            if details.active && o.exclude_accounts.contains(account) {
                partial_ous.extend(
                    org.ancestry(account)
                        .into_iter()
                        .filter(|p| ous.contains(p)),
                );
            }
            // OU deployments never reach the management account.
            if !details.active
                || *account == org.management_account
                || o.exclude_accounts.contains(account)
            {
                continue;
            }
            if let Some(ou) = org.ancestry(account).into_iter().find(|p| ous.contains(p)) {
                ou_accounts.insert(account.clone(), ou);
            }
        }
        let mut accounts = BTreeSet::new();
        for account in &o.accounts {
            match org.accounts.get(account) {
                None => return Err(DesiredError::UnknownAccount(account.clone())),
                // Reported by `skipped::inactive`, not deployed.
                Some(a) if !a.active => {}
                Some(_) => {
                    accounts.insert(account.clone());
                }
            }
        }
        if o.include_management_account {
            accounts.insert(org.management_account.clone());
        }
        Ok(Self {
            ous,
            ou_accounts,
            accounts,
            partial_ous,
        })
    }

    fn all_accounts(&self) -> BTreeSet<String> {
        self.ou_accounts
            .keys()
            .chain(&self.accounts)
            .cloned()
            .collect()
    }
}

/// Stack set parameters of a rule: code keys, where the code is, exemptions, and every rule
/// parameter (given, else its default, else empty so the SDK applies its own default).
fn rule_parameters(
    rule: &RuleSettings,
    template: &Template,
    settings: &Settings,
    admin_account: &str,
    code_keys: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, DesiredError> {
    let name = &rule.meta.name;
    let code = |binary: &str| {
        code_keys
            .get(binary)
            .cloned()
            .ok_or_else(|| DesiredError::MissingCode(binary.to_owned()))
    };
    let mut out = BTreeMap::from([("CodeKey".to_owned(), code(name)?)]);
    if has_remediation_function(rule) {
        out.insert(
            "RemediationCodeKey".to_owned(),
            code(&render::remediation_function(name))?,
        );
    }
    if settings.artifacts.distribution == Distribution::Central {
        out.insert("ArtifactAccount".to_owned(), admin_account.to_owned());
    }
    let exemptions = serde_json::to_string(&rule.exemptions).unwrap_or_else(|_| "{}".into());
    let mut input = serde_json::Map::new();
    input.insert("exemptions".into(), exemptions.clone().into());
    out.insert(render::EXEMPTIONS_PARAMETER.to_owned(), exemptions);
    for (param, cfn_name) in &template.rule_parameters {
        let value = rule
            .parameters
            .get(param)
            .cloned()
            .or_else(|| rule.meta.parameters[param].default.clone())
            .unwrap_or_default();
        input.insert(param.clone(), value.clone().into());
        out.insert(cfn_name.clone(), value);
    }
    let length = serde_json::Value::Object(input).to_string().len();
    if length > MAX_INPUT_PARAMETERS {
        return Err(DesiredError::InputParametersTooLong {
            rule: name.clone(),
            length,
        });
    }
    Ok(out)
}

/// Account -> CloudFormation parameter overrides: the deepest override OU above the account wins.
fn rule_overrides(
    rule: &RuleSettings,
    template: &Template,
    org: &Organization,
    targets: &Targets,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, DesiredError> {
    let mut by_ou = BTreeMap::new();
    for o in &rule.overrides {
        let id = org
            .resolve(&o.ou.value)
            .ok_or_else(|| DesiredError::UnknownOu {
                location: o.ou.location.clone(),
                ou: o.ou.value.clone(),
            })?;
        let covers_targets = targets
            .all_accounts()
            .iter()
            .any(|a| org.ancestry(a).contains(&id));
        if !covers_targets {
            return Err(DesiredError::OverrideOutsideTargets {
                location: o.ou.location.clone(),
                ou: o.ou.value.clone(),
            });
        }
        let values: BTreeMap<String, String> = o
            .parameters
            .iter()
            .map(|(param, value)| (template.rule_parameters[param].clone(), value.clone()))
            .collect();
        by_ou.insert(id, values);
    }
    let mut out = BTreeMap::new();
    if by_ou.is_empty() {
        return Ok(out);
    }
    for account in targets.all_accounts() {
        if let Some(values) = org.ancestry(&account).iter().find_map(|p| by_ou.get(p)) {
            out.insert(account, values.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
