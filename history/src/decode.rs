//! Decoding the files AWS delivers into rows: pure, no I/O.
//!
//! One decoder reads every shape by its top-level key: Config history and snapshot files
//! (`{"fileVersion", "configurationItems": [...]}`), CloudTrail log files (`{"Records": [...]}`),
//! Config evaluation results (`{"EvaluationResults": [...]}` as `GetComplianceDetailsByConfigRule`
//! answers, or `{"AggregateEvaluationResults": [...]}` from an aggregator) and remediation
//! records (`{"record": "custos.remediation/v2", ...}`, one or more in a file, e.g. one a
//! line). The elements are borrowed from the file's bytes, not copied, and decoded one at a
//! time. An error gives the line and column in the file.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::rows::{EvaluationRow, ItemRow, RemediationRow, Rows, TrailRow};

/// What the file's path says when the records do not: `AWSLogs/<account>/<service>/<region>/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Origin {
    /// Reads `AWSLogs/<account>/<service>/<region>/...` out of a path or an S3 key.
    pub fn from_path(path: &str) -> Self {
        let parts: Vec<&str> = path.split(['/', '\\']).collect();
        let Some(at) = parts.iter().position(|p| *p == "AWSLogs") else {
            return Self::default();
        };
        // An organisation trail adds the organisation id: AWSLogs/o-xxx/<account>/...
        let mut rest = &parts[at + 1..];
        if rest.first().is_some_and(|p| p.starts_with("o-")) {
            rest = &rest[1..];
        }
        let account = rest
            .first()
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .map(|a| (*a).to_owned());
        let region = rest
            .get(2)
            .filter(|r| looks_like_region(r))
            .map(|r| (*r).to_owned());
        Self { account, region }
    }
}

fn looks_like_region(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next().is_some_and(|p| p.len() == 2 || p == "us")
        && text.split('-').count() >= 3
        && text.bytes().last().is_some_and(|b| b.is_ascii_digit())
}

/// Why a file could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// 1-based line and column in the (decompressed) file; 0 when the file is not JSON at all.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for DecodeError {}

/// What a file held.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Rows(Rows),
    /// A JSON file of another kind (a CloudTrail digest, a writability check): nothing to store.
    Other(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "configurationItems", borrow, default)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
    #[serde(rename = "EvaluationResults", borrow, default)]
    evaluations: Option<Vec<&'a RawValue>>,
    #[serde(rename = "AggregateEvaluationResults", borrow, default)]
    aggregate: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    record: Option<String>,
}

/// Decodes one file's bytes (already decompressed).
pub fn decode(bytes: &[u8], origin: &Origin) -> Result<Decoded, DecodeError> {
    let mut rows = Rows::default();
    let mut recognised = false;
    let mut first_keys = None;
    let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
    for value in stream {
        let raw = value.map_err(|e| from_serde(&e))?;
        let at = offset(bytes, raw);
        let envelope: Envelope<'_> =
            serde_json::from_str(raw.get()).map_err(|e| within(bytes, at, &e))?;
        let mut known = false;
        if let Some(items) = envelope.items {
            known = true;
            for raw in items {
                let row = item(raw, origin).map_err(|m| located(bytes, raw, m))?;
                rows.items.push(row);
            }
        }
        if let Some(records) = envelope.records {
            known = true;
            for raw in records {
                let row = trail(raw, origin).map_err(|m| located(bytes, raw, m))?;
                rows.trail.push(row);
            }
        }
        for raw in envelope
            .evaluations
            .iter()
            .chain(&envelope.aggregate)
            .flatten()
        {
            known = true;
            let row = evaluation(raw, origin).map_err(|m| located(bytes, raw, m))?;
            rows.evaluations.push(row);
        }
        if envelope
            .record
            .as_deref()
            .is_some_and(|r| r.starts_with("custos.remediation/"))
        {
            known = true;
            rows.remediations
                .push(remediation(raw).map_err(|m| located(bytes, raw, m))?);
        }
        if !known && first_keys.is_none() {
            first_keys = Some(top_keys(raw));
        }
        recognised |= known;
    }
    if recognised {
        Ok(Decoded::Rows(rows))
    } else {
        Ok(Decoded::Other(
            first_keys.unwrap_or_else(|| "an empty file".to_owned()),
        ))
    }
}

fn top_keys(raw: &RawValue) -> String {
    match serde_json::from_str::<Map<String, Value>>(raw.get()) {
        Ok(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(4).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Err(_) => "not an object".to_owned(),
    }
}

fn offset(bytes: &[u8], raw: &RawValue) -> usize {
    (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize)
}

/// 1-based line and column of a byte offset.
fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    // Error positions only: counting once per error is cheap enough.
    #[expect(clippy::naive_bytecount, reason = "run once per malformed file")]
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

fn from_serde(e: &serde_json::Error) -> DecodeError {
    DecodeError {
        line: e.line(),
        column: e.column(),
        message: cause(e),
    }
}

/// An error inside a value that starts at `at`: its line and column in the whole file.
fn within(bytes: &[u8], at: usize, e: &serde_json::Error) -> DecodeError {
    let (line, column) = position(bytes, at);
    DecodeError {
        line: line + e.line() - 1,
        column: if e.line() == 1 {
            column + e.column() - 1
        } else {
            e.column()
        },
        message: cause(e),
    }
}

fn located(bytes: &[u8], raw: &RawValue, message: String) -> DecodeError {
    let (line, column) = position(bytes, offset(bytes, raw));
    DecodeError {
        line,
        column,
        message,
    }
}

/// serde_json's message without its own " at line X column Y" suffix.
fn cause(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn object(raw: &RawValue) -> Result<Map<String, Value>, String> {
    serde_json::from_str(raw.get()).map_err(|e| format!("not a JSON object: {}", cause(&e)))
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required(map: &Map<String, Value>, key: &str, what: &str) -> Result<String, String> {
    text(map, key).ok_or_else(|| format!("{what} has no `{key}`"))
}

/// RFC 3339 text, or seconds since the epoch (the JSON API's timestamps).
pub fn time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "epoch milliseconds fit i64"
            )]
            let millis = (seconds * 1000.0).round() as i64;
            Utc.timestamp_millis_opt(millis).single()
        }
        _ => None,
    }
}

fn required_time(map: &Map<String, Value>, key: &str, what: &str) -> Result<DateTime<Utc>, String> {
    let value = map
        .get(key)
        .ok_or_else(|| format!("{what} has no `{key}`"))?;
    time(value).ok_or_else(|| format!("{what}'s `{key}` is not an RFC 3339 time: {value}"))
}

fn or_origin(
    found: Option<String>,
    fallback: Option<&String>,
    what: &str,
    key: &str,
) -> Result<String, String> {
    found.or_else(|| fallback.cloned()).ok_or_else(|| {
        format!(
            "{what} has no `{key}` and the path names none (AWSLogs/<account>/<service>/<region>/)"
        )
    })
}

fn item(raw: &RawValue, origin: &Origin) -> Result<ItemRow, String> {
    let map = object(raw)?;
    let what = "configuration item";
    let resource_type = required(&map, "resourceType", what)?;
    let resource_id = required(&map, "resourceId", what)?;
    let capture_time = required_time(&map, "configurationItemCaptureTime", what)?;
    let account = or_origin(
        text(&map, "awsAccountId"),
        origin.account.as_ref(),
        what,
        "awsAccountId",
    )?;
    let region = or_origin(
        text(&map, "awsRegion"),
        origin.region.as_ref(),
        what,
        "awsRegion",
    )?;
    let state = text(&map, "configurationStateId").unwrap_or_else(|| capture_time.to_rfc3339());
    let arn = text(&map, "ARN").or_else(|| text(&map, "arn"));
    Ok(ItemRow {
        key: format!("{account}|{region}|{resource_type}|{resource_id}|{state}"),
        account,
        region,
        resource_name: text(&map, "resourceName"),
        arn,
        capture_time,
        status: text(&map, "configurationItemStatus"),
        // serde_json's map is sorted: the same item is the same text, whatever its key order.
        item: Value::Object(map).to_string(),
        resource_type,
        resource_id,
    })
}

fn trail(raw: &RawValue, origin: &Origin) -> Result<TrailRow, String> {
    let map = object(raw)?;
    let what = "CloudTrail record";
    let key = required(&map, "eventID", what)?;
    let event_time = required_time(&map, "eventTime", what)?;
    let identity = map.get("userIdentity").and_then(Value::as_object);
    let account =
        text(&map, "recipientAccountId").or_else(|| identity.and_then(|i| text(i, "accountId")));
    let account = or_origin(account, origin.account.as_ref(), what, "recipientAccountId")?;
    let region = or_origin(
        text(&map, "awsRegion"),
        origin.region.as_ref(),
        what,
        "awsRegion",
    )?;
    let resources: Vec<Value> = map
        .get("resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.get("ARN").or_else(|| r.get("arn")).cloned())
                .collect()
        })
        .unwrap_or_default();
    Ok(TrailRow {
        account,
        region,
        key,
        event_time,
        event_source: text(&map, "eventSource").unwrap_or_default(),
        event_name: required(&map, "eventName", what)?,
        user_arn: identity.and_then(|i| text(i, "arn")),
        access_key_id: identity.and_then(|i| text(i, "accessKeyId")),
        source_ip: text(&map, "sourceIPAddress"),
        error_code: text(&map, "errorCode"),
        resources: Value::Array(resources).to_string(),
        record: Value::Object(map).to_string(),
    })
}

fn evaluation(raw: &RawValue, origin: &Origin) -> Result<EvaluationRow, String> {
    let map = object(raw)?;
    let what = "evaluation result";
    let identifier = map
        .get("EvaluationResultIdentifier")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what} has no `EvaluationResultIdentifier`"))?;
    let qualifier = identifier
        .get("EvaluationResultQualifier")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what} has no `EvaluationResultQualifier`"))?;
    let rule = required(qualifier, "ConfigRuleName", what)?;
    let resource_type = required(qualifier, "ResourceType", what)?;
    let resource_id = required(qualifier, "ResourceId", what)?;
    let ordering_time = required_time(identifier, "OrderingTimestamp", what)?;
    let account = or_origin(
        text(&map, "AccountId"),
        origin.account.as_ref(),
        what,
        "AccountId",
    )?;
    let region = or_origin(
        text(&map, "AwsRegion"),
        origin.region.as_ref(),
        what,
        "AwsRegion",
    )?;
    Ok(EvaluationRow {
        key: format!(
            "{account}|{region}|{rule}|{resource_type}|{resource_id}|{}",
            ordering_time.to_rfc3339()
        ),
        account,
        region,
        compliance: required(&map, "ComplianceType", what)?,
        annotation: text(&map, "Annotation"),
        ordering_time,
        recorded_time: map.get("ResultRecordedTime").and_then(time),
        rule,
        resource_type,
        resource_id,
    })
}

fn remediation(raw: &RawValue) -> Result<RemediationRow, String> {
    let map = object(raw)?;
    let what = "remediation record";
    let account = required(&map, "account", what)?;
    let region = required(&map, "region", what)?;
    let rule = required(&map, "rule", what)?;
    let resource_type = required(&map, "resourceType", what)?;
    let resource_id = required(&map, "resourceId", what)?;
    let time = required_time(&map, "time", what)?;
    let json = |key: &str| map.get(key).cloned().unwrap_or(Value::Null).to_string();
    Ok(RemediationRow {
        key: format!(
            "{account}|{region}|{rule}|{resource_type}|{resource_id}|{}",
            time.to_rfc3339()
        ),
        action: text(&map, "action").unwrap_or_default(),
        trigger: text(&map, "trigger").unwrap_or_default(),
        changed: json("changed"),
        before: json("before"),
        after: json("after"),
        account,
        region,
        rule,
        resource_type,
        resource_id,
        time,
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
