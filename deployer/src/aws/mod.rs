//! Every AWS SDK call the deployer makes, behind small functions that return plain data.

pub mod assume;
pub mod calls;
pub mod compliance;
pub mod gate;
pub mod history;
pub mod lock;
pub mod members;
pub mod org_packs;
pub mod orgs;
pub mod overrides;
pub mod records;
pub mod rollout;
pub mod s3;
pub mod stacksets;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_types::error::display::DisplayErrorContext;

pub use assume::AssumedRole;
pub use calls::CallLog;

/// The administering account's configuration and, lazily, each member account's: a role is
/// assumed at most once per account per run, and its credentials are shared by every client.
#[derive(Debug, Clone)]
pub struct Aws {
    pub config: SdkConfig,
    pub calls: CallLog,
    members: Arc<Mutex<BTreeMap<String, SdkConfig>>>,
}

/// The principal a handle's credentials belong to (`GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// An AWS error, with the whole chain of causes (the SDK's own `Display` says only "service
/// error").
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    pub message: String,
    /// The service's error code, when it sent one.
    pub code: Option<String>,
}

impl AwsError {
    pub fn new<E, R>(
        what: &str,
        error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let code = error
            .as_service_error()
            .and_then(|e| e.code().map(str::to_owned));
        Self {
            message: format!("{what}: {}", DisplayErrorContext(error)),
            code,
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The message without the dump of the whole error the SDK's display of causes ends with,
    /// for one line a person reads (a report row, a reason).
    pub fn brief(&self) -> &str {
        const DUMPS: [&str; 5] = [
            " (DispatchFailure(",
            " (ServiceError(",
            " (TimeoutError(",
            " (ResponseError(",
            " (ConstructionFailure(",
        ];
        let end = DUMPS
            .iter()
            .filter_map(|d| self.message.find(d))
            .min()
            .unwrap_or(self.message.len());
        &self.message[..end]
    }
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl Aws {
    /// The standard credential chain, with `--profile` and `--region` when given;
    /// `AWS_ENDPOINT_URL` and the other standard variables apply as usual.
    pub async fn load(profile: Option<&str>, region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(config_rule_sdk::host::retry::config());
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        Self::from_config(loader.load().await)
    }

    pub fn from_config(config: SdkConfig) -> Self {
        Self {
            config,
            calls: CallLog::default(),
            members: Arc::default(),
        }
    }

    pub fn region(&self) -> Option<String> {
        self.config.region().map(ToString::to_string)
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        let conf = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_cloudformation::Client::from_conf(conf)
    }

    /// CloudFormation in `region` (stacks in a member account).
    pub fn cloudformation_in(&self, region: &str) -> aws_sdk_cloudformation::Client {
        let conf = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_cloudformation::Client::from_conf(conf)
    }

    /// The StackSets clients: writes are never retried by the SDK (see `stacksets::StackSets`).
    pub fn stack_sets(&self) -> stacksets::StackSets {
        let writes = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .interceptor(self.calls.clone())
            .build();
        stacksets::StackSets {
            reads: self.cloudformation(),
            writes: aws_sdk_cloudformation::Client::from_conf(writes),
        }
    }

    /// DynamoDB, for the lock table.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.config)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    pub fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        let conf = aws_sdk_lambda::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_lambda::Client::from_conf(conf)
    }

    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        let conf = aws_sdk_organizations::config::Builder::from(&self.config)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_organizations::Client::from_conf(conf)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(&self.config)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn config_service(&self, region: &str) -> aws_sdk_config::Client {
        let conf = aws_sdk_config::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_owned()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_config::Client::from_conf(conf)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&self.config)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    /// Who runs the deployer (its ARN), for the apply lock.
    pub async fn caller_arn(&self) -> Result<String, AwsError> {
        let out = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::new("reading the caller identity", &e))?;
        Ok(out.arn().unwrap_or_default().to_owned())
    }

    /// The account running the deployer.
    pub async fn caller_account(&self) -> Result<String, AwsError> {
        Ok(self.caller().await?.account)
    }

    /// Who runs the deployer: its account and ARN.
    pub async fn caller(&self) -> Result<Caller, AwsError> {
        let out = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::new("reading the caller identity", &e))?;
        Ok(Caller {
            account: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
        })
    }

    /// This handle acting in `account` through `role_name`; the administering account itself is
    /// used as it is. The role is assumed at most once per account per run (through the run's
    /// counted STS client), and its credentials are shared by every client in that account.
    #[expect(
        clippy::unused_async,
        reason = "callers await it: the member's credentials are a part of the run's reads"
    )]
    pub async fn member(&self, account: &str, admin_account: &str, role_name: &str) -> Self {
        if account == admin_account {
            return self.clone();
        }
        // One lock for the lookup and the insert: two tasks wanting the same account share one
        // configuration, hence one identity cache and one AssumeRole.
        let config = {
            let mut members = self.members.lock().expect("member cache lock");
            members
                .entry(account.to_owned())
                .or_insert_with(|| {
                    let partition = partition(self.region().as_deref().unwrap_or_default());
                    let role_arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
                    let provider = AssumedRole::new(self.sts(), role_arn, "custos-deployer");
                    self.config
                        .to_builder()
                        .credentials_provider(SharedCredentialsProvider::new(provider))
                        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
                        .build()
                })
                .clone()
        };
        Self {
            config,
            calls: self.calls.clone(),
            members: self.members.clone(),
        }
    }
}
