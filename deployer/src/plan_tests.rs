use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::desired::DesiredInstance;

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

fn key(account: &str, region: &str) -> InstanceKey {
    InstanceKey {
        account: account.into(),
        region: region.into(),
    }
}

/// A service-managed stack set over `accounts` (account -> OU) in both regions.
fn spec(name: &str, template: TemplateId, accounts: &[(&str, &str)]) -> StackSetSpec {
    let instances = accounts
        .iter()
        .flat_map(|(account, ou)| {
            REGIONS.iter().map(move |region| {
                (
                    key(account, region),
                    DesiredInstance {
                        ou: Some((*ou).to_owned()),
                        overrides: BTreeMap::new(),
                    },
                )
            })
        })
        .collect();
    StackSetSpec {
        name: name.into(),
        template,
        permission_model: PermissionModel::ServiceManaged,
        description: format!("{name} description"),
        body: format!("{name} body"),
        parameters: BTreeMap::from([("CodeKey".into(), "lambda/x/aaaa.zip".into())]),
        retain_stacks_on_account_removal: false,
        instances,
        partial_ous: BTreeSet::new(),
        tags: BTreeMap::from([("custos:managed".into(), "111111111111".into())]),
        config_rule: None,
    }
}

fn organisation_wide() -> Desired {
    let accounts = [
        ("222222222222", "ou-work"),
        ("333333333333", "ou-work"),
        ("444444444444", "ou-sand"),
    ];
    let sets = [
        spec("custos-base", TemplateId::Base, &accounts),
        spec("custos-rule-a", TemplateId::Rule("a".into()), &accounts),
        spec("custos-rule-b", TemplateId::Rule("b".into()), &accounts),
    ];
    Desired {
        stack_sets: sets.into_iter().map(|s| (s.name.clone(), s)).collect(),
        artifacts: BTreeSet::from([ArtifactObject {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            bucket: "custos-artifacts-111111111111-eu-west-1".into(),
            key: "lambda/a/aaaa.zip".into(),
            binary: "a".into(),
        }]),
        org_packs: BTreeMap::new(),
        left_as_is: BTreeSet::new(),
    }
}

/// What is deployed once `desired` has been applied.
fn deployed(desired: &Desired) -> Observed {
    Observed {
        stack_sets: desired
            .stack_sets
            .values()
            .map(|s| {
                let found = ObservedStackSet {
                    name: s.name.clone(),
                    permission_model: s.permission_model,
                    description: s.description.clone(),
                    body: s.body.clone(),
                    parameters: s.parameters.clone(),
                    retain_stacks_on_account_removal: s.retain_stacks_on_account_removal,
                    tags: s.tags.clone(),
                    instances: s
                        .instances
                        .iter()
                        .map(|(k, i)| {
                            let instance = ObservedInstance {
                                ou: i.ou.clone(),
                                status: "CURRENT".into(),
                                overrides: i.overrides.clone(),
                            };
                            (k.clone(), instance)
                        })
                        .collect(),
                };
                (s.name.clone(), found)
            })
            .collect(),
        artifacts: desired.artifacts.clone(),
        org_packs: deployed_org_packs(desired),
        ..Observed::default()
    }
}

fn deployed_org_packs(desired: &Desired) -> BTreeMap<String, BTreeMap<String, ObservedOrgPack>> {
    let mut out: BTreeMap<String, BTreeMap<_, _>> = BTreeMap::new();
    for spec in desired.org_packs.values() {
        for region in &spec.regions {
            out.entry(region.clone()).or_default().insert(
                spec.name.clone(),
                ObservedOrgPack {
                    template_hash: Some(spec.template_hash.clone()),
                    excluded_accounts: spec.excluded_accounts.clone(),
                    deployment: Some(spec.deployment.clone()),
                },
            );
        }
    }
    out
}

/// `organisation_wide()` with the pack `custos-baseline` deployed organisation-wide in two
/// regions, excluding one account.
fn with_org_pack() -> Desired {
    let body = "Resources: {}\n";
    let mut desired = organisation_wide();
    desired.org_packs.insert(
        "custos-baseline".into(),
        OrgPackSpec {
            name: "custos-baseline".into(),
            body: body.into(),
            template_hash: organization::template_hash(body),
            excluded_accounts: BTreeSet::from(["555555555555".to_owned()]),
            regions: BTreeSet::from(["eu-west-1".to_owned(), "us-east-1".to_owned()]),
            deployment: "111111111111".into(),
        },
    );
    desired
}

fn org_pack_changes(changes: &[Change]) -> Vec<(String, String, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::PutOrganizationPack {
                name,
                region,
                reasons,
                ..
            } => Some((
                "put".to_owned(),
                format!("{name}@{region}"),
                reasons.join("; "),
            )),
            Change::DeleteOrganizationPack { name, region } => Some((
                "delete".to_owned(),
                format!("{name}@{region}"),
                String::new(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn an_organisation_pack_is_put_in_each_region_after_the_stack_sets_then_left_alone() {
    let desired = with_org_pack();
    let changes = plan(&desired, &Observed::default());
    assert_eq!(
        org_pack_changes(&changes),
        [
            (
                "put".into(),
                "custos-baseline@eu-west-1".into(),
                "new".into()
            ),
            (
                "put".into(),
                "custos-baseline@us-east-1".into(),
                "new".into()
            ),
        ]
    );
    // The roles its remediations run as (stack sets) exist before the pack.
    let first_put = changes
        .iter()
        .position(|c| matches!(c, Change::PutOrganizationPack { .. }))
        .unwrap();
    assert!(changes[first_put..].iter().all(|c| c.stack_set().is_none()));
    assert_eq!(plan(&desired, &deployed(&desired)), vec![]);
}

#[test]
fn an_organisation_pack_is_put_again_only_where_its_template_or_exclusions_changed() {
    let desired = with_org_pack();
    let mut observed = deployed(&desired);
    let packs = observed.org_packs.get_mut("us-east-1").unwrap();
    packs.get_mut("custos-baseline").unwrap().template_hash = Some("0ld".into());
    let eu = observed.org_packs.get_mut("eu-west-1").unwrap();
    eu.get_mut("custos-baseline")
        .unwrap()
        .excluded_accounts
        .clear();
    assert_eq!(
        org_pack_changes(&plan(&desired, &observed)),
        [
            (
                "put".into(),
                "custos-baseline@eu-west-1".into(),
                "now excludes account 555555555555".into()
            ),
            (
                "put".into(),
                "custos-baseline@us-east-1".into(),
                "template changed".into()
            ),
        ]
    );
}

#[test]
fn an_organisation_pack_no_longer_wanted_is_deleted_before_the_stack_sets_go() {
    let before = with_org_pack();
    let mut observed = deployed(&before);
    observed
        .org_packs
        .get_mut("eu-west-1")
        .unwrap()
        .insert("custos-old".into(), ObservedOrgPack::default());
    // Drop one region of the pack, and everything else (destroy).
    let mut wanted = Desired::default();
    let mut spec = before.org_packs["custos-baseline"].clone();
    spec.regions.remove("us-east-1");
    wanted.org_packs.insert(spec.name.clone(), spec);
    let changes = plan(&wanted, &observed);
    assert_eq!(
        org_pack_changes(&changes),
        [
            (
                "delete".into(),
                "custos-old@eu-west-1".into(),
                String::new()
            ),
            (
                "delete".into(),
                "custos-baseline@us-east-1".into(),
                String::new()
            ),
        ]
    );
    let last_delete = changes
        .iter()
        .rposition(|c| matches!(c, Change::DeleteOrganizationPack { .. }))
        .unwrap();
    assert!(
        changes[..last_delete]
            .iter()
            .all(|c| c.stack_set().is_none())
    );
    assert!(
        changes[last_delete + 1..]
            .iter()
            .all(|c| c.stack_set().is_some())
    );
}

#[test]
fn an_empty_organisation_gets_everything_in_order() {
    let changes = plan(&organisation_wide(), &Observed::default());
    insta::assert_yaml_snapshot!(changes);
}

#[test]
fn nothing_changes_when_everything_is_deployed() {
    let desired = organisation_wide();
    assert_eq!(plan(&desired, &deployed(&desired)), []);
}

#[test]
fn one_changed_parameter_is_one_stack_set_update() {
    let mut desired = organisation_wide();
    let observed = deployed(&desired);
    let rule = desired.stack_sets.get_mut("custos-rule-a").unwrap();
    rule.parameters.insert("ParamMode".into(), "strict".into());
    rule.parameters
        .insert("CodeKey".into(), "lambda/x/bbbb.zip".into());
    insta::assert_yaml_snapshot!(plan(&desired, &observed), @r#"
    - action: update-stack-set
      name: custos-rule-a
      reasons:
        - "parameter CodeKey: \"lambda/x/aaaa.zip\" -> \"lambda/x/bbbb.zip\""
        - "parameter ParamMode added: \"strict\""
    "#);
}

#[test]
fn a_removed_rule_goes_from_every_instance_then_its_stack_set_is_deleted() {
    let mut desired = organisation_wide();
    let observed = deployed(&desired);
    desired.stack_sets.remove("custos-rule-b");
    insta::assert_yaml_snapshot!(plan(&desired, &observed));
}

#[test]
fn an_account_that_joined_a_targeted_ou_gets_its_instances() {
    let desired = organisation_wide();
    let mut observed = deployed(&desired);
    for set in observed.stack_sets.values_mut() {
        set.instances
            .retain(|k, _| k.account != "333333333333" || k.region == "us-east-1");
    }
    let changes = plan(&desired, &observed);
    assert_eq!(changes.len(), 3);
    insta::assert_yaml_snapshot!(changes[0], @r#"
    action: create-instances
    stack_set: custos-base
    ous:
      - ou-work
    accounts:
      - "333333333333"
    filter: INTERSECTION
    regions:
      - eu-west-1
    instances:
      - account: "333333333333"
        region: eu-west-1
    reason: new target
    "#);
}

#[test]
fn a_new_region_is_added_to_every_stack_set() {
    let desired = organisation_wide();
    let mut observed = deployed(&desired);
    for set in observed.stack_sets.values_mut() {
        set.instances.retain(|k, _| k.region == "us-east-1");
    }
    let changes = plan(&desired, &observed);
    let regions: BTreeSet<_> = changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateInstances(c) => Some(c.regions.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        regions,
        BTreeSet::from([BTreeSet::from(["eu-west-1".to_owned()])])
    );
    assert_eq!(changes.len(), 6, "{changes:#?}");
}

#[test]
fn an_override_change_updates_only_the_instances_concerned() {
    let mut desired = organisation_wide();
    let observed = deployed(&desired);
    let rule = desired.stack_sets.get_mut("custos-rule-a").unwrap();
    for (key, instance) in &mut rule.instances {
        if key.account == "444444444444" {
            instance.overrides = BTreeMap::from([("ParamMode".into(), "lax".into())]);
        }
    }
    insta::assert_yaml_snapshot!(plan(&desired, &observed), @r#"
    - action: update-instances
      stack_set: custos-rule-a
      ous:
        - ou-sand
      accounts:
        - "444444444444"
      filter: INTERSECTION
      regions:
        - eu-west-1
        - us-east-1
      overrides:
        ParamMode: lax
      instances:
        - account: "444444444444"
          region: eu-west-1
        - account: "444444444444"
          region: us-east-1
      reason: parameter overrides changed
    "#);
}

#[test]
fn a_new_ou_with_an_override_names_the_accounts_of_each_operation() {
    let mut desired = organisation_wide();
    let rule = desired.stack_sets.get_mut("custos-rule-a").unwrap();
    for (key, instance) in &mut rule.instances {
        if key.account == "333333333333" {
            instance.overrides = BTreeMap::from([("ParamMode".into(), "lax".into())]);
        }
    }
    let changes = plan(&desired, &Observed::default());
    let work: Vec<&InstanceChange> = changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateInstances(c)
                if c.stack_set == "custos-rule-a" && c.ous.contains("ou-work") =>
            {
                Some(c)
            }
            _ => None,
        })
        .collect();
    // Targeting the OU whole would deploy the overridden account without its override.
    assert_eq!(work.len(), 2);
    for c in work {
        assert_eq!(c.filter, Some(AccountFilter::Intersection));
        assert_eq!(c.accounts.len(), 1);
    }
}

#[test]
fn an_instance_whose_last_deployment_failed_is_deployed_again() {
    let desired = organisation_wide();
    let mut observed = deployed(&desired);
    let set = observed.stack_sets.get_mut("custos-rule-b").unwrap();
    set.instances
        .get_mut(&key("222222222222", "eu-west-1"))
        .unwrap()
        .status = "OUTDATED".into();
    let changes = plan(&desired, &observed);
    assert_eq!(changes.len(), 1);
    let Change::UpdateInstances(c) = &changes[0] else {
        panic!("{changes:?}")
    };
    assert_eq!(
        c.instances,
        BTreeSet::from([key("222222222222", "eu-west-1")])
    );
    assert_eq!(c.reason, "the last deployment did not complete");
}

#[test]
fn a_missing_artifact_is_uploaded_before_the_rules_change() {
    let mut desired = organisation_wide();
    let observed = deployed(&desired);
    let mut artifact = desired.artifacts.first().unwrap().clone();
    artifact.key = "lambda/a/bbbb.zip".into();
    desired.artifacts = BTreeSet::from([artifact.clone()]);
    let rule = desired.stack_sets.get_mut("custos-rule-a").unwrap();
    rule.parameters
        .insert("CodeKey".into(), artifact.key.clone());
    let changes = plan(&desired, &observed);
    assert_eq!(changes[0], Change::UploadArtifact(artifact));
    assert!(matches!(&changes[1], Change::UpdateStackSet { name, .. } if name == "custos-rule-a"));
}

fn saved(desired: &Desired, observed: &Observed) -> SavedPlan {
    let digests = crate::digest::Digests::new(crate::digest::Basis {
        settings_digest: "settings",
        desired,
        observed,
        org: &crate::org::fixture::organization(),
    });
    SavedPlan::new(
        "111111111111",
        "111111111111",
        digests,
        plan(desired, observed),
    )
}

#[test]
fn a_saved_plan_reads_back_as_written_and_holds_no_template() {
    let desired = organisation_wide();
    let plan = saved(&desired, &Observed::default());
    let text = serde_json::to_string_pretty(&plan).unwrap();
    let back: SavedPlan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
    assert!(back.untouched());
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
    // An approval, not a source: no template body or parameter value is in it.
    assert!(!text.contains("custos-rule-a body"), "{text}");
    assert!(!text.contains("lambda/x/aaaa.zip"), "{text}");
    assert_eq!(back.refusals(&plan), Vec::<String>::new());
}

#[test]
fn a_saved_plan_is_refused_when_edited_or_made_from_something_else() {
    let desired = organisation_wide();
    let observed = deployed(&desired);
    let mut wanted = desired.clone();
    wanted
        .stack_sets
        .get_mut("custos-rule-a")
        .unwrap()
        .parameters
        .insert("ParamMode".into(), "strict".into());
    let reviewed = saved(&wanted, &observed);

    // Edited by hand.
    let mut edited = reviewed.clone();
    edited.changes.push(Change::DeleteStackSet {
        name: "custos-rule-b".into(),
    });
    assert_eq!(
        edited.refusals(&reviewed),
        [
            "the plan file was edited after `deployer plan` wrote it: a plan is applied exactly as \
          made, or not at all"
        ]
    );
    // Edited with care (its own digest made again): the changes are still not this run's.
    edited.plan_digest = edited.content_digest();
    assert_eq!(
        edited.refusals(&reviewed),
        ["the plan's changes are not the changes this tree and this state give"]
    );

    // deployer.toml changed: another settings digest.
    let mut now = reviewed.clone();
    now.digests.settings = "other settings".into();
    assert_eq!(
        reviewed.refusals(&now),
        ["deployer.toml changed since the plan was made"]
    );

    // A rule changed: its template.
    let mut rule_changed = wanted.clone();
    rule_changed
        .stack_sets
        .get_mut("custos-rule-a")
        .unwrap()
        .body = "new body".into();
    let now = saved(&rule_changed, &observed);
    assert_eq!(
        reviewed.refusals(&now),
        [
            "the template of stack set custos-rule-a differs from the plan (a rule, a template or \
             the packaged code changed)",
            "the plan's changes are not the changes this tree and this state give",
        ]
    );

    // A stack set changed by someone else in between.
    let mut changed = observed.clone();
    changed
        .stack_sets
        .get_mut("custos-base")
        .unwrap()
        .description = "edited in the console".into();
    let now = saved(&wanted, &changed);
    assert_eq!(
        reviewed.refusals(&now)[0],
        "stack set custos-base differs from the plan (changed by another run or by hand)"
    );
}

/// `organisation_wide()` deployed, then `333333333333` cannot be reached.
fn with_an_unreachable_account() -> (Desired, Observed) {
    let mut desired = organisation_wide();
    let observed = deployed(&desired);
    desired.left_as_is.insert("333333333333".into());
    (desired, observed)
}

fn touches(changes: &[Change], account: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| match c {
            Change::CreateInstances(c)
            | Change::UpdateInstances(c)
            | Change::DeleteInstances(c)
            | Change::RepairInstances(c) => c.instances.iter().any(|k| k.account == account),
            _ => false,
        })
        .map(|c| format!("{c:?}"))
        .collect()
}

#[test]
fn an_account_left_as_is_keeps_its_instances_when_a_rule_changes() {
    let (mut desired, observed) = with_an_unreachable_account();
    // A new parameter value and an account that left the targets.
    let rule = desired.stack_sets.get_mut("custos-rule-a").unwrap();
    rule.parameters.insert("ParamMode".into(), "strict".into());
    for set in desired.stack_sets.values_mut() {
        set.instances.retain(|k, _| k.account != "333333333333");
    }
    let changes = plan(&desired, &observed);
    assert_eq!(touches(&changes, "333333333333"), Vec::<String>::new());
    assert!(
        changes.contains(&Change::UpdateStackSet {
            name: "custos-rule-a".into(),
            reasons: vec!["parameter ParamMode added: \"strict\"".into()],
            left_as_is: BTreeSet::from(["333333333333".to_owned()]),
        }),
        "{changes:#?}"
    );
}

#[test]
fn an_account_left_as_is_loses_nothing_when_its_stack_set_goes() {
    let (mut desired, observed) = with_an_unreachable_account();
    desired.stack_sets.remove("custos-rule-b");
    let changes = plan(&desired, &observed);
    let deleted: BTreeSet<&InstanceKey> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteInstances(c) => Some(&c.instances),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(deleted.len(), 4, "the two other accounts, both regions");
    assert!(deleted.iter().all(|k| k.account != "333333333333"));
    // Never its OU whole: that would reach the account left as is.
    for change in &changes {
        if let Change::DeleteInstances(c) = change
            && c.ous.contains("ou-work")
        {
            assert_eq!(c.filter, Some(AccountFilter::Intersection), "{c:?}");
        }
    }
    // The stack set still holds its instances there: it is not deleted this run.
    assert!(
        !changes
            .iter()
            .any(|c| matches!(c, Change::DeleteStackSet { .. }))
    );
}

#[test]
fn an_account_left_as_is_gets_no_new_instance_nor_a_repeat_of_a_failed_one() {
    let (desired, mut observed) = with_an_unreachable_account();
    for set in observed.stack_sets.values_mut() {
        set.instances
            .retain(|k, _| k.account != "333333333333" || k.region != "us-east-1");
        if let Some(i) = set.instances.get_mut(&key("333333333333", "eu-west-1")) {
            i.status = "OUTDATED".into();
        }
    }
    assert_eq!(plan(&desired, &observed), []);
}

#[test]
fn an_organisation_pack_keeps_an_account_left_as_is_where_it_was() {
    let mut desired = with_org_pack();
    let mut observed = deployed(&desired);
    // It reached 444444444444 in eu-west-1; the settings now exclude it everywhere, but the
    // account cannot be read this run.
    let spec = desired.org_packs.get_mut("custos-baseline").unwrap();
    spec.excluded_accounts.insert("444444444444".into());
    spec.regions.insert("ap-south-1".into());
    desired.left_as_is.insert("444444444444".into());
    observed.org_packs.remove("us-east-1");
    let puts: Vec<(String, BTreeSet<String>)> = plan(&desired, &observed)
        .into_iter()
        .filter_map(|c| match c {
            Change::PutOrganizationPack {
                region,
                excluded_accounts,
                ..
            } => Some((region, excluded_accounts)),
            _ => None,
        })
        .collect();
    let both = BTreeSet::from(["444444444444".to_owned(), "555555555555".to_owned()]);
    // Still reached where it was (eu-west-1: nothing to put); excluded where the pack is new.
    assert_eq!(
        puts,
        [
            ("ap-south-1".to_owned(), both.clone()),
            ("us-east-1".to_owned(), both)
        ]
    );
}

#[test]
fn an_instance_changed_by_hand_is_deleted_and_created_again() {
    let desired = organisation_wide();
    let mut observed = deployed(&desired);
    observed.drift.insert(
        "custos-rule-a".into(),
        BTreeMap::from([(
            key("222222222222", "eu-west-1"),
            vec!["Config rule a deleted".to_owned()],
        )]),
    );
    insta::assert_yaml_snapshot!(plan(&desired, &observed), @r#"
    - action: repair-instances
      stack_set: custos-rule-a
      ous:
        - ou-work
      accounts:
        - "222222222222"
      filter: INTERSECTION
      regions:
        - eu-west-1
      instances:
        - account: "222222222222"
          region: eu-west-1
      reason: "changed by hand: Config rule a deleted"
    "#);
}

#[test]
fn a_stack_set_of_an_earlier_custos_is_adopted_by_an_update_of_its_tag() {
    let desired = organisation_wide();
    let mut observed = deployed(&desired);
    observed
        .stack_sets
        .get_mut("custos-base")
        .unwrap()
        .tags
        .insert("custos:managed".into(), "true".into());
    assert_eq!(
        plan(&desired, &observed),
        [Change::UpdateStackSet {
            name: "custos-base".into(),
            reasons: vec!["adopted by deployment 111111111111 (tag custos:managed)".into()],
            left_as_is: BTreeSet::new(),
        }]
    );
}

#[test]
fn narrowing_keeps_every_other_instance_in_as_few_operations_as_possible() {
    let change = InstanceChange {
        stack_set: "custos-rule-a".into(),
        ous: BTreeSet::from(["ou-work".to_owned()]),
        accounts: BTreeSet::new(),
        filter: None,
        regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
        overrides: BTreeMap::new(),
        instances: ["222222222222", "333333333333"]
            .iter()
            .flat_map(|a| REGIONS.iter().map(move |r| key(a, r)))
            .collect(),
        reason: "new target".into(),
    };
    assert_eq!(narrow(&change, |_| true), std::slice::from_ref(&change));
    let parts = narrow(&change, |k| *k != key("333333333333", "us-east-1"));
    let summary: Vec<(Vec<&str>, Vec<&str>)> = parts
        .iter()
        .map(|c| {
            assert_eq!(c.filter, Some(AccountFilter::Intersection));
            (
                c.accounts.iter().map(String::as_str).collect(),
                c.regions.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (vec!["333333333333"], vec!["eu-west-1"]),
            (vec!["222222222222"], vec!["eu-west-1", "us-east-1"]),
        ]
    );
    assert_eq!(narrow(&change, |_| false), []);
}
