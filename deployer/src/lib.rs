//! The Custos deployer: settings -> inventory (reads) -> render -> plan (pure) -> apply (writes).
//!
//! Pure modules (settings, render, desired, plan) never call AWS; `aws` holds every SDK call;
//! `inventory`, `apply`, `doctor` and `destroy` join the two.

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
