//! CloudFormation's part for the resource types the emulator's CloudFormation records as created
//! without creating them: each `AWS::Config::RemediationConfiguration` of a live stack is read
//! from the template the stack was deployed with, worked out with the stack's own parameters and
//! resources, and put into Config as CloudFormation would put it. What the tests then read back
//! (`DescribeRemediationConfigurations`) is what the deployer deployed, not a copy of it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_config::types::{
    RemediationConfiguration, RemediationParameterValue, RemediationTargetType, ResourceValue,
    ResourceValueType, StaticValue,
};
use deployer::packs::yaml::{self, Node, Value as Yaml};
use serde_json::{Value, json};

/// The type the emulator leaves unprovisioned and this module puts into Config.
const REMEDIATION: &str = "AWS::Config::RemediationConfiguration";

/// One live stack, as its template and its account see it.
struct Stack {
    name: String,
    template: Node,
    account: String,
    region: String,
    parameters: BTreeMap<String, String>,
    /// Logical id -> physical id.
    physical: BTreeMap<String, String>,
    iam: aws_sdk_iam::Client,
}

/// Puts into Config every remediation configuration of the live stacks in `config`'s account
/// and region whose name starts with `stack_prefix`; returns the rules they remediate.
pub async fn provision_remediations(config: &SdkConfig, stack_prefix: &str) -> Result<Vec<String>> {
    let mut rules = Vec::new();
    for stack in live_stacks(config, stack_prefix).await? {
        for logical in stack.resources_of_type(REMEDIATION) {
            let properties = stack.properties(&logical).await?;
            let remediation = remediation_configuration(&properties)
                .with_context(|| format!("{}: {logical}", stack.name))?;
            rules.push(remediation.config_rule_name().to_owned());
            aws_sdk_config::Client::new(config)
                .put_remediation_configurations()
                .remediation_configurations(remediation)
                .send()
                .await
                .with_context(|| format!("PutRemediationConfigurations from {}", stack.name))?;
        }
    }
    Ok(rules)
}

/// The content of the SSM document named `document` that a live stack (name starting with
/// `stack_prefix`) deployed, worked out; `None` when no stack deploys it (an AWS-owned one).
/// The emulator's CloudFormation records `AWS::SSM::Document` without creating it.
pub async fn deployed_document(
    config: &SdkConfig,
    stack_prefix: &str,
    document: &str,
) -> Result<Option<Value>> {
    for stack in live_stacks(config, stack_prefix).await? {
        for logical in stack.resources_of_type("AWS::SSM::Document") {
            let named = stack
                .physical
                .get(&logical)
                .map(|physical| stack.named(&logical, physical));
            if named.as_deref() == Some(document) {
                let properties = stack.properties(&logical).await?;
                return Ok(Some(properties["Content"].clone()));
            }
        }
    }
    Ok(None)
}

/// The live stacks of `config`'s account and region whose name starts with `stack_prefix`.
async fn live_stacks(config: &SdkConfig, stack_prefix: &str) -> Result<Vec<Stack>> {
    let cloudformation = aws_sdk_cloudformation::Client::new(config);
    let account = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .context("GetCallerIdentity")?
        .account()
        .context("no account")?
        .to_owned();
    let region = config
        .region()
        .map(ToString::to_string)
        .context("no region")?;
    let stacks = cloudformation
        .describe_stacks()
        .send()
        .await
        .context("DescribeStacks")?;
    let mut live = Vec::new();
    for summary in stacks.stacks() {
        let Some(name) = summary.stack_name().filter(|n| n.starts_with(stack_prefix)) else {
            continue;
        };
        let status = summary
            .stack_status()
            .map_or("", aws_sdk_cloudformation::types::StackStatus::as_str);
        if status.starts_with("DELETE") || status.ends_with("FAILED") {
            continue;
        }
        let body = cloudformation
            .get_template()
            .stack_name(name)
            .send()
            .await
            .with_context(|| format!("GetTemplate {name}"))?
            .template_body()
            .unwrap_or_default()
            .to_owned();
        let template = yaml::parse(&body).with_context(|| format!("{name}'s template"))?;
        let resources = cloudformation
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
            .with_context(|| format!("DescribeStackResources {name}"))?;
        live.push(Stack {
            name: name.to_owned(),
            account: account.clone(),
            region: region.clone(),
            parameters: summary
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            physical: resources
                .stack_resources()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.logical_resource_id()?.to_owned(),
                        r.physical_resource_id()?.to_owned(),
                    ))
                })
                .collect(),
            iam: aws_sdk_iam::Client::new(config),
            template,
        });
    }
    Ok(live)
}

/// The resolved properties as Config's API takes them.
fn remediation_configuration(p: &Value) -> Result<RemediationConfiguration> {
    let mut parameters = HashMap::new();
    for (name, value) in p["Parameters"].as_object().into_iter().flatten() {
        let parameter = if let Some(resource) = value.get("ResourceValue") {
            if resource["Value"] != "RESOURCE_ID" {
                bail!("{name}: unknown ResourceValue {resource}");
            }
            RemediationParameterValue::builder()
                .resource_value(
                    ResourceValue::builder()
                        .value(ResourceValueType::ResourceId)
                        .build()?,
                )
                .build()
        } else if let Some(values) = value["StaticValue"]["Values"].as_array() {
            let values = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            RemediationParameterValue::builder()
                .static_value(StaticValue::builder().set_values(Some(values)).build()?)
                .build()
        } else {
            bail!("{name}: neither ResourceValue nor StaticValue: {value}");
        };
        parameters.insert(name.clone(), parameter);
    }
    let number = |key: &str| match &p[key] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    Ok(RemediationConfiguration::builder()
        .config_rule_name(p["ConfigRuleName"].as_str().context("ConfigRuleName")?)
        .target_type(RemediationTargetType::SsmDocument)
        .target_id(p["TargetId"].as_str().context("TargetId")?)
        .automatic(p["Automatic"] == json!(true) || p["Automatic"] == json!("true"))
        .set_maximum_automatic_attempts(
            number("MaximumAutomaticAttempts").and_then(|n| i32::try_from(n).ok()),
        )
        .set_retry_attempt_seconds(number("RetryAttemptSeconds"))
        .set_parameters(Some(parameters))
        .build()?)
}

/// A node being worked out.
type Resolving<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// The mark of `!Ref AWS::NoValue`: the key or item is left out.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Stack {
    fn resources_of_type(&self, kind: &str) -> Vec<String> {
        self.template
            .get("Resources")
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Node::as_str) == Some(kind))
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect()
    }

    fn resource(&self, logical: &str) -> Option<&Node> {
        self.template.get("Resources").and_then(|r| r.get(logical))
    }

    async fn properties(&self, logical: &str) -> Result<Value> {
        let node = self
            .resource(logical)
            .and_then(|r| r.get("Properties"))
            .with_context(|| format!("{logical} has no Properties"))?;
        self.resolve(node).await
    }

    fn condition(&self, name: &str) -> Result<bool> {
        let node = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .with_context(|| format!("no condition {name}"))?;
        self.decide(node)
    }

    /// A condition: `!Not`, `!Equals`, `!Condition`, with `!Ref`s of parameters.
    fn decide(&self, node: &Node) -> Result<bool> {
        let args = node.as_seq().unwrap_or_default();
        match node.tag.as_deref() {
            Some("Not") => Ok(!self.decide(args.first().context("!Not")?)?),
            Some("Equals") => {
                let [a, b] = args else {
                    bail!("!Equals takes two")
                };
                Ok(self.scalar(a)? == self.scalar(b)?)
            }
            Some("Condition") => self.condition(node.as_str().unwrap_or_default()),
            other => bail!("unsupported condition {other:?}"),
        }
    }

    /// A scalar operand of a condition.
    fn scalar(&self, node: &Node) -> Result<String> {
        match node.tag.as_deref() {
            Some("Ref") => self.reference_text(node.as_str().unwrap_or_default()),
            None => Ok(node.as_str().unwrap_or_default().to_owned()),
            other => bail!("unsupported operand {other:?}"),
        }
    }

    /// `!Ref NAME` of a parameter or pseudo parameter.
    fn reference_text(&self, name: &str) -> Result<String> {
        Ok(match name {
            "AWS::AccountId" => self.account.clone(),
            "AWS::Region" => self.region.clone(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::NoValue" => NO_VALUE.to_owned(),
            _ => {
                let default = self
                    .template
                    .get("Parameters")
                    .and_then(|p| p.get(name))
                    .and_then(|p| p.get("Default"))
                    .and_then(Node::as_str);
                if let Some(value) = self.parameters.get(name) {
                    value.clone()
                } else if let Some(default) = default {
                    default.to_owned()
                } else if let Some(physical) = self.physical.get(name) {
                    self.named(name, physical)
                } else {
                    bail!("!Ref {name}: no such parameter or resource")
                }
            }
        })
    }

    /// What `!Ref` of a resource gives: its physical id; for a resource the emulator recorded
    /// without creating (its physical id is its logical id), the name its template gives it,
    /// which is what CloudFormation returns for a named document.
    fn named(&self, logical: &str, physical: &str) -> String {
        let given = self
            .resource(logical)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get("Name"))
            .and_then(Node::as_str);
        match given {
            Some(name) if physical == logical => name.to_owned(),
            _ => physical.to_owned(),
        }
    }

    /// `!GetAtt LOGICAL.Arn`, read from the resource itself.
    async fn arn(&self, target: &str) -> Result<String> {
        let (logical, attribute) = target.split_once('.').context("!GetAtt X.Attribute")?;
        let physical = self
            .physical
            .get(logical)
            .with_context(|| format!("!GetAtt {target}: no resource {logical}"))?;
        let kind = self
            .resource(logical)
            .and_then(|r| r.get("Type"))
            .and_then(Node::as_str)
            .unwrap_or_default();
        match (kind, attribute) {
            // Some physical ids are ARNs already.
            (_, "Arn") if physical.starts_with("arn:") => Ok(physical.clone()),
            ("AWS::IAM::Role", "Arn") => {
                let role = self
                    .iam
                    .get_role()
                    .role_name(physical)
                    .send()
                    .await
                    .with_context(|| format!("GetRole {physical}"))?;
                Ok(role.role().context("no role")?.arn().to_owned())
            }
            ("AWS::Lambda::Function", "Arn") => Ok(format!(
                "arn:aws:lambda:{}:{}:function:{physical}",
                self.region, self.account
            )),
            _ => bail!("!GetAtt {target} of a {kind} is not worked out here"),
        }
    }

    /// The node worked out into plain JSON (boxed: it recurses).
    fn resolve<'a>(&'a self, node: &'a Node) -> Resolving<'a> {
        Box::pin(async move {
            let args = node.as_seq().unwrap_or_default();
            match node.tag.as_deref() {
                Some("Ref") => {
                    return Ok(json!(
                        self.reference_text(node.as_str().unwrap_or_default())?
                    ));
                }
                Some("GetAtt") => {
                    return Ok(json!(self.arn(node.as_str().unwrap_or_default()).await?));
                }
                Some("If") => {
                    let [condition, yes, no] = args else {
                        bail!("!If takes three")
                    };
                    let chosen = if self.condition(condition.as_str().unwrap_or_default())? {
                        yes
                    } else {
                        no
                    };
                    return self.resolve(chosen).await;
                }
                Some("Select") => {
                    let [index, list] = args else {
                        bail!("!Select takes two")
                    };
                    let index: usize = index.as_str().unwrap_or_default().parse()?;
                    let list = self.resolve(list).await?;
                    return Ok(list.get(index).cloned().unwrap_or(Value::Null));
                }
                Some("Split") => {
                    let [separator, text] = args else {
                        bail!("!Split takes two")
                    };
                    let separator = separator.as_str().unwrap_or(",");
                    let text = self.resolve(text).await?;
                    let items: Vec<&str> =
                        text.as_str().unwrap_or_default().split(separator).collect();
                    return Ok(json!(items));
                }
                Some("Sub") => {
                    let mut text = node.as_str().unwrap_or_default().to_owned();
                    while let Some(start) = text.find("${") {
                        let end = start + text[start..].find('}').context("unclosed ${")?;
                        let value = self.reference_text(&text[start + 2..end])?;
                        text.replace_range(start..=end, &value);
                    }
                    return Ok(json!(text));
                }
                Some(other) => bail!("unsupported intrinsic !{other}"),
                None => {}
            }
            Ok(match &node.value {
                Yaml::Scalar { text, quoted } => {
                    if *quoted {
                        json!(text)
                    } else if let Ok(n) = text.parse::<i64>() {
                        json!(n)
                    } else if text == "true" || text == "false" {
                        json!(text == "true")
                    } else {
                        json!(text)
                    }
                }
                Yaml::Seq(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        let value = self.resolve(item).await?;
                        if value != json!(NO_VALUE) {
                            out.push(value);
                        }
                    }
                    Value::Array(out)
                }
                Yaml::Map(entries) => {
                    let mut out = serde_json::Map::new();
                    for (key, value) in entries {
                        let value = self.resolve(value).await?;
                        if value != json!(NO_VALUE) {
                            out.insert(key.as_str().unwrap_or_default().to_owned(), value);
                        }
                    }
                    Value::Object(out)
                }
            })
        })
    }
}
