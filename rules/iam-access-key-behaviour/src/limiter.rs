//! Limits: the `LookupEvents` request rate, kept with tokio's clock (so tests can pause time
//! instead of waiting), and the daily cap on deactivations, counted across runs.

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// CloudTrail allows `LookupEvents` 2 requests per second per account and region.
pub const LOOKUP_EVENTS_PER_SECOND: u32 = 2;

/// Lets at most one request through per period: the first at once, each next one a full period
/// after the previous, never in a burst to catch up.
#[derive(Debug)]
pub struct RateLimiter {
    ticks: Interval,
    granted: u64,
}

impl RateLimiter {
    /// `per_second` requests per second (at least 1). Needs a tokio runtime with time enabled.
    pub fn per_second(per_second: u32) -> Self {
        Self::every(Duration::from_secs(1) / per_second.max(1))
    }

    /// One request per `period`.
    pub fn every(period: Duration) -> Self {
        let mut ticks = tokio::time::interval_at(Instant::now(), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { ticks, granted: 0 }
    }

    /// Waits until the next request may go.
    pub async fn acquire(&mut self) {
        self.ticks.tick().await;
        self.granted += 1;
    }

    /// Requests let through so far.
    pub fn granted(&self) -> u64 {
        self.granted
    }
}

/// The keys deactivated in one account on one day (UTC), as stored between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyCount {
    pub day: NaiveDate,
    pub deactivated: u32,
}

impl DailyCount {
    /// Pure: the count of `today` from the stored text (none stored yet, or another day's: 0).
    /// Text that cannot be read is an error: the cap cannot be vouched for.
    pub fn of_day(stored: Option<&str>, today: NaiveDate) -> Result<u32, String> {
        let Some(text) = stored else { return Ok(0) };
        let count: Self = serde_json::from_str(text)
            .map_err(|e| format!("the stored count `{text}` cannot be read: {e}"))?;
        Ok(if count.day == today {
            count.deactivated
        } else {
            0
        })
    }

    /// The text to store.
    pub fn text(&self) -> String {
        serde_json::to_string(self).expect("counts serialise")
    }
}

/// Pure: whether one more key may be deactivated today, `used` of `max` being taken.
pub fn under_cap(used: u32, max: u32) -> bool {
    used < max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_daily_count_is_todays_and_starts_again_each_day() {
        let stored = DailyCount {
            day: day("2026-06-01"),
            deactivated: 3,
        }
        .text();
        assert_eq!(stored, r#"{"day":"2026-06-01","deactivated":3}"#);
        assert_eq!(DailyCount::of_day(Some(&stored), day("2026-06-01")), Ok(3));
        assert_eq!(DailyCount::of_day(Some(&stored), day("2026-06-02")), Ok(0));
        assert_eq!(DailyCount::of_day(None, day("2026-06-02")), Ok(0));
        assert!(DailyCount::of_day(Some("seven"), day("2026-06-02")).is_err());
        assert!(under_cap(4, 5));
        assert!(!under_cap(5, 5));
    }

    #[tokio::test(start_paused = true)]
    async fn two_per_second_means_n_requests_take_at_least_n_minus_1_half_seconds() {
        let mut limiter = RateLimiter::per_second(LOOKUP_EVENTS_PER_SECOND);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..5 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        assert_eq!(
            times,
            [0, 500, 1000, 1500, 2000].map(Duration::from_millis),
            "the first at once, then one every 500 ms"
        );
        assert_eq!(limiter.granted(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_requests_are_not_followed_by_a_burst() {
        let mut limiter = RateLimiter::per_second(2);
        limiter.acquire().await;
        // The caller spends 3 s on the first response.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(500),
            "after a pause, the next two requests are still 500 ms apart: {:?}",
            start.elapsed()
        );
    }
}
