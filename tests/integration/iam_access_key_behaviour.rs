//! iam-access-key-behaviour end to end: users and access keys in an account, the periodic rule
//! stored in Config, the scheduled event Config would send, the handler run in-process against
//! the emulator, and Config's verdict read back.
//!
//! The emulator's CloudTrail event history is always empty (`LookupEvents` answers no events),
//! even for calls it has just served. So on the emulator every active key shows "no activity"
//! and is COMPLIANT, and nothing is ever deactivated: that is what this test asserts. Keys
//! calling new services, paging, the rate limit and deactivation are tested with mocked
//! CloudTrail responses in the rule crate.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{StatusType, Tag};
use config_rule_sdk::RuleMeta;
use iam_access_key_behaviour::RULE_TOML;
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::{days_ahead, now, unique_name};

use crate::ec2_cost_context::{run_periodic, store_periodic_rule};

/// Creates `name` with `tags`, returns its user id (Config's resource id of an IAM user).
async fn create_user(iam: &aws_sdk_iam::Client, name: &str, tags: &[(&str, &str)]) -> String {
    let mut request = iam.create_user().user_name(name);
    for (key, value) in tags {
        request = request.tags(Tag::builder().key(*key).value(*value).build().unwrap());
    }
    let out = request.send().await.unwrap();
    out.user().unwrap().user_id().to_owned()
}

async fn create_key(iam: &aws_sdk_iam::Client, user: &str) -> String {
    let out = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    out.access_key().unwrap().access_key_id().to_owned()
}

async fn key_statuses(iam: &aws_sdk_iam::Client, user: &str) -> Vec<String> {
    let out = iam.list_access_keys().user_name(user).send().await.unwrap();
    out.access_key_metadata()
        .iter()
        .map(|k| k.status().unwrap().as_str().to_owned())
        .collect()
}

/// The harness's own administrator of `account`: it has an active key, which the harness uses.
async fn harness_admin_id(account: &Account, iam: &aws_sdk_iam::Client) -> String {
    let users = iam.list_users().send().await.unwrap();
    let admins: Vec<&str> = users
        .users()
        .iter()
        .filter(|u| u.user_name() == "harness-admin")
        .map(aws_sdk_iam::types::User::user_id)
        .collect();
    assert_eq!(admins.len(), 1, "account {}: {users:?}", account.id);
    admins[0].to_owned()
}

#[tokio::test]
async fn with_empty_event_history_every_active_key_is_compliant_and_none_is_deactivated() {
    let emulator = Emulator::from_env();
    // An account of its own: the rule's results are exactly this account's users.
    let account = emulator.new_account().await.unwrap();
    let iam = aws_sdk_iam::Client::new(&account.config);
    let (ci, rotating, console, red_team) = (
        unique_name("ci"),
        unique_name("rotating"),
        unique_name("console"),
        unique_name("red-team"),
    );
    let ci_id = create_user(&iam, &ci, &[]).await;
    let ci_key = create_key(&iam, &ci).await;
    let rotating_id = create_user(&iam, &rotating, &[]).await;
    let old_key = create_key(&iam, &rotating).await;
    let new_key = create_key(&iam, &rotating).await;
    iam.update_access_key()
        .user_name(&rotating)
        .access_key_id(&old_key)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let console_id = create_user(&iam, &console, &[]).await;
    // A tag exemption, as a stolen key could write on its own user: not honoured by this rule.
    let until = days_ahead(30);
    let tag = format!("iam-access-key-behaviour; until={until}; reason=pen test; owner=secops");
    let red_team_id = create_user(&iam, &red_team, &[("custos:exempt", tag.as_str())]).await;
    create_key(&iam, &red_team).await;
    let admin_id = harness_admin_id(&account, &iam).await;

    let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
    let parameters = BTreeMap::from([("deactivateSuspiciousKeys".to_owned(), "true".to_owned())]);
    let deployed = store_periodic_rule(&account, &meta, &parameters).await;
    let results = run_periodic(
        &account,
        &iam_access_key_behaviour::entry(),
        &deployed,
        now(),
    )
    .await;

    let mut ids = vec![&ci_id, &rotating_id, &console_id, &red_team_id, &admin_id];
    ids.sort();
    assert_eq!(results.keys().collect::<Vec<_>>(), ids, "{results:?}");
    let say = |id: &str| results[id].annotation.clone().unwrap_or_default();
    assert_eq!(results[&ci_id].compliance, "COMPLIANT", "{results:?}");
    assert_eq!(
        say(&ci_id),
        format!("key {ci_key}: no activity in the last 24 h")
    );
    assert_eq!(results[&rotating_id].compliance, "COMPLIANT");
    assert_eq!(
        say(&rotating_id),
        format!("key {new_key}: no activity in the last 24 h"),
        "the inactive key is not read"
    );
    // The harness signs every call above with this user's key, yet event history shows nothing.
    assert_eq!(results[&admin_id].compliance, "COMPLIANT");
    assert!(
        say(&admin_id).ends_with(": no activity in the last 24 h"),
        "{results:?}"
    );
    assert_eq!(results[&console_id].compliance, "NOT_APPLICABLE");
    assert_eq!(say(&console_id), "no active access keys");
    assert_eq!(results[&red_team_id].compliance, "COMPLIANT");
    assert!(
        say(&red_team_id).starts_with(&format!(
            "exemption not honoured until {until}: this rule accepts exemptions from the \
             registry only; evaluated normally (tag custos:exempt, owner secops: pen test); key "
        )),
        "{results:?}"
    );

    assert_eq!(
        key_statuses(&iam, &ci).await,
        ["Active"],
        "nothing deactivated"
    );
    assert_eq!(key_statuses(&iam, &red_team).await, ["Active"]);
}
