//! The edge to CloudTrail event history: which services an access key called in a time window.
//!
//! `LookupEvents` filtered by `AccessKeyId`, paged with `NextToken` (at most 50 events a page),
//! never faster than CloudTrail's limit of 2 requests per second per account and region, and
//! never more than the run's `maxLookupRequests` in total.

use std::collections::BTreeSet;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};
use config_rule_sdk::RuleError;

use crate::activity::Scan;
use crate::limiter::{LOOKUP_EVENTS_PER_SECOND, RateLimiter};

/// `LookupEvents` returns at most this many events per page.
pub const PAGE_SIZE: i32 = 50;

/// Reads event history for one run: one limiter and one request budget for all keys.
#[derive(Debug)]
pub struct EventHistory<'a> {
    client: &'a aws_sdk_cloudtrail::Client,
    limiter: RateLimiter,
    remaining: u32,
}

impl<'a> EventHistory<'a> {
    /// At most `budget` requests, at CloudTrail's documented rate.
    pub fn new(client: &'a aws_sdk_cloudtrail::Client, budget: u32) -> Self {
        Self {
            client,
            limiter: RateLimiter::per_second(LOOKUP_EVENTS_PER_SECOND),
            remaining: budget,
        }
    }

    /// Requests still allowed.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.limiter.granted()
    }

    /// Every service `access_key_id` called in `[start, end)`.
    pub async fn services(
        &mut self,
        access_key_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Scan, RuleError> {
        self.read(access_key_id, start, end, None).await
    }

    /// Which of `wanted` `access_key_id` called in `[start, end)`; stops reading as soon as all
    /// of them are found (the answer cannot change after that).
    pub async fn which_of(
        &mut self,
        wanted: &BTreeSet<String>,
        access_key_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Scan, RuleError> {
        self.read(access_key_id, start, end, Some(wanted)).await
    }

    async fn read(
        &mut self,
        access_key_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        wanted: Option<&BTreeSet<String>>,
    ) -> Result<Scan, RuleError> {
        let mut scan = Scan::default();
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::AccessKeyId)
            .attribute_value(access_key_id)
            .build()
            .expect("key and value are set");
        let mut token: Option<String> = None;
        loop {
            if wanted.is_some_and(|w| w.is_subset(&scan.sources)) {
                scan.complete = true;
                return Ok(scan);
            }
            if self.remaining == 0 {
                return Ok(scan);
            }
            self.remaining -= 1;
            self.limiter.acquire().await;
            let page = self
                .client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(to_smithy(start))
                .end_time(to_smithy(end))
                .max_results(PAGE_SIZE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| RuleError::aws("LookupEvents", e))?;
            let sources = page.events().iter().filter_map(|e| e.event_source());
            match wanted {
                Some(w) => scan
                    .sources
                    .extend(sources.filter(|s| w.contains(*s)).map(str::to_owned)),
                None => scan.sources.extend(sources.map(str::to_owned)),
            }
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                scan.complete = true;
                return Ok(scan);
            }
        }
    }
}

fn to_smithy(time: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(time.timestamp_millis())
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
pub(crate) mod tests;
