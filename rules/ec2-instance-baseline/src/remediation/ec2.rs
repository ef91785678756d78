//! The EC2 calls: `DescribeInstances` to read, `CreateTags` and `ModifyInstanceAttribute` to fix.

use aws_sdk_ec2::types::{Instance, Tag};
use config_rule_sdk::RuleError;

use super::{Fix, LiveInstance, groups_with};

/// The instance as EC2 shows it now.
pub async fn describe(
    ec2: &aws_sdk_ec2::Client,
    instance_id: &str,
) -> Result<LiveInstance, RuleError> {
    let out = ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeInstances", e))?;
    let instance = out
        .reservations()
        .iter()
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
        .find(|i| i.instance_id() == Some(instance_id))
        .ok_or_else(|| RuleError::Aws {
            operation: "DescribeInstances",
            message: format!("instance {instance_id} is not in the answer"),
        })?;
    Ok(live(instance_id, instance))
}

fn live(instance_id: &str, instance: &Instance) -> LiveInstance {
    LiveInstance {
        instance_id: instance_id.to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        tags: instance
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        security_groups: instance
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_owned))
            .collect(),
    }
}

/// Creates the missing tags, then adds the administrator group. Tags first: they are the
/// cheaper change to have made if the group change is refused (a group in another VPC, several
/// network interfaces). EC2 has no conditional write, so the instance is read again just before
/// each change: a quarantine tag that appeared meanwhile stops it, and the group list written is
/// the one read then plus the administrator group, so a change made since the first read is kept.
pub async fn apply(
    ec2: &aws_sdk_ec2::Client,
    instance_id: &str,
    fix: &Fix,
) -> Result<(), RuleError> {
    if !fix.create_tags.is_empty() {
        not_quarantined(&describe(ec2, instance_id).await?, fix)?;
        let tags = fix
            .create_tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        ec2.create_tags()
            .resources(instance_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| RuleError::aws("CreateTags", e))?;
    }
    if let Some(admin) = &fix.add_security_group {
        let now = describe(ec2, instance_id).await?;
        not_quarantined(&now, fix)?;
        if let Some(groups) = groups_with(&now.security_groups, admin) {
            ec2.modify_instance_attribute()
                .instance_id(instance_id)
                .set_groups(Some(groups))
                .send()
                .await
                .map_err(|e| RuleError::aws("ModifyInstanceAttribute", e))?;
        }
    }
    Ok(())
}

/// Refuses to go on when the instance was quarantined after the remediation first read it.
fn not_quarantined(now: &LiveInstance, fix: &Fix) -> Result<(), RuleError> {
    if fix.quarantine.marks(&now.tags) {
        return Err(RuleError::Aws {
            operation: "ModifyInstanceAttribute",
            message: format!(
                "not done: instance {} was given the quarantine tag {} while being remediated; \
                 it is left as incident response set it",
                now.instance_id, fix.quarantine
            ),
        });
    }
    Ok(())
}
