//! The pure part: from instances, prices and the notification time to one verdict per instance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use config_rule_sdk::{Finding, ResourceKey, Verdict};
use serde::{Deserialize, Serialize};

use crate::params::Params;
use crate::prices::{self, Price, PriceSource, PriceTable};

/// The resource type this rule reports on.
pub const RESOURCE_TYPE: &str = "AWS::EC2::Instance";

/// What `DescribeInstances` says about one instance, as far as the estimate needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instance {
    pub instance_id: String,
    pub instance_type: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down` or `terminated`.
    pub state: String,
    /// When the instance last started (EC2 resets it on every start).
    #[serde(default)]
    pub launch_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An estimate of what one running instance has cost since its launch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub hours: f64,
    pub price: Price,
    pub usd: f64,
}

/// Spend from `launch` to `now` at `price`, by the second as EC2 bills Linux instances. A launch
/// after `now` (the instance started after the notification) has cost nothing yet.
pub fn estimate(launch: DateTime<Utc>, now: DateTime<Utc>, price: Price) -> Estimate {
    let seconds = (now - launch).num_seconds().max(0);
    #[expect(
        clippy::cast_precision_loss,
        reason = "seconds since launch stay far below 2^52"
    )]
    let hours = seconds as f64 / 3600.0;
    Estimate {
        hours,
        price,
        usd: hours * price.usd_per_hour,
    }
}

/// Whole cents, so that what is compared is what the annotation prints.
fn cents(usd: f64) -> f64 {
    (usd * 100.0).round()
}

fn hours_text(hours: f64) -> String {
    if hours < 10.0 {
        format!("{hours:.1} h")
    } else {
        format!("{hours:.0} h")
    }
}

fn price_text(price: Price) -> String {
    match price.source {
        PriceSource::Table => format!("${}/h", price.usd_per_hour),
        PriceSource::Override => format!("${}/h (priceOverrides)", price.usd_per_hour),
    }
}

/// The verdict on one instance.
pub fn judge(
    instance: &Instance,
    params: &Params,
    table: &PriceTable,
    now: DateTime<Utc>,
) -> Verdict {
    let kind = &instance.instance_type;
    if instance.state != "running" {
        return Verdict::not_applicable(format!(
            "{kind} is {}: only running instances are estimated (DescribeInstances does not show what earlier runs cost)",
            instance.state
        ));
    }
    let Some(launch) = instance.launch_time else {
        return Verdict::non_compliant(format!(
            "{kind} is running but has no launch time: its spend cannot be estimated"
        ));
    };
    let since = launch.format("%Y-%m-%dT%H:%MZ");
    let Some(price) = prices::lookup(table, &params.price_overrides.0, kind) else {
        let hours = estimate(
            launch,
            now,
            Price {
                usd_per_hour: 0.0,
                source: PriceSource::Table,
            },
        )
        .hours;
        return Verdict::non_compliant(format!(
            "no price for type {kind}; add it with priceOverrides ({kind} running {} since {since})",
            hours_text(hours)
        ));
    };
    let e = estimate(launch, now, price);
    let budget = params.max_spend.0;
    let text = format!(
        "{kind} running {} since {since} at {}: est. ${:.2}",
        hours_text(e.hours),
        price_text(price),
        e.usd
    );
    if cents(e.usd) > cents(budget) {
        Verdict::non_compliant(format!("{text} > budget ${budget:.2}"))
    } else {
        Verdict::compliant().because(format!("{text} <= budget ${budget:.2}"))
    }
}

/// One finding per instance, with its tags for exemptions.
pub fn evaluate(
    instances: &[Instance],
    params: &Params,
    table: &PriceTable,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    instances
        .iter()
        .map(|instance| {
            Finding::new(
                ResourceKey::new(RESOURCE_TYPE, &instance.instance_id),
                judge(instance, params, table, now),
            )
            .with_tags(instance.tags.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{PriceOverrides, Usd};
    use config_rule_sdk::Compliance;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn running(kind: &str, launch: &str) -> Instance {
        Instance {
            instance_id: "i-0123456789abcdef0".into(),
            instance_type: kind.into(),
            state: "running".into(),
            launch_time: Some(at(launch)),
            tags: BTreeMap::new(),
        }
    }

    fn budget(usd: f64) -> Params {
        Params {
            max_spend: Usd(usd),
            price_overrides: PriceOverrides::default(),
        }
    }

    fn annotation(v: &Verdict) -> &str {
        v.annotation.as_ref().map_or("", |a| a.as_str())
    }

    #[test]
    fn a_month_of_a_small_instance_can_cost_more_than_an_hour_of_a_large_one() {
        let table = PriceTable::builtin();
        let now = at("2026-01-31T10:00:00Z");
        let month = judge(
            &running("m5.large", "2026-01-01T00:00:00Z"),
            &budget(50.0),
            table,
            now,
        );
        assert_eq!(month.compliance, Compliance::NonCompliant);
        assert_eq!(
            annotation(&month),
            "m5.large running 730 h since 2026-01-01T00:00Z at $0.096/h: est. $70.08 > budget $50.00"
        );
        let hour = judge(
            &running("m5.24xlarge", "2026-01-31T09:00:00Z"),
            &budget(50.0),
            table,
            now,
        );
        assert_eq!(hour.compliance, Compliance::Compliant);
        assert_eq!(
            annotation(&hour),
            "m5.24xlarge running 1.0 h since 2026-01-31T09:00Z at $4.608/h: est. $4.61 <= budget $50.00"
        );
    }

    #[test]
    fn exactly_the_budget_is_within_it() {
        // 0.096 $/h for 500 h is $48.00.
        let v = judge(
            &running("m5.large", "2026-01-01T00:00:00Z"),
            &budget(48.0),
            PriceTable::builtin(),
            at("2026-01-21T20:00:00Z"),
        );
        assert_eq!(v.compliance, Compliance::Compliant, "{}", annotation(&v));
    }

    #[test]
    fn an_override_prices_a_type_and_says_so() {
        let mut params = budget(100.0);
        params.price_overrides.0.insert("p5.48xlarge".into(), 98.32);
        let v = judge(
            &running("p5.48xlarge", "2026-01-01T00:00:00Z"),
            &params,
            PriceTable::builtin(),
            at("2026-01-01T02:00:00Z"),
        );
        assert_eq!(v.compliance, Compliance::NonCompliant);
        assert_eq!(
            annotation(&v),
            "p5.48xlarge running 2.0 h since 2026-01-01T00:00Z at $98.32/h (priceOverrides): est. $196.64 > budget $100.00"
        );
    }

    #[test]
    fn an_unknown_type_is_non_compliant_and_says_how_to_price_it() {
        let v = judge(
            &running("u-12tb1.112xlarge", "2026-01-01T00:00:00Z"),
            &budget(1_000_000.0),
            PriceTable::builtin(),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(v.compliance, Compliance::NonCompliant);
        assert_eq!(
            annotation(&v),
            "no price for type u-12tb1.112xlarge; add it with priceOverrides (u-12tb1.112xlarge running 24 h since 2026-01-01T00:00Z)"
        );
    }

    #[test]
    fn instances_not_running_are_not_applicable() {
        for state in [
            "stopped",
            "pending",
            "stopping",
            "terminated",
            "shutting-down",
        ] {
            let mut instance = running("m5.large", "2020-01-01T00:00:00Z");
            instance.state = state.into();
            let v = judge(
                &instance,
                &budget(1.0),
                PriceTable::builtin(),
                at("2026-01-01T00:00:00Z"),
            );
            assert_eq!(v.compliance, Compliance::NotApplicable, "{state}");
            assert!(
                annotation(&v).starts_with(&format!("m5.large is {state}")),
                "{state}"
            );
        }
    }

    #[test]
    fn a_launch_after_the_notification_has_cost_nothing() {
        let v = judge(
            &running("m5.large", "2026-01-01T00:05:00Z"),
            &budget(0.0),
            PriceTable::builtin(),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(v.compliance, Compliance::Compliant, "{}", annotation(&v));
    }

    #[test]
    fn a_running_instance_without_launch_time_is_not_guessed() {
        let mut instance = running("m5.large", "2026-01-01T00:00:00Z");
        instance.launch_time = None;
        let v = judge(
            &instance,
            &budget(1.0),
            PriceTable::builtin(),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(v.compliance, Compliance::NonCompliant);
    }

    #[test]
    fn findings_carry_the_instance_tags() {
        let mut instance = running("t3.nano", "2026-01-01T00:00:00Z");
        instance.tags.insert("team".into(), "web".into());
        let findings = evaluate(
            &[instance],
            &budget(1.0),
            PriceTable::builtin(),
            at("2026-01-01T01:00:00Z"),
        );
        assert_eq!(
            findings[0].resource,
            ResourceKey::new(RESOURCE_TYPE, "i-0123456789abcdef0")
        );
        assert_eq!(findings[0].tags["team"], "web");
    }
}
