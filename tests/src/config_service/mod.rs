//! AWS Config's part, played for one account: rules are stored in Config, but where Config
//! would invoke the rule's Lambda, the harness builds the event and runs the handler in-process
//! (no emulator can invoke a Lambda without a container runtime). Results go through the real
//! `PutEvaluations` and are read back with the real compliance APIs.

pub mod events;
pub mod remediation;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_config::types::{ConfigRule, Owner, Scope, Source, SourceDetail};
use aws_sdk_config::types::{EventSource, MaximumExecutionFrequency, MessageType};
use config_rule_sdk::host::Evaluation;
use config_rule_sdk::host::Mode;
use config_rule_sdk::host::edge::Edge;
use config_rule_sdk::{Entry, RuleMeta};
use serde_json::Value;

use crate::emulator::{Account, REGION};

/// The ARN of Lambda function `function_name` in the harness's region.
pub fn function_arn(account_id: &str, function_name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{account_id}:function:{function_name}")
}

/// A rule as Config stores it: what an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedRule {
    pub name: String,
    pub arn: String,
    pub id: String,
    /// `InputParameters`: a JSON object in a string, passed to the rule as `ruleParameters`.
    pub input_parameters: String,
}

/// A resource's compliance with one rule, as Config reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCompliance {
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE` (or whatever Config returned).
    pub compliance: String,
    pub annotation: Option<String>,
}

/// AWS Config in one account.
#[derive(Debug, Clone)]
pub struct ConfigService {
    account: Account,
    client: aws_sdk_config::Client,
}

impl ConfigService {
    pub fn new(account: &Account) -> Self {
        Self {
            client: aws_sdk_config::Client::new(&account.config),
            account: account.clone(),
        }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Creates or updates a change-triggered custom Lambda rule over `resource_types`.
    /// (The emulator neither checks that the function exists nor needs a recorder for this.)
    pub async fn put_custom_lambda_rule(
        &self,
        name: &str,
        lambda_arn: &str,
        resource_types: &[String],
        parameters: &BTreeMap<String, String>,
    ) -> Result<DeployedRule> {
        let triggers = [
            MessageType::ConfigurationItemChangeNotification,
            MessageType::OversizedConfigurationItemChangeNotification,
        ];
        let source = Source::builder()
            .owner(Owner::CustomLambda)
            .source_identifier(lambda_arn)
            .set_source_details(Some(
                triggers
                    .into_iter()
                    .map(|t| {
                        SourceDetail::builder()
                            .event_source(EventSource::AwsConfig)
                            .message_type(t)
                            .build()
                    })
                    .collect(),
            ))
            .build()
            .context("building the rule source")?;
        let rule = ConfigRule::builder()
            .config_rule_name(name)
            .source(source)
            .scope(
                Scope::builder()
                    .set_compliance_resource_types(Some(resource_types.to_vec()))
                    .build(),
            )
            .input_parameters(serde_json::to_string(parameters)?)
            .build();
        self.client
            .put_config_rule()
            .config_rule(rule)
            .send()
            .await
            .with_context(|| format!("PutConfigRule {name}"))?;
        self.deployed_rule(name).await
    }

    /// Creates or updates the periodic custom Lambda rule `meta` describes, at its frequency.
    pub async fn put_periodic_lambda_rule(
        &self,
        meta: &RuleMeta,
        parameters: &BTreeMap<String, String>,
    ) -> Result<DeployedRule> {
        let frequency = meta.trigger.periodic.context("not a periodic rule")?;
        let frequency = serde_json::to_value(frequency)?;
        let frequency = MaximumExecutionFrequency::from(frequency.as_str().unwrap_or_default());
        let source = Source::builder()
            .owner(Owner::CustomLambda)
            .source_identifier(function_arn(&self.account.id, &meta.name))
            .source_details(
                SourceDetail::builder()
                    .event_source(EventSource::AwsConfig)
                    .message_type(MessageType::ScheduledNotification)
                    .maximum_execution_frequency(frequency.clone())
                    .build(),
            )
            .build()
            .context("building the rule source")?;
        let rule = ConfigRule::builder()
            .config_rule_name(&meta.name)
            .source(source)
            .scope(
                Scope::builder()
                    .set_compliance_resource_types(Some(meta.resource_types.clone()))
                    .build(),
            )
            .maximum_execution_frequency(frequency)
            .input_parameters(serde_json::to_string(parameters)?)
            .build();
        self.client
            .put_config_rule()
            .config_rule(rule)
            .send()
            .await
            .with_context(|| format!("PutConfigRule {}", meta.name))?;
        self.deployed_rule(&meta.name).await
    }

    /// A stored rule, by name.
    pub async fn deployed_rule(&self, name: &str) -> Result<DeployedRule> {
        let out = self
            .client
            .describe_config_rules()
            .config_rule_names(name)
            .send()
            .await
            .with_context(|| format!("DescribeConfigRules {name}"))?;
        let rule = out
            .config_rules()
            .first()
            .with_context(|| format!("Config has no rule {name}"))?;
        Ok(DeployedRule {
            name: name.to_owned(),
            arn: rule
                .config_rule_arn()
                .context("the rule has no ARN")?
                .to_owned(),
            id: rule
                .config_rule_id()
                .context("the rule has no id")?
                .to_owned(),
            input_parameters: rule.input_parameters().unwrap_or("{}").to_owned(),
        })
    }

    /// Notifies `rule` of a change of `item`, as Config would: builds the event with a fresh
    /// result token and runs the rule's handler in-process. With [`Mode::Put`] the handler puts
    /// its evaluations through `PutEvaluations` in this account.
    pub async fn run_change_rule(
        &self,
        entry: &Entry,
        deployed: &DeployedRule,
        item: &Value,
        mode: Mode,
    ) -> Result<Vec<Evaluation>> {
        let event = events::change_event(deployed, &self.account.id, item, crate::now());
        let edge = Edge::from_config(self.account.config.clone());
        entry
            .handle(event, &edge, mode)
            .await
            .with_context(|| format!("rule {} on {}", deployed.name, item["resourceId"]))
    }

    /// Every result of `rule_name`, by resource id (`GetComplianceDetailsByConfigRule`, paged).
    pub async fn compliance_by_resource(
        &self,
        rule_name: &str,
    ) -> Result<BTreeMap<String, ResourceCompliance>> {
        let mut results = BTreeMap::new();
        let mut pages = self
            .client
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule_name)
            .limit(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.with_context(|| format!("GetComplianceDetailsByConfigRule {rule_name}"))?;
            for result in page.evaluation_results() {
                let resource_id = result
                    .evaluation_result_identifier()
                    .and_then(|i| i.evaluation_result_qualifier())
                    .and_then(|q| q.resource_id())
                    .context("an evaluation result names no resource")?;
                let compliance = ResourceCompliance {
                    compliance: result
                        .compliance_type()
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_default(),
                    annotation: result.annotation().map(str::to_owned),
                };
                results.insert(resource_id.to_owned(), compliance);
            }
        }
        Ok(results)
    }
}
