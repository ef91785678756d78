//! A generated estate with the fan-out of a real one, items in Config's shape with the
//! relationships Config records from both ends: per account and region two VPCs with four
//! subnets each, twenty security groups (one administrator group every instance is in),
//! instances each with a network interface and a volume, and functions using IAM roles; per
//! account IAM roles with their policies (region `global`). Used by the benchmark and tests.

use chrono::{DateTime, Utc};

use crate::item::{Item, Relationship};
use crate::source::{ItemSource, SourceProblem};

/// The shape of the estate.
#[derive(Debug, Clone, Copy)]
pub struct Estate {
    pub accounts: usize,
    pub regions: usize,
    pub instances_per_region: usize,
}

const SGS: usize = 20;
const SUBNETS: usize = 4;
const ROLES: usize = 20;
const FUNCTIONS: usize = 10;

impl Estate {
    /// The estate with about `items` items over 100 accounts in two regions.
    pub fn of_about(items: usize) -> Self {
        let (accounts, regions) = (100, 2);
        // Per region: 3 items per instance plus VPCs, subnets, groups and functions.
        let per_region = items / (accounts * regions);
        Self {
            accounts,
            regions,
            instances_per_region: per_region.saturating_sub(40 + 2 * ROLES / regions) / 3,
        }
    }

    pub fn account(&self, a: usize) -> String {
        format!("{:012}", 100_000_000_000 + a)
    }

    pub fn region(&self, r: usize) -> String {
        ["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1"][r % 4].to_owned()
    }

    /// The administrator security group of account `a`, region `r`.
    pub fn admin_group(&self, a: usize, r: usize) -> String {
        format!("sg-{a}-{r}-admin")
    }

    pub fn vpc(&self, a: usize, r: usize, v: usize) -> String {
        format!("vpc-{a}-{r}-{v}")
    }

    pub fn instance(&self, a: usize, r: usize, i: usize) -> String {
        format!("i-{a}-{r}-{i}")
    }
}

fn rel(resource_type: &str, id: &str, name: &str) -> Relationship {
    Relationship {
        resource_type: resource_type.to_owned(),
        resource_id: Some(id.to_owned()),
        resource_name: None,
        relationship_name: name.to_owned(),
    }
}

fn item(
    account: &str,
    region: &str,
    rtype: &str,
    id: &str,
    time: DateTime<Utc>,
    relationships: Vec<Relationship>,
) -> Item {
    Item {
        aws_account_id: account.to_owned(),
        aws_region: region.to_owned(),
        resource_type: rtype.to_owned(),
        resource_id: id.to_owned(),
        resource_name: None,
        arn: None,
        configuration_item_capture_time: time,
        configuration_item_status: Some("OK".to_owned()),
        relationships,
    }
}

const SG: &str = "AWS::EC2::SecurityGroup";
const VPC: &str = "AWS::EC2::VPC";
const SUBNET: &str = "AWS::EC2::Subnet";
const INSTANCE: &str = "AWS::EC2::Instance";
const ENI: &str = "AWS::EC2::NetworkInterface";
const VOLUME: &str = "AWS::EC2::Volume";
const ROLE: &str = "AWS::IAM::Role";
const POLICY: &str = "AWS::IAM::Policy";
const FUNCTION: &str = "AWS::Lambda::Function";

impl Estate {
    /// Calls `each` with every item of the estate, one at a time.
    #[expect(
        clippy::too_many_lines,
        reason = "one estate written out resource by resource"
    )]
    pub fn generate(&self, each: &mut dyn FnMut(Item)) {
        let time = DateTime::from_timestamp(1_764_583_200, 0).expect("valid");
        for a in 0..self.accounts {
            let account = self.account(a);
            for role in 0..ROLES {
                let (role_id, policy_id) =
                    (format!("role-{a}-{role}"), format!("policy-{a}-{role}"));
                each(item(
                    &account,
                    "global",
                    ROLE,
                    &role_id,
                    time,
                    vec![rel(
                        POLICY,
                        &policy_id,
                        "Is attached to CustomerManagedPolicy",
                    )],
                ));
                each(item(
                    &account,
                    "global",
                    POLICY,
                    &policy_id,
                    time,
                    vec![rel(ROLE, &role_id, "Is attached to Role")],
                ));
            }
            for r in 0..self.regions {
                let region = self.region(r);
                let n = self.instances_per_region;
                let vpcs = [self.vpc(a, r, 0), self.vpc(a, r, 1)];
                let subnet = |i: usize| format!("subnet-{a}-{r}-{}", i % (2 * SUBNETS));
                let vpc_of = |i: usize| &vpcs[(i % (2 * SUBNETS)) / SUBNETS];
                let sg = |g: usize| {
                    if g == 0 {
                        self.admin_group(a, r)
                    } else {
                        format!("sg-{a}-{r}-{g}")
                    }
                };
                // The second group of instance i (the first is the administrator group).
                let app_group = |i: usize| 1 + i % (SGS - 1);
                for (v, vpc) in vpcs.iter().enumerate() {
                    let mut rels: Vec<Relationship> = (0..SUBNETS)
                        .map(|s| rel(SUBNET, &subnet(v * SUBNETS + s), "Contains Subnet"))
                        .collect();
                    // Peering is not in the vocabulary: counted, not followed.
                    rels.push(rel(VPC, &vpcs[1 - v], "Is peered with Vpc"));
                    each(item(&account, &region, VPC, vpc, time, rels));
                }
                for s in 0..2 * SUBNETS {
                    let mut rels = vec![rel(VPC, vpc_of(s), "Is contained in Vpc")];
                    rels.extend(
                        (s..n)
                            .step_by(2 * SUBNETS)
                            .map(|i| rel(INSTANCE, &self.instance(a, r, i), "Contains Instance")),
                    );
                    each(item(&account, &region, SUBNET, &subnet(s), time, rels));
                }
                for g in 0..SGS {
                    let mut rels = vec![rel(VPC, &vpcs[0], "Is contained in Vpc")];
                    let members: Box<dyn Iterator<Item = usize>> = if g == 0 {
                        Box::new(0..n)
                    } else {
                        Box::new((0..n).filter(move |i| app_group(*i) == g))
                    };
                    for i in members {
                        rels.push(rel(
                            INSTANCE,
                            &self.instance(a, r, i),
                            "Is associated with Instance",
                        ));
                        rels.push(rel(
                            ENI,
                            &format!("eni-{a}-{r}-{i}"),
                            "Is associated with NetworkInterface",
                        ));
                    }
                    each(item(&account, &region, SG, &sg(g), time, rels));
                }
                for i in 0..n {
                    let (id, eni, vol) = (
                        self.instance(a, r, i),
                        format!("eni-{a}-{r}-{i}"),
                        format!("vol-{a}-{r}-{i}"),
                    );
                    each(item(
                        &account,
                        &region,
                        INSTANCE,
                        &id,
                        time,
                        vec![
                            rel(VPC, vpc_of(i), "Is contained in Vpc"),
                            rel(SUBNET, &subnet(i), "Is contained in Subnet"),
                            rel(SG, &sg(0), "Is associated with SecurityGroup"),
                            rel(SG, &sg(app_group(i)), "Is associated with SecurityGroup"),
                            rel(VOLUME, &vol, "Is attached to Volume"),
                            rel(ENI, &eni, "Contains NetworkInterface"),
                        ],
                    ));
                    each(item(
                        &account,
                        &region,
                        ENI,
                        &eni,
                        time,
                        vec![
                            rel(INSTANCE, &id, "Is attached to Instance"),
                            rel(SG, &sg(0), "Is associated with SecurityGroup"),
                            rel(SG, &sg(app_group(i)), "Is associated with SecurityGroup"),
                            rel(SUBNET, &subnet(i), "Is contained in Subnet"),
                            rel(VPC, vpc_of(i), "Is contained in Vpc"),
                        ],
                    ));
                    each(item(
                        &account,
                        &region,
                        VOLUME,
                        &vol,
                        time,
                        vec![rel(INSTANCE, &id, "Is attached to Instance")],
                    ));
                }
                for f in 0..FUNCTIONS {
                    each(item(
                        &account,
                        &region,
                        FUNCTION,
                        &format!("fn-{a}-{r}-{f}"),
                        time,
                        vec![
                            rel(
                                ROLE,
                                &format!("role-{a}-{}", f % ROLES),
                                "Is associated with Role",
                            ),
                            rel(
                                SG,
                                &sg(1 + f % (SGS - 1)),
                                "Is associated with SecurityGroup",
                            ),
                        ],
                    ));
                }
            }
        }
    }
}

impl ItemSource for Estate {
    fn items(&self, each: &mut dyn FnMut(Item)) -> Vec<SourceProblem> {
        self.generate(each);
        Vec::new()
    }
}
