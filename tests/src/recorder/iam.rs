//! `AWS::IAM::Policy`, `AWS::IAM::Role`, `AWS::IAM::User` and `AWS::IAM::Group` items, from the
//! IAM API (`GetPolicy` + `ListPolicyVersions` + `GetPolicyVersion`, `GetRole` +
//! `ListRolePolicies` + `GetRolePolicy`, and so on).
//!
//! Config records IAM resources as global: `awsRegion` is `global` and `availabilityZone` is
//! `Not Applicable`; the resource id is IAM's unique id (`ANPA...`, `AROA...`, `AIDA...`,
//! `AGPA...`) and the resource name the friendly name. Policy documents stay as IAM hands them
//! out, URL-encoded JSON text (RFC 3986), which is what Config puts in the item. Tags appear
//! twice, as a `[{key, value}]` list in the configuration and as a map at the top of the item.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_iam::primitives::DateTime as IamTime;
use aws_sdk_iam::types::{
    AttachedPermissionsBoundary, AttachedPolicy, InstanceProfile,
    PermissionsBoundaryAttachmentType, Tag,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Envelope, item, timestamp};

/// Config's region and zone for IAM resources.
const GLOBAL: &str = "global";
const NOT_APPLICABLE: &str = "Not Applicable";

/// The item Config would record for customer managed policy `policy_arn` of `account_id` now:
/// every version, each with its document, in `policyVersionList`.
pub async fn iam_policy(config: &SdkConfig, account_id: &str, policy_arn: &str) -> Result<Value> {
    let iam = aws_sdk_iam::Client::new(config);
    let policy = iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .with_context(|| format!("GetPolicy {policy_arn}"))?
        .policy
        .with_context(|| format!("GetPolicy {policy_arn} answered without a policy"))?;
    let mut versions = Vec::new();
    let mut pages = iam
        .list_policy_versions()
        .policy_arn(policy_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListPolicyVersions {policy_arn}"))?;
        for listed in page.versions() {
            let version_id = listed
                .version_id()
                .context("ListPolicyVersions lists a version without an id")?;
            let version = iam
                .get_policy_version()
                .policy_arn(policy_arn)
                .version_id(version_id)
                .send()
                .await
                .with_context(|| format!("GetPolicyVersion {policy_arn} {version_id}"))?
                .policy_version
                .with_context(|| format!("GetPolicyVersion {policy_arn} {version_id}: empty"))?;
            versions.push(json!({
                "document": version.document(),
                "versionId": version_id,
                "isDefaultVersion": version.is_default_version(),
                "createDate": version.create_date().and_then(to_chrono).map(timestamp),
            }));
        }
    }
    let name = policy.policy_name().context("GetPolicy: no PolicyName")?;
    let id = policy.policy_id().context("GetPolicy: no PolicyId")?;
    let created = policy.create_date().and_then(to_chrono);
    let configuration = json!({
        "policyName": name,
        "policyId": id,
        "arn": policy_arn,
        "path": policy.path(),
        "defaultVersionId": policy.default_version_id(),
        "attachmentCount": policy.attachment_count(),
        "permissionsBoundaryUsageCount": policy.permissions_boundary_usage_count(),
        "isAttachable": policy.is_attachable(),
        "description": policy.description(),
        "createDate": created.map(timestamp),
        "updateDate": policy.update_date().and_then(to_chrono).map(timestamp),
        "policyVersionList": versions,
    });
    let envelope = global_envelope(
        account_id,
        "AWS::IAM::Policy",
        id,
        name,
        policy_arn,
        created,
    );
    Ok(item(
        &envelope,
        &configuration,
        &Map::new(),
        &tag_map(policy.tags()),
    ))
}

/// The item Config would record for role `role_name` of `account_id` now. The trust policy is
/// `assumeRolePolicyDocument`; inline policies are in `rolePolicyList`.
pub async fn iam_role(config: &SdkConfig, account_id: &str, role_name: &str) -> Result<Value> {
    let iam = aws_sdk_iam::Client::new(config);
    let role = iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .with_context(|| format!("GetRole {role_name}"))?
        .role
        .with_context(|| format!("GetRole {role_name} answered without a role"))?;
    let mut inline = Vec::new();
    let mut names = iam
        .list_role_policies()
        .role_name(role_name)
        .into_paginator()
        .send();
    while let Some(page) = names.next().await {
        for policy_name in page
            .with_context(|| format!("ListRolePolicies {role_name}"))?
            .policy_names()
        {
            let out = iam
                .get_role_policy()
                .role_name(role_name)
                .policy_name(policy_name)
                .send()
                .await
                .with_context(|| format!("GetRolePolicy {role_name} {policy_name}"))?;
            inline.push(inline_policy(policy_name, out.policy_document()));
        }
    }
    let mut attached = Vec::new();
    let mut pages = iam
        .list_attached_role_policies()
        .role_name(role_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListAttachedRolePolicies {role_name}"))?;
        attached.extend(page.attached_policies().iter().map(attached_policy));
    }
    let mut profiles = Vec::new();
    let mut pages = iam
        .list_instance_profiles_for_role()
        .role_name(role_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListInstanceProfilesForRole {role_name}"))?;
        profiles.extend(page.instance_profiles().iter().map(instance_profile));
    }
    let created = to_chrono(role.create_date());
    let configuration = json!({
        "path": role.path(),
        "roleName": role.role_name(),
        "roleId": role.role_id(),
        "arn": role.arn(),
        "createDate": created.map(timestamp),
        "assumeRolePolicyDocument": role.assume_role_policy_document(),
        "instanceProfileList": profiles,
        "rolePolicyList": inline,
        "attachedManagedPolicies": attached,
        "permissionsBoundary": role.permissions_boundary().map(permissions_boundary),
        "tags": tag_list(role.tags()),
        "roleLastUsed": null,
    });
    let envelope = global_envelope(
        account_id,
        "AWS::IAM::Role",
        role.role_id(),
        role.role_name(),
        role.arn(),
        created,
    );
    Ok(item(
        &envelope,
        &configuration,
        &Map::new(),
        &tag_map(role.tags()),
    ))
}

/// The item Config would record for user `user_name` of `account_id` now; inline policies are
/// in `userPolicyList`.
pub async fn iam_user(config: &SdkConfig, account_id: &str, user_name: &str) -> Result<Value> {
    let iam = aws_sdk_iam::Client::new(config);
    let user = iam
        .get_user()
        .user_name(user_name)
        .send()
        .await
        .with_context(|| format!("GetUser {user_name}"))?
        .user
        .with_context(|| format!("GetUser {user_name} answered without a user"))?;
    let mut inline = Vec::new();
    let mut names = iam
        .list_user_policies()
        .user_name(user_name)
        .into_paginator()
        .send();
    while let Some(page) = names.next().await {
        for policy_name in page
            .with_context(|| format!("ListUserPolicies {user_name}"))?
            .policy_names()
        {
            let out = iam
                .get_user_policy()
                .user_name(user_name)
                .policy_name(policy_name)
                .send()
                .await
                .with_context(|| format!("GetUserPolicy {user_name} {policy_name}"))?;
            inline.push(inline_policy(policy_name, out.policy_document()));
        }
    }
    let mut attached = Vec::new();
    let mut pages = iam
        .list_attached_user_policies()
        .user_name(user_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListAttachedUserPolicies {user_name}"))?;
        attached.extend(page.attached_policies().iter().map(attached_policy));
    }
    let mut groups = Vec::new();
    let mut pages = iam
        .list_groups_for_user()
        .user_name(user_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListGroupsForUser {user_name}"))?;
        groups.extend(page.groups().iter().map(|g| g.group_name().to_owned()));
    }
    let created = to_chrono(user.create_date());
    let configuration = json!({
        "path": user.path(),
        "userName": user.user_name(),
        "userId": user.user_id(),
        "arn": user.arn(),
        "createDate": created.map(timestamp),
        "userPolicyList": inline,
        "groupList": groups,
        "attachedManagedPolicies": attached,
        "permissionsBoundary": user.permissions_boundary().map(permissions_boundary),
        "tags": tag_list(user.tags()),
    });
    let envelope = global_envelope(
        account_id,
        "AWS::IAM::User",
        user.user_id(),
        user.user_name(),
        user.arn(),
        created,
    );
    Ok(item(
        &envelope,
        &configuration,
        &Map::new(),
        &tag_map(user.tags()),
    ))
}

/// The item Config would record for group `group_name` of `account_id` now; inline policies are
/// in `groupPolicyList`.
pub async fn iam_group(config: &SdkConfig, account_id: &str, group_name: &str) -> Result<Value> {
    let iam = aws_sdk_iam::Client::new(config);
    let group = iam
        .get_group()
        .group_name(group_name)
        .send()
        .await
        .with_context(|| format!("GetGroup {group_name}"))?
        .group
        .with_context(|| format!("GetGroup {group_name} answered without a group"))?;
    let mut inline = Vec::new();
    let mut names = iam
        .list_group_policies()
        .group_name(group_name)
        .into_paginator()
        .send();
    while let Some(page) = names.next().await {
        for policy_name in page
            .with_context(|| format!("ListGroupPolicies {group_name}"))?
            .policy_names()
        {
            let out = iam
                .get_group_policy()
                .group_name(group_name)
                .policy_name(policy_name)
                .send()
                .await
                .with_context(|| format!("GetGroupPolicy {group_name} {policy_name}"))?;
            inline.push(inline_policy(policy_name, out.policy_document()));
        }
    }
    let mut attached = Vec::new();
    let mut pages = iam
        .list_attached_group_policies()
        .group_name(group_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("ListAttachedGroupPolicies {group_name}"))?;
        attached.extend(page.attached_policies().iter().map(attached_policy));
    }
    let created = to_chrono(group.create_date());
    let configuration = json!({
        "path": group.path(),
        "groupName": group.group_name(),
        "groupId": group.group_id(),
        "arn": group.arn(),
        "createDate": created.map(timestamp),
        "groupPolicyList": inline,
        "attachedManagedPolicies": attached,
    });
    let envelope = global_envelope(
        account_id,
        "AWS::IAM::Group",
        group.group_id(),
        group.group_name(),
        group.arn(),
        created,
    );
    // IAM groups carry no tags.
    Ok(item(
        &envelope,
        &configuration,
        &Map::new(),
        &BTreeMap::new(),
    ))
}

fn global_envelope(
    account_id: &str,
    resource_type: &'static str,
    id: &str,
    name: &str,
    arn: &str,
    created: Option<DateTime<Utc>>,
) -> Envelope {
    Envelope {
        account_id: account_id.to_owned(),
        region: GLOBAL.to_owned(),
        resource_type,
        resource_id: id.to_owned(),
        resource_name: Some(name.to_owned()),
        arn: arn.to_owned(),
        availability_zone: Some(NOT_APPLICABLE.to_owned()),
        resource_creation_time: created,
        capture_time: crate::now(),
    }
}

/// An inline policy entry: the document as IAM returned it, URL-encoded.
fn inline_policy(name: &str, document: &str) -> Value {
    json!({ "policyName": name, "policyDocument": document })
}

fn attached_policy(policy: &AttachedPolicy) -> Value {
    json!({ "policyName": policy.policy_name(), "policyArn": policy.policy_arn() })
}

fn permissions_boundary(boundary: &AttachedPermissionsBoundary) -> Value {
    json!({
        "permissionsBoundaryType": boundary
            .permissions_boundary_type()
            .map(PermissionsBoundaryAttachmentType::as_str),
        "permissionsBoundaryArn": boundary.permissions_boundary_arn(),
    })
}

fn instance_profile(profile: &InstanceProfile) -> Value {
    json!({
        "path": profile.path(),
        "instanceProfileName": profile.instance_profile_name(),
        "instanceProfileId": profile.instance_profile_id(),
        "arn": profile.arn(),
        "createDate": to_chrono(profile.create_date()).map(timestamp),
        "roles": profile.roles().iter().map(|r| json!({
            "path": r.path(),
            "roleName": r.role_name(),
            "roleId": r.role_id(),
            "arn": r.arn(),
            "createDate": to_chrono(r.create_date()).map(timestamp),
            "assumeRolePolicyDocument": r.assume_role_policy_document(),
        })).collect::<Vec<_>>(),
    })
}

fn tag_list(tags: &[Tag]) -> Value {
    tags.iter()
        .map(|t| json!({ "key": t.key(), "value": t.value() }))
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn to_chrono(time: &IamTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(time.to_millis().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_a_key_value_list_in_the_configuration_and_a_map_on_the_item() {
        let tags = [
            Tag::builder()
                .key("team")
                .value("platform")
                .build()
                .unwrap(),
            Tag::builder()
                .key("custos:exempt")
                .value("all; until=2026-12-31; reason=x")
                .build()
                .unwrap(),
        ];
        assert_eq!(
            tag_list(&tags),
            json!([
                {"key": "team", "value": "platform"},
                {"key": "custos:exempt", "value": "all; until=2026-12-31; reason=x"},
            ])
        );
        assert_eq!(tag_map(&tags)["team"], "platform");
    }
}
