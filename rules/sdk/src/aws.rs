//! The edge: AWS configuration, cross-account credentials, and reading items from Config.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_config::operation::describe_remediation_execution_status::DescribeRemediationExecutionStatusError;
use aws_sdk_config::types::{self as config_types, ResourceType};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use crate::error::RuleError;
use crate::item::{ConfigurationItem, ResourceKey};
use crate::observed::RemediationRun;

/// AWS access for one account: what `gather` and remediations build their clients from
/// ([`AwsScope::client`]). The one place clients are injected: interceptors given to the
/// [`Edge`] (or here) go into every client built, so a caller counts or mocks every call.
#[derive(Debug, Clone)]
pub struct AwsScope {
    config: SdkConfig,
    account_id: Option<String>,
    config_client: aws_sdk_config::Client,
    interceptors: Vec<SharedInterceptor>,
}

/// A service client [`AwsScope::client`] builds: from the scope's configuration, with its
/// interceptors.
pub trait Service {
    fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self;
}

macro_rules! services {
    ($($service:ident),* $(,)?) => {$(
        impl Service for $service::Client {
            fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self {
                let mut builder = $service::config::Builder::from(config);
                for interceptor in interceptors {
                    builder.push_interceptor(interceptor.clone());
                }
                Self::from_conf(builder.build())
            }
        }
    )*};
}

services!(
    aws_sdk_config,
    aws_sdk_sns,
    aws_sdk_ec2,
    aws_sdk_iam,
    aws_sdk_cloudtrail,
    aws_sdk_ssm,
    aws_sdk_s3,
);

impl AwsScope {
    pub fn new(config: SdkConfig, account_id: Option<String>) -> Self {
        Self::intercepted(config, account_id, Vec::new())
    }

    fn intercepted(
        config: SdkConfig,
        account_id: Option<String>,
        interceptors: Vec<SharedInterceptor>,
    ) -> Self {
        let config_client = Service::build(&config, &interceptors);
        Self {
            config,
            account_id,
            config_client,
            interceptors,
        }
    }

    /// This scope with `interceptor` in every client built from it (the Config client too).
    #[must_use]
    pub fn with_interceptor(self, interceptor: impl Intercept + 'static) -> Self {
        let mut interceptors = self.interceptors;
        interceptors.push(SharedInterceptor::new(interceptor));
        Self::intercepted(self.config, self.account_id, interceptors)
    }

    /// A client of `C`'s service for this account, carrying the scope's interceptors.
    pub fn client<C: Service>(&self) -> C {
        C::build(&self.config, &self.interceptors)
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The account the rule is evaluating.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// The Config client the SDK puts evaluations and reads items with.
    pub fn config_client(&self) -> &aws_sdk_config::Client {
        &self.config_client
    }
}

/// Where AWS configuration comes from. Loaded on first use, so Lambda init makes no call.
#[derive(Debug, Default)]
pub struct Edge {
    base: OnceCell<SdkConfig>,
    assumed: Mutex<BTreeMap<String, SdkConfig>>,
    /// A Config client used for every account instead of one built from credentials: for
    /// callers that bring their own (tests with mocked responses).
    config_client: Option<aws_sdk_config::Client>,
    /// Put into every client of every scope: counters, mocked responses.
    interceptors: Vec<SharedInterceptor>,
}

impl Edge {
    /// Configuration from the environment (the standard credential chain), loaded lazily.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// A given configuration, for tests and local runs.
    pub fn from_config(config: SdkConfig) -> Self {
        Self {
            base: OnceCell::from(config),
            ..Self::default()
        }
    }

    /// A given configuration, with `client` as the Config client of every scope.
    pub fn with_config_client(config: SdkConfig, client: aws_sdk_config::Client) -> Self {
        Self {
            base: OnceCell::from(config),
            config_client: Some(client),
            ..Self::default()
        }
    }

    /// This edge with `interceptor` in every client its scopes build.
    #[must_use]
    pub fn with_interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    fn scope_of(&self, config: SdkConfig, account_id: Option<String>) -> AwsScope {
        let scope = AwsScope::intercepted(config, account_id, self.interceptors.clone());
        match &self.config_client {
            Some(client) => AwsScope {
                config_client: client.clone(),
                ..scope
            },
            None => scope,
        }
    }

    async fn base(&self) -> &SdkConfig {
        self.base
            // Boxed: the loader's future is large, and every rule's handler awaits this.
            .get_or_init(|| {
                Box::pin(
                    aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .retry_config(crate::retry::config())
                        .load(),
                )
            })
            .await
    }

    /// Access to `account_id`: the function's own credentials, or, when the rule runs centrally
    /// (`ExecutionRoleName` set), that role in the event's account. Cached per account and role.
    pub async fn scope(
        &self,
        account_id: Option<&str>,
        execution_role_name: Option<&str>,
        partition: &str,
    ) -> AwsScope {
        let base = self.base().await;
        let (Some(account), Some(role)) = (account_id, execution_role_name) else {
            return self.scope_of(base.clone(), account_id.map(str::to_owned));
        };
        let role_arn = format!("arn:{partition}:iam::{account}:role/{role}");
        if let Some(config) = self.assumed.lock().expect("cache lock").get(&role_arn) {
            return self.scope_of(config.clone(), Some(account.to_owned()));
        }
        let provider = AssumeRoleProvider::builder(&role_arn)
            .session_name("custos-rule")
            .configure(base)
            .build()
            .await;
        let config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        self.assumed
            .lock()
            .expect("cache lock")
            .insert(role_arn, config.clone());
        self.scope_of(config, Some(account.to_owned()))
    }
}

/// The partition of a rule ARN (`arn:aws-cn:config:...` -> `aws-cn`); `aws` when unknown.
pub fn partition_of(arn: Option<&str>) -> &str {
    arn.and_then(|a| a.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// Fetches the current item of an oversized notification: `GetResourceConfigHistory(limit=1)`.
pub async fn latest_item(
    client: &aws_sdk_config::Client,
    key: &ResourceKey,
) -> Result<ConfigurationItem, RuleError> {
    recent_items(client, key, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RuleError::Aws {
            operation: "GetResourceConfigHistory",
            message: format!("no configuration item recorded for {key}"),
        })
}

/// The `limit` latest items Config recorded of a resource, newest first.
pub async fn recent_items(
    client: &aws_sdk_config::Client,
    key: &ResourceKey,
    limit: i32,
) -> Result<Vec<ConfigurationItem>, RuleError> {
    let out = client
        .get_resource_config_history()
        .resource_type(ResourceType::from(key.resource_type.as_str()))
        .resource_id(&key.resource_id)
        .limit(limit)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetResourceConfigHistory", e))?;
    out.configuration_items()
        .iter()
        .map(|item| {
            item_from_history(item).map_err(|source| RuleError::Item {
                resource: key.to_string(),
                source,
            })
        })
        .collect()
}

/// Config's remediation executions of one resource for one rule. A rule without a remediation
/// configuration has none.
pub async fn remediation_runs(
    client: &aws_sdk_config::Client,
    config_rule_name: &str,
    key: &ResourceKey,
) -> Result<Vec<RemediationRun>, RuleError> {
    let resource_key = config_types::ResourceKey::builder()
        .resource_type(ResourceType::from(key.resource_type.as_str()))
        .resource_id(&key.resource_id)
        .build()
        .map_err(|e| RuleError::aws("DescribeRemediationExecutionStatus", e))?;
    let out = match client
        .describe_remediation_execution_status()
        .config_rule_name(config_rule_name)
        .resource_keys(resource_key)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(DescribeRemediationExecutionStatusError::is_no_such_remediation_configuration_exception) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(RuleError::aws("DescribeRemediationExecutionStatus", e)),
    };
    Ok(out
        .remediation_execution_statuses()
        .iter()
        .filter_map(|status| {
            Some(RemediationRun {
                state: status.state()?.as_str().to_owned(),
                invoked: to_chrono(status.invocation_time()?)?,
                updated: status.last_updated_time().and_then(to_chrono),
                steps: status
                    .step_details()
                    .iter()
                    .map(|step| {
                        (
                            step.name().unwrap_or_default().to_owned(),
                            step.state()
                                .map(|s| s.as_str().to_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
            })
        })
        .collect())
}

/// An AWS SDK timestamp as a chrono time; `None` when out of chrono's range.
pub fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// A `GetResourceConfigHistory` item, through the same JSON normalisation as every other shape.
pub fn item_from_history(
    item: &config_types::ConfigurationItem,
) -> Result<ConfigurationItem, crate::item::ItemError> {
    let mut wire = api_fields(ApiFields {
        account_id: item.account_id(),
        arn: item.arn(),
        resource_type: item.resource_type().map(ResourceType::as_str),
        resource_id: item.resource_id(),
        resource_name: item.resource_name(),
        region: item.aws_region(),
        availability_zone: item.availability_zone(),
        capture_time: item.configuration_item_capture_time(),
        status: item
            .configuration_item_status()
            .map(config_types::ConfigurationItemStatus::as_str),
        configuration: item.configuration(),
        supplementary: item.supplementary_configuration(),
    });
    if let Some(tags) = item.tags() {
        wire.insert(
            "tags".into(),
            json!(tags.iter().collect::<BTreeMap<_, _>>()),
        );
    }
    ConfigurationItem::from_json(Value::Object(wire))
}

/// A `BatchGetResourceConfig` item (no tags in this shape).
pub fn item_from_batch(
    item: &config_types::BaseConfigurationItem,
) -> Result<ConfigurationItem, crate::item::ItemError> {
    let wire = api_fields(ApiFields {
        account_id: item.account_id(),
        arn: item.arn(),
        resource_type: item.resource_type().map(ResourceType::as_str),
        resource_id: item.resource_id(),
        resource_name: item.resource_name(),
        region: item.aws_region(),
        availability_zone: item.availability_zone(),
        capture_time: item.configuration_item_capture_time(),
        status: item
            .configuration_item_status()
            .map(config_types::ConfigurationItemStatus::as_str),
        configuration: item.configuration(),
        supplementary: item.supplementary_configuration(),
    });
    ConfigurationItem::from_json(Value::Object(wire))
}

#[derive(Clone, Copy)]
struct ApiFields<'a> {
    account_id: Option<&'a str>,
    arn: Option<&'a str>,
    resource_type: Option<&'a str>,
    resource_id: Option<&'a str>,
    resource_name: Option<&'a str>,
    region: Option<&'a str>,
    availability_zone: Option<&'a str>,
    capture_time: Option<&'a aws_smithy_types::DateTime>,
    status: Option<&'a str>,
    configuration: Option<&'a str>,
    supplementary: Option<&'a std::collections::HashMap<String, String>>,
}

fn api_fields(f: ApiFields<'_>) -> Map<String, Value> {
    let mut wire = Map::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            wire.insert(name.to_owned(), Value::String(v.to_owned()));
        }
    };
    put("accountId", f.account_id);
    put("arn", f.arn);
    put("resourceType", f.resource_type);
    put("resourceId", f.resource_id);
    put("resourceName", f.resource_name);
    put("awsRegion", f.region);
    put("availabilityZone", f.availability_zone);
    put("configurationItemStatus", f.status);
    put("configuration", f.configuration);
    if let Some(time) = f.capture_time.and_then(|t| t.fmt(Format::DateTime).ok()) {
        wire.insert("configurationItemCaptureTime".into(), Value::String(time));
    }
    if let Some(supplementary) = f.supplementary {
        wire.insert(
            "supplementaryConfiguration".into(),
            json!(supplementary.iter().collect::<BTreeMap<_, _>>()),
        );
    }
    wire
}
