//! One resource's history for people: its state at a time, its changes as field-level diffs,
//! the verdicts rules gave and the remediations it received, in time order. Pure: the rows
//! come from `show`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::diff::{self, FieldChange};

/// A recorded state of the resource (a configuration item).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub key: String,
    pub time: DateTime<Utc>,
    pub item: Value,
}

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    #[serde(skip)]
    pub key: String,
    pub time: DateTime<Utc>,
    pub rule: String,
    pub compliance: String,
    pub annotation: Option<String>,
}

/// A remediation the resource received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    #[serde(skip)]
    pub key: String,
    pub time: DateTime<Utc>,
    pub rule: String,
    pub action: String,
    pub trigger: String,
    pub changes: Vec<FieldChange>,
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A configuration item: the first one (`changes` empty), or what changed since the one
    /// before.
    Recorded {
        time: DateTime<Utc>,
        status: Option<String>,
        changes: Vec<FieldChange>,
    },
    Verdict(Verdict),
    Remediation(Fix),
}

impl Event {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Event::Recorded { time, .. } => *time,
            Event::Verdict(v) => v.time,
            Event::Remediation(f) => f.time,
        }
    }

    /// At the same instant: a change, then its remediation, then the verdict on it.
    fn rank(&self) -> u8 {
        match self {
            Event::Recorded { .. } => 0,
            Event::Remediation(_) => 1,
            Event::Verdict(_) => 2,
        }
    }
}

/// A resource's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub resource_id: String,
    pub resource_type: Option<String>,
    /// The time asked for; `None` means now (every record stored).
    pub at: Option<DateTime<Utc>>,
    /// The latest configuration item at `at`.
    pub state: Option<Value>,
    pub events: Vec<Event>,
}

/// Fields of an item that change with every recording and say nothing of the resource.
const VOLATILE: [&str; 6] = [
    "configurationItemCaptureTime",
    "configurationStateId",
    "configurationStateMd5Hash",
    "configurationItemMD5Hash",
    "configurationItemVersion",
    "relatedEvents",
];

fn stable(item: &Value) -> Value {
    let mut item = item.clone();
    if let Value::Object(map) = &mut item {
        for key in VOLATILE {
            map.remove(key);
        }
    }
    item
}

/// Builds the timeline from the stored rows (in any order, copies included): records after
/// `at` are left out.
pub fn build(
    resource_id: &str,
    mut states: Vec<State>,
    verdicts: Vec<Verdict>,
    fixes: Vec<Fix>,
    at: Option<DateTime<Utc>>,
) -> Timeline {
    let until = |t: DateTime<Utc>| at.is_none_or(|at| t <= at);
    states.retain(|s| until(s.time));
    states.sort_by(|a, b| (a.time, &a.key).cmp(&(b.time, &b.key)));
    let mut seen = BTreeSet::new();
    states.retain(|s| seen.insert(s.key.clone()));

    let mut events = Vec::new();
    let mut previous: Option<Value> = None;
    for state in &states {
        let now = stable(&state.item);
        let changes = previous
            .as_ref()
            .map(|p| diff::diff(p, &now))
            .unwrap_or_default();
        events.push(Event::Recorded {
            time: state.time,
            status: state
                .item
                .get("configurationItemStatus")
                .and_then(Value::as_str)
                .map(str::to_owned),
            changes,
        });
        previous = Some(now);
    }
    let mut seen = BTreeSet::new();
    events.extend(
        verdicts
            .into_iter()
            .filter(|v| until(v.time) && seen.insert(v.key.clone()))
            .map(Event::Verdict),
    );
    let mut seen = BTreeSet::new();
    events.extend(
        fixes
            .into_iter()
            .filter(|f| until(f.time) && seen.insert(f.key.clone()))
            .map(Event::Remediation),
    );
    events.sort_by_key(|e| (e.time(), e.rank()));

    let state = states.last().map(|s| s.item.clone());
    Timeline {
        resource_id: resource_id.to_owned(),
        resource_type: state
            .as_ref()
            .and_then(|s| s.get("resourceType"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        at,
        state,
        events,
    }
}

/// A remediation record's before and after, as field changes.
pub fn fix_changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    diff::diff(before, after)
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
