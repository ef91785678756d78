//! The rule SDK: everything AWS Config asks of a custom rule Lambda, written once.
//!
//! A rule author writes a pure function over a typed configuration item and typed parameters
//! ([`Rule`]), or gathers facts at the edge and evaluates them purely ([`PeriodicRule`]). The SDK
//! decodes the Config event, applies exemptions, handles deleted and out-of-scope resources,
//! builds evaluations with the right `OrderingTimestamp`, and puts them in batches of 100.

pub mod aws;
pub mod compliance;
pub mod decide;
pub mod entry;
pub mod error;
pub mod evaluation;
pub mod event;
pub mod exemption;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod item;
pub mod manifest;
pub mod notify;
pub mod observed;
pub mod params;
pub mod remediation;
pub mod replay;
pub mod retry;
pub mod rule;
pub mod runtime;
pub mod sink;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use aws::AwsScope;
pub use compliance::{Annotation, Compliance, Verdict};
pub use entry::{Entry, Mode};
pub use error::RuleError;
pub use evaluation::Evaluation;
pub use item::{ConfigurationItem, Item, ResourceKey};
/// The former name of [`manifest`], kept for its users.
pub use manifest as meta;
pub use manifest::RuleMeta;
pub use rule::{Finding, PeriodicRule, Rule, RunContext};
pub use runtime::serve;
