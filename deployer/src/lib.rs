//! The Custos deployer: settings -> render -> desired -> observed (reads) -> plan (pure) ->
//! guard -> apply (writes).
//!
//! Pure modules (settings, names, render, desired, observed, plan, digest, guard) never call
//! AWS; `aws` holds most SDK calls; `workflow` (read and plan), `apply`, `readings` and `doctor`
//! join the two. `commands` has one module per verb of the command line (destroy is an apply
//! that wants nothing); `main.rs` only dispatches to them.

pub mod apply;
pub mod athena;
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
pub mod names;
pub mod observed;
pub mod org;
pub mod output;
pub mod overrides;
pub mod ownership;
pub mod package;
pub mod packs;
pub mod plan;
pub mod policies;
pub mod progress;
pub mod readings;
pub mod render;
pub mod rollout;
pub mod scaffold;
pub mod settings;
pub mod skipped;
pub mod workflow;
