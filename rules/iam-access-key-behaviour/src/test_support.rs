//! An account's IAM users and CloudTrail history held in memory, served to the AWS SDK clients
//! through aws-smithy-mocks, for the gather and handler tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_user_tags::ListUserTagsOutput;
use aws_sdk_iam::operation::list_users::ListUsersOutput;
use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType, Tag, User};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_ssm::types::Parameter;
use aws_sdk_ssm::types::error::ParameterNotFound;
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock, mock_client};
use chrono::{DateTime, Utc};
use config_rule_sdk::notify::Notifier;

use crate::gather::Clients;
use crate::lookup::tests::event;

pub const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:custos-notifications";

/// The run's end in these tests, and the windows it gives with the default parameters.
pub const END: &str = "2026-06-01T12:00:00Z";
pub const RECENT_START: &str = "2026-05-31T12:00:00Z";

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[derive(Debug, Clone)]
pub struct FakeKey {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    /// Services called in the recent window, and in the baseline.
    pub recent: Vec<String>,
    pub baseline: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub name: String,
    pub id: String,
    pub tags: BTreeMap<String, String>,
    pub keys: Vec<FakeKey>,
}

#[derive(Debug, Default)]
pub struct State {
    pub users: Vec<FakeUser>,
    /// ListUserTags calls so far, by user.
    pub tag_listings: BTreeMap<String, usize>,
    /// ListAccessKeys calls so far, by user.
    pub key_listings: BTreeMap<String, usize>,
    /// Deactivate this key (user, key) just before the user's keys are listed the second time:
    /// someone else was faster than the remediation.
    pub deactivated_by_someone_else: Option<(String, String)>,
    /// UpdateAccessKey calls: user, key, status.
    pub updates: Vec<(String, String, String)>,
    /// Published: subject, message.
    pub published: Vec<(String, String)>,
    /// LookupEvents calls.
    pub lookups: usize,
    /// The Parameter Store count of deactivations: value and version.
    pub count: Option<(String, i64)>,
    /// PutParameter calls: name and value.
    pub count_writes: Vec<(String, String)>,
    /// Another run writes the count between this run's read and its first write.
    pub count_written_by_another_run: bool,
}

pub type Shared = Arc<Mutex<State>>;

pub fn key(id: &str, created: &str, recent: &[&str], baseline: &[&str]) -> FakeKey {
    let names = |s: &[&str]| s.iter().map(|x| format!("{x}.amazonaws.com")).collect();
    FakeKey {
        id: id.into(),
        active: true,
        created: at(created),
        recent: names(recent),
        baseline: names(baseline),
    }
}

pub fn user(name: &str, keys: Vec<FakeKey>) -> FakeUser {
    FakeUser {
        name: name.into(),
        id: format!("AIDA{}", name.to_uppercase().replace('-', "")),
        tags: BTreeMap::new(),
        keys,
    }
}

fn smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.timestamp_millis())
}

fn iam_rules(state: &Shared) -> Vec<Rule> {
    let s = state.clone();
    let list_users = mock!(aws_sdk_iam::Client::list_users).then_compute_output(move |_| {
        let users = s.lock().unwrap().users.clone();
        ListUsersOutput::builder()
            .set_users(Some(
                users
                    .iter()
                    .map(|u| {
                        User::builder()
                            .path("/")
                            .user_name(&u.name)
                            .user_id(&u.id)
                            .arn(format!("arn:aws:iam::111122223333:user/{}", u.name))
                            .create_date(smithy(at("2024-01-01T00:00:00Z")))
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .build()
            .unwrap()
    });
    let s = state.clone();
    let list_keys = mock!(aws_sdk_iam::Client::list_access_keys).then_compute_output(move |req| {
        let name = req.user_name().unwrap().to_owned();
        let mut state = s.lock().unwrap();
        let listings = {
            let n = state.key_listings.entry(name.clone()).or_default();
            *n += 1;
            *n
        };
        if let Some((u, k)) = state.deactivated_by_someone_else.clone()
            && u == name
            && listings == 2
        {
            deactivate(&mut state, &u, &k);
        }
        let user = state.users.iter().find(|u| u.name == name).unwrap();
        ListAccessKeysOutput::builder()
            .set_access_key_metadata(Some(
                user.keys
                    .iter()
                    .map(|k| {
                        AccessKeyMetadata::builder()
                            .user_name(&name)
                            .access_key_id(&k.id)
                            .status(if k.active {
                                StatusType::Active
                            } else {
                                StatusType::Inactive
                            })
                            .create_date(smithy(k.created))
                            .build()
                    })
                    .collect(),
            ))
            .build()
            .unwrap()
    });
    let s = state.clone();
    let list_tags = mock!(aws_sdk_iam::Client::list_user_tags).then_compute_output(move |req| {
        let mut state = s.lock().unwrap();
        *state
            .tag_listings
            .entry(req.user_name().unwrap().to_owned())
            .or_default() += 1;
        let user = state
            .users
            .iter()
            .find(|u| Some(u.name.as_str()) == req.user_name())
            .unwrap();
        ListUserTagsOutput::builder()
            .set_tags(Some(
                user.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
                    .collect(),
            ))
            .build()
            .unwrap()
    });
    let s = state.clone();
    let update = mock!(aws_sdk_iam::Client::update_access_key).then_compute_output(move |req| {
        let mut state = s.lock().unwrap();
        let (u, k) = (req.user_name().unwrap(), req.access_key_id().unwrap());
        let status = req.status().unwrap().as_str().to_owned();
        state
            .updates
            .push((u.to_owned(), k.to_owned(), status.clone()));
        if status == "Inactive" {
            deactivate(&mut state, u, k);
        }
        UpdateAccessKeyOutput::builder().build()
    });
    vec![list_users, list_keys, list_tags, update]
}

fn deactivate(state: &mut State, user: &str, key: &str) {
    for u in state.users.iter_mut().filter(|u| u.name == user) {
        for k in u.keys.iter_mut().filter(|k| k.id == key) {
            k.active = false;
        }
    }
}

/// One page per window: the recent window is the one starting at `RECENT_START`.
fn cloudtrail_rule(state: &Shared) -> Rule {
    let s = state.clone();
    mock!(aws_sdk_cloudtrail::Client::lookup_events).then_compute_output(move |req| {
        let mut state = s.lock().unwrap();
        state.lookups += 1;
        let key_id = req.lookup_attributes()[0].attribute_value();
        let recent = req.start_time() == Some(&smithy(at(RECENT_START)));
        let key = state
            .users
            .iter()
            .flat_map(|u| &u.keys)
            .find(|k| k.id == key_id)
            .unwrap();
        let (sources, time) = if recent {
            (&key.recent, "2026-06-01T08:00:00Z")
        } else {
            (&key.baseline, "2026-05-20T08:00:00Z")
        };
        LookupEventsOutput::builder()
            .set_events(Some(
                sources.iter().map(|src| event(src, "Call", time)).collect(),
            ))
            .build()
    })
}

fn sns_rule(state: &Shared) -> Rule {
    let s = state.clone();
    mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
        assert_eq!(req.topic_arn(), Some(TOPIC));
        s.lock().unwrap().published.push((
            req.subject().unwrap_or_default().to_owned(),
            req.message().unwrap_or_default().to_owned(),
        ));
        PublishOutput::builder().message_id("m-1").build()
    })
}

fn ssm_rules(state: &Shared) -> Vec<Rule> {
    let s = state.clone();
    let get = mock!(aws_sdk_ssm::Client::get_parameter).then_compute_response(move |req| {
        assert_eq!(req.name(), Some(crate::deactivate::COUNT_PARAMETER));
        match s.lock().unwrap().count.clone() {
            Some((value, version)) => MockResponse::Output(
                GetParameterOutput::builder()
                    .parameter(
                        Parameter::builder()
                            .name(crate::deactivate::COUNT_PARAMETER)
                            .value(value)
                            .version(version)
                            .build(),
                    )
                    .build(),
            ),
            None => MockResponse::Error(GetParameterError::ParameterNotFound(
                ParameterNotFound::builder().build(),
            )),
        }
    });
    let s = state.clone();
    let put = mock!(aws_sdk_ssm::Client::put_parameter).then_compute_output(move |req| {
        let mut state = s.lock().unwrap();
        let name = req.name().unwrap().to_owned();
        let value = req.value().unwrap().to_owned();
        let others = i64::from(std::mem::take(&mut state.count_written_by_another_run));
        let version = state.count.as_ref().map_or(0, |(_, v)| *v) + 1 + others;
        state.count = Some((value.clone(), version));
        state.count_writes.push((name, value));
        PutParameterOutput::builder().version(version).build()
    });
    vec![get, put]
}

/// Clients that act on `state`; records are published when `with_topic`.
pub fn clients(state: &Shared, with_topic: bool) -> Clients {
    let iam = iam_rules(state);
    let trail = cloudtrail_rule(state);
    let sns = sns_rule(state);
    let ssm = ssm_rules(state);
    Clients {
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &iam),
        cloudtrail: mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&trail]),
        ssm: Some(mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &ssm)),
        notifier: with_topic
            .then(|| Notifier::new(mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&sns]), TOPIC)),
    }
}

/// Every client of a scope acting on `state` (records published through its SNS mock).
pub fn mocks(state: &Shared) -> MockResponseInterceptor {
    let mut rules = iam_rules(state);
    rules.extend(ssm_rules(state));
    rules.extend([cloudtrail_rule(state), sns_rule(state)]);
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        MockResponseInterceptor::with_rule,
    )
}

pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_mocks::create_mock_http_client())
        // Signed like any request, so a mocked error is seen after the response, as from AWS.
        .credentials_provider(aws_sdk_ssm::config::SharedCredentialsProvider::new(
            aws_sdk_ssm::config::Credentials::new("AKID", "SECRET", None, None, "test"),
        ))
        .region(Region::new("us-east-1"))
        .build()
}

/// The services of a scan, without the `.amazonaws.com` suffix.
pub fn short(sources: &BTreeSet<String>) -> Vec<&str> {
    sources
        .iter()
        .map(|s| s.trim_end_matches(".amazonaws.com"))
        .collect()
}
