//! The least the deployer needs: the IAM policies of the role it runs as in the administering
//! account, and of the member access role (`role-name`) it assumes in each target account, for
//! `plan`, `apply`, `destroy` and `doctor`. `deployer doctor --print-policies` prints them; the
//! workspace's policy table test proves, with an IAM policy engine, that they allow every call
//! of an emulator run of those commands.
//!
//! One document fits every installation: the artifact buckets are the caller's own
//! (`${aws:PrincipalAccount}` in their names: S3 is reachable across accounts), the organisation's
//! tree is the caller's own (`${aws:PrincipalOrgID}`), and the account field of the other ARNs is
//! `*` because those services (StackSets, IAM roles, Config) act in the caller's account only.
//! `Resource: "*"` holds only actions AWS authorises on no narrower resource.

use serde::Serialize;
use serde_json::{Value, json};

use crate::doctor::{ADMINISTRATION_ROLE, EXECUTION_ROLE};
use crate::names::STACK_SET_PREFIX;
use crate::settings::{Distribution, Settings};

/// The two policies, as IAM policy documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinimumPolicies {
    /// The role (or user) that runs the deployer in the administering account.
    #[serde(rename = "administering-account")]
    pub administering: Value,
    /// The role the deployer assumes in each target account.
    #[serde(rename = "member-access-role")]
    pub member: Value,
}

/// The policies the settings call for: artifact buckets in member accounts only with
/// `per-account` distribution, organisation conformance packs only when a pack is deployed so.
pub fn minimum_policies(settings: &Settings) -> MinimumPolicies {
    let prefix = &settings.artifacts.bucket_prefix;
    let organization_packs = settings
        .packs
        .values()
        .any(|p| p.deployment == crate::packs::Deployment::Organization);

    let mut administering = vec![
        json!({
            "Sid": "NoNarrowerResource",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateStackSet",
                "cloudformation:ListStackSets",
                "organizations:DescribeOrganization",
                "organizations:ListAWSServiceAccessForOrganization",
                "organizations:ListRoots",
            ],
            // AWS authorises these actions on no narrower resource.
            "Resource": "*",
        }),
        json!({
            "Sid": "WalkTheOrganisation",
            "Effect": "Allow",
            "Action": [
                "organizations:ListAccountsForParent",
                "organizations:ListOrganizationalUnitsForParent",
            ],
            "Resource": [
                "arn:aws:organizations::*:root/${aws:PrincipalOrgID}/*",
                "arn:aws:organizations::*:ou/${aws:PrincipalOrgID}/*",
            ],
        }),
        json!({
            "Sid": "CustosStackSets",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateStackInstances",
                "cloudformation:DeleteStackInstances",
                "cloudformation:DeleteStackSet",
                "cloudformation:DescribeStackInstance",
                "cloudformation:DescribeStackSet",
                "cloudformation:DescribeStackSetOperation",
                "cloudformation:ListStackInstances",
                "cloudformation:ListStackSetOperationResults",
                "cloudformation:UpdateStackInstances",
                "cloudformation:UpdateStackSet",
            ],
            "Resource": [
                format!("arn:aws:cloudformation:*:*:stackset/{STACK_SET_PREFIX}*"),
                format!("arn:aws:cloudformation:*:*:stackset-target/{STACK_SET_PREFIX}*"),
                "arn:aws:cloudformation:*:*:type/resource/AWS-*",
            ],
        }),
        // Self-managed stack sets (listed accounts, the management account) run through the
        // administration role.
        json!({
            "Sid": "PassTheStackSetAdministrationRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": format!("arn:aws:iam::*:role/{ADMINISTRATION_ROLE}"),
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        }),
        json!({
            "Sid": "AssumeTheMemberAccessRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": format!("arn:aws:iam::*:role/{}", settings.organization.role_name),
        }),
    ];
    administering.extend(artifact_statements(prefix));
    administering.push(json!({
        "Sid": "DoctorChecks",
        "Effect": "Allow",
        "Action": ["iam:GetRole"],
        "Resource": [
            format!("arn:aws:iam::*:role/{ADMINISTRATION_ROLE}"),
            format!("arn:aws:iam::*:role/{EXECUTION_ROLE}"),
        ],
    }));
    // One apply at a time: the lock item and the journal of StackSets operations.
    administering.push(json!({
        "Sid": "ApplyLock",
        "Effect": "Allow",
        "Action": [
            "dynamodb:CreateTable",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        "Resource": format!("arn:aws:dynamodb:*:*:table/{}", crate::aws::lock::TABLE),
    }));
    administering.push(recorder_statement());
    // The management account can be a target too; its stacks are read with these credentials.
    administering.extend(drift_statements());
    administering.push(code_statement(settings));
    if organization_packs {
        administering.extend(organization_pack_statements());
    }

    let mut member = vec![
        json!({
            "Sid": "DoctorChecks",
            "Effect": "Allow",
            "Action": ["iam:GetRole"],
            "Resource": format!("arn:aws:iam::*:role/{EXECUTION_ROLE}"),
        }),
        recorder_statement(),
    ];
    member.extend(drift_statements());
    member.push(code_statement(settings));
    if settings.artifacts.distribution == Distribution::PerAccount {
        member.extend(artifact_statements(prefix));
    }

    MinimumPolicies {
        administering: document(&administering),
        member: document(&member),
    }
}

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The account's own artifact buckets (`<prefix>-<account>-<region>`): find out which code is
/// there (`ListBucket` turns a missing key into 404 rather than 403), upload, and empty them
/// before their stack goes.
fn artifact_statements(prefix: &str) -> [Value; 2] {
    let buckets = format!("arn:aws:s3:::{prefix}-${{aws:PrincipalAccount}}-*");
    [
        json!({
            "Sid": "ArtifactBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": buckets,
        }),
        json!({
            "Sid": "ArtifactObjects",
            "Effect": "Allow",
            "Action": [
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObject",
                "s3:PutObject",
            ],
            "Resource": format!("{buckets}/*"),
        }),
    ]
}

fn recorder_statement() -> Value {
    json!({
        "Sid": "ConfigRecorderState",
        "Effect": "Allow",
        "Action": "config:DescribeConfigurationRecorderStatus",
        "Resource": "arn:aws:config:*:*:configuration-recorder/*",
    })
}

/// Organisation conformance packs: Config's calls, and what `PutOrganizationConformancePack`
/// needs on first use (trusted access and the service-linked role of Config's multi-account
/// set-up).
fn organization_pack_statements() -> [Value; 4] {
    const CONFIG_MULTI_ACCOUNT: &str = "config-multiaccountsetup.amazonaws.com";
    [
        json!({
            "Sid": "CustosOrganizationConformancePacks",
            "Effect": "Allow",
            "Action": [
                "config:DeleteOrganizationConformancePack",
                "config:GetOrganizationConformancePackDetailedStatus",
                "config:PutOrganizationConformancePack",
            ],
            "Resource": format!(
                "arn:aws:config:*:*:organization-conformance-pack/{STACK_SET_PREFIX}*"
            ),
        }),
        json!({
            "Sid": "OrganizationConformancePacksNoNarrowerResource",
            "Effect": "Allow",
            "Action": [
                "config:DescribeOrganizationConformancePackStatuses",
                "config:DescribeOrganizationConformancePacks",
                "organizations:ListDelegatedAdministrators",
            ],
            // AWS authorises these actions on no narrower resource.
            "Resource": "*",
        }),
        // Authorised on "*" only; the condition names Config's service.
        json!({
            "Sid": "ConfigMultiAccountTrustedAccess",
            "Effect": "Allow",
            "Action": "organizations:EnableAWSServiceAccess",
            "Resource": "*",
            "Condition": {"StringEquals": {"organizations:ServicePrincipal": CONFIG_MULTI_ACCOUNT}},
        }),
        json!({
            "Sid": "ConfigMultiAccountServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": format!(
                "arn:aws:iam::*:role/aws-service-role/{CONFIG_MULTI_ACCOUNT}/*"
            ),
            "Condition": {"StringEquals": {"iam:AWSServiceName": CONFIG_MULTI_ACCOUNT}},
        }),
    ]
}

/// Human-readable: each policy after a line that says where it goes.
pub fn text(policies: &MinimumPolicies, role_name: &str) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "# The role (or user) that runs the deployer, in the administering account:\n{}\n\n\
         # The member access role, {role_name}, in each target account:\n{}\n",
        pretty(&policies.administering),
        pretty(&policies.member),
    )
}

/// `doctor --org`: each function's code digest, compared with the zip the deployer built; the
/// functions are those of the rules in `deployer.toml`, by name.
fn code_statement(settings: &Settings) -> Value {
    let functions: Vec<String> = crate::desired::binaries(settings)
        .iter()
        .map(|f| format!("arn:aws:lambda:*:*:function:{f}"))
        .collect();
    json!({
        "Sid": "CompareFunctionCode",
        "Effect": "Allow",
        "Action": "lambda:GetFunctionConfiguration",
        "Resource": functions,
    })
}

/// Drift: the Custos stacks, Config rules and remediations of an account, read back. Stacks and
/// rules are listed, which AWS authorises on no narrower resource; remediations are read by
/// rule name.
fn drift_statements() -> [Value; 2] {
    [
        json!({
            "Sid": "ListStacksAndRulesForDrift",
            "Effect": "Allow",
            "Action": ["cloudformation:ListStacks", "config:DescribeConfigRules"],
            "Resource": "*",
        }),
        json!({
            "Sid": "ReadRemediationsForDrift",
            "Effect": "Allow",
            "Action": "config:DescribeRemediationConfigurations",
            "Resource": "arn:aws:config:*:*:remediation-configuration/*",
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::{per_account_settings, settings};

    fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
        policy["Statement"]
            .as_array()?
            .iter()
            .find(|s| s["Sid"] == sid)
    }

    #[test]
    fn members_get_artifact_buckets_only_with_per_account_distribution() {
        let central = minimum_policies(&settings(None));
        assert!(statement(&central.member, "ArtifactObjects").is_none());
        assert!(statement(&central.administering, "ArtifactObjects").is_some());

        let per_account = minimum_policies(&per_account_settings());
        assert_eq!(
            statement(&per_account.member, "ArtifactObjects").unwrap()["Resource"],
            "arn:aws:s3:::custos-artifacts-${aws:PrincipalAccount}-*/*"
        );
    }

    #[test]
    fn the_member_role_named_in_the_settings_is_the_one_assumed() {
        let policies = minimum_policies(&settings(None));
        assert_eq!(
            statement(&policies.administering, "AssumeTheMemberAccessRole").unwrap()["Resource"],
            "arn:aws:iam::*:role/OrganizationAccountAccessRole"
        );
    }

    #[test]
    fn no_policy_grants_a_wildcard_action() {
        let policies = minimum_policies(&settings(None));
        for policy in [&policies.administering, &policies.member] {
            for s in policy["Statement"].as_array().unwrap() {
                let actions: Vec<&Value> = match &s["Action"] {
                    Value::Array(items) => items.iter().collect(),
                    one => vec![one],
                };
                for action in actions {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{action}");
                }
            }
        }
    }
}
