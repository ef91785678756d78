//! `deployer unlock ID`: removes an apply lock left by a run that stopped without releasing it.

use super::{Run, load_run, runtime};
use crate::aws;
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &UnlockArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async { load_run(global)?.unlock(&args.id).await })
}

impl Run {
    /// `deployer unlock ID`: removes the lock `id` of this deployment.
    pub async fn unlock(&self, id: &str) -> anyhow::Result<ExitStatus> {
        let aws = self.aws().await;
        let (_, org) = crate::readings::caller_and_organisation(&aws).await?;
        let deployment = self.settings.deployment_id(&org.management_account);
        let client = aws.dynamodb();
        let holder = aws::lock::holder(&client, &deployment).await?;
        if aws::lock::release(&client, &deployment, id).await? {
            let by = holder
                .map(|h| format!(" (held by {} on {} since {})", h.holder, h.host, h.since))
                .unwrap_or_default();
            eprintln!("removed lock {id} of deployment {deployment}{by}");
            return Ok(ExitStatus::Success);
        }
        match holder {
            Some(h) => eprintln!(
                "deployment {deployment} holds no lock {id}; its lock is {} (held by {} on {} since {})",
                h.lock_id, h.holder, h.host, h.since
            ),
            None => eprintln!("deployment {deployment} is not locked"),
        }
        Ok(ExitStatus::Error)
    }
}
