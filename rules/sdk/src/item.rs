//! One normalised configuration item for every shape AWS hands out.
//!
//! A change notification carries `configuration` as an object, `ARN` and `awsAccountId`;
//! `GetResourceConfigHistory` and `BatchGetResourceConfig` carry `configuration` as a JSON
//! string, `arn`, `accountId`, and supplementary values as JSON strings. Both decode into
//! [`ConfigurationItem`]. Fields we do not model are kept in `extra`, never fatal.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The identity Config uses for a resource in `PutEvaluations`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceKey {
    pub resource_type: String,
    pub resource_id: String,
}

impl ResourceKey {
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.resource_type, self.resource_id)
    }
}

/// `configurationItemStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemStatus {
    Ok,
    ResourceDiscovered,
    ResourceNotRecorded,
    ResourceDeleted,
    ResourceDeletedNotRecorded,
    /// A status AWS added after this SDK was written.
    Other(String),
}

impl ItemStatus {
    fn parse(text: &str) -> Self {
        match text {
            "OK" => Self::Ok,
            "ResourceDiscovered" => Self::ResourceDiscovered,
            "ResourceNotRecorded" => Self::ResourceNotRecorded,
            "ResourceDeleted" => Self::ResourceDeleted,
            "ResourceDeletedNotRecorded" => Self::ResourceDeletedNotRecorded,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Deleted resources are NOT_APPLICABLE whatever the rule says.
    pub fn is_deleted(&self) -> bool {
        matches!(
            self,
            Self::ResourceDeleted | Self::ResourceDeletedNotRecorded
        )
    }
}

/// A configuration item. `C` is the configuration: raw JSON until a rule decodes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigurationItem<C = Value> {
    pub key: ResourceKey,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub availability_zone: Option<String>,
    pub capture_time: Option<DateTime<Utc>>,
    pub status: ItemStatus,
    pub tags: BTreeMap<String, String>,
    /// Supplementary configuration, with values that arrived as JSON strings decoded.
    pub supplementary: BTreeMap<String, Value>,
    pub configuration: C,
    /// Every field this type does not model, as it arrived.
    pub extra: BTreeMap<String, Value>,
}

/// A tag as EC2 and other configurations list them: `{"key": "...", "value": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedTag {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A configuration item whose configuration a rule has decoded into its own type.
pub type Item<R> = ConfigurationItem<R>;

/// The wire form, accepting both AWS shapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireItem {
    resource_type: String,
    resource_id: String,
    #[serde(default)]
    resource_name: Option<String>,
    #[serde(default, alias = "ARN")]
    arn: Option<String>,
    #[serde(default, alias = "awsAccountId")]
    account_id: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    configuration_item_capture_time: Option<DateTime<Utc>>,
    #[serde(default)]
    configuration_item_status: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    tags: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    supplementary_configuration: BTreeMap<String, Value>,
    #[serde(default)]
    configuration: Value,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

/// Why a configuration item could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ItemError {
    /// Where in the item the problem is (`configuration.rules[0]`, `resourceId`, ...).
    pub path: String,
    pub message: String,
}

impl ItemError {
    fn from_path(prefix: &str, err: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let inner = err.path().to_string();
        let path = match (prefix, inner.as_str()) {
            (p, ".") => p.to_owned(),
            ("", i) => i.to_owned(),
            (p, i) => format!("{p}.{i}"),
        };
        Self {
            path,
            message: err.inner().to_string(),
        }
    }
}

impl ConfigurationItem<Value> {
    /// Reads an item in either AWS shape.
    pub fn from_json(value: Value) -> Result<Self, ItemError> {
        // Well-formed items (nearly all) are taken apart in place; anything else goes through
        // serde, which says where the problem is.
        let value = match value {
            Value::Object(map) => match WireItem::from_map(map) {
                Ok(wire) => return Ok(wire.normalise()),
                Err(map) => Value::Object(map),
            },
            other => other,
        };
        let wire: WireItem = serde_path_to_error::deserialize(value)
            .map_err(|e| ItemError::from_path("configurationItem", &e))?;
        Ok(wire.normalise())
    }

    /// Decodes the configuration into the rule's resource type.
    pub fn decode<R: DeserializeOwned>(self) -> Result<Item<R>, ItemError> {
        // Tracking the path costs time on every field: only when decoding fails, to say where.
        let configuration = match R::deserialize(&self.configuration) {
            Ok(configuration) => configuration,
            Err(_) => serde_path_to_error::deserialize(self.configuration)
                .map_err(|e| ItemError::from_path("configuration", &e))?,
        };
        Ok(ConfigurationItem {
            key: self.key,
            resource_name: self.resource_name,
            arn: self.arn,
            account_id: self.account_id,
            region: self.region,
            availability_zone: self.availability_zone,
            capture_time: self.capture_time,
            status: self.status,
            tags: self.tags,
            supplementary: self.supplementary,
            configuration,
            extra: self.extra,
        })
    }
}

impl<C> ConfigurationItem<C> {
    /// The item's tags, completed by tags its configuration lists (the only tags in the
    /// `BatchGetResourceConfig` shape); the item's own tags win.
    pub fn tags_with(&self, listed: Option<&[ListedTag]>) -> BTreeMap<String, String> {
        let mut tags: BTreeMap<String, String> = listed
            .into_iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
            .collect();
        tags.extend(self.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags
    }

    /// A supplementary configuration value decoded into `T`; `None` when absent or null.
    pub fn supplementary<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ItemError> {
        match self.supplementary.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_path_to_error::deserialize(value.clone())
                .map(Some)
                .map_err(|e| {
                    ItemError::from_path(&format!("supplementaryConfiguration.{name}"), &e)
                }),
        }
    }
}

impl WireItem {
    /// The fields of a well-formed item, moved out of `map`; `map` back untouched when any
    /// field is not as [`WireItem`]'s serde form would accept it.
    fn from_map(
        mut map: serde_json::Map<String, Value>,
    ) -> Result<Self, serde_json::Map<String, Value>> {
        let text = |v: &Value| v.is_string() || v.is_null();
        let object = |v: &Value| v.is_object() || v.is_null();
        let required = ["resourceType", "resourceId"];
        let optional = [
            "resourceName",
            "arn",
            "ARN",
            "accountId",
            "awsAccountId",
            "awsRegion",
            "availabilityZone",
            "configurationItemStatus",
        ];
        let well_formed = required
            .iter()
            .all(|k| map.get(*k).is_some_and(Value::is_string))
            && optional.iter().all(|k| map.get(*k).is_none_or(text))
            && ["tags", "supplementaryConfiguration"]
                .iter()
                .all(|k| map.get(*k).is_none_or(object))
            // An alias beside its field is a duplicate, which serde refuses.
            && !(map.contains_key("arn") && map.contains_key("ARN"))
            && !(map.contains_key("accountId") && map.contains_key("awsAccountId"));
        let capture_time = match map.get("configurationItemCaptureTime") {
            None => Ok(None),
            Some(value) => capture_time(value),
        };
        let (true, Ok(capture_time)) = (well_formed, capture_time) else {
            return Err(map);
        };
        let mut take_text = |key: &str| match map.remove(key) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let resource_type = take_text("resourceType").unwrap_or_default();
        let resource_id = take_text("resourceId").unwrap_or_default();
        let resource_name = take_text("resourceName");
        let arn = take_text("arn").or_else(|| take_text("ARN"));
        let account_id = take_text("accountId").or_else(|| take_text("awsAccountId"));
        let aws_region = take_text("awsRegion");
        let availability_zone = take_text("availabilityZone");
        let configuration_item_status = take_text("configurationItemStatus");
        map.remove("configurationItemCaptureTime");
        let mut take_object = |key: &str| match map.remove(key) {
            Some(Value::Object(entries)) => entries.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        let tags = take_object("tags");
        let supplementary_configuration = take_object("supplementaryConfiguration");
        let configuration = map.remove("configuration").unwrap_or_default();
        Ok(Self {
            resource_type,
            resource_id,
            resource_name,
            arn,
            account_id,
            aws_region,
            availability_zone,
            configuration_item_capture_time: capture_time,
            configuration_item_status,
            tags,
            supplementary_configuration,
            configuration,
            extra: map.into_iter().collect(),
        })
    }

    fn normalise(self) -> ConfigurationItem<Value> {
        let tags = self
            .tags
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        ConfigurationItem {
            key: ResourceKey {
                resource_type: self.resource_type,
                resource_id: self.resource_id,
            },
            resource_name: self.resource_name,
            arn: self.arn,
            account_id: self.account_id,
            region: self.aws_region,
            availability_zone: self.availability_zone,
            capture_time: self.configuration_item_capture_time,
            status: self
                .configuration_item_status
                .as_deref()
                .map_or(ItemStatus::Ok, ItemStatus::parse),
            tags,
            supplementary: self
                .supplementary_configuration
                .into_iter()
                .map(|(k, v)| (k, json_in_string(v)))
                .collect(),
            configuration: json_in_string(self.configuration),
            extra: self.extra,
        }
    }
}

/// The API shapes carry JSON documents as strings; decode them, keep anything else as it is.
fn json_in_string(value: Value) -> Value {
    match value {
        Value::String(text) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            }
        }
        other => other,
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Capture times arrive as RFC 3339 text (notifications, the CLI) or epoch seconds (the API).
fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value) => capture_time(&value).map_err(D::Error::custom),
    }
}

fn capture_time(value: &Value) -> Result<Option<DateTime<Utc>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}")),
        Value::Number(n) => {
            let seconds = n.as_f64().ok_or("capture time out of range")?;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "millisecond precision is what Config keeps"
            )]
            let millis = (seconds * 1000.0).round() as i64;
            DateTime::from_timestamp_millis(millis)
                .map(Some)
                .ok_or_else(|| format!("capture time {seconds} out of range"))
        }
        other => Err(format!("expected a time, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notification_shape_is_read() {
        let item = ConfigurationItem::from_json(json!({
            "configurationItemCaptureTime": "2016-02-17T20:51:25.312Z",
            "awsAccountId": "123456789012",
            "configurationItemStatus": "ResourceDiscovered",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "my-bucket",
            "ARN": "arn:aws:s3:::my-bucket",
            "awsRegion": "us-east-2",
            "configuration": {"name": "my-bucket"},
            "supplementaryConfiguration": {"ServerSideEncryptionConfiguration": {"rules": []}},
            "tags": {"team": "web"},
            "relatedEvents": []
        }))
        .unwrap();
        assert_eq!(item.key, ResourceKey::new("AWS::S3::Bucket", "my-bucket"));
        assert_eq!(item.arn.as_deref(), Some("arn:aws:s3:::my-bucket"));
        assert_eq!(item.account_id.as_deref(), Some("123456789012"));
        assert_eq!(item.status, ItemStatus::ResourceDiscovered);
        assert_eq!(
            item.capture_time.unwrap().to_rfc3339(),
            "2016-02-17T20:51:25.312+00:00"
        );
        assert_eq!(item.tags["team"], "web");
        assert_eq!(
            item.supplementary["ServerSideEncryptionConfiguration"],
            json!({"rules": []})
        );
        assert!(
            item.extra.contains_key("relatedEvents"),
            "unknown fields are kept"
        );
    }

    #[test]
    fn api_shape_with_strings_and_epoch_time_is_read() {
        let item = ConfigurationItem::from_json(json!({
            "version": "1.3",
            "accountId": "123456789012",
            "configurationItemCaptureTime": 1_700_000_000.5,
            "configurationItemStatus": "OK",
            "arn": "arn:aws:s3:::b",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "b",
            "configuration": "{\"name\":\"b\"}",
            "supplementaryConfiguration": {
                "ServerSideEncryptionConfiguration": "{\"rules\":[{\"applyServerSideEncryptionByDefault\":{\"sseAlgorithm\":\"AES256\"}}]}",
                "IsRequesterPaysEnabled": "false"
            }
        }))
        .unwrap();
        assert_eq!(item.configuration, json!({"name": "b"}));
        assert_eq!(
            item.supplementary["ServerSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"]
                ["sseAlgorithm"],
            "AES256"
        );
        assert_eq!(item.supplementary["IsRequesterPaysEnabled"], json!("false"));
        assert_eq!(
            item.capture_time.unwrap().timestamp_millis(),
            1_700_000_000_500
        );
        assert_eq!(item.account_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn null_tags_and_supplementary_are_empty() {
        let item = ConfigurationItem::from_json(json!({
            "resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1",
            "tags": null, "supplementaryConfiguration": null, "configuration": null,
            "configurationItemStatus": "ResourceDeleted"
        }))
        .unwrap();
        assert!(item.tags.is_empty());
        assert!(item.status.is_deleted());
    }

    #[test]
    fn listed_tags_complete_the_item_tags_which_win() {
        let item = ConfigurationItem::from_json(json!({
            "resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1", "tags": {"Owner": "web"}
        }))
        .unwrap();
        let listed: Vec<ListedTag> = serde_json::from_value(json!([
            {"key": "Owner", "value": "stale"}, {"key": "Env", "value": "prod"}, {"key": "Empty"}
        ]))
        .unwrap();
        let tags = item.tags_with(Some(&listed));
        assert_eq!(tags["Owner"], "web");
        assert_eq!(tags["Env"], "prod");
        assert_eq!(tags["Empty"], "");
        assert_eq!(item.tags_with(None), item.tags);
    }

    #[test]
    fn a_missing_resource_id_is_named() {
        let err =
            ConfigurationItem::from_json(json!({"resourceType": "AWS::S3::Bucket"})).unwrap_err();
        assert!(err.to_string().contains("resourceId"), "{err}");
    }

    #[test]
    fn decoding_names_the_bad_configuration_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Bucket {
            name: String,
        }
        let item = ConfigurationItem::from_json(json!({
            "resourceType": "AWS::S3::Bucket", "resourceId": "b", "configuration": {"name": 7}
        }))
        .unwrap();
        let err = item.decode::<Bucket>().unwrap_err();
        assert_eq!(err.path, "configuration.name");
    }
}
