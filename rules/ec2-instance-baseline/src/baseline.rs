//! What an instance lacks of the baseline. The rule and the remediation both decide through
//! here, so what the rule reports is exactly what the remediation fixes.

use std::collections::BTreeMap;

use crate::params::{RequiredTags, SecurityGroupId};

/// Instance states in which an instance is on its way out or gone: nothing to check or fix.
pub fn is_gone(state: &str) -> bool {
    matches!(state, "shutting-down" | "terminated")
}

/// A required tag the instance does not carry (absent, or present with a blank value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTag {
    pub key: String,
    /// The value the remediation writes.
    pub default: String,
    /// Present with a blank value, rather than absent.
    pub blank: bool,
}

/// The difference between an instance and the baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps {
    /// Sorted by key.
    pub missing_tags: Vec<MissingTag>,
    pub outside_admin_group: bool,
}

impl Gaps {
    pub fn is_empty(&self) -> bool {
        self.missing_tags.is_empty() && !self.outside_admin_group
    }
}

/// Compares an instance's tags and security groups with the baseline.
pub fn gaps<G: AsRef<str>>(
    required: &RequiredTags,
    admin_group: &SecurityGroupId,
    tags: &BTreeMap<String, String>,
    groups: &[G],
) -> Gaps {
    let missing_tags = required
        .iter()
        .filter_map(|(key, default)| {
            let blank = match tags.get(key) {
                Some(value) if !value.trim().is_empty() => return None,
                Some(_) => true,
                None => false,
            };
            Some(MissingTag {
                key: key.to_owned(),
                default: default.to_owned(),
                blank,
            })
        })
        .collect();
    Gaps {
        missing_tags,
        outside_admin_group: !groups.iter().any(|g| g.as_ref() == admin_group.as_str()),
    }
}

/// Why an instance is NON_COMPLIANT, naming every tag and the group, with how it is fixed.
pub fn describe<G: AsRef<str>>(gaps: &Gaps, admin_group: &SecurityGroupId, groups: &[G]) -> String {
    let mut reasons = Vec::new();
    if !gaps.missing_tags.is_empty() {
        let keys: Vec<String> = gaps
            .missing_tags
            .iter()
            .map(|t| {
                if t.blank {
                    format!("{} (empty)", t.key)
                } else {
                    t.key.clone()
                }
            })
            .collect();
        reasons.push(format!("missing required tags {}", keys.join(", ")));
    }
    if gaps.outside_admin_group {
        let current = if groups.is_empty() {
            "no security group".to_owned()
        } else {
            groups
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", ")
        };
        reasons.push(format!(
            "not in administrator security group {admin_group} (in {current})"
        ));
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required() -> RequiredTags {
        serde_json::from_str(r#"{"Owner":"unassigned","CostCenter":"0000"}"#).unwrap()
    }

    fn admin() -> SecurityGroupId {
        SecurityGroupId::try_from("sg-0a0a0a0a".to_owned()).unwrap()
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_blank_tag_counts_as_missing_and_says_so() {
        let gaps = gaps(
            &required(),
            &admin(),
            &tags(&[("Owner", "  "), ("Team", "web")]),
            &["sg-0a0a0a0a"],
        );
        assert_eq!(
            gaps.missing_tags,
            vec![
                MissingTag {
                    key: "CostCenter".into(),
                    default: "0000".into(),
                    blank: false
                },
                MissingTag {
                    key: "Owner".into(),
                    default: "unassigned".into(),
                    blank: true
                },
            ]
        );
        assert!(!gaps.outside_admin_group);
        assert_eq!(
            describe(&gaps, &admin(), &["sg-0a0a0a0a"]),
            "missing required tags CostCenter, Owner (empty)"
        );
    }

    #[test]
    fn tag_keys_are_case_sensitive_as_in_ec2() {
        let gaps = gaps(
            &required(),
            &admin(),
            &tags(&[("owner", "a"), ("CostCenter", "1")]),
            &["sg-0a0a0a0a"],
        );
        assert_eq!(gaps.missing_tags.len(), 1);
        assert_eq!(gaps.missing_tags[0].key, "Owner");
    }

    #[test]
    fn the_groups_an_instance_is_in_are_named_when_the_admin_group_is_not_one() {
        let none: [&str; 0] = [];
        let outside = gaps(
            &required(),
            &admin(),
            &tags(&[("Owner", "a"), ("CostCenter", "1")]),
            &none,
        );
        assert_eq!(
            describe(&outside, &admin(), &none),
            "not in administrator security group sg-0a0a0a0a (in no security group)"
        );
        let groups = ["sg-11111111", "sg-22222222"];
        let outside = gaps(&required(), &admin(), &tags(&[]), &groups);
        assert_eq!(
            describe(&outside, &admin(), &groups),
            "missing required tags CostCenter, Owner; not in administrator security group sg-0a0a0a0a (in sg-11111111, sg-22222222)"
        );
    }

    #[test]
    fn only_shutting_down_and_terminated_instances_are_gone() {
        assert!(is_gone("terminated") && is_gone("shutting-down"));
        for state in ["pending", "running", "stopping", "stopped"] {
            assert!(!is_gone(state), "{state}");
        }
    }
}
