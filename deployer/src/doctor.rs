//! Doctor: is each target ready for Custos? Trusted access for StackSets, the role assumable in
//! each account, a Config recorder recording in each region, the StackSet roles that
//! self-managed targets need, (for organisation-wide packs) that this account may manage
//! organisation conformance packs, and, where rules are deployed, that each function runs the
//! code the deployer built (its `CodeSha256` against the SHA-256 the zip's key names). Reads
//! only.

use std::collections::{BTreeMap, BTreeSet};

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
    let claim = crate::ownership::Claim {
        deployment_id: settings.deployment_id(&org.management_account),
        adopt: true,
    };
    if organization_wide
        && let Err(e) = aws::org_packs::observe(
            aws,
            &o.regions,
            crate::names::STACK_SET_PREFIX,
            true,
            &claim,
        )
        .await
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

    let code = code_checks(aws, settings, org).await?;
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
            let expected = code
                .get(&(account.clone(), region.clone()))
                .map_or(&[][..], Vec::as_slice);
            checks.push(Check {
                account: account.clone(),
                name: name.clone(),
                region: region.clone(),
                missing: region_missing(&member, region, expected).await?,
            });
        }
    }
    Ok(checks)
}

/// What is missing in one account and region: a recording recorder, functions running the
/// code the deployer built.
async fn region_missing(
    member: &Aws,
    region: &str,
    expected: &[ExpectedCode],
) -> Result<Vec<String>, AwsError> {
    let mut missing = Vec::new();
    if !recording(member, region).await? {
        missing.push("a Config recorder that is recording".to_owned());
    }
    for code in expected {
        if let Some(problem) = check_code(member, region, code).await {
            missing.push(problem);
        }
    }
    Ok(missing)
}

/// A function a rule stack set deploys, and the code it must run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedCode {
    function: String,
    /// The zip's SHA-256, hex (from its content-addressed key `lambda/<binary>/<sha>.zip`).
    sha256: String,
}

/// The SHA-256 a content-addressed code key names.
fn key_sha256(key: &str) -> Option<String> {
    let name = key.rsplit('/').next()?.strip_suffix(".zip")?;
    (name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit())).then(|| name.to_owned())
}

/// (account, region) -> the functions the deployment's rule stack sets put there.
async fn code_checks(
    aws: &Aws,
    settings: &Settings,
    org: &Organization,
) -> Result<BTreeMap<(String, String), Vec<ExpectedCode>>, AwsError> {
    // Read-only: an earlier Custos's stack sets are checked too.
    let claim = crate::ownership::Claim {
        deployment_id: settings.deployment_id(&org.management_account),
        adopt: true,
    };
    let caller = aws::stacksets::Caller {
        delegated_admin: settings.organization.delegated_admin,
    };
    let (sets, _) = aws::stacksets::observe(
        &aws.cloudformation(),
        crate::names::STACK_SET_PREFIX,
        caller,
        &claim,
    )
    .await?;
    let mut out: BTreeMap<(String, String), Vec<ExpectedCode>> = BTreeMap::new();
    for set in sets.values() {
        let Some(rule) = set
            .name
            .strip_prefix("custos-rule-")
            .map(|r| r.strip_suffix("-accounts").unwrap_or(r))
        else {
            continue;
        };
        let functions = [
            (rule.to_owned(), set.parameters.get("CodeKey")),
            (
                crate::render::remediation_function(rule),
                set.parameters.get("RemediationCodeKey"),
            ),
        ];
        for (function, key) in functions {
            let Some(sha256) = key.and_then(|k| key_sha256(k)) else {
                continue;
            };
            for instance in set.instances.keys() {
                out.entry((instance.account.clone(), instance.region.clone()))
                    .or_default()
                    .push(ExpectedCode {
                        function: function.clone(),
                        sha256: sha256.clone(),
                    });
            }
        }
    }
    Ok(out)
}

/// What is wrong with a function's code, if anything.
async fn check_code(member: &Aws, region: &str, expected: &ExpectedCode) -> Option<String> {
    let found = member
        .lambda(region)
        .get_function_configuration()
        .function_name(&expected.function)
        .send()
        .await;
    let wanted = hex::decode(&expected.sha256)
        .map(aws_smithy_types::base64::encode)
        .unwrap_or_default();
    match found {
        Ok(config) => {
            let have = config.code_sha256().unwrap_or_default();
            (have != wanted).then(|| {
                format!(
                    "function {} runs code {have} (CodeSha256), not the zip the deployer built \
                     ({wanted}, sha256 {})",
                    expected.function, expected.sha256
                )
            })
        }
        Err(e) => {
            let error = AwsError::new(&format!("reading function {}", expected.function), &e);
            Some(if error.is("ResourceNotFoundException") {
                format!("function {} is missing", expected.function)
            } else {
                error.message
            })
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_key_names_the_zips_sha256() {
        let sha = "ab".repeat(32);
        assert_eq!(
            key_sha256(&format!("lambda/s3-bucket-encryption/{sha}.zip")),
            Some(sha)
        );
        assert_eq!(key_sha256("lambda/x/latest.zip"), None);
    }

    #[test]
    fn lambda_reports_the_sha256_in_base64() {
        // The emulator and AWS alike: CodeSha256 is the base64 of the zip's SHA-256.
        let bytes = hex::decode("f7239a65ed0b30eb9a1a34dd8235739f3931316021df5430dc98ec59d62aa4a0")
            .unwrap();
        assert_eq!(
            aws_smithy_types::base64::encode(bytes),
            "9yOaZe0LMOuaGjTdgjVznzkxMWAh31Qw3JjsWdYqpKA="
        );
    }
}
