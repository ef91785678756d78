//! `AWS::EC2::Instance` and `AWS::EC2::VPC` items, from `DescribeInstances` and `DescribeVpcs`.
//!
//! Config records an EC2 resource as the EC2 API describes it, with camelCase key names
//! (`securityGroups[].groupId`, `state.name`, `tags[].key`), and repeats the tags as a map at the
//! top of the item.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Instance, Tag, Vpc};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Envelope, item, timestamp};

/// The item Config would record for instance `instance_id` of `account_id` now.
pub async fn ec2_instance(
    config: &SdkConfig,
    account_id: &str,
    instance_id: &str,
) -> Result<Value> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let out = ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .with_context(|| format!("DescribeInstances {instance_id}"))?;
    let instance = out
        .reservations()
        .iter()
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
        .find(|i| i.instance_id() == Some(instance_id))
        .with_context(|| format!("DescribeInstances does not list {instance_id}"))?;
    let region = region_of(config)?;
    let launched = instance.launch_time().and_then(to_chrono);
    let envelope = Envelope {
        account_id: account_id.to_owned(),
        resource_type: "AWS::EC2::Instance",
        resource_id: instance_id.to_owned(),
        resource_name: None,
        arn: format!("arn:aws:ec2:{region}:{account_id}:instance/{instance_id}"),
        availability_zone: instance
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_owned),
        region,
        resource_creation_time: launched,
        capture_time: crate::now(),
    };
    Ok(item(
        &envelope,
        &instance_json(instance),
        &Map::new(),
        &tag_map(instance.tags()),
    ))
}

/// The item Config would record for VPC `vpc_id` of `account_id` now.
pub async fn ec2_vpc(config: &SdkConfig, account_id: &str, vpc_id: &str) -> Result<Value> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let out = ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .with_context(|| format!("DescribeVpcs {vpc_id}"))?;
    let vpc = out
        .vpcs()
        .iter()
        .find(|v| v.vpc_id() == Some(vpc_id))
        .with_context(|| format!("DescribeVpcs does not list {vpc_id}"))?;
    let region = region_of(config)?;
    let envelope = Envelope {
        account_id: account_id.to_owned(),
        resource_type: "AWS::EC2::VPC",
        resource_id: vpc_id.to_owned(),
        resource_name: None,
        arn: format!("arn:aws:ec2:{region}:{account_id}:vpc/{vpc_id}"),
        // What Config reports for a VPC, which spans the region's zones.
        availability_zone: Some("Multiple Availability Zones".into()),
        region,
        resource_creation_time: None,
        capture_time: crate::now(),
    };
    Ok(item(
        &envelope,
        &vpc_json(vpc),
        &Map::new(),
        &tag_map(vpc.tags()),
    ))
}

/// The wire name of an EC2 enumeration value.
fn name<E: AsRef<str>>(value: Option<&E>) -> Option<&str> {
    value.map(AsRef::as_ref)
}

fn region_of(config: &SdkConfig) -> Result<String> {
    config
        .region()
        .map(ToString::to_string)
        .context("the AWS configuration has no region")
}

fn to_chrono(time: &aws_sdk_ec2::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(time.to_millis().ok()?)
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn tag_list(tags: &[Tag]) -> Vec<Value> {
    tags.iter()
        .map(|t| json!({ "key": t.key(), "value": t.value() }))
        .collect()
}

/// The instance as Config records it: `DescribeInstances`' fields under Config's key names.
fn instance_json(instance: &Instance) -> Value {
    let groups: Vec<Value> = instance
        .security_groups()
        .iter()
        .map(|g| json!({ "groupId": g.group_id(), "groupName": g.group_name() }))
        .collect();
    json!({
        "instanceId": instance.instance_id(),
        "imageId": instance.image_id(),
        "instanceType": name(instance.instance_type()),
        "launchTime": instance.launch_time().and_then(to_chrono).map(timestamp),
        "state": instance.state().map(|s| json!({
            "code": s.code(),
            "name": name(s.name()),
        })),
        "placement": instance.placement().map(|p| json!({
            "availabilityZone": p.availability_zone(),
            "tenancy": name(p.tenancy()),
        })),
        "subnetId": instance.subnet_id(),
        "vpcId": instance.vpc_id(),
        "privateIpAddress": instance.private_ip_address(),
        "privateDnsName": instance.private_dns_name(),
        "architecture": name(instance.architecture()),
        "rootDeviceName": instance.root_device_name(),
        "rootDeviceType": name(instance.root_device_type()),
        "virtualizationType": name(instance.virtualization_type()),
        "hypervisor": name(instance.hypervisor()),
        "ebsOptimized": instance.ebs_optimized(),
        "sourceDestCheck": instance.source_dest_check(),
        "monitoring": instance.monitoring().map(|m| json!({ "state": name(m.state()) })),
        "securityGroups": groups,
        "tags": tag_list(instance.tags()),
    })
}

/// The VPC as Config records it: `DescribeVpcs`' fields under Config's key names.
fn vpc_json(vpc: &Vpc) -> Value {
    let associations: Vec<Value> = vpc
        .cidr_block_association_set()
        .iter()
        .map(|a| {
            json!({
                "associationId": a.association_id(),
                "cidrBlock": a.cidr_block(),
                "cidrBlockState": a.cidr_block_state().map(|s| json!({
                    "state": name(s.state()),
                    "statusMessage": s.status_message(),
                })),
            })
        })
        .collect();
    json!({
        "cidrBlock": vpc.cidr_block(),
        "dhcpOptionsId": vpc.dhcp_options_id(),
        "state": name(vpc.state()),
        "vpcId": vpc.vpc_id(),
        "ownerId": vpc.owner_id(),
        "instanceTenancy": name(vpc.instance_tenancy()),
        "ipv6CidrBlockAssociationSet": [],
        "cidrBlockAssociationSet": associations,
        "isDefault": vpc.is_default(),
        "tags": tag_list(vpc.tags()),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{GroupIdentifier, InstanceState, InstanceStateName, VpcState};

    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag::builder().key(key).value(value).build()
    }

    #[test]
    fn an_instance_uses_config_key_names() {
        let instance = Instance::builder()
            .instance_id("i-0abc")
            .state(
                InstanceState::builder()
                    .code(80)
                    .name(InstanceStateName::Stopped)
                    .build(),
            )
            .security_groups(
                GroupIdentifier::builder()
                    .group_id("sg-0a0a0a0a")
                    .group_name("web")
                    .build(),
            )
            .tags(tag("Owner", "alice"))
            .build();

        let config = instance_json(&instance);

        assert_eq!(config["instanceId"], "i-0abc");
        assert_eq!(config["state"], json!({"code": 80, "name": "stopped"}));
        assert_eq!(
            config["securityGroups"],
            json!([{"groupId": "sg-0a0a0a0a", "groupName": "web"}])
        );
        assert_eq!(config["tags"], json!([{"key": "Owner", "value": "alice"}]));
        assert_eq!(
            tag_map(instance.tags()),
            BTreeMap::from([("Owner".to_owned(), "alice".to_owned())])
        );
    }

    #[test]
    fn a_vpc_uses_config_key_names() {
        let vpc = Vpc::builder()
            .vpc_id("vpc-0abc")
            .cidr_block("10.1.0.0/16")
            .state(VpcState::Available)
            .is_default(false)
            .tags(tag("custos:approved", "netops"))
            .build();

        let config = vpc_json(&vpc);

        assert_eq!(config["vpcId"], "vpc-0abc");
        assert_eq!(config["cidrBlock"], "10.1.0.0/16");
        assert_eq!(config["state"], "available");
        assert_eq!(config["isDefault"], false);
        assert_eq!(
            config["tags"],
            json!([{"key": "custos:approved", "value": "netops"}])
        );
    }
}
