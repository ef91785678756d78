use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::desired::{DesiredInstance, PermissionModel, StackSetSpec};
use crate::observed::{ObservedInstance, ObservedStackSet};
use crate::render::TemplateId;

fn key(account: &str) -> InstanceKey {
    InstanceKey {
        account: account.into(),
        region: "eu-west-1".into(),
    }
}

fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A rule stack set whose account 333… has the override `Tags = prod`.
fn desired() -> Desired {
    let instances = BTreeMap::from([
        (key("222222222222"), DesiredInstance::default()),
        (
            key("333333333333"),
            DesiredInstance {
                ou: Some("ou-prod".into()),
                overrides: overrides(&[("Tags", "prod")]),
            },
        ),
    ]);
    let spec = StackSetSpec {
        name: "custos-rule-a".into(),
        template: TemplateId::Rule("a".into()),
        permission_model: PermissionModel::ServiceManaged,
        description: String::new(),
        body: String::new(),
        parameters: BTreeMap::new(),
        retain_stacks_on_account_removal: false,
        instances,
        partial_ous: BTreeSet::new(),
        tags: BTreeMap::new(),
        config_rule: None,
    };
    Desired {
        stack_sets: BTreeMap::from([(spec.name.clone(), spec)]),
        ..Desired::default()
    }
}

/// What was found: both instances, and one more in account 444… with its own override.
fn observed() -> Observed {
    let instance = |o: &[(&str, &str)]| ObservedInstance {
        ou: None,
        status: "CURRENT".into(),
        overrides: overrides(o),
    };
    let set = ObservedStackSet {
        name: "custos-rule-a".into(),
        permission_model: PermissionModel::ServiceManaged,
        description: String::new(),
        body: String::new(),
        parameters: BTreeMap::new(),
        retain_stacks_on_account_removal: false,
        tags: BTreeMap::new(),
        instances: BTreeMap::from([
            (key("222222222222"), instance(&[])),
            (key("333333333333"), instance(&[("Tags", "old")])),
            (key("444444444444"), instance(&[("Tags", "lab")])),
        ]),
    };
    Observed {
        stack_sets: BTreeMap::from([(set.name.clone(), set)]),
        ..Observed::default()
    }
}

#[test]
fn the_record_gives_back_the_overrides_custos_set_for_exactly_the_instances_it_covers() {
    let record = after_apply(&desired(), &observed(), &BTreeSet::new());
    let set = &record["custos-rule-a"];
    let keys = [key("222222222222"), key("333333333333")];
    let known = set
        .covering(keys.iter())
        .expect("covers the applied instances");
    assert_eq!(known[&key("333333333333")], overrides(&[("Tags", "prod")]));
    assert!(known[&key("222222222222")].is_empty());
    let joined = [
        key("222222222222"),
        key("333333333333"),
        key("555555555555"),
    ];
    assert!(
        set.covering(joined.iter()).is_none(),
        "a new instance is read"
    );
    assert!(
        set.covering(keys[..1].iter()).is_none(),
        "a missing one too"
    );
}

#[test]
fn an_account_left_as_is_keeps_what_was_found_and_a_failed_stack_set_is_not_recorded() {
    let mut wanted = desired();
    wanted.left_as_is.insert("444444444444".into());
    let record = after_apply(&wanted, &observed(), &BTreeSet::new());
    let keys = [
        key("222222222222"),
        key("333333333333"),
        key("444444444444"),
    ];
    let known = record["custos-rule-a"].covering(keys.iter()).unwrap();
    assert_eq!(known[&key("444444444444")], overrides(&[("Tags", "lab")]));
    let failed = BTreeSet::from(["custos-rule-a".to_owned()]);
    assert!(after_apply(&wanted, &observed(), &failed).is_empty());
}
