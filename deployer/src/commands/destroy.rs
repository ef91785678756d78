//! `deployer destroy`: an apply that wants nothing, so everything this deployment deployed is
//! removed (behind the same guards, lock and re-read as apply).

use super::apply::{Request, allowed};
use super::{load_run, runtime};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &DestroyArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        let request = Request {
            package: None,
            plan_file: None,
            yes: args.yes,
            allowed: allowed(args.delete),
            adopt: args.adopt.adopt,
            skip_gate: None,
        };
        Box::pin(load_run(global)?.apply(request, "destroy")).await
    })
}
