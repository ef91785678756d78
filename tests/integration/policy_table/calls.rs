//! The calls a deployer run made, as the recording proxy saw them on the wire, turned into the
//! IAM requests AWS authorises them as: which action, on which resource (the Service
//! Authorization Reference's resource types), and for which principal (the signing key: the
//! deployer's own, or one an `AssumeRole` of the member access role issued).

use std::collections::BTreeMap;

use workspace_tests::faults::Exchange;

/// One IAM authorisation a call needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Needed {
    /// `service:Operation` as the deployer called it.
    pub(crate) call: String,
    pub(crate) action: String,
    pub(crate) resource: String,
    /// The account that owns the resource (and, for a member role, the role's own).
    pub(crate) account: String,
}

/// Where a call ran: whose key signed it, and that principal's account.
pub(crate) struct Signer {
    pub(crate) member_role: Option<String>,
    pub(crate) account: String,
}

/// The deployer's own key, and each key an `AssumeRole` issued -> the role assumed.
pub(crate) fn signers(
    log: &[Exchange],
    deployer_key: &str,
    deployer_account: &str,
) -> BTreeMap<String, Signer> {
    let mut out = BTreeMap::from([(
        deployer_key.to_owned(),
        Signer {
            member_role: None,
            account: deployer_account.to_owned(),
        },
    )]);
    for e in log {
        if let (Some(key), Some(role)) = (&e.issued_key, e.fields.get("RoleArn")) {
            let account = role.split(':').nth(4).unwrap_or_default().to_owned();
            out.insert(
                key.clone(),
                Signer {
                    member_role: Some(role.clone()),
                    account,
                },
            );
        }
    }
    out
}

/// A stack set's ARN; the id part is CloudFormation's, any will do for the policies.
fn stack_set(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:cloudformation:{region}:{account}:stackset/{name}:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    )
}

/// The IAM authorisations the call `e` needs, made in `account` by the management account of
/// organisation `org` (`management`). An operation this does not know is an error, so every
/// new call the deployer makes gets a mapping (and a policy).
pub(crate) fn needed(
    e: &Exchange,
    account: &str,
    management: &str,
    org: &str,
) -> Result<Vec<Needed>, String> {
    let region = e.region.as_str();
    let field = |name: &str| {
        e.fields
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{}: no {name} in the request", e.name()))
    };
    let call = format!("{}:{}", e.service, e.operation);
    let one = |action: &str, resource: String, owner: &str| Needed {
        call: call.clone(),
        action: action.to_owned(),
        resource,
        account: owner.to_owned(),
    };
    let op = e.operation.as_str();
    let needs = match e.service.as_str() {
        // GetCallerIdentity needs no permission.
        "sts" if op == "GetCallerIdentity" => vec![],
        "sts" if op == "AssumeRole" => {
            let role = field("RoleArn")?;
            let owner = role.split(':').nth(4).unwrap_or_default().to_owned();
            vec![one("sts:AssumeRole", role, &owner)]
        }
        "iam" if op == "GetRole" => vec![one(
            "iam:GetRole",
            format!("arn:aws:iam::{account}:role/{}", field("RoleName")?),
            account,
        )],
        "cloudformation" if matches!(op, "ListStackSets" | "ListStacks" | "CreateStackSet") => {
            vec![one(&format!("cloudformation:{op}"), "*".into(), account)]
        }
        "cloudformation" => vec![one(
            &format!("cloudformation:{op}"),
            stack_set(region, account, &field("StackSetName")?),
            account,
        )],
        "organizations"
            if matches!(
                op,
                "DescribeOrganization"
                    | "ListRoots"
                    | "ListAWSServiceAccessForOrganization"
                    | "ListDelegatedAdministrators"
                    | "EnableAWSServiceAccess"
            ) =>
        {
            vec![one(&format!("organizations:{op}"), "*".into(), account)]
        }
        "organizations"
            if matches!(
                op,
                "ListOrganizationalUnitsForParent" | "ListAccountsForParent"
            ) =>
        {
            let parent = field("ParentId")?;
            let kind = if parent.starts_with("r-") {
                "root"
            } else {
                "ou"
            };
            vec![one(
                &format!("organizations:{op}"),
                format!("arn:aws:organizations::{management}:{kind}/{org}/{parent}"),
                management,
            )]
        }
        "config" => config(e, &call, account)?,
        "dynamodb" => vec![one(
            &format!("dynamodb:{op}"),
            format!(
                "arn:aws:dynamodb:{region}:{account}:table/{}",
                field("TableName")?
            ),
            account,
        )],
        "lambda" => {
            let path = e.subject.clone().unwrap_or_default();
            let function = path
                .strip_prefix("/2015-03-31/functions/")
                .and_then(|rest| rest.strip_suffix("/configuration"))
                .filter(|_| op == "GET")
                .ok_or_else(|| format!("{call} {path}: no IAM mapping for this call"))?;
            vec![Needed {
                call: "Lambda:GetFunctionConfiguration".to_owned(),
                action: "lambda:GetFunctionConfiguration".to_owned(),
                resource: format!("arn:aws:lambda:{region}:{account}:function:{function}"),
                account: account.to_owned(),
            }]
        }
        "s3" => s3(e, &call)?,
        _ => return Err(format!("{call}: no IAM mapping for this call")),
    };
    Ok(needs)
}

/// The Config calls: the recorder's status, drift's reads, organisation packs.
fn config(e: &Exchange, call: &str, account: &str) -> Result<Vec<Needed>, String> {
    let region = e.region.as_str();
    let op = e.operation.as_str();
    let one = |resource: String| Needed {
        call: call.to_owned(),
        action: format!("config:{op}"),
        resource,
        account: account.to_owned(),
    };
    Ok(vec![match op {
        "DescribeConfigurationRecorderStatus" => one(format!(
            "arn:aws:config:{region}:{account}:configuration-recorder/default/0a1b2c3d"
        )),
        // AWS authorises these on no resource narrower than `*`.
        "DescribeConfigRules"
        | "DescribeOrganizationConformancePacks"
        | "DescribeOrganizationConformancePackStatuses" => one("*".into()),
        // Drift reads the remediations of the rules by name. The engine asks about one
        // resource: one of the type stands for all (the policy grants the type).
        "DescribeRemediationConfigurations" => one(format!(
            "arn:aws:config:{region}:{account}:remediation-configuration/custos-rule/0a1b2c3d"
        )),
        "PutOrganizationConformancePack"
        | "DeleteOrganizationConformancePack"
        | "GetOrganizationConformancePackDetailedStatus" => {
            let name = e
                .fields
                .get("OrganizationConformancePackName")
                .ok_or_else(|| {
                    format!("{call}: no OrganizationConformancePackName in the request")
                })?;
            one(format!(
                "arn:aws:config:{region}:{account}:organization-conformance-pack/{name}-a1b2c3d4"
            ))
        }
        _ => return Err(format!("{call}: no IAM mapping for this call")),
    }])
}

/// S3 speaks REST: the operation is the method and the query on a path-style `/bucket/key`.
fn s3(e: &Exchange, call: &str) -> Result<Vec<Needed>, String> {
    let path = e.subject.clone().unwrap_or_default();
    let path = path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    // custos-artifacts-<account>-<region>
    let owner = bucket
        .split('-')
        .find(|p| p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{call} on {bucket}: not an artifact bucket"))?
        .to_owned();
    let object = |k: &str| format!("arn:aws:s3:::{bucket}/{k}");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let need = |action: &str, resource: String, what: &str| Needed {
        call: format!("S3:{what}"),
        action: action.to_owned(),
        resource,
        account: owner.clone(),
    };
    let has = |name: &str| e.fields.contains_key(name);
    Ok(match (e.operation.as_str(), key.is_empty()) {
        // A missing key answers 404 only to a caller that may list the bucket (403 otherwise).
        ("HEAD", false) => vec![
            need("s3:GetObject", object(key), "HeadObject"),
            need("s3:ListBucket", bucket_arn, "HeadObject"),
        ],
        ("PUT", false) => vec![need("s3:PutObject", object(key), "PutObject")],
        ("GET", true) if has("versions") => {
            vec![need(
                "s3:ListBucketVersions",
                bucket_arn,
                "ListObjectVersions",
            )]
        }
        ("GET", true) => vec![need("s3:ListBucket", bucket_arn, "ListObjectsV2")],
        // DeleteObjects: each version of each key, every one under the bucket's code prefix.
        ("POST", true) if has("delete") => vec![
            need(
                "s3:DeleteObjectVersion",
                object("lambda/rule/0.zip"),
                "DeleteObjects",
            ),
            need(
                "s3:DeleteObject",
                object("lambda/rule/0.zip"),
                "DeleteObjects",
            ),
        ],
        (method, _) => {
            return Err(format!(
                "{call} {method} /{path}: no IAM mapping for this call"
            ));
        }
    })
}
