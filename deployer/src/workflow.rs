//! The read side of a run: who is calling, the organisation, the packaged code, what is wanted,
//! what is deployed, and the plan between them.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::aws::{self, Aws, AwsError};
use crate::desired::{self, ArtifactObject, Desired, Inputs, STACK_SET_PREFIX};
use crate::org::Organization;
use crate::package::{self, Artifact, PackageError, Source};
use crate::plan::{self, Change, Observed};
use crate::render::{self, RenderError};
use crate::settings::{Distribution, Settings};
use crate::skipped::{self, Skipped};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Desired(#[from] desired::DesiredError),
    #[error("packaging the rule Lambdas")]
    Package(#[from] PackageError),
}

/// Everything a plan is made from.
#[derive(Debug)]
pub struct Prepared {
    pub admin_account: String,
    pub org: Organization,
    pub desired: Desired,
    pub observed: Observed,
    pub artifacts: BTreeMap<String, Artifact>,
    pub changes: Vec<Change>,
    /// Targeted accounts left out of this run, and why.
    pub skipped: Vec<Skipped>,
}

impl Prepared {
    /// Identifies what was observed: a saved plan applies only to the same state.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(&(&self.org, &self.observed)).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// Reads AWS (never writes) and plans. `package` is `None` for destroy, which wants nothing.
pub async fn prepare(
    aws: &Aws,
    settings: &Settings,
    package_source: Option<&Source>,
) -> Result<Prepared, WorkflowError> {
    let caller = aws.caller().await?;
    let admin_account = caller.account.clone();
    let org = aws::orgs::organization(aws).await?;
    let mut left_out = Vec::new();
    let (desired, artifacts) = match package_source {
        Some(source) => {
            let binaries = desired::binaries(settings);
            let packages: BTreeSet<String> = settings.rules.keys().cloned().collect();
            let artifacts = package::package(source, &packages, &binaries)?;
            let code_keys = artifacts
                .iter()
                .map(|(b, a)| (b.clone(), a.key.clone()))
                .collect();
            let templates = render::render(settings)?;
            let wanted = |settings: &Settings| {
                desired::desired(Inputs {
                    settings,
                    templates: &templates,
                    org: &org,
                    admin_account: &admin_account,
                    deployer_arn: &caller.arn,
                    code_keys: &code_keys,
                })
            };
            let mut desired = wanted(settings)?;
            left_out = skipped::inactive(settings, &org);
            // Each account holds its own code: an account the role cannot reach cannot get
            // it, so it is left out rather than failing (or stopping) the others.
            if settings.artifacts.distribution == Distribution::PerAccount {
                let accounts = desired
                    .artifacts
                    .iter()
                    .map(|o| o.account.clone())
                    .collect();
                let unreachable =
                    skipped::unreachable(aws, settings, &org, &admin_account, &accounts).await;
                if !unreachable.is_empty() {
                    desired = wanted(&skipped::without(settings, &unreachable))?;
                    left_out.extend(unreachable);
                }
            }
            (desired, artifacts)
        }
        None => (Desired::default(), BTreeMap::new()),
    };
    let observed = Observed {
        stack_sets: aws::stacksets::observe(
            &aws.cloudformation(),
            STACK_SET_PREFIX,
            aws::stacksets::Caller {
                delegated_admin: settings.organization.delegated_admin,
            },
        )
        .await?,
        artifacts: present_artifacts(aws, settings, &admin_account, &desired.artifacts).await?,
        org_packs: aws::org_packs::observe(
            aws,
            &settings.organization.regions,
            STACK_SET_PREFIX,
            !desired.org_packs.is_empty(),
        )
        .await?,
    };
    let changes = plan::plan(&desired, &observed);
    Ok(Prepared {
        admin_account,
        org,
        desired,
        observed,
        artifacts,
        changes,
        skipped: left_out,
    })
}

/// The wanted artifacts that already exist (content-addressed: present means current).
async fn present_artifacts(
    aws: &Aws,
    settings: &Settings,
    admin_account: &str,
    wanted: &BTreeSet<ArtifactObject>,
) -> Result<BTreeSet<ArtifactObject>, AwsError> {
    const AT_ONCE: usize = 8;
    let role = &settings.organization.role_name;
    let per_account = settings.artifacts.distribution == Distribution::PerAccount;
    let mut present = BTreeSet::new();
    let all: Vec<&ArtifactObject> = wanted.iter().collect();
    for chunk in all.chunks(AT_ONCE) {
        let mut reads = JoinSet::new();
        for object in chunk {
            let aws = if per_account {
                aws.member(&object.account, admin_account, role).await
            } else {
                aws.clone()
            };
            let object = (*object).clone();
            reads.spawn(async move {
                let found =
                    aws::s3::exists(&aws, &object.region, &object.bucket, &object.key).await?;
                Ok::<_, AwsError>(found.then_some(object))
            });
        }
        while let Some(joined) = reads.join_next().await {
            let found = joined.map_err(|e| AwsError {
                message: format!("checking artifacts: {e}"),
                code: None,
            })??;
            present.extend(found);
        }
    }
    Ok(present)
}
