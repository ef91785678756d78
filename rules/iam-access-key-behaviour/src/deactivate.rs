//! Remediation: deactivate one access key (`UpdateAccessKey Status=Inactive`), through the SDK's
//! re-read, exemption check, plan, act, re-read and record; and the day's count of
//! deactivations, kept in Parameter Store.
//!
//! The count lives in the account it is about, beside nothing else: one `String` parameter in
//! the deactivation region, which the rule's role alone may read and write
//! (`ssm:GetParameter`/`ssm:PutParameter` on that one ARN). It survives every run and needs no
//! IAM write beyond `UpdateAccessKey` (a tag would need `iam:Tag*`, which could also write
//! `custos:exempt`), and unlike the records in the log or on the topic it is one read away.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_ssm::types::ParameterType;
use chrono::NaiveDate;

use config_rule_sdk::remediation::Remediation;
use config_rule_sdk::{AwsScope, RuleError};
use serde::Serialize;

use crate::activity::RESOURCE_TYPE;
use crate::limiter::DailyCount;

/// The parameter that keeps the day's count of deactivations.
pub const COUNT_PARAMETER: &str = "/custos/iam-access-key-behaviour/deactivations";

/// The day's count of deactivations in one account, as read at the start of a run.
#[derive(Debug)]
pub struct Counter<'a> {
    ssm: &'a aws_sdk_ssm::Client,
    day: NaiveDate,
    /// The parameter's version when read; `None` when there is none yet.
    version: Option<i64>,
    pub used: u32,
}

impl<'a> Counter<'a> {
    /// Reads the count of `day`.
    pub async fn read(ssm: &'a aws_sdk_ssm::Client, day: NaiveDate) -> Result<Self, RuleError> {
        let (text, version) = match ssm.get_parameter().name(COUNT_PARAMETER).send().await {
            Ok(out) => {
                let p = out.parameter();
                (
                    p.and_then(|p| p.value()).map(str::to_owned),
                    p.map(aws_sdk_ssm::types::Parameter::version),
                )
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_ssm::operation::get_parameter::GetParameterError::is_parameter_not_found) =>
            {
                (None, None)
            }
            Err(e) => return Err(RuleError::aws("GetParameter", e)),
        };
        let used = DailyCount::of_day(text.as_deref(), day).map_err(RuleError::Gather)?;
        Ok(Self {
            ssm,
            day,
            version,
            used,
        })
    }

    /// Counts one more deactivation. Fails when another run wrote the count since it was read:
    /// the caller then stops deactivating.
    pub async fn add_one(&mut self) -> Result<(), RuleError> {
        let next = DailyCount {
            day: self.day,
            deactivated: self.used + 1,
        };
        let out = self
            .ssm
            .put_parameter()
            .name(COUNT_PARAMETER)
            .value(next.text())
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| RuleError::aws("PutParameter", e))?;
        let expected = self.version.unwrap_or(0) + 1;
        self.version = Some(out.version());
        self.used = next.deactivated;
        if out.version() == expected {
            Ok(())
        } else {
            Err(RuleError::Gather(format!(
                "{COUNT_PARAMETER} was written by another run at the same time (version {}, expected {expected})",
                out.version()
            )))
        }
    }
}

/// Deactivates `access_key_id` of `user_name`. The remediated resource is the user (Config's
/// resource id: its `UserId`); the state read and recorded is the key's status.
#[derive(Debug, Clone, Copy)]
pub struct DeactivateKey<'a> {
    pub iam: &'a aws_sdk_iam::Client,
    pub user_name: &'a str,
    pub access_key_id: &'a str,
}

/// The key as read before and after; recorded in the remediation record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyState {
    pub user_name: String,
    pub access_key_id: String,
    /// `Active` or `Inactive`; `None` when the key no longer exists.
    pub status: Option<String>,
    /// The user's tags, for the exemption check (not recorded).
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

/// The one thing this remediation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivate {
    pub user_name: String,
    pub access_key_id: String,
}

impl fmt::Display for Deactivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deactivated access key {} of IAM user {} (UpdateAccessKey Status=Inactive) after it called services not seen in its baseline",
            self.access_key_id, self.user_name
        )
    }
}

impl Remediation for DeactivateKey<'_> {
    type Params = ();
    type State = KeyState;
    type Action = Deactivate;

    fn resource_type(&self) -> &str {
        RESOURCE_TYPE
    }

    fn tags(state: &KeyState) -> BTreeMap<String, String> {
        state.tags.clone()
    }

    /// Only an active key is deactivated; an inactive or deleted one needs nothing.
    fn plan(&self, state: &KeyState, (): &()) -> Option<Deactivate> {
        (state.status.as_deref() == Some("Active")).then(|| Deactivate {
            user_name: state.user_name.clone(),
            access_key_id: state.access_key_id.clone(),
        })
    }

    async fn read(&self, _aws: &AwsScope, _user_id: &str) -> Result<KeyState, RuleError> {
        let status = crate::gather::access_keys(self.iam, self.user_name)
            .await?
            .into_iter()
            .find(|k| k.access_key_id == self.access_key_id)
            .map(|k| k.status);
        Ok(KeyState {
            user_name: self.user_name.to_owned(),
            access_key_id: self.access_key_id.to_owned(),
            status,
            tags: crate::gather::user_tags(self.iam, self.user_name).await?,
        })
    }

    async fn apply(
        &self,
        _aws: &AwsScope,
        _user_id: &str,
        action: &Deactivate,
    ) -> Result<(), RuleError> {
        self.iam
            .update_access_key()
            .user_name(&action.user_name)
            .access_key_id(&action.access_key_id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await
            .map_err(|e| RuleError::aws("UpdateAccessKey", e))?;
        Ok(())
    }
}
