//! The Custos deployer: settings -> render -> desired -> observe (reads) -> plan (pure) -> guard
//! -> apply (writes).
//!
//! Pure modules (settings, render, desired, plan, guard, digest) never call AWS; `aws` holds most
//! SDK calls; `workflow` (read and plan), `apply`, `commands` (each verb; destroy is an apply
//! that wants nothing) and `doctor` join the two.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod compliance;
pub mod desired;
pub mod diagnostic;
pub mod digest;
pub mod doctor;
pub mod drift;
pub mod evaluate;
pub mod exit;
pub mod guard;
pub mod layout;
pub mod lock;
pub mod org;
pub mod output;
pub mod ownership;
pub mod package;
pub mod packs;
pub mod plan;
pub mod policies;
pub mod progress;
pub mod render;
pub mod scaffold;
pub mod settings;
pub mod skipped;
pub mod status;
pub mod workflow;
