//! The running local AWS emulator: where it is, and AWS configuration that points at it.
//!
//! Tests share one emulator and run in parallel, so they isolate themselves with unique names
//! and, where a whole account's state matters, an account of their own
//! ([`Emulator::new_account`]).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

/// The emulator's default account: what keys starting with `test` act as.
pub const MANAGEMENT_ACCOUNT_ID: &str = "123456789012";
/// The region of every configuration the harness builds.
pub const REGION: &str = "us-east-1";

const NOT_RUNNING: &str =
    "the local AWS emulator is not running: start it with scripts/emulator start, or run make test";

/// Access keys of one principal.
#[derive(Debug, Clone)]
pub struct AccessKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// An account and AWS configuration that acts in it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub config: SdkConfig,
}

/// A running emulator.
#[derive(Debug, Clone)]
pub struct Emulator {
    url: String,
}

impl Emulator {
    /// The emulator named by `CUSTOS_EMULATOR_URL` (or `AWS_ENDPOINT_URL`).
    ///
    /// Panics when it is not set or does not answer: a test that cannot reach AWS must fail,
    /// never pass by doing nothing.
    pub fn from_env() -> Self {
        Self::try_from_env().unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Like [`Emulator::from_env`], with an error instead of a panic (for binaries).
    pub fn try_from_env() -> Result<Self> {
        Self::locate().context(NOT_RUNNING)
    }

    fn locate() -> Result<Self> {
        #[expect(
            clippy::disallowed_methods,
            reason = "the harness's edge: where the emulator is"
        )]
        let url = std::env::var("CUSTOS_EMULATOR_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .context("neither CUSTOS_EMULATOR_URL nor AWS_ENDPOINT_URL is set")?;
        let emulator = Self {
            url: url.trim_end_matches('/').to_owned(),
        };
        emulator.check_health()?;
        Ok(emulator)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn check_health(&self) -> Result<()> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        agent
            .get(format!("{}/_fakecloud/health", self.url))
            .call()
            .with_context(|| format!("no answer from {}/_fakecloud/health", self.url))?;
        Ok(())
    }

    /// AWS configuration for the emulator's management account (keys `test` / `test`).
    pub async fn management_config(&self) -> SdkConfig {
        self.config_for(&AccessKeys {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        })
        .await
    }

    /// The management account.
    pub async fn management_account(&self) -> Account {
        Account {
            id: MANAGEMENT_ACCOUNT_ID.into(),
            config: self.management_config().await,
        }
    }

    /// AWS configuration that signs with `keys` and talks to the emulator. The emulator resolves
    /// the account from the keys. Loaded like any AWS configuration (retries, clock, HTTP
    /// client), with nothing taken from the environment's credentials or region.
    pub async fn config_for(&self, keys: &AccessKeys) -> SdkConfig {
        let credentials = Credentials::new(
            &keys.access_key_id,
            &keys.secret_access_key,
            keys.session_token.clone(),
            None,
            "custos-emulator",
        );
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.url)
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// Creates an administrator user in `account_id` and returns its keys. This is the
    /// emulator's bootstrap door into an account nobody can assume a role in yet; AWS has no
    /// such call (there, `CreateAccount` creates `OrganizationAccountAccessRole`).
    pub async fn create_admin(&self, account_id: &str, user_name: &str) -> Result<AccessKeys> {
        let body = json!({ "accountId": account_id, "userName": user_name });
        let answer = self.post("/_fakecloud/iam/create-admin", body).await?;
        let field = |name: &str| {
            answer[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("create-admin answered without `{name}`: {answer}"))
        };
        let keys = AccessKeys {
            access_key_id: field("accessKeyId")?,
            secret_access_key: field("secretAccessKey")?,
            session_token: None,
        };
        if answer["accountId"].as_str() != Some(account_id) {
            bail!("create-admin made a user in another account than {account_id}: {answer}");
        }
        Ok(keys)
    }

    /// A fresh account outside any organisation, with an administrator's configuration: a test
    /// that reads a whole account's state (all Config results, all stacks) gets one of its own.
    pub async fn new_account(&self) -> Result<Account> {
        let id = random_account_id();
        let keys = self.create_admin(&id, "harness-admin").await?;
        Ok(Account {
            config: self.config_for(&keys).await,
            id,
        })
    }

    /// Clears all emulator state. Tests share one emulator and run in parallel, so they should
    /// use unique names and accounts instead; this is for a deliberate clean slate.
    pub async fn reset(&self) -> Result<()> {
        self.post("/_reset", json!({})).await.map(drop)
    }

    /// The messages the emulator delivered to `topic_arn`, oldest first: what its email
    /// subscribers would have received.
    pub async fn sns_messages(&self, topic_arn: &str) -> Result<Vec<String>> {
        let url = format!("{}/_fakecloud/sns/messages", self.url);
        let all: Value = tokio::task::spawn_blocking(move || -> Result<Value> {
            let text = ureq::get(&url)
                .call()
                .with_context(|| format!("GET {url}"))?
                .body_mut()
                .read_to_string()
                .with_context(|| format!("GET {url}: body"))?;
            serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON: {text}"))
        })
        .await
        .context("the HTTP task panicked")??;
        let messages = all["messages"]
            .as_array()
            .with_context(|| format!("the emulator's SNS log has no `messages`: {all}"))?;
        Ok(messages
            .iter()
            .filter(|m| m["topicArn"] == topic_arn)
            .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// POSTs JSON to one of the emulator's own endpoints and returns the JSON answer (or null).
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}{path}", self.url);
        tokio::task::spawn_blocking(move || -> Result<Value> {
            let mut response = ureq::post(&url)
                .send_json(&body)
                .with_context(|| format!("POST {url}"))?;
            let text = response
                .body_mut()
                .read_to_string()
                .with_context(|| format!("POST {url}: body"))?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&text)
                .with_context(|| format!("POST {url} answered with non-JSON: {text}"))
        })
        .await
        .context("the HTTP task panicked")?
    }
}

/// A 12-digit account id that no other test will draw.
fn random_account_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 900_000_000_000 + 100_000_000_000;
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_account_ids_have_twelve_digits() {
        for _ in 0..1000 {
            let id = random_account_id();
            assert_eq!(id.len(), 12, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        }
    }
}
