//! Organizations reads: the tree of OUs and accounts, paginated.

use std::collections::VecDeque;

use aws_sdk_organizations::types::{AccountState, AccountStatus};

use super::{Aws, AwsError};
use crate::org::{Account, Organization, Ou};

/// The service principal of StackSets' trusted access.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// The whole organisation: every OU (nested) and every account, walked from the root.
pub async fn organization(aws: &Aws) -> Result<Organization, AwsError> {
    read(&aws.organizations()).await
}

/// [`organization`], with a given client.
pub async fn read(client: &aws_sdk_organizations::Client) -> Result<Organization, AwsError> {
    let described = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| AwsError::new("describing the organisation", &e))?;
    let org = described.organization();
    let mut out = Organization {
        id: org.and_then(|o| o.id()).unwrap_or_default().to_owned(),
        management_account: org
            .and_then(|o| o.master_account_id())
            .unwrap_or_default()
            .to_owned(),
        ..Organization::default()
    };
    let roots = client
        .list_roots()
        .send()
        .await
        .map_err(|e| AwsError::new("listing the organisation's roots", &e))?;
    out.root_id = roots
        .roots()
        .first()
        .and_then(|r| r.id())
        .unwrap_or_default()
        .to_owned();

    let mut parents = VecDeque::from([out.root_id.clone()]);
    while let Some(parent) = parents.pop_front() {
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::new(&format!("listing the OUs in {parent}"), &e))?;
            for ou in page.organizational_units() {
                let id = ou.id().unwrap_or_default().to_owned();
                out.ous.insert(
                    id.clone(),
                    Ou {
                        name: ou.name().unwrap_or_default().to_owned(),
                        parent: parent.clone(),
                    },
                );
                parents.push_back(id);
            }
        }
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::new(&format!("listing the accounts in {parent}"), &e))?;
            for account in page.accounts() {
                let active = match (account.state(), account.status()) {
                    (Some(state), _) => *state == AccountState::Active,
                    (None, Some(status)) => *status == AccountStatus::Active,
                    (None, None) => true,
                };
                let state = account
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| account.status().map(|s| s.as_str().to_owned()))
                    .unwrap_or_default();
                out.accounts.insert(
                    account.id().unwrap_or_default().to_owned(),
                    Account {
                        name: account.name().unwrap_or_default().to_owned(),
                        parent: parent.clone(),
                        active,
                        state,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Service principals with trusted access in the organisation.
pub async fn trusted_services(aws: &Aws) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .organizations()
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("listing trusted services", &e))?;
        for item in page.enabled_service_principals() {
            out.push(item.service_principal().unwrap_or_default().to_owned());
        }
    }
    Ok(out)
}
