//! Doctor: is each target ready for Custos? Trusted access for StackSets, the role assumable in
//! each account, a Config recorder recording in each region, the StackSet roles that
//! self-managed targets need, and (for organisation-wide packs) that this account may manage
//! organisation conformance packs. Reads only.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::aws::{self, Aws, AwsError};
use crate::org::Organization;
use crate::settings::Settings;

/// The role self-managed stack sets run as in each target account.
pub const EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";
/// The role self-managed stack sets are administered with.
pub const ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";

/// One target's readiness; `missing` says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub account: String,
    pub name: String,
    /// Empty for checks of the whole organisation or account.
    pub region: String,
    pub missing: Vec<String>,
}

/// Checks every target account and region.
pub async fn doctor(
    aws: &Aws,
    settings: &Settings,
    org: &Organization,
    admin: &str,
) -> Result<Vec<Check>, AwsError> {
    let o = &settings.organization;
    let mut checks = Vec::new();
    let mut org_missing = Vec::new();
    if !o.target_ous.is_empty()
        && !aws::orgs::trusted_services(aws)
            .await?
            .iter()
            .any(|s| s == aws::orgs::STACKSETS_PRINCIPAL)
    {
        org_missing.push("trusted access for CloudFormation StackSets".to_owned());
    }
    let self_managed: BTreeSet<String> = o
        .accounts
        .iter()
        .cloned()
        .chain(
            o.include_management_account
                .then(|| org.management_account.clone()),
        )
        .collect();
    if !self_managed.is_empty() && !role_exists(aws, ADMINISTRATION_ROLE).await {
        org_missing.push(format!(
            "role {ADMINISTRATION_ROLE} in the administering account"
        ));
    }
    let organization_wide = settings
        .packs
        .values()
        .any(|p| p.deployment == crate::packs::Deployment::Organization);
    if organization_wide
        && let Err(e) =
            aws::org_packs::observe(aws, &o.regions, crate::desired::STACK_SET_PREFIX, true).await
    {
        org_missing.push(format!(
            "access to organization conformance packs from this account: {}",
            e.message
        ));
    }
    checks.push(Check {
        account: admin.to_owned(),
        name: "organisation".to_owned(),
        region: String::new(),
        missing: org_missing,
    });

    let targets = target_accounts(settings, org);
    for account in targets {
        let name = org
            .accounts
            .get(&account)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let member = aws.member(&account, admin, &o.role_name).await;
        if account != admin && member.caller_account().await.is_err() {
            checks.push(Check {
                account,
                name,
                region: String::new(),
                missing: vec![format!("role {} cannot be assumed", o.role_name)],
            });
            continue;
        }
        let mut account_missing = Vec::new();
        if self_managed.contains(&account) && !role_exists(&member, EXECUTION_ROLE).await {
            account_missing.push(format!("role {EXECUTION_ROLE}"));
        }
        checks.push(Check {
            account: account.clone(),
            name: name.clone(),
            region: String::new(),
            missing: account_missing,
        });
        for region in &o.regions {
            let mut missing = Vec::new();
            if !recording(&member, region).await? {
                missing.push("a Config recorder that is recording".to_owned());
            }
            checks.push(Check {
                account: account.clone(),
                name: name.clone(),
                region: region.clone(),
                missing,
            });
        }
    }
    Ok(checks)
}

/// Every account the settings target: below the target OUs, listed, and the management
/// account when included; excluded accounts left out.
fn target_accounts(settings: &Settings, org: &Organization) -> BTreeSet<String> {
    let o = &settings.organization;
    let mut out: BTreeSet<String> = o.accounts.clone();
    for ou in &o.target_ous {
        if let Some(id) = org.resolve(&ou.value) {
            out.extend(
                org.accounts_under(&id)
                    .into_iter()
                    .filter(|a| *a != org.management_account),
            );
        }
    }
    if o.include_management_account {
        out.insert(org.management_account.clone());
    }
    out.retain(|a| !o.exclude_accounts.contains(a));
    out
}

async fn role_exists(aws: &Aws, name: &str) -> bool {
    aws.iam().get_role().role_name(name).send().await.is_ok()
}

async fn recording(aws: &Aws, region: &str) -> Result<bool, AwsError> {
    let out = aws
        .config_service(region)
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("reading the Config recorder in {region}"), &e))?;
    Ok(out
        .configuration_recorders_status()
        .iter()
        .any(aws_sdk_config::types::ConfigurationRecorderStatus::recording))
}
