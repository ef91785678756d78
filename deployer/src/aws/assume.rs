//! Member-account credentials: `sts:AssumeRole` through the run's own STS client, so the call
//! is counted with every other call the deployer makes (the SDK's `AssumeRoleProvider` uses a
//! client of its own, which no interceptor of ours sees). Behind the lazy identity cache of the
//! member's configuration, the role is assumed once, and again only when the credentials near
//! their expiry.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Credentials of `role_arn`, assumed with `sts` (the administering account's counted client).
#[derive(Debug, Clone)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
}

impl AssumedRole {
    pub fn new(sts: aws_sdk_sts::Client, role_arn: String, session_name: &str) -> Self {
        Self {
            sts,
            role_arn,
            session_name: session_name.to_owned(),
        }
    }

    async fn assume(&self) -> provider::Result {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .send()
            .await
            .map_err(|e| {
                // The service's code and message say why; the rest of the chain is plumbing.
                let why = match e.as_service_error() {
                    Some(service) => format!(
                        "{}: {}",
                        service.code().unwrap_or("error"),
                        service.message().unwrap_or_default()
                    ),
                    None => DisplayErrorContext(&e).to_string(),
                };
                CredentialsError::provider_error(format!("assuming {}: {why}", self.role_arn))
            })?;
        let credentials = out.credentials().ok_or_else(|| {
            CredentialsError::unhandled(format!(
                "AssumeRole {} returned no credentials",
                self.role_arn
            ))
        })?;
        let expiry = SystemTime::try_from(*credentials.expiration()).ok();
        Ok(Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            expiry,
            "CustosAssumeRole",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.assume())
    }
}
