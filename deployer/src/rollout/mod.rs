//! Canary waves: which accounts each wave of `[rollout]` holds, the gate read after a wave, and
//! the record of the waves that passed. Pure; `aws/gate.rs` and `aws/rollout.rs` read and write
//! what these decide over, and `commands/waves.rs` joins them.

pub mod gate;
pub mod preview;
pub mod state;
pub mod waves;

#[cfg(test)]
mod rollout_tests;
