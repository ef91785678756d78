//! The part of an AWS Config configuration item the graph reads: where the resource is, what
//! it is, when it was captured, and its relationships. Both of Config's shapes are read: the
//! delivered history and snapshot files (`ARN`, relationship `name`, ISO capture times) and the
//! API's (`arn`, `relationshipName`, epoch seconds). Every other field is skipped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub aws_account_id: String,
    pub aws_region: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default, alias = "ARN")]
    pub arn: Option<String>,
    #[serde(deserialize_with = "capture_time")]
    pub configuration_item_capture_time: DateTime<Utc>,
    /// `OK`, `ResourceDiscovered`, `ResourceNotRecorded`, `ResourceDeleted`,
    /// `ResourceDeletedNotRecorded`.
    #[serde(default)]
    pub configuration_item_status: Option<String>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    pub resource_type: String,
    /// Absent when Config names the resource only (`resourceName`).
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(alias = "name")]
    pub relationship_name: String,
}

impl Item {
    /// The item records a deletion: the resource is gone.
    pub fn is_deleted(&self) -> bool {
        self.configuration_item_status
            .as_deref()
            .is_some_and(|s| s.starts_with("ResourceDeleted"))
    }
}

impl Relationship {
    /// The id Config gives the other end, or its name when it gives no id.
    pub fn target_id(&self) -> Option<&str> {
        self.resource_id
            .as_deref()
            .or(self.resource_name.as_deref())
    }
}

/// ISO 8601 text (delivered files) or epoch seconds (the API's JSON).
fn capture_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(f64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(text) => DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("capture time `{text}`: {e}"))),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "capture times are milliseconds since 1970, far inside i64"
        )]
        Raw::Seconds(secs) => DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
            .ok_or_else(|| serde::de::Error::custom(format!("capture time {secs} out of range"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_delivered_and_the_api_shapes_alike() {
        let delivered: Item = serde_json::from_str(
            r#"{"awsAccountId":"111111111111","awsRegion":"eu-west-1","resourceType":"AWS::EC2::Instance",
                "resourceId":"i-1","ARN":"arn:aws:ec2:eu-west-1:111111111111:instance/i-1",
                "configurationItemCaptureTime":"2026-12-01T10:00:00.000Z","configurationItemStatus":"OK",
                "configuration":{"ignored":true},
                "relationships":[{"resourceId":"sg-1","resourceName":null,"resourceType":"AWS::EC2::SecurityGroup","name":"Is associated with SecurityGroup"}]}"#,
        )
        .unwrap();
        let api: Item = serde_json::from_str(
            r#"{"awsAccountId":"111111111111","awsRegion":"eu-west-1","resourceType":"AWS::EC2::Instance",
                "resourceId":"i-1","arn":"arn:aws:ec2:eu-west-1:111111111111:instance/i-1",
                "configurationItemCaptureTime":1796119200.0,"configurationItemStatus":"OK",
                "relationships":[{"resourceId":"sg-1","resourceType":"AWS::EC2::SecurityGroup","relationshipName":"Is associated with SecurityGroup"}]}"#,
        )
        .unwrap();
        assert_eq!(delivered, api);
        assert_eq!(
            delivered.relationships[0].relationship_name,
            "Is associated with SecurityGroup"
        );
    }

    #[test]
    fn a_relationship_without_an_id_is_named_by_its_name() {
        let r: Relationship = serde_json::from_str(
            r#"{"resourceType":"AWS::IAM::Role","resourceName":"admin","name":"Is associated with Role"}"#,
        )
        .unwrap();
        assert_eq!(r.target_id(), Some("admin"));
    }
}
