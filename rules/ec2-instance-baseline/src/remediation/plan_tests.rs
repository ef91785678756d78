use std::collections::BTreeMap;

use config_rule_sdk::params::Json;

use super::*;
use crate::{QuarantineTag, RequiredTags, SecurityGroupId};

const ADMIN: &str = "sg-0aaaa1111bbbb2222";

fn params() -> Params {
    let required: RequiredTags =
        serde_json::from_str(r#"{"Owner":"unassigned","CostCenter":"0000"}"#).unwrap();
    Params {
        required_tags: Json(required),
        admin_security_group_id: SecurityGroupId::try_from(ADMIN.to_owned()).unwrap(),
        quarantine_tag: QuarantineTag::try_from("custos:quarantine".to_owned()).unwrap(),
    }
}

fn instance(state: &str, tags: &[(&str, &str)], groups: &[&str]) -> LiveInstance {
    LiveInstance {
        instance_id: "i-0123456789abcdef0".into(),
        state: state.into(),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        security_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

#[test]
fn only_missing_tags_get_their_defaults_and_existing_values_are_kept() {
    let live = instance("running", &[("Owner", "alice"), ("Team", "web")], &[ADMIN]);

    let fix = plan(&live, &params()).expect("CostCenter is missing");

    assert_eq!(
        fix.create_tags,
        BTreeMap::from([("CostCenter".to_owned(), "0000".to_owned())]),
        "Owner=alice must not be overwritten, Team is not required"
    );
    assert_eq!(fix.add_security_group, None, "already in the admin group");
    assert_eq!(fix.to_string(), "tagged CostCenter=0000");
}

#[test]
fn a_blank_required_tag_gets_its_default() {
    let live = instance("stopped", &[("Owner", ""), ("CostCenter", "42")], &[ADMIN]);
    let fix = plan(&live, &params()).unwrap();
    assert_eq!(
        fix.create_tags,
        BTreeMap::from([("Owner".to_owned(), "unassigned".to_owned())])
    );
}

#[test]
fn the_admin_group_is_added_to_the_groups_read_just_before_the_write() {
    let live = instance(
        "running",
        &[("Owner", "alice"), ("CostCenter", "42")],
        &["sg-0b0b0b0b", "sg-0a0a0a0a"],
    );

    let fix = plan(&live, &params()).unwrap();

    assert!(fix.create_tags.is_empty());
    assert_eq!(fix.add_security_group.as_deref(), Some(ADMIN));
    assert_eq!(
        fix.to_string(),
        format!("added security group {ADMIN}, keeping the groups it was in")
    );
    // The list written is built from the groups as read at the write, not from `live`.
    let now = ["sg-0c0c0c0c".to_owned()];
    assert_eq!(
        groups_with(&now, ADMIN),
        Some(vec!["sg-0c0c0c0c".to_owned(), ADMIN.to_owned()])
    );
    assert_eq!(groups_with(&[ADMIN.to_owned()], ADMIN), None);
}

#[test]
fn an_instance_in_no_group_gets_the_admin_group_alone() {
    let live = instance("running", &[], &[]);
    let fix = plan(&live, &params()).unwrap();
    assert_eq!(fix.add_security_group.as_deref(), Some(ADMIN));
    assert_eq!(groups_with(&[], ADMIN), Some(vec![ADMIN.to_owned()]));
    assert_eq!(fix.create_tags.len(), 2);
    assert_eq!(
        fix.to_string(),
        format!(
            "tagged CostCenter=0000, Owner=unassigned; added security group {ADMIN}, keeping the groups it was in"
        )
    );
}

#[test]
fn a_quarantined_instance_is_left_alone_and_the_assessment_says_why() {
    let live = instance(
        "running",
        &[("custos:quarantine", "IR-4711")],
        &["sg-0d0d0d0d"],
    );
    assert_eq!(plan(&live, &params()), None);
    let Assessment::Quarantined(why) = assess(&live, &params()) else {
        panic!("{:?}", assess(&live, &params()))
    };
    assert!(why.contains("custos:quarantine"), "{why}");
}

#[test]
fn the_assessment_is_the_rules_own_verdict() {
    let compliant = instance(
        "running",
        &[("Owner", "alice"), ("CostCenter", "42")],
        &[ADMIN],
    );
    assert!(
        matches!(assess(&compliant, &params()), Assessment::Compliant(ref why) if why.contains("COMPLIANT")),
        "{:?}",
        assess(&compliant, &params())
    );
    assert!(matches!(
        assess(&instance("terminated", &[], &[]), &params()),
        Assessment::NotApplicable(_)
    ));
    assert_eq!(
        assess(&instance("running", &[("Owner", "a")], &[ADMIN]), &params()),
        Assessment::NonCompliant("missing required tags CostCenter".into())
    );
}

#[test]
fn a_compliant_instance_needs_nothing() {
    let live = instance(
        "running",
        &[("Owner", "alice"), ("CostCenter", "42")],
        &["sg-0b0b0b0b", ADMIN],
    );
    assert_eq!(plan(&live, &params()), None);
}

#[test]
fn terminated_and_shutting_down_instances_are_left_alone() {
    for state in ["terminated", "shutting-down"] {
        assert_eq!(plan(&instance(state, &[], &[]), &params()), None, "{state}");
    }
}
