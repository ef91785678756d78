//! Organisation conformance packs, from the administering account (the management account or
//! Config's delegated administrator): what is deployed in each region, putting and deleting a
//! pack, and waiting until Config has carried the change to the member accounts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_config::Client;
use aws_sdk_config::types::{
    ConformancePackInputParameter, OrganizationConformancePackStatus,
    OrganizationResourceDetailedStatus, OrganizationResourceDetailedStatusFilters,
    OrganizationResourceStatus,
};

use super::stacksets::{Polling, TargetResult};
use super::{Aws, AwsError};
use crate::ownership::{Claim, Foreign};
use crate::packs::organization::{
    DEPLOYMENT_PARAMETER, ObservedOrgPack, OrgPackSpec, TEMPLATE_HASH_PARAMETER,
};

/// Region -> pack name -> the pack.
pub type PacksByRegion = BTreeMap<String, BTreeMap<String, ObservedOrgPack>>;

const NO_SUCH_PACK: &str = "NoSuchOrganizationConformancePackException";
/// Codes that say the caller may not manage organisation packs (not the management account nor
/// Config's delegated administrator, or no organisation).
const NOT_ALLOWED: [&str; 3] = [
    "OrganizationAccessDeniedException",
    "NoAvailableOrganizationException",
    "AccessDeniedException",
];

/// The organisation packs whose name starts with `prefix`, in each region: those `claim` owns,
/// and those it does not (reported, never touched).
///
/// `required` is whether the settings deploy any: when they do not, a caller that may not read
/// organisation packs has none of Custos's to remove, and that is no error.
pub async fn observe(
    aws: &Aws,
    regions: &[String],
    prefix: &str,
    required: bool,
    claim: &Claim,
) -> Result<(PacksByRegion, Vec<Foreign>), AwsError> {
    observe_with(
        |region| aws.config_service(region),
        regions,
        prefix,
        required,
        claim,
    )
    .await
}

/// `observe`, with the Config client of each region from `client`.
pub async fn observe_with(
    client: impl Fn(&str) -> Client,
    regions: &[String],
    prefix: &str,
    required: bool,
    claim: &Claim,
) -> Result<(PacksByRegion, Vec<Foreign>), AwsError> {
    let mut out = BTreeMap::new();
    let mut foreign = Vec::new();
    for region in regions {
        match observe_region(&client(region), prefix).await {
            Ok(packs) => {
                let mut own = BTreeMap::new();
                for (name, pack) in packs {
                    let owner =
                        claim.org_pack(pack.template_hash.as_deref(), pack.deployment.as_deref());
                    match Foreign::new("organization conformance pack", &name, Some(region), &owner)
                    {
                        Some(other) => foreign.push(other),
                        None => {
                            own.insert(name, pack);
                        }
                    }
                }
                if !own.is_empty() {
                    out.insert(region.clone(), own);
                }
            }
            Err(e) if !required && NOT_ALLOWED.iter().any(|c| e.is(c)) => {
                tracing::debug!(region, error = %e, "organisation packs not readable here");
            }
            Err(mut e) if NOT_ALLOWED.iter().any(|c| e.is(c)) => {
                e.message.push_str(
                    " (organisation-wide packs are deployed from the management account or from \
                     an account registered as delegated administrator for \
                     config-multiaccountsetup.amazonaws.com)",
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((out, foreign))
}

/// One region's packs.
pub async fn observe_region(
    client: &Client,
    prefix: &str,
) -> Result<BTreeMap<String, ObservedOrgPack>, AwsError> {
    let mut packs = BTreeMap::new();
    let mut pages = client
        .describe_organization_conformance_packs()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("listing organization conformance packs", &e))?;
        for pack in page.organization_conformance_packs() {
            let name = pack.organization_conformance_pack_name();
            if !name.starts_with(prefix) {
                continue;
            }
            let parameter = |wanted: &str| {
                pack.conformance_pack_input_parameters()
                    .iter()
                    .find(|p| p.parameter_name() == wanted)
                    .map(|p| p.parameter_value().to_owned())
            };
            packs.insert(
                name.to_owned(),
                ObservedOrgPack {
                    template_hash: parameter(TEMPLATE_HASH_PARAMETER),
                    excluded_accounts: pack.excluded_accounts().iter().cloned().collect(),
                    deployment: parameter(DEPLOYMENT_PARAMETER),
                },
            );
        }
    }
    Ok(packs)
}

/// Creates or updates `spec` in the client's region, with its fingerprint and its owner,
/// excluding `excluded` (the region's exclusions).
pub async fn put(
    client: &Client,
    spec: &OrgPackSpec,
    excluded: &BTreeSet<String>,
) -> Result<(), AwsError> {
    let parameter = |name: &str, value: &str| {
        ConformancePackInputParameter::builder()
            .parameter_name(name)
            .parameter_value(value)
            .build()
            .map_err(|e| AwsError {
                message: format!("building the parameters of {}: {e}", spec.name),
                code: None,
            })
    };
    let fingerprint = parameter(TEMPLATE_HASH_PARAMETER, &spec.template_hash)?;
    let owner = parameter(DEPLOYMENT_PARAMETER, &spec.deployment)?;
    client
        .put_organization_conformance_pack()
        .organization_conformance_pack_name(&spec.name)
        .template_body(&spec.body)
        .conformance_pack_input_parameters(fingerprint)
        .conformance_pack_input_parameters(owner)
        .set_excluded_accounts(Some(excluded.iter().cloned().collect()))
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("putting organization pack {}", spec.name), &e))?;
    Ok(())
}

/// Deletes `name` in the client's region; a pack already gone is deleted.
pub async fn delete(client: &Client, name: &str) -> Result<(), AwsError> {
    match client
        .delete_organization_conformance_pack()
        .organization_conformance_pack_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let error = AwsError::new(&format!("deleting organization pack {name}"), &e);
            if error.is(NO_SUCH_PACK) {
                Ok(())
            } else {
                Err(error)
            }
        }
    }
}

/// How a put or delete ended: `SUCCEEDED` or `FAILED`, with the member accounts where it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackOutcome {
    pub status: String,
    pub failures: Vec<TargetResult>,
}

/// Waits until Config has finished with `name` in the client's region (`region`, for the
/// results): created or updated in every account, or deleted (gone).
pub async fn wait(
    client: &Client,
    name: &str,
    region: &str,
    polling: Polling,
) -> Result<PackOutcome, AwsError> {
    let mut pause = polling.first;
    let mut waited = Duration::ZERO;
    loop {
        let status = status(client, name).await?;
        let finished = match &status {
            // Gone: deleted.
            None
            | Some(
                OrganizationResourceStatus::CreateSuccessful
                | OrganizationResourceStatus::UpdateSuccessful
                | OrganizationResourceStatus::DeleteSuccessful,
            ) => Some(true),
            Some(
                OrganizationResourceStatus::CreateFailed
                | OrganizationResourceStatus::UpdateFailed
                | OrganizationResourceStatus::DeleteFailed,
            ) => Some(false),
            Some(_) => None,
        };
        match finished {
            Some(true) => {
                return Ok(PackOutcome {
                    status: "SUCCEEDED".to_owned(),
                    failures: Vec::new(),
                });
            }
            Some(false) => {
                return Ok(PackOutcome {
                    status: "FAILED".to_owned(),
                    failures: failures(client, name, region).await?,
                });
            }
            None if waited >= polling.give_up_after => {
                return Err(AwsError {
                    message: format!(
                        "organization pack {name} in {region} is still {} after {}s",
                        status.as_ref().map_or("in progress", |s| s.as_str()),
                        waited.as_secs()
                    ),
                    code: None,
                });
            }
            None => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(polling.longest);
            }
        }
    }
}

/// The pack's status; none once it is gone.
async fn status(
    client: &Client,
    name: &str,
) -> Result<Option<OrganizationResourceStatus>, AwsError> {
    match client
        .describe_organization_conformance_pack_statuses()
        .organization_conformance_pack_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .organization_conformance_pack_statuses()
            .iter()
            .find(|s| s.organization_conformance_pack_name() == name)
            .map(OrganizationConformancePackStatus::status)
            .cloned()),
        Err(e) => {
            let error = AwsError::new(&format!("reading the status of {name}"), &e);
            if error.is(NO_SUCH_PACK) {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// The member accounts where the pack failed, with Config's reason.
async fn failures(
    client: &Client,
    name: &str,
    region: &str,
) -> Result<Vec<TargetResult>, AwsError> {
    const FAILED: [OrganizationResourceDetailedStatus; 3] = [
        OrganizationResourceDetailedStatus::CreateFailed,
        OrganizationResourceDetailedStatus::UpdateFailed,
        OrganizationResourceDetailedStatus::DeleteFailed,
    ];
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for wanted in FAILED {
        let filter = OrganizationResourceDetailedStatusFilters::builder()
            .status(wanted)
            .build();
        let mut pages = client
            .get_organization_conformance_pack_detailed_status()
            .organization_conformance_pack_name(name)
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::new(&format!("reading where {name} failed"), &e))?;
            for status in page.organization_conformance_pack_detailed_statuses() {
                if !seen.insert(status.account_id().to_owned()) {
                    continue;
                }
                out.push(TargetResult {
                    account: status.account_id().to_owned(),
                    region: region.to_owned(),
                    status: status.status().as_str().to_owned(),
                    reason: match (status.error_code(), status.error_message()) {
                        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
                        (code, message) => message.or(code).map(str::to_owned),
                    },
                });
            }
        }
    }
    out.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(out)
}

#[cfg(test)]
#[path = "org_packs_tests.rs"]
mod tests;
