//! What AWS Config's relationship names mean for dependency: which end of a relationship
//! depends on the other.
//!
//! Config names a relationship from the side of the item that carries it, and names the other
//! end's type in it ("Is contained in Subnet" on an instance, "Contains Instance" on the
//! subnet). The direction follows from the name: containment and attachment make the contained
//! or served side depend on its container or attachment, and a resource depends on the security
//! groups, roles and policies it is associated with. A name not in the table is kept as an edge
//! of unknown direction and counted, never guessed.

/// Which end of a relationship depends on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The item carrying the relationship depends on the resource it names.
    SourceDependsOnTarget,
    /// The resource named depends on the item carrying the relationship.
    TargetDependsOnSource,
    /// Not in the vocabulary: kept, not followed by impact queries.
    Unknown,
}

use Direction::{SourceDependsOnTarget as Uses, TargetDependsOnSource as UsedBy};

/// One row per relationship name as AWS Config writes it.
pub const VOCABULARY: &[(&str, Direction)] = &[
    // Networking: containment.
    ("Is contained in Vpc", Uses),
    ("Is contained in Subnet", Uses),
    ("Is contained in RouteTable", Uses),
    ("Is contained in NetworkAcl", Uses),
    ("Is contained in AutoScalingGroup", Uses),
    ("Is contained in Group", Uses),
    ("Contains Vpc", UsedBy),
    ("Contains Subnet", UsedBy),
    ("Contains Instance", UsedBy),
    ("Contains NetworkInterface", UsedBy),
    ("Contains SecurityGroup", UsedBy),
    ("Contains RouteTable", UsedBy),
    ("Contains NetworkAcl", UsedBy),
    ("Contains User", UsedBy),
    // Security groups, roles, policies and the like: the user depends on what it uses.
    ("Is associated with SecurityGroup", Uses),
    ("Is associated with Role", Uses),
    ("Is associated with InstanceProfile", Uses),
    ("Is associated with RouteTable", Uses),
    ("Is associated with NetworkAcl", Uses),
    ("Is associated with Vpc", Uses),
    ("Is associated with Key", Uses),
    ("Is associated with LoadBalancer", Uses),
    ("Is associated with LaunchConfiguration", Uses),
    ("Is associated with Bucket", Uses),
    ("Is associated with Instance", UsedBy),
    ("Is associated with NetworkInterface", UsedBy),
    ("Is associated with Subnet", UsedBy),
    ("Is associated with Function", UsedBy),
    // Attachment: the host depends on what is attached to it.
    ("Is attached to Volume", Uses),
    ("Is attached to ElasticIp", Uses),
    ("Is attached to NetworkAcl", Uses),
    ("Is attached to InternetGateway", Uses),
    ("Is attached to CustomerManagedPolicy", Uses),
    ("Is attached to AWSManagedPolicy", Uses),
    ("Is attached to Instance", UsedBy),
    ("Is attached to NetworkInterface", UsedBy),
    ("Is attached to Subnet", UsedBy),
    ("Is attached to Vpc", UsedBy),
    ("Is attached to Role", UsedBy),
    ("Is attached to User", UsedBy),
    ("Is attached to Group", UsedBy),
];

/// The direction of `name`, or [`Direction::Unknown`] when the vocabulary lacks it.
pub fn direction(name: &str) -> Direction {
    VOCABULARY
        .iter()
        .find(|(known, _)| *known == name)
        .map_or(Direction::Unknown, |(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row: the relationship as an item carries it, and which resource is the dependent.
    /// (item type, relationship, target type, the dependent's type)
    const CASES: &[(&str, &str, &str, &str)] = &[
        ("Instance", "Is contained in Vpc", "VPC", "Instance"),
        ("Instance", "Is contained in Subnet", "Subnet", "Instance"),
        (
            "Subnet",
            "Is contained in RouteTable",
            "RouteTable",
            "Subnet",
        ),
        (
            "Subnet",
            "Is contained in NetworkAcl",
            "NetworkAcl",
            "Subnet",
        ),
        (
            "Instance",
            "Is contained in AutoScalingGroup",
            "AutoScalingGroup",
            "Instance",
        ),
        ("User", "Is contained in Group", "Group", "User"),
        ("Account", "Contains Vpc", "VPC", "VPC"),
        ("VPC", "Contains Subnet", "Subnet", "Subnet"),
        ("Subnet", "Contains Instance", "Instance", "Instance"),
        (
            "Instance",
            "Contains NetworkInterface",
            "NetworkInterface",
            "NetworkInterface",
        ),
        (
            "VPC",
            "Contains SecurityGroup",
            "SecurityGroup",
            "SecurityGroup",
        ),
        ("VPC", "Contains RouteTable", "RouteTable", "RouteTable"),
        ("VPC", "Contains NetworkAcl", "NetworkAcl", "NetworkAcl"),
        ("Group", "Contains User", "User", "User"),
        (
            "Instance",
            "Is associated with SecurityGroup",
            "SecurityGroup",
            "Instance",
        ),
        ("Function", "Is associated with Role", "Role", "Function"),
        (
            "Instance",
            "Is associated with InstanceProfile",
            "InstanceProfile",
            "Instance",
        ),
        (
            "Subnet",
            "Is associated with RouteTable",
            "RouteTable",
            "Subnet",
        ),
        (
            "Subnet",
            "Is associated with NetworkAcl",
            "NetworkAcl",
            "Subnet",
        ),
        (
            "SecurityGroup",
            "Is associated with Vpc",
            "VPC",
            "SecurityGroup",
        ),
        ("Volume", "Is associated with Key", "Key", "Volume"),
        (
            "AutoScalingGroup",
            "Is associated with LoadBalancer",
            "LoadBalancer",
            "AutoScalingGroup",
        ),
        (
            "AutoScalingGroup",
            "Is associated with LaunchConfiguration",
            "LaunchConfiguration",
            "AutoScalingGroup",
        ),
        (
            "Distribution",
            "Is associated with Bucket",
            "Bucket",
            "Distribution",
        ),
        (
            "SecurityGroup",
            "Is associated with Instance",
            "Instance",
            "Instance",
        ),
        (
            "SecurityGroup",
            "Is associated with NetworkInterface",
            "NetworkInterface",
            "NetworkInterface",
        ),
        (
            "RouteTable",
            "Is associated with Subnet",
            "Subnet",
            "Subnet",
        ),
        (
            "Role",
            "Is associated with Function",
            "Function",
            "Function",
        ),
        ("Instance", "Is attached to Volume", "Volume", "Instance"),
        (
            "NetworkInterface",
            "Is attached to ElasticIp",
            "ElasticIp",
            "NetworkInterface",
        ),
        (
            "Subnet",
            "Is attached to NetworkAcl",
            "NetworkAcl",
            "Subnet",
        ),
        (
            "VPC",
            "Is attached to InternetGateway",
            "InternetGateway",
            "VPC",
        ),
        (
            "Role",
            "Is attached to CustomerManagedPolicy",
            "Policy",
            "Role",
        ),
        ("Role", "Is attached to AWSManagedPolicy", "Policy", "Role"),
        ("Volume", "Is attached to Instance", "Instance", "Instance"),
        (
            "ElasticIp",
            "Is attached to NetworkInterface",
            "NetworkInterface",
            "NetworkInterface",
        ),
        ("NetworkAcl", "Is attached to Subnet", "Subnet", "Subnet"),
        ("InternetGateway", "Is attached to Vpc", "VPC", "VPC"),
        ("Policy", "Is attached to Role", "Role", "Role"),
        ("Policy", "Is attached to User", "User", "User"),
        ("Policy", "Is attached to Group", "Group", "Group"),
    ];

    #[test]
    fn every_row_makes_the_expected_resource_the_dependent() {
        for (item, name, target, dependent) in CASES {
            let got = match direction(name) {
                Direction::SourceDependsOnTarget => item,
                Direction::TargetDependsOnSource => target,
                Direction::Unknown => panic!("{name} is not in the vocabulary"),
            };
            assert_eq!(got, dependent, "{item} `{name}` {target}");
        }
    }

    #[test]
    fn every_row_is_tested_once_and_no_name_is_listed_twice() {
        let rows: Vec<&str> = VOCABULARY.iter().map(|(n, _)| *n).collect();
        let tested: Vec<&str> = CASES.iter().map(|(_, n, _, _)| *n).collect();
        assert_eq!(rows, tested);
        let unique: std::collections::BTreeSet<&str> = rows.iter().copied().collect();
        assert_eq!(unique.len(), rows.len());
    }

    #[test]
    fn an_unknown_name_is_not_guessed() {
        assert_eq!(direction("Is peered with Vpc"), Direction::Unknown);
        assert_eq!(direction("is contained in vpc"), Direction::Unknown);
    }
}
