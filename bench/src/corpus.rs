//! A generated corpus of Config Lambda events, shaped like the rules' fixtures: full
//! configuration items as AWS records them, a realistic mix of outcomes, and the rule parameters
//! Config passes. Deterministic (seeded), so every run measures the same work.

use serde_json::{Value, json};

/// The rules the corpus covers, by name.
pub const S3: &str = "s3-bucket-encryption";
pub const EC2: &str = "ec2-instance-baseline";

const ACCOUNT: &str = "123456789012";
const ALLOWED_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd";
const OTHER_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/9999ffff-8888-eeee-7777-dddd6666cccc";
const ADMIN_GROUP: &str = "sg-0aaaa1111bbbb2222";
const WEB_GROUP: &str = "sg-0b0b0b0b0b0b0b0b0";

/// A small deterministic generator (xorshift64*): the corpus needs variety, not randomness.
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The Lambda event Config sends for one changed item, as text (what the runtime receives).
fn event(rule: &str, item: &Value, params: &Value, left_scope: bool, n: u64) -> String {
    let invoking = json!({
        "configurationItemDiff": null,
        "configurationItem": item,
        "notificationCreationTime": "2026-06-01T12:00:00.000Z",
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    });
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": params.to_string(),
        "resultToken": format!("eyJlbmNyeXB0ZWREYXRhIjpbMTIsMzQsNTZdLCJtYXRlcmlhbFNldFNlcmlhbE51bWJlciI6{n:08}"),
        "eventLeftScope": left_scope,
        "executionRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
        "configRuleArn": format!("arn:aws:config:us-east-1:{ACCOUNT}:config-rule/config-rule-{n:06x}"),
        "configRuleName": rule,
        "configRuleId": format!("config-rule-{n:06x}"),
        "accountId": ACCOUNT,
        "version": "1.0",
    })
    .to_string()
}

fn exemption_tag(rule: &str, until: &str) -> String {
    format!("{rule}; until={until}; reason=vendor writes with its own keys; owner=security")
}

/// `count` S3 bucket events.
pub fn s3(count: usize, seed: u64) -> Vec<String> {
    let mut seq = Seq(seed | 1);
    (0..count as u64)
        .map(|n| {
            let name = format!("data-{n:05}-{:04x}", seq.below(0xffff));
            let mut tags = json!({ "team": format!("team-{}", seq.below(40)) });
            let mut status = "OK";
            let mut left_scope = false;
            let encryption = match seq.below(20) {
                0..=4 => None,
                5..=8 => Some(json!({"sseAlgorithm": "AES256"})),
                9..=12 => Some(json!({"sseAlgorithm": "aws:kms", "kmsMasterKeyID": ALLOWED_KEY})),
                13..=14 => Some(json!({"sseAlgorithm": "aws:kms", "kmsMasterKeyID": OTHER_KEY})),
                15 => Some(json!({"sseAlgorithm": "aws:kms"})),
                16 => Some(json!({"sseAlgorithm": "aws:kms:dsse", "kmsMasterKeyID": ALLOWED_KEY})),
                17 => {
                    tags["custos:exempt"] = json!(exemption_tag(S3, if seq.below(2) == 0 { "2026-07-31" } else { "2026-01-31" }));
                    None
                }
                18 => {
                    status = "ResourceDeleted";
                    None
                }
                _ => {
                    left_scope = true;
                    Some(json!({"sseAlgorithm": "AES256"}))
                }
            };
            let mut supplementary = json!({
                "AccessControlList": "{\"grantSet\":null,\"grantList\":[],\"owner\":null,\"isRequesterCharged\":false}",
                "IsRequesterPaysEnabled": false,
                "BucketVersioningConfiguration": {"status": "Off", "isMfaDeleteEnabled": null},
                "PublicAccessBlockConfiguration": {"blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true},
            });
            if let Some(default) = encryption {
                let configuration = json!({"rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": true}]});
                // Some items carry the document as a JSON string, as the API shapes do.
                supplementary["ServerSideEncryptionConfiguration"] = if seq.below(4) == 0 {
                    Value::String(configuration.to_string())
                } else {
                    configuration
                };
            }
            let item = json!({
                "version": "1.3",
                "configurationItemCaptureTime": format!("2026-05-{:02}T{:02}:15:30.123Z", 1 + seq.below(28), seq.below(24)),
                "configurationStateId": 1_716_192_930_123_u64 + n,
                "awsAccountId": ACCOUNT,
                "configurationItemStatus": status,
                "resourceType": "AWS::S3::Bucket",
                "resourceId": name,
                "resourceName": name,
                "ARN": format!("arn:aws:s3:::{name}"),
                "awsRegion": "us-east-1",
                "availabilityZone": "Regional",
                "resourceCreationTime": "2026-05-01T10:00:00.000Z",
                "tags": tags,
                "relatedEvents": [],
                "relationships": [],
                "configuration": {
                    "name": name,
                    "owner": {"displayName": null, "id": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
                    "creationDate": "2026-05-01T10:00:00.000Z",
                },
                "supplementaryConfiguration": supplementary,
            });
            let params = match seq.below(3) {
                0 => json!({}),
                1 => json!({"sseAlgorithm": "aws:kms", "kmsKeyArns": format!("{OTHER_KEY}, {ALLOWED_KEY}")}),
                _ => json!({"kmsKeyArns": ALLOWED_KEY}),
            };
            event(S3, &item, &params, left_scope, n)
        })
        .collect()
}

/// `count` EC2 instance events.
pub fn ec2(count: usize, seed: u64) -> Vec<String> {
    let mut seq = Seq(seed | 1);
    (0..count as u64)
        .map(|n| {
            let id = format!("i-{:017x}", seq.next() >> 4);
            let mut tags = vec![("Name", format!("web-{n}")), ("Owner", "alice".to_owned()), ("CostCenter", format!("{:04}", seq.below(9999)))];
            let mut groups = vec![(WEB_GROUP, "web"), (ADMIN_GROUP, "admins")];
            let mut state = ("running", 16);
            let mut status = "OK";
            match seq.below(20) {
                0..=7 => {}
                8..=10 => tags.retain(|(k, _)| *k != "CostCenter"),
                11 => "  ".clone_into(&mut tags[1].1),
                12..=13 => groups.retain(|(g, _)| *g != ADMIN_GROUP),
                14 => state = ("stopped", 80),
                15 => state = ("terminated", 48),
                16 => state = ("shutting-down", 32),
                17 => tags.push(("custos:exempt", exemption_tag(EC2, if seq.below(2) == 0 { "2026-07-31" } else { "2026-01-31" }))),
                18 => status = "ResourceDeleted",
                _ => {
                    tags.retain(|(k, _)| *k != "Owner");
                    groups.retain(|(g, _)| *g != ADMIN_GROUP);
                }
            }
            let listed: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
            let top: serde_json::Map<String, Value> = tags.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
            let group_list: Vec<Value> = groups.iter().map(|(id, name)| json!({"groupName": name, "groupId": id})).collect();
            let mut relationships: Vec<Value> = groups
                .iter()
                .map(|(id, _)| json!({"resourceId": id, "resourceName": null, "resourceType": "AWS::EC2::SecurityGroup", "name": "Is associated with SecurityGroup"}))
                .collect();
            relationships.extend([
                json!({"resourceId": "eni-0123456789abcdef0", "resourceName": null, "resourceType": "AWS::EC2::NetworkInterface", "name": "Contains NetworkInterface"}),
                json!({"resourceId": "subnet-0123456789abcdef0", "resourceName": null, "resourceType": "AWS::EC2::Subnet", "name": "Is contained in Subnet"}),
                json!({"resourceId": "vol-0123456789abcdef0", "resourceName": null, "resourceType": "AWS::EC2::Volume", "name": "Is attached to Volume"}),
                json!({"resourceId": "vpc-0123456789abcdef0", "resourceName": null, "resourceType": "AWS::EC2::VPC", "name": "Is contained in Vpc"}),
            ]);
            let ip = format!("10.0.{}.{}", seq.below(250), 1 + seq.below(250));
            let dns = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
            let kind = ["t3.micro", "t3.large", "m5.xlarge", "c6i.2xlarge", "r6g.large"][usize::try_from(seq.below(5)).unwrap_or(0)];
            let configuration = json!({
                "amiLaunchIndex": 0, "imageId": "ami-0abcdef1234567890", "instanceId": id, "instanceType": kind,
                "kernelId": null, "keyName": "ops", "launchTime": "2026-05-01T10:00:00.000Z",
                "monitoring": {"state": "disabled"},
                "placement": {"availabilityZone": "us-east-1a", "groupName": "", "tenancy": "default"},
                "platform": null, "privateDnsName": dns, "privateIpAddress": ip, "productCodes": [],
                "publicDnsName": "", "publicIpAddress": null, "ramdiskId": null,
                "state": {"code": state.1, "name": state.0}, "stateTransitionReason": "",
                "subnetId": "subnet-0123456789abcdef0", "vpcId": "vpc-0123456789abcdef0", "architecture": "x86_64",
                "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"attachTime": "2026-05-01T10:00:01.000Z", "deleteOnTermination": true, "status": "attached", "volumeId": "vol-0123456789abcdef0"}}],
                "clientToken": "", "ebsOptimized": false, "enaSupport": true, "hypervisor": "xen",
                "iamInstanceProfile": null, "instanceLifecycle": null, "elasticGpuAssociations": [],
                "networkInterfaces": [{
                    "attachment": {"attachTime": "2026-05-01T10:00:00.000Z", "attachmentId": "eni-attach-0123456789abcdef0", "deleteOnTermination": true, "deviceIndex": 0, "status": "attached", "networkCardIndex": 0},
                    "description": "", "groups": group_list, "ipv6Addresses": [], "macAddress": "0a:1b:2c:3d:4e:5f",
                    "networkInterfaceId": "eni-0123456789abcdef0", "ownerId": ACCOUNT, "privateDnsName": dns, "privateIpAddress": ip,
                    "privateIpAddresses": [{"primary": true, "privateDnsName": dns, "privateIpAddress": ip}],
                    "sourceDestCheck": true, "status": "in-use", "subnetId": "subnet-0123456789abcdef0", "vpcId": "vpc-0123456789abcdef0", "interfaceType": "interface"
                }],
                "rootDeviceName": "/dev/xvda", "rootDeviceType": "ebs", "securityGroups": group_list,
                "sourceDestCheck": true, "spotInstanceRequestId": null, "sriovNetSupport": null, "stateReason": null,
                "tags": listed, "virtualizationType": "hvm", "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
                "capacityReservationId": null,
                "capacityReservationSpecification": {"capacityReservationPreference": "open", "capacityReservationTarget": null},
                "hibernationOptions": {"configured": false}, "licenses": [],
                "metadataOptions": {"state": "applied", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"},
                "enclaveOptions": {"enabled": false}, "bootMode": null,
            });
            let item = json!({
                "relatedEvents": [], "relationships": relationships, "configuration": configuration,
                "supplementaryConfiguration": {}, "tags": top,
                "configurationItemVersion": "1.3",
                "configurationItemCaptureTime": format!("2026-05-{:02}T{:02}:15:30.123Z", 1 + seq.below(28), seq.below(24)),
                "configurationStateId": 1_716_192_930_123_u64 + n,
                "awsAccountId": ACCOUNT, "configurationItemStatus": status,
                "resourceType": "AWS::EC2::Instance", "resourceId": id, "resourceName": null,
                "ARN": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{id}"),
                "awsRegion": "us-east-1", "availabilityZone": "us-east-1a",
                "configurationStateMd5Hash": "", "resourceCreationTime": "2026-05-01T10:00:00.000Z",
            });
            let params = if seq.below(2) == 0 {
                json!({"requiredTags": "{\"Owner\":\"unassigned\",\"CostCenter\":\"0000\"}", "adminSecurityGroupId": ADMIN_GROUP})
            } else {
                json!({"requiredTags": "{\"Owner\":\"unassigned\"}", "adminSecurityGroupId": ADMIN_GROUP})
            };
            event(EC2, &item, &params, false, n)
        })
        .collect()
}
