//! Gathering from IAM and CloudTrail (mocked), and inline deactivation.

use config_rule_sdk::params::Parsed;
use config_rule_sdk::remediation::RemediationRecord;

use super::*;
use crate::activity::Scan;
use crate::params::Count;
use crate::test_support::{self as support, END, Shared, at, key, user};

fn params(deactivate: bool) -> Params {
    Params {
        recent_hours: Count(24),
        baseline_days: Count(30),
        deactivate: Parsed(deactivate),
        max_lookup_requests: Count(600),
    }
}

fn scope() -> AwsScope {
    AwsScope::new(support::sdk_config(), Some("111122223333".into()))
}

/// The rule's own exemption policy (rule.toml), as the SDK hands it to `gather`.
fn policy() -> config_rule_sdk::exemption::Policy {
    config_rule_sdk::RuleMeta::from_toml(crate::RULE_TOML)
        .unwrap()
        .exemptions
}

async fn gather(state: &Shared, params: &Params) -> Facts {
    gather_in(
        state,
        params,
        &Registry::default().with_policy(policy()),
        true,
    )
    .await
}

/// Gathers with a given exemption registry, in a run that may act or not (a dry run).
async fn gather_in(state: &Shared, params: &Params, registry: &Registry, may_act: bool) -> Facts {
    let clients = support::clients(state, true);
    let aws = scope();
    let run = Run {
        rule: crate::RULE_NAME,
        aws: &aws,
        end: at(END),
        registry,
        may_act,
        notifier: None,
    };
    gather_with(&clients, params, run).await.unwrap()
}

/// alice: an old key that started calling EC2 and IAM; bob: only an inactive key; carol: a key
/// created last week, busy; dave: an old key, quiet.
fn account() -> Shared {
    let mut bob_key = key("AKIABOB", "2025-01-01T00:00:00Z", &[], &[]);
    bob_key.active = false;
    let state = support::State {
        users: vec![
            user(
                "alice",
                vec![key(
                    "AKIAALICE",
                    "2025-01-01T00:00:00Z",
                    &["s3", "ec2", "iam"],
                    &["s3", "ecr"],
                )],
            ),
            user("bob", vec![bob_key]),
            user(
                "carol",
                vec![key("AKIACAROL", "2026-05-25T00:00:00Z", &["s3"], &[])],
            ),
            user(
                "dave",
                vec![key("AKIADAVE", "2024-01-01T00:00:00Z", &[], &["s3"])],
            ),
        ],
        ..Default::default()
    };
    Shared::new(state.into())
}

fn user_facts<'a>(facts: &'a Facts, name: &str) -> &'a UserFacts {
    facts.users.iter().find(|u| u.user_name == name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn active_keys_are_read_in_both_windows_only_when_needed_and_nothing_is_changed_by_default() {
    let state = account();
    let facts = gather(&state, &params(false)).await;

    assert_eq!(facts.windows.end, at(END));
    let names: Vec<&str> = facts.users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);
    assert_eq!(user_facts(&facts, "alice").user_id, "AIDAALICE");

    let alice = &user_facts(&facts, "alice").keys[0];
    assert_eq!(support::short(&alice.recent.sources), ["ec2", "iam", "s3"]);
    let baseline = alice
        .baseline
        .as_ref()
        .expect("an old, busy key's baseline is read");
    assert_eq!(
        support::short(&baseline.sources),
        ["s3"],
        "only the recent services are looked for"
    );
    assert!(baseline.complete);

    assert!(
        user_facts(&facts, "bob").keys.is_empty(),
        "inactive keys are not read"
    );
    let carol = &user_facts(&facts, "carol").keys[0];
    assert_eq!(carol.baseline, None, "a young key has no baseline to read");
    let dave = &user_facts(&facts, "dave").keys[0];
    assert_eq!(
        dave.recent,
        Scan {
            sources: std::collections::BTreeSet::default(),
            complete: true
        }
    );
    assert_eq!(dave.baseline, None, "a quiet key needs no baseline");

    let state = state.lock().unwrap();
    assert_eq!(state.lookups, 4, "alice twice, carol and dave once");
    assert!(state.updates.is_empty());
    assert!(state.published.is_empty());
    assert_eq!(
        state.tag_listings.get("bob"),
        None,
        "tags of a user without active keys are not read"
    );
    assert_eq!(state.tag_listings.get("alice"), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn a_suspicious_key_is_deactivated_once_recorded_and_published() {
    let state = account();
    let facts = gather(&state, &params(true)).await;

    let alice = &user_facts(&facts, "alice").keys[0];
    assert_eq!(alice.deactivation, Some(Deactivation::Deactivated));
    for other in ["carol", "dave"] {
        assert_eq!(
            user_facts(&facts, other).keys[0].deactivation,
            None,
            "{other}"
        );
    }
    let state = state.lock().unwrap();
    assert_eq!(
        state.updates,
        [("alice".into(), "AKIAALICE".into(), "Inactive".into())]
    );
    assert_eq!(state.published.len(), 1, "one record, one notification");
    let (subject, message) = &state.published[0];
    assert_eq!(
        subject,
        "Custos remediated AWS::IAM::User AIDAALICE (iam-access-key-behaviour)"
    );
    let record: RemediationRecord =
        serde_json::from_str(&message[message.find('{').unwrap()..]).unwrap();
    assert_eq!(record.trigger, RemediationTrigger::Inline);
    assert_eq!(record.time, at(END));
    assert_eq!(
        (record.account.as_str(), record.region.as_str()),
        ("111122223333", "us-east-1")
    );
    assert_eq!(record.before["status"], "Active");
    assert_eq!(record.after["status"], "Inactive");
    assert_eq!(record.before["accessKeyId"], "AKIAALICE");
    assert!(record.action.contains("AKIAALICE"), "{}", record.action);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_deactivates_nothing() {
    let state = account();
    let facts = gather_in(&state, &params(true), &Registry::default(), false).await;

    assert_eq!(user_facts(&facts, "alice").keys[0].deactivation, None);
    let state = state.lock().unwrap();
    assert!(state.updates.is_empty());
    assert!(state.published.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_user_exempt_in_the_registry_keeps_its_key() {
    let state = account();
    let registry = Registry::parse(
        r#"{"AIDAALICE": "all; until=2026-06-30; reason=incident drill; owner=secops"}"#,
    )
    .unwrap()
    .with_policy(policy());

    let facts = gather_in(&state, &params(true), &registry, true).await;

    let Some(Deactivation::Exempt(note)) = &user_facts(&facts, "alice").keys[0].deactivation else {
        panic!("{facts:?}")
    };
    assert!(note.contains("incident drill"), "{note}");
    assert!(state.lock().unwrap().updates.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_key_found_inactive_on_re_read_is_left_alone() {
    let state = account();
    state.lock().unwrap().deactivated_by_someone_else = Some(("alice".into(), "AKIAALICE".into()));

    let facts = gather(&state, &params(true)).await;

    assert_eq!(
        user_facts(&facts, "alice").keys[0].deactivation,
        Some(Deactivation::AlreadyInactive)
    );
    let state = state.lock().unwrap();
    assert!(state.updates.is_empty());
    assert!(state.published.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_user_that_tags_itself_exempt_still_has_its_key_deactivated() {
    let state = account();
    state.lock().unwrap().users[0].tags.insert(
        "custos:exempt".into(),
        "iam-access-key-behaviour; until=2026-06-30; reason=pen test; owner=secops".into(),
    );

    let facts = gather(&state, &params(true)).await;

    assert_eq!(
        user_facts(&facts, "alice").keys[0].deactivation,
        Some(Deactivation::Deactivated),
        "a key that can tag its own user must not silence the rule: tags are not honoured"
    );
    assert_eq!(state.lock().unwrap().updates.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn keys_not_fully_read_are_never_deactivated() {
    let state = account();
    let mut tight = params(true);
    // alice's recent window only: her baseline is never read.
    tight.max_lookup_requests = Count(1);

    let facts = gather(&state, &tight).await;

    let alice = &user_facts(&facts, "alice").keys[0];
    assert_eq!(alice.baseline, Some(Scan::default()));
    assert_eq!(alice.deactivation, None);
    assert_eq!(
        user_facts(&facts, "dave").keys[0].recent,
        Scan::default(),
        "unread"
    );
    let state = state.lock().unwrap();
    assert_eq!(state.lookups, 1);
    assert!(state.updates.is_empty());
}
