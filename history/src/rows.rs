//! The four kinds of record the store keeps, as plain rows, and where each one is filed.
//!
//! Every column is derived from the record's content only (never from the file it came in or
//! the time it was ingested), so the same record delivered twice is the same row, and the views
//! drop the copy by its `key`.

use chrono::{DateTime, Utc};

/// The kinds of record, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Items,
    Trail,
    Evaluations,
    Remediations,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Items,
        Kind::Trail,
        Kind::Evaluations,
        Kind::Remediations,
    ];

    /// The table's name in SQL and the `kind=` directory of its partitions.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Items => "items",
            Kind::Trail => "trail",
            Kind::Evaluations => "evaluations",
            Kind::Remediations => "remediations",
        }
    }
}

/// Where a row is filed: `kind=/account=/region=/date=`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub kind: Kind,
    pub account: String,
    pub region: String,
    /// `YYYY-MM-DD` of the row's time, UTC.
    pub date: String,
}

impl Partition {
    pub fn new(kind: Kind, account: &str, region: &str, time: DateTime<Utc>) -> Self {
        Self {
            kind,
            account: account.to_owned(),
            region: region.to_owned(),
            date: time.format("%Y-%m-%d").to_string(),
        }
    }

    /// The partition's directory, relative to the store.
    pub fn dir(&self) -> String {
        format!(
            "kind={}/account={}/region={}/date={}",
            self.kind.name(),
            self.account,
            self.region,
            self.date
        )
    }
}

/// A configuration item, in AWS's item shape (`item` keeps all of it).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub account: String,
    pub region: String,
    /// `configurationStateId` and the resource: one key per recorded state.
    pub key: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub capture_time: DateTime<Utc>,
    pub status: Option<String>,
    /// The whole item as JSON (keys sorted).
    pub item: String,
}

/// A CloudTrail management event.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailRow {
    pub account: String,
    pub region: String,
    /// `eventID`.
    pub key: String,
    pub event_time: DateTime<Utc>,
    pub event_source: String,
    pub event_name: String,
    pub user_arn: Option<String>,
    pub access_key_id: Option<String>,
    pub source_ip: Option<String>,
    pub error_code: Option<String>,
    /// The ARNs the event names (`resources[].ARN`), as a JSON array.
    pub resources: String,
    /// The whole record as JSON.
    pub record: String,
}

/// A rule's verdict on a resource, as Config reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRow {
    pub account: String,
    pub region: String,
    /// Rule, resource and ordering time.
    pub key: String,
    pub rule: String,
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: String,
    pub annotation: Option<String>,
    pub ordering_time: DateTime<Utc>,
    pub recorded_time: Option<DateTime<Utc>>,
}

/// A remediation record (`custos.remediation/v*`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationRow {
    pub account: String,
    pub region: String,
    /// Rule, resource and time.
    pub key: String,
    pub rule: String,
    pub resource_type: String,
    pub resource_id: String,
    pub action: String,
    pub trigger: String,
    pub time: DateTime<Utc>,
    /// The changed fields (JSON array of dotted paths).
    pub changed: String,
    pub before: String,
    pub after: String,
}

/// Rows of every kind decoded from one source.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rows {
    pub items: Vec<ItemRow>,
    pub trail: Vec<TrailRow>,
    pub evaluations: Vec<EvaluationRow>,
    pub remediations: Vec<RemediationRow>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.items.len() + self.trail.len() + self.evaluations.len() + self.remediations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
