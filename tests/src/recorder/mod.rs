//! Configuration items in AWS Config's documented change-notification shape, built from the live
//! state of a resource.
//!
//! The emulator records items too, but not in AWS's shape (an S3 item carries its encryption as
//! raw XML), so rules would be tested against something AWS never sends. One function per
//! resource type, each reading the resource's API the way Config's recorder does: [`s3_bucket`]
//! now; EC2 instances, VPCs and IAM resources go beside it, built on [`Envelope`].

pub mod ec2;
pub mod iam;
mod s3;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

pub use s3::s3_bucket;

/// `configurationItemVersion` of the items Config sends today.
pub const ITEM_VERSION: &str = "1.3";

/// The fields every configuration item has, whatever the resource type.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub account_id: String,
    pub region: String,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: String,
    /// `Regional` for regional resources without a zone, as Config reports S3 buckets.
    pub availability_zone: Option<String>,
    pub resource_creation_time: Option<DateTime<Utc>>,
    pub capture_time: DateTime<Utc>,
}

/// A change-notification `configurationItem`: the envelope plus what is particular to the type.
pub fn item(
    envelope: &Envelope,
    configuration: &Value,
    supplementary: &Map<String, Value>,
    tags: &BTreeMap<String, String>,
) -> Value {
    json!({
        "configurationItemVersion": ITEM_VERSION,
        "configurationItemCaptureTime": timestamp(envelope.capture_time),
        "configurationStateId": envelope.capture_time.timestamp_millis(),
        "configurationItemStatus": "OK",
        "configurationItemMD5Hash": "",
        "awsAccountId": envelope.account_id,
        "resourceType": envelope.resource_type,
        "resourceId": envelope.resource_id,
        "resourceName": envelope.resource_name,
        "ARN": envelope.arn,
        "awsRegion": envelope.region,
        "availabilityZone": envelope.availability_zone,
        "resourceCreationTime": envelope.resource_creation_time.map(timestamp),
        "tags": tags,
        "relatedEvents": [],
        "relationships": [],
        "configuration": configuration,
        "supplementaryConfiguration": supplementary,
    })
}

/// Config's timestamps: RFC 3339 in UTC with milliseconds (`2024-05-01T10:00:00.000Z`).
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}
