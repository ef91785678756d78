//! The demo's organisation and what lives in it: a management account, three OUs with one
//! member account each, and in every member compliant and non-compliant resources for each seed
//! rule.

use anyhow::{Context, Result};
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use serde_json::json;

use crate::emulator::{Account, Emulator};
use crate::org::Organization;
use crate::unique_name;

/// One member account and the resources the demo made in it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: &'static str,
    /// The OU path the account sits in (`Workloads/Prod`).
    pub ou: &'static str,
    pub account: Account,
    /// The administrator security group of the account's VPC (ec2-instance-baseline).
    pub admin_group: String,
    pub buckets: Vec<String>,
    pub instances: Vec<String>,
    pub vpcs: Vec<String>,
    pub policies: Vec<Policy>,
    pub users: Vec<String>,
}

/// A customer managed policy: Config names it by id, IAM by ARN.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub arn: String,
}

pub struct Estate {
    pub org: Organization,
    pub members: Vec<Member>,
}

/// Who the members are: (name, OU path, the instance type its costly workload runs on).
const MEMBERS: [(&str, &str, Option<InstanceType>); 3] = [
    ("dev", "Workloads", None),
    ("prod", "Workloads/Prod", Some(InstanceType::M54xlarge)),
    ("lab", "Sandbox", None),
];

pub async fn build(emulator: &Emulator) -> Result<Estate> {
    let org = Organization::isolated(emulator).await?;
    let workloads = org.create_ou(&org.root_id, "Workloads").await?;
    let prod = org.create_ou(&workloads, "Prod").await?;
    let sandbox = org.create_ou(&org.root_id, "Sandbox").await?;
    org.enable_stacksets_trusted_access().await?;
    let mut members = Vec::new();
    for (name, ou, costly) in MEMBERS {
        let account = org.create_member(name).await?;
        let parent = match ou {
            "Workloads" => &workloads,
            "Workloads/Prod" => &prod,
            _ => &sandbox,
        };
        org.move_account(&account.id, parent).await?;
        record_configuration(&account).await?;
        members.push(resources(name, ou, account, costly).await?);
    }
    Ok(Estate { org, members })
}

/// Turns Config recording on, as an organisation's landing zone does in every account before
/// any rule can see a resource: a recorder of all supported types, its delivery channel's
/// bucket, and recording started.
pub async fn record_configuration(account: &Account) -> Result<()> {
    let config = aws_sdk_config::Client::new(&account.config);
    let bucket = unique_name("config-history");
    aws_sdk_s3::Client::new(&account.config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .with_context(|| format!("CreateBucket {bucket}"))?;
    let recorder = ConfigurationRecorder::builder()
        .name("default")
        .role_arn(format!(
            "arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
            account.id
        ))
        .recording_group(RecordingGroup::builder().all_supported(true).build())
        .build();
    config
        .put_configuration_recorder()
        .configuration_recorder(recorder)
        .send()
        .await
        .context("PutConfigurationRecorder")?;
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .context("PutDeliveryChannel")?;
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .context("StartConfigurationRecorder")?;
    Ok(())
}

/// In one account: two buckets, a VPC of its own with two instances (and a costly one where
/// asked), an approved VPC, two managed policies, and a user with an access key.
async fn resources(
    name: &'static str,
    ou: &'static str,
    account: Account,
    costly: Option<InstanceType>,
) -> Result<Member> {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    let plain = bucket(&s3, "custos-demo-plain", false).await?;
    let encrypted = bucket(&s3, "custos-demo-sse", true).await?;

    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let network = Network::create(&ec2, "10.20.0.0/16", &[]).await?;
    let approved =
        Network::create(&ec2, "10.30.0.0/16", &[("custos:approved", "network-team")]).await?;
    let full = [("Owner", "team-a"), ("CostCenter", "4410")];
    let mut instances = vec![
        network
            .launch(&ec2, InstanceType::T3Micro, &full, true)
            .await?,
        network
            .launch(&ec2, InstanceType::T3Micro, &[("Owner", "team-b")], false)
            .await?,
    ];
    if let Some(kind) = costly {
        instances.push(network.launch(&ec2, kind, &full, true).await?);
    }

    let iam = aws_sdk_iam::Client::new(&account.config);
    let admin_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let reader_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]});
    let policies = vec![
        policy(&iam, "custos-demo-break-glass", &admin_policy).await?,
        policy(&iam, "custos-demo-reader", &reader_policy).await?,
    ];
    let user = unique_name("custos-demo-ci");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .with_context(|| format!("CreateUser {user}"))?;
    iam.create_access_key()
        .user_name(&user)
        .send()
        .await
        .with_context(|| format!("CreateAccessKey {user}"))?;

    Ok(Member {
        name,
        ou,
        account,
        admin_group: network.admin_group,
        buckets: vec![plain, encrypted],
        instances,
        vpcs: vec![network.vpc, approved.vpc],
        policies,
        users: vec![user],
    })
}

async fn bucket(s3: &aws_sdk_s3::Client, prefix: &str, encrypted: bool) -> Result<String> {
    let name = unique_name(prefix);
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .with_context(|| format!("CreateBucket {name}"))?;
    if encrypted {
        crate::s3::put_default_encryption(s3, &name, "AES256", None).await?;
    }
    Ok(name)
}

/// A VPC with one subnet, a web group and the administrator group.
struct Network {
    vpc: String,
    subnet: String,
    web_group: String,
    admin_group: String,
}

impl Network {
    async fn create(ec2: &aws_sdk_ec2::Client, cidr: &str, tags: &[(&str, &str)]) -> Result<Self> {
        let mut request = ec2.create_vpc().cidr_block(cidr);
        if !tags.is_empty() {
            request = request.tag_specifications(tag_spec(ResourceType::Vpc, tags));
        }
        let vpc = request
            .send()
            .await
            .context("CreateVpc")?
            .vpc()
            .and_then(|v| v.vpc_id())
            .context("CreateVpc returned no id")?
            .to_owned();
        let subnet_cidr = cidr.replace(".0.0/16", ".1.0/24");
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(subnet_cidr)
            .send()
            .await
            .context("CreateSubnet")?
            .subnet()
            .and_then(|s| s.subnet_id())
            .context("CreateSubnet returned no id")?
            .to_owned();
        let group = |name: &'static str| {
            let vpc = vpc.clone();
            async move {
                ec2.create_security_group()
                    .group_name(name)
                    .description(name)
                    .vpc_id(vpc)
                    .send()
                    .await
                    .with_context(|| format!("CreateSecurityGroup {name}"))?
                    .group_id()
                    .map(str::to_owned)
                    .context("CreateSecurityGroup returned no id")
            }
        };
        Ok(Self {
            web_group: group("web").await?,
            admin_group: group("admins").await?,
            vpc,
            subnet,
        })
    }

    async fn launch(
        &self,
        ec2: &aws_sdk_ec2::Client,
        kind: InstanceType,
        tags: &[(&str, &str)],
        in_admin_group: bool,
    ) -> Result<String> {
        let mut groups = vec![self.web_group.clone()];
        if in_admin_group {
            groups.push(self.admin_group.clone());
        }
        let out = ec2
            .run_instances()
            .image_id("ami-12345678")
            .instance_type(kind)
            .min_count(1)
            .max_count(1)
            .subnet_id(&self.subnet)
            .set_security_group_ids(Some(groups))
            .tag_specifications(tag_spec(ResourceType::Instance, tags))
            .send()
            .await
            .context("RunInstances")?;
        out.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_owned)
            .context("RunInstances returned no instance")
    }
}

fn tag_spec(resource_type: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(resource_type);
    for (key, value) in tags {
        spec = spec.tags(Tag::builder().key(*key).value(*value).build());
    }
    spec.build()
}

/// A customer managed policy.
async fn policy(
    iam: &aws_sdk_iam::Client,
    prefix: &str,
    document: &serde_json::Value,
) -> Result<Policy> {
    let name = unique_name(prefix);
    let out = iam
        .create_policy()
        .policy_name(&name)
        .policy_document(document.to_string())
        .send()
        .await
        .with_context(|| format!("CreatePolicy {name}"))?;
    let policy = out.policy().context("CreatePolicy returned no policy")?;
    Ok(Policy {
        id: policy
            .policy_id()
            .context("a policy without id")?
            .to_owned(),
        arn: policy.arn().context("a policy without ARN")?.to_owned(),
    })
}
