//! The infrastructure graph: what depends on what across the accounts and regions of an
//! organisation, built from AWS Config configuration items and their relationships.
//!
//! - [`source`]: where items come from (the [`ItemSource`] seam; Config's delivered files);
//! - [`vocabulary`]: which end of each AWS Config relationship depends on the other;
//! - [`model`]: the graph (latest item per resource, ends resolved across accounts);
//! - [`impact`]: what depends on a resource, transitively, with the path to each;
//! - [`export`]: GraphML, Cypher and DOT; [`picture`]: a neighbourhood as inline SVG;
//! - [`synthetic`]: a generated estate of any size, for benchmarks and tests.
//!
//! Everything here is pure: no AWS call, no clock.

pub mod export;
pub mod impact;
pub mod item;
pub mod model;
pub mod picture;
pub mod source;
pub mod synthetic;
pub mod vocabulary;

pub use impact::{Dependent, Impact, impact};
pub use item::{Item, Relationship};
pub use model::{Builder, FindError, InfraGraph, Resource, Stats};
pub use source::{DeliveredFiles, ItemSource, SourceProblem};

#[cfg(test)]
mod tests;
