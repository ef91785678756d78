//! Counts every AWS operation the deployer starts, by service and name, so a re-apply can show
//! it made no write call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

/// Operation counts, shared by every client of a run.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeMap<String, u64>>>);

/// The counts, split into reads, writes, and the deployer's own bookkeeping (the apply lock and
/// the operation journal, in its DynamoDB table), which changes nothing deployed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    pub reads: BTreeMap<String, u64>,
    pub writes: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub lock: BTreeMap<String, u64>,
}

impl CallCounts {
    pub fn total_writes(&self) -> u64 {
        self.writes.values().sum()
    }
}

impl CallLog {
    pub fn record(&self, service: &str, operation: &str) {
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(format!("{service}:{operation}")).or_default() += 1;
        }
    }

    pub fn counts(&self) -> CallCounts {
        let mut counts = CallCounts::default();
        let calls = self.0.lock().map(|c| c.clone()).unwrap_or_default();
        for (name, n) in calls {
            let operation = name.rsplit(':').next().unwrap_or_default();
            // The deployer uses DynamoDB for its lock table and nothing else.
            if name.starts_with("DynamoDB:") {
                counts.lock.insert(name, n);
            } else if is_write(operation) {
                counts.writes.insert(name, n);
            } else {
                counts.reads.insert(name, n);
            }
        }
        counts
    }
}

/// Whether an operation changes anything: everything but reads (and the role assumptions
/// reads need).
pub fn is_write(operation: &str) -> bool {
    const READS: [&str; 7] = [
        "Describe", "Get", "List", "Head", "Lookup", "Select", "BatchGet",
    ];
    !(READS.iter().any(|p| operation.starts_with(p)) || operation == "AssumeRole")
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    /// Once per operation (retries do not serialise again), after the operation's own
    /// configuration, which names it, is in place.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            self.record(metadata.service(), metadata.name());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart() {
        for read in [
            "DescribeStackSet",
            "ListStackInstances",
            "HeadObject",
            "AssumeRole",
            "BatchGetResourceConfig",
        ] {
            assert!(!is_write(read), "{read}");
        }
        for write in [
            "CreateStackSet",
            "UpdateStackInstances",
            "PutObject",
            "DeleteStackSet",
        ] {
            assert!(is_write(write), "{write}");
        }
    }
}
