//! Integration tests against the local AWS emulator.
//!
//! `make test` starts a private emulator for them; by hand:
//! `eval "$(scripts/emulator start)"`, then `cargo test -p workspace-tests`.
//! Without a running emulator every test here fails, by design.

mod compliance_report;
mod cross_account;
mod deployer;
mod ec2_cost_context;
mod ec2_instance_baseline;
mod emulator_facts;
mod evaluate;
mod exemption_expiry;
mod faults;
mod iam_access_key_behaviour;
mod iam_policy_no_admin_wildcards;
mod org_packs;
mod policy_table;
mod recorder;
mod rollout;
mod s3_loop;
mod s3_remediation;
mod safety;
mod vpc_creation_approved;
