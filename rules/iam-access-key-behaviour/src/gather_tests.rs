//! Gathering from IAM and CloudTrail (mocked), and inline deactivation.

use config_rule_sdk::params::Parsed;
use config_rule_sdk::remediation::RemediationRecord;

use super::*;
use crate::activity::Scan;
use crate::params::{Count, RegionName};
use crate::test_support::{self as support, END, Shared, at, key, user};

fn params(deactivate: bool) -> Params {
    Params {
        recent_hours: Count(24),
        baseline_days: Count(30),
        deactivate: Parsed(deactivate),
        max_lookup_requests: Count(600),
        deactivation_region: RegionName("us-east-1".into()),
        max_deactivations_per_day: Count(5),
        dry_run: Parsed(false),
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
    assert_eq!(record.changed, ["status"]);
    assert_eq!(record.before, serde_json::json!({"status": "Active"}));
    assert_eq!(record.after, serde_json::json!({"status": "Inactive"}));
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

/// Three users whose old keys started calling new services: ann, ben, cat.
fn three_suspicious() -> Shared {
    let suspicious = |name: &str| {
        user(
            name,
            vec![key(
                &format!("AKIA{}", name.to_uppercase()),
                "2025-01-01T00:00:00Z",
                &["s3", "iam"],
                &["s3"],
            )],
        )
    };
    Shared::new(
        support::State {
            users: vec![suspicious("ann"), suspicious("ben"), suspicious("cat")],
            ..Default::default()
        }
        .into(),
    )
}

fn deactivations(facts: &Facts) -> Vec<(String, Option<Deactivation>)> {
    facts
        .users
        .iter()
        .filter_map(|u| Some((u.user_name.clone(), u.keys.first()?.deactivation.clone())))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn keys_are_deactivated_only_in_the_deactivation_region() {
    let state = account();
    let mut elsewhere = params(true);
    elsewhere.deactivation_region = RegionName("eu-west-1".into());

    // The run is in us-east-1 (the clients' region).
    let facts = gather(&state, &elsewhere).await;

    assert_eq!(
        user_facts(&facts, "alice").keys[0].deactivation,
        Some(Deactivation::OtherRegion("eu-west-1".into()))
    );
    let evaluated = crate::activity::evaluate(&facts, &elsewhere);
    let alice = evaluated
        .iter()
        .find(|f| f.resource.resource_id == "AIDAALICE")
        .unwrap();
    assert!(
        alice
            .verdict
            .annotation
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("(not deactivated: keys are deactivated from eu-west-1 only)"),
        "{alice:?}"
    );
    let state = state.lock().unwrap();
    assert!(
        state.updates.is_empty(),
        "nothing deactivated outside the home region"
    );
    assert!(state.published.is_empty());
    assert!(state.count_writes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn at_most_the_daily_cap_is_deactivated_counted_across_runs() {
    let state = three_suspicious();
    let mut capped = params(true);
    capped.max_deactivations_per_day = Count(2);

    let first = gather(&state, &capped).await;

    assert_eq!(
        deactivations(&first),
        [
            ("ann".into(), Some(Deactivation::Deactivated)),
            ("ben".into(), Some(Deactivation::Deactivated)),
            ("cat".into(), Some(Deactivation::DailyCapReached(2))),
        ]
    );
    {
        let s = state.lock().unwrap();
        assert_eq!(s.updates.len(), 2);
        assert_eq!(
            s.count.as_ref().map(|(v, _)| v.as_str()),
            Some(r#"{"day":"2026-06-01","deactivated":2}"#),
            "the count is kept in the account, for the next run"
        );
    }

    // Another run the same day (a new invocation: new clients, the account's state kept): cat's
    // key is still active and suspicious, and the day's cap is spent.
    let second = gather(&state, &capped).await;

    assert_eq!(
        deactivations(&second),
        [("cat".into(), Some(Deactivation::DailyCapReached(2)))],
        "ann and ben have no active key left"
    );
    assert_eq!(
        state.lock().unwrap().updates.len(),
        2,
        "nothing more deactivated"
    );
}

#[tokio::test(start_paused = true)]
async fn yesterdays_count_does_not_hold_today_back() {
    let state = three_suspicious();
    state.lock().unwrap().count = Some((r#"{"day":"2026-05-31","deactivated":5}"#.into(), 7));

    let facts = gather(&state, &params(true)).await;

    assert!(
        deactivations(&facts)
            .iter()
            .all(|(_, d)| *d == Some(Deactivation::Deactivated)),
        "{facts:?}"
    );
    let s = state.lock().unwrap();
    assert_eq!(
        s.count,
        Some((r#"{"day":"2026-06-01","deactivated":3}"#.into(), 10))
    );
}

#[tokio::test(start_paused = true)]
async fn the_dry_run_setting_reports_what_would_be_deactivated_and_changes_nothing() {
    let state = three_suspicious();
    let mut dry = params(true);
    dry.dry_run = Parsed(true);
    dry.max_deactivations_per_day = Count(2);

    let facts = gather(&state, &dry).await;

    assert_eq!(
        deactivations(&facts),
        [
            ("ann".into(), Some(Deactivation::WouldDeactivate)),
            ("ben".into(), Some(Deactivation::WouldDeactivate)),
            ("cat".into(), Some(Deactivation::DailyCapReached(2))),
        ],
        "the report follows the cap as a real run would"
    );
    let annotation = crate::activity::judge_user(&facts.users[0], &facts.windows, &dry)
        .annotation
        .unwrap();
    assert!(
        annotation
            .as_str()
            .ends_with("(dry run: would be deactivated, nothing changed)"),
        "{annotation:?}"
    );
    let s = state.lock().unwrap();
    assert!(s.updates.is_empty(), "no key deactivated");
    assert!(s.published.is_empty(), "no record");
    assert!(s.count_writes.is_empty(), "the day's count untouched");
}

#[tokio::test(start_paused = true)]
async fn a_count_that_cannot_be_read_deactivates_nothing() {
    let state = account();
    state.lock().unwrap().count = Some(("seven".into(), 1));

    let facts = gather(&state, &params(true)).await;

    let Some(Deactivation::Skipped(why)) = &user_facts(&facts, "alice").keys[0].deactivation else {
        panic!("{facts:?}")
    };
    assert!(why.contains("could not be read"), "{why}");
    assert!(state.lock().unwrap().updates.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_count_written_by_another_run_at_the_same_time_stops_deactivation() {
    let state = three_suspicious();
    state.lock().unwrap().count_written_by_another_run = true;

    let facts = gather(&state, &params(true)).await;

    let outcomes = deactivations(&facts);
    assert_eq!(outcomes[0], ("ann".into(), Some(Deactivation::Deactivated)));
    for (user, outcome) in &outcomes[1..] {
        let Some(Deactivation::Skipped(why)) = outcome else {
            panic!("{user}: {outcome:?}")
        };
        assert!(why.contains("written by another run"), "{why}");
    }
    assert_eq!(state.lock().unwrap().updates.len(), 1, "only ann's key");
}
