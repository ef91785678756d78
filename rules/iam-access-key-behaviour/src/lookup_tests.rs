//! CloudTrail event history from mocks shaped like AWS's documented `LookupEvents` responses
//! (the local emulator's event history is always empty).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::error::ErrorMetadata;
use aws_sdk_cloudtrail::operation::lookup_events::{
    LookupEventsError, LookupEventsInput, LookupEventsOutput,
};
use aws_sdk_cloudtrail::types::Event;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use tokio::time::Instant;

use super::*;

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// An event as `LookupEvents` documents it: id, name, time, source, user, key, resources and the
/// full record as a JSON string.
pub(crate) fn event(source: &str, name: &str, time: &str) -> Event {
    let at: DateTime<Utc> = time.parse().unwrap();
    let record = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "userName": "ci-deployer", "accessKeyId": KEY},
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
    });
    Event::builder()
        .event_id(format!("{source}-{name}-{time}"))
        .event_name(name)
        .read_only("true")
        .access_key_id(KEY)
        .event_time(to_smithy(at))
        .event_source(source)
        .username("ci-deployer")
        .cloud_trail_event(record.to_string())
        .build()
}

/// What each request asked for.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    key: Option<String>,
    start: Option<aws_smithy_types::DateTime>,
    end: Option<aws_smithy_types::DateTime>,
    max_results: Option<i32>,
    token: Option<String>,
}

type Log = Arc<Mutex<Vec<Asked>>>;

fn asked(req: &LookupEventsInput) -> Asked {
    let attributes = req.lookup_attributes();
    assert_eq!(attributes.len(), 1, "one lookup attribute: {attributes:?}");
    assert_eq!(
        attributes[0].attribute_key(),
        &LookupAttributeKey::AccessKeyId
    );
    Asked {
        key: Some(attributes[0].attribute_value().to_owned()),
        start: req.start_time().copied(),
        end: req.end_time().copied(),
        max_results: req.max_results(),
        token: req.next_token().map(str::to_owned),
    }
}

/// Serves `pages` in order by `NextToken` (`page-1`, `page-2`, ...), logging every request.
fn pages(pages: Vec<Vec<Event>>, log: &Log) -> Rule {
    let log = log.clone();
    let count = pages.len();
    mock!(Client::lookup_events).then_compute_output(move |req| {
        log.lock().unwrap().push(asked(req));
        let index = req
            .next_token()
            .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
        let next = (index + 1 < count).then(|| format!("page-{}", index + 1));
        LookupEventsOutput::builder()
            .set_events(Some(pages[index].clone()))
            .set_next_token(next)
            .build()
    })
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn every_page_is_read_by_next_token_at_no_more_than_two_requests_a_second() {
    let log = Log::default();
    let rule = pages(
        vec![
            vec![
                event("s3.amazonaws.com", "GetObject", "2026-06-01T11:00:00Z"),
                event("s3.amazonaws.com", "PutObject", "2026-06-01T10:59:00Z"),
            ],
            vec![event(
                "sts.amazonaws.com",
                "GetCallerIdentity",
                "2026-06-01T09:00:00Z",
            )],
            vec![],
            vec![event(
                "ec2.amazonaws.com",
                "DescribeInstances",
                "2026-05-31T13:00:00Z",
            )],
            vec![event(
                "s3.amazonaws.com",
                "ListBuckets",
                "2026-05-31T12:30:00Z",
            )],
        ],
        &log,
    );
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule]);
    let mut history = EventHistory::new(&client, 100);
    let (start, end) = (at("2026-05-31T12:00:00Z"), at("2026-06-01T12:00:00Z"));

    let began = Instant::now();
    let scan = history.services(KEY, start, end).await.unwrap();
    let elapsed = began.elapsed();

    let n = 5;
    assert_eq!(rule.num_calls(), n);
    assert!(scan.complete);
    assert_eq!(
        scan.sources.iter().map(String::as_str).collect::<Vec<_>>(),
        ["ec2.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com"]
    );
    // 2 requests per second: n requests take at least (n - 1) / 2 seconds, and no longer.
    assert!(
        elapsed >= Duration::from_millis(500) * u32::try_from(n - 1).unwrap(),
        "{elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(500) * u32::try_from(n).unwrap(),
        "{elapsed:?}"
    );
    let log = log.lock().unwrap();
    let tokens: Vec<Option<&str>> = log.iter().map(|a| a.token.as_deref()).collect();
    assert_eq!(
        tokens,
        [
            None,
            Some("page-1"),
            Some("page-2"),
            Some("page-3"),
            Some("page-4")
        ]
    );
    assert!(log.iter().all(|a| a.key.as_deref() == Some(KEY)
        && a.start == Some(to_smithy(start))
        && a.end == Some(to_smithy(end))
        && a.max_results == Some(PAGE_SIZE)));
    assert_eq!(history.sent(), 5);
    assert_eq!(history.remaining(), 95);
}

#[tokio::test(start_paused = true)]
async fn the_rate_holds_across_keys_and_windows_of_one_run() {
    let log = Log::default();
    let rule = pages(
        vec![vec![event(
            "s3.amazonaws.com",
            "GetObject",
            "2026-06-01T11:00:00Z",
        )]],
        &log,
    );
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule]);
    let mut history = EventHistory::new(&client, 100);
    let (start, end) = (at("2026-05-31T12:00:00Z"), at("2026-06-01T12:00:00Z"));

    let began = Instant::now();
    for key in ["AKIA1", "AKIA2", "AKIA3", "AKIA4"] {
        history.services(key, start, end).await.unwrap();
    }

    assert_eq!(rule.num_calls(), 4);
    assert!(
        began.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_baseline_stops_reading_once_every_recent_service_is_found() {
    let log = Log::default();
    let rule = pages(
        vec![
            vec![event(
                "s3.amazonaws.com",
                "GetObject",
                "2026-05-30T11:00:00Z",
            )],
            vec![
                event("kms.amazonaws.com", "Decrypt", "2026-05-29T11:00:00Z"),
                event(
                    "ec2.amazonaws.com",
                    "DescribeInstances",
                    "2026-05-29T10:00:00Z",
                ),
            ],
            vec![event(
                "ec2.amazonaws.com",
                "DescribeInstances",
                "2026-05-20T10:00:00Z",
            )],
            vec![event(
                "ec2.amazonaws.com",
                "DescribeInstances",
                "2026-05-10T10:00:00Z",
            )],
        ],
        &log,
    );
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule]);
    let mut history = EventHistory::new(&client, 100);
    let wanted: BTreeSet<String> = [
        "ec2.amazonaws.com".to_owned(),
        "s3.amazonaws.com".to_owned(),
    ]
    .into();

    let scan = history
        .which_of(
            &wanted,
            KEY,
            at("2026-05-01T12:00:00Z"),
            at("2026-05-31T12:00:00Z"),
        )
        .await
        .unwrap();

    assert_eq!(
        rule.num_calls(),
        2,
        "pages 3 and 4 cannot change the answer"
    );
    assert!(scan.complete);
    assert_eq!(
        scan.sources, wanted,
        "only the services looked for are kept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_baseline_without_a_recent_service_is_read_to_the_end() {
    let log = Log::default();
    let rule = pages(
        vec![
            vec![event(
                "s3.amazonaws.com",
                "GetObject",
                "2026-05-30T11:00:00Z",
            )],
            vec![event(
                "s3.amazonaws.com",
                "GetObject",
                "2026-05-20T11:00:00Z",
            )],
            vec![],
        ],
        &log,
    );
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule]);
    let mut history = EventHistory::new(&client, 100);
    let wanted: BTreeSet<String> = [
        "iam.amazonaws.com".to_owned(),
        "s3.amazonaws.com".to_owned(),
    ]
    .into();

    let scan = history
        .which_of(
            &wanted,
            KEY,
            at("2026-05-01T12:00:00Z"),
            at("2026-05-31T12:00:00Z"),
        )
        .await
        .unwrap();

    assert_eq!(rule.num_calls(), 3);
    assert!(scan.complete);
    assert_eq!(scan.sources.len(), 1);
    let nothing_wanted = history
        .which_of(
            &BTreeSet::new(),
            KEY,
            at("2026-05-01T12:00:00Z"),
            at("2026-05-31T12:00:00Z"),
        )
        .await
        .unwrap();
    assert!(nothing_wanted.complete);
    assert_eq!(rule.num_calls(), 3, "nothing to look for, nothing asked");
}

#[tokio::test(start_paused = true)]
async fn the_request_budget_stops_reading_and_the_scan_says_it_is_incomplete() {
    let log = Log::default();
    let rule = pages(
        vec![
            vec![event(
                "s3.amazonaws.com",
                "GetObject",
                "2026-06-01T11:00:00Z",
            )],
            vec![event(
                "ec2.amazonaws.com",
                "RunInstances",
                "2026-06-01T10:00:00Z",
            )],
            vec![event(
                "iam.amazonaws.com",
                "CreateUser",
                "2026-06-01T09:00:00Z",
            )],
        ],
        &log,
    );
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule]);
    let mut history = EventHistory::new(&client, 2);
    let (start, end) = (at("2026-05-31T12:00:00Z"), at("2026-06-01T12:00:00Z"));

    let first = history.services(KEY, start, end).await.unwrap();
    let second = history.services("AKIAOTHER", start, end).await.unwrap();

    assert_eq!(rule.num_calls(), 2);
    assert!(!first.complete);
    assert_eq!(first.sources.len(), 2);
    assert_eq!(second, Scan::default(), "nothing read, nothing claimed");
    assert_eq!(history.remaining(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cloudtrail_error_fails_naming_the_call() {
    let denied = mock!(Client::lookup_events).then_error(|| {
        LookupEventsError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform cloudtrail:LookupEvents")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&denied]);
    let mut history = EventHistory::new(&client, 10);
    let err = history
        .services(KEY, at("2026-05-31T12:00:00Z"), at("2026-06-01T12:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "AwsError");
    assert!(err.to_string().starts_with("LookupEvents failed"), "{err}");
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
}
