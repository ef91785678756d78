//! Config's remediation, played from what Config holds: the remediation configuration the
//! deployer deployed (`DescribeRemediationConfigurations`) gives the document and its input for
//! each resource. An automatic configuration is started by Config on a NON_COMPLIANT result;
//! a manual one runs only once someone starts it (`StartRemediationExecution`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_config::types::{ResourceKey, ResourceType, ResourceValueType};

use super::ConfigService;

/// A remediation configuration as Config holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedRemediation {
    pub rule: String,
    /// The SSM document Config runs.
    pub document: String,
    pub automatic: bool,
    pub maximum_attempts: Option<i32>,
    pub retry_seconds: Option<i64>,
    parameters: BTreeMap<String, ParameterValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ParameterValue {
    ResourceId,
    Static(Vec<String>),
}

/// One run of the document Config starts on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub document: String,
    pub resource_id: String,
    /// The document's parameters, as Config passes them.
    pub input: BTreeMap<String, String>,
}

impl DeployedRemediation {
    /// The document's input for `resource_id`: the resource id where the configuration says
    /// `RESOURCE_ID`, else its static value. Parameters it leaves out take the document's
    /// defaults.
    pub fn input(&self, resource_id: &str) -> BTreeMap<String, String> {
        self.parameters
            .iter()
            .filter_map(|(name, value)| {
                let value = match value {
                    ParameterValue::ResourceId => resource_id.to_owned(),
                    ParameterValue::Static(values) => values.first()?.clone(),
                };
                Some((name.clone(), value))
            })
            .collect()
    }

    fn execution(&self, resource_id: &str) -> Execution {
        Execution {
            document: self.document.clone(),
            resource_id: resource_id.to_owned(),
            input: self.input(resource_id),
        }
    }

    /// What Config does on its own when `resource_id` is reported NON_COMPLIANT: with an
    /// automatic configuration it starts the document; with a manual one, nothing.
    pub fn on_non_compliant(&self, resource_id: &str) -> Option<Execution> {
        self.automatic.then(|| self.execution(resource_id))
    }
}

impl ConfigService {
    /// The remediation configuration of `rule`, if Config holds one.
    pub async fn remediation(&self, rule: &str) -> Result<Option<DeployedRemediation>> {
        let out = self
            .client
            .describe_remediation_configurations()
            .config_rule_names(rule)
            .send()
            .await
            .with_context(|| format!("DescribeRemediationConfigurations {rule}"))?;
        let Some(found) = out.remediation_configurations().first() else {
            return Ok(None);
        };
        let mut parameters = BTreeMap::new();
        let given: BTreeMap<&String, _> = found
            .parameters()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        for (name, value) in given {
            let parsed = match (value.resource_value(), value.static_value()) {
                (Some(r), _) if r.value() == &ResourceValueType::ResourceId => {
                    ParameterValue::ResourceId
                }
                (_, Some(s)) => ParameterValue::Static(s.values().to_vec()),
                _ => anyhow::bail!("{rule}: parameter {name} has no value Config can pass"),
            };
            parameters.insert(name.clone(), parsed);
        }
        Ok(Some(DeployedRemediation {
            rule: rule.to_owned(),
            document: found.target_id().to_owned(),
            automatic: found.automatic(),
            maximum_attempts: found.maximum_automatic_attempts(),
            retry_seconds: found.retry_attempt_seconds(),
            parameters,
        }))
    }

    /// Someone starts the remediation of one resource by hand (`StartRemediationExecution`);
    /// the run of the document it starts.
    pub async fn start_remediation(
        &self,
        remediation: &DeployedRemediation,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Execution> {
        let key = ResourceKey::builder()
            .resource_type(ResourceType::from(resource_type))
            .resource_id(resource_id)
            .build()?;
        let out = self
            .client
            .start_remediation_execution()
            .config_rule_name(&remediation.rule)
            .resource_keys(key)
            .send()
            .await
            .with_context(|| format!("StartRemediationExecution {}", remediation.rule))?;
        anyhow::ensure!(
            out.failed_items().is_empty(),
            "Config refused to start {} on {resource_id}: {:?}",
            remediation.rule,
            out.failure_message()
        );
        Ok(remediation.execution(resource_id))
    }
}
