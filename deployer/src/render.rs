//! Render: settings and `rule.toml` files -> CloudFormation templates (tera, `templates/`).
//!
//! Template bodies depend on the settings only; what changes per deployment (the code's key,
//! the organisation id, parameter values) is passed as CloudFormation parameters, so unchanged
//! code and settings render byte-identical templates.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use config_rule_sdk::manifest::{
    IamAction, MetaError, Permissions, RemediationKind, RemediationSpec, RemediationValue,
};
use config_rule_sdk::notify;
use config_rule_sdk::params::reserved;
use serde::Serialize;
use tera::{Context, Tera};

use crate::settings::{Distribution, RemediationMode, RuleSettings, Settings};

/// The topic compliance changes and remediation records reach, in every account and region.
pub const TOPIC_NAME: &str = "custos-notifications";
/// The environment variable that tells a function which topic to publish records to.
pub const TOPIC_ENV: &str = notify::TOPIC_ENV;
/// The path of every role the rule stacks create: the notification topic accepts records from
/// roles under it (and compliance changes from EventBridge) only.
pub const ROLE_PATH: &str = "/custos/";
/// Each rule's EventBridge rule is `custos-<rule>`: the topic accepts compliance changes from
/// EventBridge rules so named, in its own account and region.
pub const EVENT_RULE_PREFIX: &str = "custos-";
/// EventBridge's longest rule name.
const EVENT_RULE_NAME_MAX: usize = 64;
/// The CloudFormation parameter of the central artifact bucket naming who may write and delete
/// its objects: ARN patterns of the principal that runs the deployer.
pub const DEPLOYER_PRINCIPALS_PARAMETER: &str = "DeployerPrincipals";

/// The templates, embedded so the binary works wherever it is copied.
const TEMPLATES: [(&str, &str); 6] = [
    (
        "rule.yaml.tera",
        include_str!("../../templates/rule.yaml.tera"),
    ),
    (
        "function.yaml.tera",
        include_str!("../../templates/function.yaml.tera"),
    ),
    (
        "base.yaml.tera",
        include_str!("../../templates/base.yaml.tera"),
    ),
    (
        "artifacts.yaml.tera",
        include_str!("../../templates/artifacts.yaml.tera"),
    ),
    (
        "bucket.yaml.tera",
        include_str!("../../templates/bucket.yaml.tera"),
    ),
    (
        "ownership.yaml.tera",
        include_str!("../../templates/ownership.yaml.tera"),
    ),
];

/// Which template: one per kind of stack set Custos deploys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "rule")]
pub enum TemplateId {
    /// The artifact bucket of each region, in the administering account (central artifacts).
    Artifacts,
    /// The notification topic (and per-account artifact bucket) in every target.
    Base,
    /// One rule: its Lambda, role, Config rule, remediation and notification rule.
    Rule(String),
    /// One conformance pack (a pack's AWS managed rules, or a part of them): the stack that
    /// creates it, with its template inline.
    Pack(String),
    /// The conformance pack template itself, which `Pack` carries; rendered for review and
    /// linting, never deployed as a stack.
    PackBody(String),
}

impl TemplateId {
    pub fn file_name(&self) -> String {
        match self {
            Self::Artifacts => "artifacts.yaml".to_owned(),
            Self::Base => "base.yaml".to_owned(),
            Self::Rule(name) => format!("rule-{name}.yaml"),
            Self::Pack(name) => format!("pack-{name}.yaml"),
            Self::PackBody(name) => format!("conformance-pack-{name}.yaml"),
        }
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Artifacts => f.write_str("artifacts"),
            Self::Base => f.write_str("base"),
            Self::Rule(name) => write!(f, "rule {name}"),
            Self::Pack(name) => write!(f, "conformance pack {name}"),
            Self::PackBody(name) => write!(f, "conformance pack template {name}"),
        }
    }
}

/// A rendered template and the CloudFormation parameters it declares for rule parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub body: String,
    /// Rule parameter name -> CloudFormation parameter name.
    pub rule_parameters: BTreeMap<String, String>,
    /// A conformance pack template that Config deploys organisation-wide
    /// (`PutOrganizationConformancePack`), not a stack set.
    pub organization_wide: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("cannot render {template}")]
    Tera {
        template: String,
        source: tera::Error,
    },
    /// The rule's metadata fails the SDK's checks of `rule.toml`.
    #[error("{rule}: {error}")]
    Meta { rule: String, error: MetaError },
    #[error(
        "{rule}: the rule's EventBridge rule `{name}` is longer than EventBridge allows ({max} characters)"
    )]
    EventRuleName {
        rule: String,
        name: String,
        max: usize,
    },
    #[error("{rule}: the remediation's document `{document}` is not shipped in the rule's `ssm/`")]
    MissingDocument { rule: String, document: String },
    #[error(transparent)]
    Pack(#[from] crate::packs::render::PackRenderError),
    #[error("{rule}: parameters `{first}` and `{second}` map to the same CloudFormation name")]
    ParameterClash {
        rule: String,
        first: String,
        second: String,
    },
}

/// Renders every template the settings call for, by id.
pub fn render(settings: &Settings) -> Result<BTreeMap<TemplateId, Template>, RenderError> {
    let tera = engine()?;
    let per_account = settings.artifacts.distribution == Distribution::PerAccount;
    let mut base = Context::new();
    base.insert("topic_name", TOPIC_NAME);
    base.insert("topic_env", TOPIC_ENV);
    base.insert("bucket_prefix", &settings.artifacts.bucket_prefix);
    base.insert("per_account_artifacts", &per_account);
    base.insert("artifact_prefix", crate::package::ARTIFACT_PREFIX);
    base.insert("role_path", ROLE_PATH);
    base.insert("event_rule_prefix", EVENT_RULE_PREFIX);
    base.insert(
        "deployer_principals_parameter",
        DEPLOYER_PRINCIPALS_PARAMETER,
    );
    base.insert("ownership_tag", crate::names::OWNERSHIP_TAG);
    base.insert("deployment_parameter", crate::names::DEPLOYMENT_PARAMETER);
    base.insert(
        "bucket_suffix_parameter",
        crate::names::BUCKET_SUFFIX_PARAMETER,
    );
    base.insert("bucket_suffix_length", &crate::names::BUCKET_SUFFIX_LENGTH);
    base.insert(
        "log_retention_days",
        &settings.remediation.log_retention_days,
    );

    let mut out = BTreeMap::new();
    if !per_account {
        let mut context = base.clone();
        context.insert("organization_reads", &true);
        out.insert(
            TemplateId::Artifacts,
            plain(render_one(&tera, "artifacts.yaml.tera", &context)?),
        );
    }
    let mut context = base.clone();
    context.insert("emails", &settings.notifications.emails);
    context.insert("organization_reads", &false);
    out.insert(
        TemplateId::Base,
        plain(render_one(&tera, "base.yaml.tera", &context)?),
    );

    for (name, rule) in &settings.rules {
        let rule_context = RuleContext::new(rule)?;
        let mut context = base.clone();
        context.insert("rule", &rule_context);
        let body = render_one(&tera, "rule.yaml.tera", &context)?;
        let rule_parameters = rule_context
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.cfn_name.clone()))
            .collect();
        out.insert(
            TemplateId::Rule(name.clone()),
            Template {
                body,
                rule_parameters,
                organization_wide: false,
            },
        );
    }

    for (name, pack) in &settings.packs {
        for part in crate::packs::render::render(name, &pack.definition, pack.deployment)? {
            let mut body = plain(part.body);
            body.organization_wide = pack.deployment == crate::packs::Deployment::Organization;
            out.insert(TemplateId::PackBody(part.name.clone()), body);
            if let Some(stack) = part.stack {
                out.insert(TemplateId::Pack(part.name), plain(stack));
            }
        }
    }
    Ok(out)
}

fn plain(body: String) -> Template {
    Template {
        body,
        rule_parameters: BTreeMap::new(),
        organization_wide: false,
    }
}

fn engine() -> Result<Tera, RenderError> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES)
        .map_err(|source| RenderError::Tera {
            template: "templates/".to_owned(),
            source,
        })?;
    Ok(tera)
}

fn render_one(tera: &Tera, name: &str, context: &Context) -> Result<String, RenderError> {
    tera.render(name, context)
        .map_err(|source| RenderError::Tera {
            template: name.to_owned(),
            source,
        })
}

/// The CloudFormation parameter that carries rule parameter `name`: `kmsKeyArn` ->
/// `ParamKmsKeyArn`.
pub fn cfn_parameter_name(name: &str) -> String {
    let mut out = String::from("Param");
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

#[derive(Debug, Serialize)]
struct RuleContext {
    name: String,
    description: String,
    stack_description: String,
    resource_types: Vec<String>,
    change: bool,
    periodic: Option<String>,
    parameters: Vec<ParameterContext>,
    /// CloudFormation parameters that may be empty, for `Has<Name>` conditions.
    conditions: BTreeSet<String>,
    function: FunctionContext,
    remediation: Option<RemediationContext>,
    /// The SDK's EventBridge pattern for this rule's compliance changes (JSON, keys sorted).
    event_pattern: String,
    /// The name of the EventBridge rule that carries them to the topic.
    event_rule_name: String,
    /// The SDK's input transformer: paths (JSON, keys sorted) and template.
    input_paths: String,
    input_template: String,
}

#[derive(Debug, Serialize)]
struct ParameterContext {
    name: String,
    cfn_name: String,
    description: String,
    default: String,
}

/// One Lambda function and its role.
#[derive(Debug, Serialize)]
struct FunctionContext {
    /// Logical id prefix in the template.
    logical: &'static str,
    name: String,
    description: String,
    role_description: String,
    timeout: u32,
    /// The CloudFormation parameter holding the code's S3 key.
    code_key: &'static str,
    /// Declared actions (sns:Publish excluded: see `publishes`), one statement per set of
    /// resources.
    statements: Vec<StatementContext>,
    /// `sns:Publish` declared: granted on the Custos topic only.
    publishes: bool,
    /// Declared actions touch credentials (access keys, passwords), which linters flag.
    credential_actions: bool,
    /// Remediation actions granted only while the rule's `inlineRemediation` parameter is true.
    inline: Option<InlineContext>,
    /// The environment variable naming the Config rule a remediation function reads its
    /// settings from (set for remediation functions only).
    config_rule_env: Option<&'static str>,
}

/// A rule that can remediate in its own function, switched by a boolean parameter.
#[derive(Debug, Serialize)]
struct InlineContext {
    /// The CloudFormation parameter holding `inlineRemediation`.
    cfn_param: String,
    statements: Vec<StatementContext>,
    publishes: bool,
}

/// One `Allow` statement of declared actions on the same resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct StatementContext {
    sid: String,
    actions: BTreeSet<String>,
    /// ARN templates for `!Sub`; empty: `*`, for actions AWS authorises on nothing narrower.
    resources: Vec<String>,
    /// Some resource names no account (S3 buckets): a condition keeps it to this account.
    same_account_condition: bool,
}

/// The boolean parameter that lets a rule remediate in its own function.
pub const INLINE_REMEDIATION_PARAMETER: &str = "inlineRemediation";

/// Mirrors the template's switches one to one, so the flags stay flat.
#[derive(Debug, Serialize)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one switch in the template"
)]
struct RemediationContext {
    is_lambda: bool,
    /// The SSM document Config runs: AWS-owned, or shipped in the rule's `ssm/`.
    document: Option<String>,
    /// The shipped document's YAML, indented for the template.
    document_content: Option<String>,
    /// No document named for a Lambda remediation: a one-step invoke document is rendered.
    generic_document: bool,
    passes_function_name: bool,
    automatic: bool,
    maximum_attempts: u32,
    retry_seconds: u32,
    parameters: Vec<RemediationParameter>,
    /// The remediation Lambda (`<rule>-remediation`), for kind `lambda`.
    function: Option<FunctionContext>,
    /// Statements of the Automation role, for kind `ssm`.
    automation_statements: Vec<StatementContext>,
    automation_publishes: bool,
    /// The Lambda payload of the rendered invoke document.
    payload: String,
}

#[derive(Debug, Serialize)]
struct RemediationParameter {
    name: String,
    resource_id: bool,
    cfn_ref: Option<String>,
    /// An empty value leaves the parameter out, so the document's default applies.
    optional: bool,
    /// `first:NAME`: the first item of a comma-list.
    first_item: bool,
    literal: Option<String>,
    /// `param:A or VALUE if B`: when A is empty, VALUE if B is set (else the document's default).
    otherwise: Option<Otherwise>,
}

/// The value a remediation parameter takes when its own rule parameter is empty.
#[derive(Debug, Serialize)]
struct Otherwise {
    literal: String,
    /// The CloudFormation parameter that must be non-empty for `literal` to apply.
    cfn_ref: String,
}

/// The name of the remediation Lambda of a rule with a Lambda remediation.
pub fn remediation_function(rule: &str) -> String {
    format!("{rule}-remediation")
}

impl RuleContext {
    fn new(rule: &RuleSettings) -> Result<Self, RenderError> {
        let meta = &rule.meta;
        meta.check().map_err(|error| RenderError::Meta {
            rule: meta.name.clone(),
            error,
        })?;
        let (parameters, by_cfn_name) = parameter_contexts(meta)?;
        let (periodic, timeout) = frequency_and_timeout(meta);
        let (actions, publishes) = split_actions(&declared_function_actions(rule));
        let inline = match (
            &meta.remediation,
            meta.parameters.get(INLINE_REMEDIATION_PARAMETER),
        ) {
            (Some(_), Some(spec))
                if spec.kind == config_rule_sdk::manifest::ParameterType::Boolean =>
            {
                let (actions, publishes) = split_actions(&meta.permissions.remediation);
                Some(InlineContext {
                    cfn_param: cfn_parameter_name(INLINE_REMEDIATION_PARAMETER),
                    statements: statements("InlineRemediation", &actions, &meta.permissions),
                    publishes,
                })
            }
            _ => None,
        };
        let function = FunctionContext {
            logical: "Function",
            name: meta.name.clone(),
            description: format!("Custos rule {}", meta.name),
            role_description: format!(
                "Runs the Custos rule {} with the actions its rule.toml declares.",
                meta.name
            ),
            timeout,
            code_key: "CodeKey",
            credential_actions: touches_credentials(&actions)
                || inline
                    .as_ref()
                    .is_some_and(|i| i.statements.iter().any(|s| touches_credentials(&s.actions))),
            publishes: publishes || inline.as_ref().is_some_and(|i| i.publishes),
            statements: statements("Declared", &with_sdk_actions(actions), &meta.permissions),
            inline,
            config_rule_env: None,
        };
        let remediation = match (&meta.remediation, rule.remediation) {
            (Some(spec), RemediationMode::Automatic | RemediationMode::Manual) => {
                Some(remediation_context(rule, spec, &by_cfn_name)?)
            }
            _ => None,
        };
        let conditions = remediation
            .iter()
            .flat_map(|r| &r.parameters)
            .filter(|p| p.optional)
            .flat_map(|p| {
                let otherwise = p.otherwise.as_ref().map(|o| o.cfn_ref.clone());
                p.cfn_ref.clone().into_iter().chain(otherwise)
            })
            .collect();
        let (paths, input_template) = notify::compliance_change_transformer();
        let paths: BTreeMap<&str, &str> = paths.into_iter().collect();
        // rule.toml's `notify` narrows the mail to those compliance types (none: every change).
        let notified: Vec<&str> = meta.notify.iter().map(|c| c.as_str()).collect();
        Ok(Self {
            event_rule_name: event_rule_name(&meta.name)?,
            event_pattern: canonical_json(&notify::compliance_change_pattern(
                &[&meta.name],
                &notified,
            )),
            input_paths: serde_json::to_string(&paths).unwrap_or_default(),
            input_template: input_template.to_owned(),
            name: meta.name.clone(),
            description: meta.description.clone(),
            stack_description: format!("Custos rule {}: {}", meta.name, meta.description),
            resource_types: meta.resource_types.clone(),
            change: meta.trigger.change,
            periodic,
            parameters,
            conditions,
            function,
            remediation,
        })
    }
}

/// The rule's parameters as stack parameters, and each CloudFormation name -> its rule
/// parameter (two names that map to one CloudFormation name are refused).
fn parameter_contexts(
    meta: &config_rule_sdk::RuleMeta,
) -> Result<(Vec<ParameterContext>, BTreeMap<String, &str>), RenderError> {
    let mut parameters = Vec::new();
    let mut by_cfn_name: BTreeMap<String, &str> =
        BTreeMap::from([(EXEMPTIONS_PARAMETER.to_owned(), reserved::EXEMPTIONS)]);
    for (name, spec) in &meta.parameters {
        let cfn_name = cfn_parameter_name(name);
        if let Some(first) = by_cfn_name.insert(cfn_name.clone(), name) {
            return Err(RenderError::ParameterClash {
                rule: meta.name.clone(),
                first: first.to_owned(),
                second: name.clone(),
            });
        }
        parameters.push(ParameterContext {
            name: name.clone(),
            cfn_name,
            description: spec.description.clone(),
            default: spec.default.clone().unwrap_or_default(),
        });
    }
    Ok((parameters, by_cfn_name))
}

/// The name of the EventBridge rule that carries a rule's compliance changes to the topic.
fn event_rule_name(rule: &str) -> Result<String, RenderError> {
    let name = format!("{EVENT_RULE_PREFIX}{rule}");
    if name.len() > EVENT_RULE_NAME_MAX {
        return Err(RenderError::EventRuleName {
            rule: rule.to_owned(),
            name,
            max: EVENT_RULE_NAME_MAX,
        });
    }
    Ok(name)
}

/// The actions a rule's own function calls, as `rule.toml` declares them.
fn declared_function_actions(rule: &RuleSettings) -> Vec<IamAction> {
    let meta = &rule.meta;
    let mut declared = meta.permissions.rule.clone();
    // Without a remediation section, a declared remediation runs inline, in the rule's own
    // function, which then needs its actions.
    if meta.remediation.is_none() {
        declared.extend(meta.permissions.remediation.iter().cloned());
    }
    // A rule remediated by an SSM document records the runs it observes (and publishes the
    // records), whether Config starts them automatically or someone does by hand.
    let observes = config_rule_sdk::host::observed::observed_document(meta).is_some()
        && matches!(
            rule.remediation,
            RemediationMode::Automatic | RemediationMode::Manual
        );
    if observes {
        let sdk = Permissions::OBSERVED_SSM_ACTIONS
            .iter()
            .chain(&["sns:Publish"]);
        declared.extend(sdk.filter_map(|a| IamAction::try_from(*a).ok()));
    }
    declared
}

/// JSON with object keys sorted at every level, whatever order serde_json keeps.
fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        canonical_json(v)
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The rule's `MaximumExecutionFrequency`, if it has a scheduled trigger, and its function's
/// timeout. Periodic rules page through whole accounts: Lambda's longest timeout; the daily
/// re-check of a change rule keeps the change rule's.
fn frequency_and_timeout(meta: &config_rule_sdk::RuleMeta) -> (Option<String>, u32) {
    let declared = meta.trigger.periodic.and_then(|f| {
        serde_json::to_value(f)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    });
    let timeout = if declared.is_some() { 900 } else { 60 };
    (declared.or_else(|| exemption_recheck(meta)), timeout)
}

/// The daily trigger of a change-triggered rule that honours exemptions: Config invokes a
/// change rule only when the resource changes, so without it an exemption that expires would
/// keep its resource NOT_APPLICABLE until the next change. On the scheduled run the SDK
/// evaluates the exempt resources again (`config_rule_sdk::host::runtime`).
fn exemption_recheck(meta: &config_rule_sdk::RuleMeta) -> Option<String> {
    (meta.trigger.change && !meta.exemptions.sources.is_empty())
        .then(|| "TwentyFour_Hours".to_owned())
}

/// The CloudFormation parameter that carries the exemption registry.
pub const EXEMPTIONS_PARAMETER: &str = "Exemptions";

fn touches_credentials(actions: &BTreeSet<String>) -> bool {
    actions.iter().any(|a| {
        a.starts_with("iam:")
            && [
                "AccessKey",
                "LoginProfile",
                "Password",
                "ServiceSpecificCredential",
            ]
            .iter()
            .any(|word| a.contains(word))
    })
}

/// The actions as statements, one per set of resources they are granted on: `{prefix}` for
/// the actions on `*` (first), `{prefix}On1`, `{prefix}On2`... for the others.
fn statements(
    prefix: &str,
    actions: &BTreeSet<String>,
    permissions: &Permissions,
) -> Vec<StatementContext> {
    let mut by_resources: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for action in actions {
        let mut resources = permissions.resources_of(action);
        resources.sort();
        resources.dedup();
        by_resources
            .entry(resources)
            .or_default()
            .insert(action.clone());
    }
    // The empty set of resources sorts first: the statement on `*`.
    let has_wildcard = by_resources.contains_key(&Vec::new());
    by_resources
        .into_iter()
        .enumerate()
        .map(|(i, (resources, actions))| StatementContext {
            sid: if resources.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}On{}", if has_wildcard { i } else { i + 1 })
            },
            same_account_condition: resources.iter().any(|r| !r.contains("${AWS::AccountId}")),
            actions,
            resources,
        })
        .collect()
}

/// ARN patterns for `aws:PrincipalArn` that match the principal whose ARN `GetCallerIdentity`
/// returns: an assumed role's session is its role, whatever the role's path.
pub fn principal_patterns(caller_arn: &str) -> Vec<String> {
    let assumed = caller_arn.split_once(":sts::").and_then(|(head, tail)| {
        let (account, rest) = tail.split_once(':')?;
        let role = rest.strip_prefix("assumed-role/")?.split('/').next()?;
        let partition = head.strip_prefix("arn:")?;
        Some((partition, account, role))
    });
    match assumed {
        Some((partition, account, role)) => vec![
            format!("arn:{partition}:iam::{account}:role/{role}"),
            format!("arn:{partition}:iam::{account}:role/*/{role}"),
        ],
        None => vec![caller_arn.to_owned()],
    }
}

fn with_sdk_actions(mut actions: BTreeSet<String>) -> BTreeSet<String> {
    actions.extend(Permissions::SDK_ACTIONS.iter().map(|a| (*a).to_owned()));
    actions
}

fn remediation_context(
    rule: &RuleSettings,
    spec: &RemediationSpec,
    by_cfn_name: &BTreeMap<String, &str>,
) -> Result<RemediationContext, RenderError> {
    let meta = &rule.meta;
    let is_lambda = spec.kind == RemediationKind::Lambda;
    let shipped = spec
        .document
        .as_ref()
        .and_then(|name| rule.documents.get(name));
    if let (true, Some(document), None) = (is_lambda, &spec.document, shipped) {
        return Err(RenderError::MissingDocument {
            rule: meta.name.clone(),
            document: document.clone(),
        });
    }
    let parameters: Vec<_> = spec
        .parameters
        .iter()
        .map(|(name, value)| remediation_parameter(by_cfn_name, name, value))
        .collect();
    let (actions, publishes) = split_actions(&meta.permissions.remediation);
    let function = is_lambda.then(|| FunctionContext {
        logical: "RemediationFunction",
        name: remediation_function(&meta.name),
        description: format!("Custos remediation of {}", meta.name),
        role_description: format!(
            "Runs the remediation of the Custos rule {} with the actions its rule.toml declares.",
            meta.name
        ),
        timeout: 120,
        code_key: "RemediationCodeKey",
        credential_actions: touches_credentials(&actions),
        statements: statements("Declared", &actions, &meta.permissions),
        publishes,
        inline: None,
        config_rule_env: Some(config_rule_sdk::remediation::CONFIG_RULE_ENV),
    });
    Ok(RemediationContext {
        is_lambda,
        document: spec.document.clone(),
        passes_function_name: is_lambda
            && shipped.is_some_and(|doc| declares_parameter(doc, "FunctionName")),
        document_content: shipped.map(|doc| indent(doc, 8)),
        generic_document: is_lambda && spec.document.is_none(),
        automatic: rule.remediation == RemediationMode::Automatic,
        maximum_attempts: spec.maximum_attempts,
        retry_seconds: spec.retry_seconds,
        payload: lambda_payload(&meta.name, &parameters),
        parameters,
        automation_statements: if is_lambda {
            Vec::new()
        } else {
            statements("Remediate", &actions, &meta.permissions)
        },
        automation_publishes: !is_lambda && publishes,
        function,
    })
}

/// Whether an SSM document's top-level `parameters` declares `name`.
fn declares_parameter(document: &str, name: &str) -> bool {
    let mut in_parameters = false;
    for line in document.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_parameters = line.trim_end() == "parameters:";
        } else if in_parameters && line.trim_end() == format!("  {name}:") {
            return true;
        }
    }
    false
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The declared actions, with `sns:Publish` split off to be granted on the Custos topic alone.
fn split_actions(declared: &[IamAction]) -> (BTreeSet<String>, bool) {
    let mut actions = BTreeSet::new();
    let mut publishes = false;
    for action in declared {
        if action == "sns:Publish" {
            publishes = true;
        } else {
            actions.insert(action.to_string());
        }
    }
    (actions, publishes)
}

/// One document parameter for the template, from the SDK's typed mapping (which `rule.toml`'s
/// checks keep to declared parameters): the CloudFormation conditions that stand in for
/// [`RemediationValue::resolve`] when the values are stack parameters.
fn remediation_parameter(
    by_cfn_name: &BTreeMap<String, &str>,
    name: &str,
    value: &RemediationValue,
) -> RemediationParameter {
    let cfn_ref = |param: &str| {
        if param == reserved::EXEMPTIONS {
            EXEMPTIONS_PARAMETER.to_owned()
        } else {
            cfn_parameter_name(param)
        }
    };
    debug_assert!(
        value
            .parameters()
            .iter()
            .all(|p| by_cfn_name.contains_key(&cfn_ref(p)))
    );
    let mut parameter = RemediationParameter {
        name: name.to_owned(),
        resource_id: false,
        cfn_ref: None,
        optional: false,
        first_item: false,
        literal: None,
        otherwise: None,
    };
    match value {
        RemediationValue::ResourceId => parameter.resource_id = true,
        RemediationValue::Literal(literal) => parameter.literal = Some(literal.clone()),
        RemediationValue::Param(param)
        | RemediationValue::FirstOf(param)
        | RemediationValue::ParamOrIf { param, .. } => {
            parameter.optional = param != reserved::EXEMPTIONS;
            parameter.first_item = matches!(value, RemediationValue::FirstOf(_));
            parameter.cfn_ref = Some(cfn_ref(param));
            if let RemediationValue::ParamOrIf {
                otherwise, if_set, ..
            } = value
            {
                parameter.otherwise = Some(Otherwise {
                    literal: otherwise.clone(),
                    cfn_ref: cfn_ref(if_set),
                });
            }
        }
    }
    parameter
}

/// `{"custosRemediation":{"rule":"…","parameters":{"InstanceId":"{{ InstanceId }}"}}}`: SSM
/// fills the `{{ … }}` placeholders when it runs the document.
fn lambda_payload(rule: &str, parameters: &[RemediationParameter]) -> String {
    // Structs and BTreeMaps keep the field order fixed whatever serde_json's map is.
    #[derive(Serialize)]
    struct Payload<'a> {
        #[serde(rename = "custosRemediation")]
        remediation: Remediation<'a>,
    }
    #[derive(Serialize)]
    struct Remediation<'a> {
        rule: &'a str,
        parameters: BTreeMap<&'a str, String>,
    }
    let payload = Payload {
        remediation: Remediation {
            rule,
            parameters: parameters
                .iter()
                .map(|p| (p.name.as_str(), format!("{{{{ {} }}}}", p.name)))
                .collect(),
        },
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

#[cfg(test)]
#[path = "render_tests.rs"]
pub(crate) mod tests;
