//! An evaluation as `PutEvaluations` takes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compliance::{Annotation, Compliance, Verdict};
use crate::item::ResourceKey;

/// One result, with `PutEvaluations`' field names; `OrderingTimestamp` prints as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Evaluation {
    pub compliance_resource_type: String,
    pub compliance_resource_id: String,
    pub compliance_type: Compliance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<Annotation>,
    pub ordering_timestamp: DateTime<Utc>,
}

impl Evaluation {
    pub fn new(resource: ResourceKey, verdict: Verdict, ordering_timestamp: DateTime<Utc>) -> Self {
        Self {
            compliance_resource_type: resource.resource_type,
            compliance_resource_id: resource.resource_id,
            compliance_type: verdict.compliance,
            annotation: verdict.annotation,
            ordering_timestamp,
        }
    }

    pub fn resource(&self) -> ResourceKey {
        ResourceKey::new(&self.compliance_resource_type, &self.compliance_resource_id)
    }
}
