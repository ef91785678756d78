//! The rule SDK: everything AWS Config asks of a custom rule Lambda, written once.
//!
//! A rule author writes a pure function over a typed configuration item and typed parameters
//! ([`Rule`]), or gathers facts at the edge and evaluates them purely ([`PeriodicRule`]). The SDK
//! decodes the Config event, applies exemptions, handles deleted and out-of-scope resources,
//! builds evaluations with the right `OrderingTimestamp`, and puts them in batches of 100.
//!
//! The crate is layered by reader:
//!
//! - **The root** is what a rule author needs: the two rule traits, the item and verdict types,
//!   [`Entry`] (the descriptor a rule's `main` hands to [`serve`]), [`AwsScope`] (the one way a
//!   rule reaches AWS, counted) and the modules a rule names in its own code ([`params`],
//!   [`remediation`], [`exemption`], [`manifest`], [`notify`]). No AWS SDK type appears in a trait
//!   a rule implements.
//! - **[`host`]** is what hosts a rule: the deployer's preview, the bench and the test harness
//!   decode events, decide verdicts, replay files and put results through it.
//! - **`testing`** (behind the feature of that name) builds events, runs a rule's fixtures and
//!   writes the tests every rule has.

mod aws;
pub mod compliance;
mod decide;
pub mod entry;
pub mod error;
mod evaluation;
mod event;
pub mod exemption;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod item;
pub mod manifest;
pub mod notify;
mod observed;
pub mod params;
pub mod remediation;
mod replay;
mod retry;
pub mod rule;
mod runtime;
mod sink;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// Internal paths keep their short name.
use manifest as meta;

pub use aws::{AwsScope, Service, to_chrono};
pub use compliance::{Annotation, Compliance, Verdict};
pub use entry::Entry;
pub use error::RuleError;
pub use item::{ConfigurationItem, Item, ResourceKey};
pub use manifest::RuleMeta;
pub use rule::{Finding, PeriodicRule, Rule, RunContext};
pub use runtime::serve;

/// What hosts a rule rather than writes one: the deployer's `evaluate`, the bench, the replay
/// command and the test harness. A rule author needs none of it.
pub mod host {
    pub use crate::entry::Mode;
    pub use crate::evaluation::Evaluation;

    /// From a configuration item to a verdict, without AWS.
    pub mod decide {
        pub use crate::decide::*;
    }
    /// The invoking event AWS Config sends, decoded.
    pub mod event {
        pub use crate::event::*;
    }
    /// The AWS actions the SDK itself calls, as the deployer grants them.
    pub mod observed {
        pub use crate::observed::*;
    }
    /// A file of recorded events, evaluated line by line.
    pub mod replay {
        pub use crate::replay::*;
    }
    /// The retry and timeout settings of every AWS client the SDK builds.
    pub mod retry {
        pub use crate::retry::*;
    }
    /// The Lambda and command-line runtime behind [`crate::serve`].
    pub mod runtime {
        pub use crate::runtime::*;
    }
    /// Where evaluations go: `PutEvaluations` in batches, or a printer.
    pub mod sink {
        pub use crate::sink::*;
    }
    /// The AWS edge: clients and the reads a host makes for a rule.
    pub mod edge {
        pub use crate::aws::{
            Edge, item_from_batch, item_from_history, latest_item, partition_of, recent_items,
            remediation_runs,
        };
    }
}
