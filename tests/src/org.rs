//! An AWS Organization in the emulator, set up the way organisation-wide tests and the demo need.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use workspace_tests::emulator::Emulator;
//! use workspace_tests::org::{ACCESS_ROLE, Organization};
//! let emulator = Emulator::from_env();
//! // An organisation of its own, so parallel tests never see each other's accounts and OUs.
//! let org = Organization::isolated(&emulator).await?;
//! let workloads = org.create_ou(&org.root_id, "workloads").await?;
//! let member = org.create_account("dev", "dev@example.com").await?;
//! org.move_account(&member, &workloads).await?;
//! org.bootstrap_access_role(&member, ACCESS_ROLE).await?;
//! let member_config = org.assume_role(&member, ACCESS_ROLE).await?; // acts in `member`
//! # Ok(()) }
//! ```
//!
//! What the emulator needs that AWS does not (checked by `tests/integration/emulator_facts.rs`):
//! `CreateAccount` does not create `OrganizationAccountAccessRole`, so
//! [`Organization::bootstrap_access_role`] creates it through an administrator that the emulator
//! mints in the new account.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
use serde_json::json;

use crate::emulator::{Account, Emulator, MANAGEMENT_ACCOUNT_ID};

/// The role AWS Organizations creates in every account it creates.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";
/// The service principal whose trusted access `SERVICE_MANAGED` StackSets need.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// How long `CreateAccount` may take (the emulator: 1-2 s; AWS: minutes).
const CREATE_ACCOUNT_TIMEOUT: Duration = Duration::from_mins(1);
const CREATE_ACCOUNT_POLL: Duration = Duration::from_millis(200);

/// An organisation, seen from its management account.
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: String,
    pub root_id: String,
    pub management_account_id: String,
    management: SdkConfig,
    emulator: Emulator,
}

impl Organization {
    /// The organisation of the emulator's management account (keys `test`), created if there
    /// is none yet. Shared by everything that uses that account: the demo, and tests that do not
    /// need a clean organisation.
    pub async fn of_management_account(emulator: &Emulator) -> Result<Self> {
        Self::create_or_describe(
            emulator,
            emulator.management_config().await,
            MANAGEMENT_ACCOUNT_ID,
        )
        .await
    }

    /// A new organisation managed by a new account: accounts, OUs and trusted access that no
    /// other test sees.
    pub async fn isolated(emulator: &Emulator) -> Result<Self> {
        let management = emulator.new_account().await?;
        Self::create_or_describe(emulator, management.config, &management.id).await
    }

    async fn create_or_describe(
        emulator: &Emulator,
        management: SdkConfig,
        management_account_id: &str,
    ) -> Result<Self> {
        let client = aws_sdk_organizations::Client::new(&management);
        let created = client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await;
        let organization = match created {
            Ok(out) => out.organization,
            Err(e) if e.code() == Some("AlreadyInOrganizationException") => {
                client
                    .describe_organization()
                    .send()
                    .await
                    .context("DescribeOrganization")?
                    .organization
            }
            Err(e) => return Err(e).context("CreateOrganization"),
        };
        let id = organization
            .and_then(|o| o.id)
            .context("the organisation has no id")?;
        let roots = client.list_roots().send().await.context("ListRoots")?;
        let root_id = roots
            .roots()
            .first()
            .and_then(|r| r.id.clone())
            .context("the organisation has no root")?;
        Ok(Self {
            id,
            root_id,
            management_account_id: management_account_id.to_owned(),
            management,
            emulator: emulator.clone(),
        })
    }

    /// AWS configuration of the management account.
    pub fn management_config(&self) -> &SdkConfig {
        &self.management
    }

    /// The environment a command (the deployer) runs in as the management account against
    /// `endpoint`: the endpoint, the harness's region, the account's keys, no instance metadata.
    pub async fn management_environment(&self, endpoint: &str) -> Result<Vec<(String, String)>> {
        let credentials = self
            .management
            .credentials_provider()
            .context("the management account has no credentials")?
            .provide_credentials()
            .await?;
        let mut env = vec![
            ("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()),
            ("AWS_REGION".to_owned(), crate::emulator::REGION.to_owned()),
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                credentials.access_key_id().to_owned(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                credentials.secret_access_key().to_owned(),
            ),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ];
        if let Some(token) = credentials.session_token() {
            env.push(("AWS_SESSION_TOKEN".to_owned(), token.to_owned()));
        }
        Ok(env)
    }

    fn client(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.management)
    }

    /// Creates a member account and waits until it exists; returns its id. `CreateAccount` is
    /// asynchronous, so this polls `DescribeCreateAccountStatus`. Emails must be unique.
    pub async fn create_account(&self, name: &str, email: &str) -> Result<String> {
        let client = self.client();
        let request = client
            .create_account()
            .account_name(name)
            .email(email)
            .send()
            .await
            .with_context(|| format!("CreateAccount {name}"))?;
        let request_id = request
            .create_account_status
            .and_then(|s| s.id)
            .context("CreateAccount returned no request id")?;
        let deadline = tokio::time::Instant::now() + CREATE_ACCOUNT_TIMEOUT;
        loop {
            let status = client
                .describe_create_account_status()
                .create_account_request_id(&request_id)
                .send()
                .await
                .context("DescribeCreateAccountStatus")?
                .create_account_status
                .context("DescribeCreateAccountStatus returned no status")?;
            match status.state {
                Some(CreateAccountState::Succeeded) => {
                    return status.account_id.context("a created account has no id");
                }
                Some(CreateAccountState::Failed) => {
                    let reason = status.failure_reason.map(|r| r.as_str().to_owned());
                    bail!(
                        "CreateAccount {name} failed: {}",
                        reason.unwrap_or_default()
                    );
                }
                _ if tokio::time::Instant::now() > deadline => {
                    bail!("CreateAccount {name} still in progress after {CREATE_ACCOUNT_TIMEOUT:?}")
                }
                _ => tokio::time::sleep(CREATE_ACCOUNT_POLL).await,
            }
        }
    }

    /// A new member account, reachable the way AWS makes new accounts reachable: created under
    /// the root with a unique email, its [`ACCESS_ROLE`] bootstrapped, and configuration that acts
    /// in it through that role.
    pub async fn create_member(&self, name: &str) -> Result<Account> {
        let email = format!("{}@example.com", crate::unique_name(name));
        let id = self.create_account(name, &email).await?;
        self.bootstrap_access_role(&id, ACCESS_ROLE).await?;
        let config = self.assume_role(&id, ACCESS_ROLE).await?;
        Ok(Account { id, config })
    }

    /// Creates `role_name` in `account_id`, trusted by the management account and allowed
    /// everything, as AWS Organizations does for the accounts it creates. Returns the role ARN.
    pub async fn bootstrap_access_role(&self, account_id: &str, role_name: &str) -> Result<String> {
        let admin = self
            .emulator
            .create_admin(account_id, "organization-bootstrap")
            .await?;
        let iam = aws_sdk_iam::Client::new(&self.emulator.config_for(&admin).await);
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{}:root", self.management_account_id) },
                "Action": "sts:AssumeRole",
            }],
        });
        let role = iam
            .create_role()
            .role_name(role_name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .with_context(|| format!("CreateRole {role_name} in {account_id}"))?;
        // The same inline policy AWS Organizations gives the role.
        let admin_policy = json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }],
        });
        iam.put_role_policy()
            .role_name(role_name)
            .policy_name("AdministratorAccess")
            .policy_document(admin_policy.to_string())
            .send()
            .await
            .with_context(|| format!("PutRolePolicy on {role_name} in {account_id}"))?;
        role.role
            .map(|r| r.arn)
            .context("CreateRole returned no role")
    }

    /// AWS configuration acting in `account_id` through `role_name`, assumed from the
    /// management account (fails at first use if the role does not admit it).
    pub async fn assume_role(&self, account_id: &str, role_name: &str) -> Result<SdkConfig> {
        let role_arn = format!("arn:aws:iam::{account_id}:role/{role_name}");
        let provider = AssumeRoleProvider::builder(role_arn)
            .session_name("custos-harness")
            .configure(&self.management)
            .build()
            .await;
        Ok(self
            .management
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build())
    }

    /// Enables trusted access for CloudFormation StackSets, which `SERVICE_MANAGED` stack sets
    /// require. Idempotent.
    pub async fn enable_stacksets_trusted_access(&self) -> Result<()> {
        self.client()
            .enable_aws_service_access()
            .service_principal(STACKSETS_PRINCIPAL)
            .send()
            .await
            .context("EnableAWSServiceAccess for StackSets")?;
        Ok(())
    }

    /// Creates an OU under `parent_id` (the root or another OU); returns its id.
    pub async fn create_ou(&self, parent_id: &str, name: &str) -> Result<String> {
        let out = self
            .client()
            .create_organizational_unit()
            .parent_id(parent_id)
            .name(name)
            .send()
            .await
            .with_context(|| format!("CreateOrganizationalUnit {name} under {parent_id}"))?;
        out.organizational_unit
            .and_then(|ou| ou.id)
            .context("CreateOrganizationalUnit returned no id")
    }

    /// Moves `account_id` from wherever it is to `destination_parent_id`.
    pub async fn move_account(&self, account_id: &str, destination_parent_id: &str) -> Result<()> {
        let source = self.parent_of(account_id).await?;
        let moved = self
            .client()
            .move_account()
            .account_id(account_id)
            .source_parent_id(source)
            .destination_parent_id(destination_parent_id)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(()),
            // The emulator answers MoveAccount with a `null` body, which the SDK cannot parse
            // although the move is done: a 200 counts when the account is where it should be.
            Err(SdkError::ResponseError(e)) if e.raw().status().as_u16() == 200 => {
                let parent = self.parent_of(account_id).await?;
                anyhow::ensure!(
                    parent == destination_parent_id,
                    "MoveAccount {account_id} to {destination_parent_id} left it in {parent}"
                );
                Ok(())
            }
            Err(e) => Err(e)
                .with_context(|| format!("MoveAccount {account_id} to {destination_parent_id}")),
        }
    }

    /// The root or OU that holds `child_id` (an account or an OU).
    pub async fn parent_of(&self, child_id: &str) -> Result<String> {
        let parents = self
            .client()
            .list_parents()
            .child_id(child_id)
            .send()
            .await
            .with_context(|| format!("ListParents {child_id}"))?;
        parents
            .parents()
            .first()
            .and_then(|p| p.id.clone())
            .with_context(|| format!("{child_id} has no parent"))
    }
}
