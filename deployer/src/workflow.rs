//! The read side of a run: who is calling, the organisation, the packaged code, what is wanted,
//! what this deployment has deployed (and what it does not own), what was changed by hand, which
//! accounts are left as they are, and the plan between them.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use crate::aws::{self, Aws, AwsError};
use crate::desired::{self, ArtifactObject, Desired, Inputs, InstanceKey};
use crate::digest::{Basis, Digests};
use crate::names::{self, BUCKET_SUFFIX_PARAMETER, STACK_SET_PREFIX};
use crate::observed::Observed;
use crate::org::Organization;
use crate::overrides::Record;
use crate::ownership::Claim;
use crate::package::{self, Artifact, PackageError, Source};
use crate::plan::{self, Change};
use crate::render::{self, RenderError, Template, TemplateId};
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
    /// The settings want a name that an object this deployment does not own holds.
    #[error("{0}")]
    NameTaken(String),
}

/// What a run deploys, made once per run: the packaged code and the rendered templates.
#[derive(Debug, Clone)]
pub struct Built {
    pub artifacts: BTreeMap<String, Artifact>,
    pub templates: BTreeMap<TemplateId, Template>,
}

/// Packages the rule Lambdas and renders the templates.
pub fn build(settings: &Settings, source: &Source) -> Result<Built, WorkflowError> {
    let binaries = desired::binaries(settings);
    let packages: BTreeSet<String> = settings.rules.keys().cloned().collect();
    Ok(Built {
        artifacts: package::package(source, &packages, &binaries)?,
        templates: render::render(settings)?,
    })
}

/// How a run reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Take over what an earlier Custos made (`--adopt`).
    pub adopt: bool,
    /// Read the rules and stacks back in the member accounts.
    pub drift: bool,
}

/// Everything a plan is made from.
#[derive(Debug)]
pub struct Prepared {
    pub admin_account: String,
    pub deployment_id: String,
    pub org: Organization,
    pub desired: Desired,
    pub observed: Observed,
    pub artifacts: BTreeMap<String, Artifact>,
    pub changes: Vec<Change>,
    /// Accounts left exactly as they are this run, and why.
    pub skipped: Vec<Skipped>,
    /// Digests of what the plan is made from.
    pub digests: Digests,
    /// The changes as a saved plan records them: `changes`, but for a deployment that has no
    /// artifact buckets yet, whose random name part is made at apply time.
    pub approval: Vec<Change>,
}

/// Stands for a bucket name part not made yet, in what a saved plan records.
const NEW_SUFFIX: &str = "new";

/// The random part of the deployment's bucket names, as its bucket stack sets keep it.
fn bucket_suffix(observed: &Observed) -> Option<String> {
    ["artifacts", "base", "base-accounts"]
        .iter()
        .filter_map(|stem| {
            observed
                .stack_sets
                .get(&format!("{STACK_SET_PREFIX}{stem}"))
        })
        .filter_map(|set| set.parameters.get(BUCKET_SUFFIX_PARAMETER))
        .find(|s| names::is_bucket_suffix(s))
        .cloned()
}

fn new_bucket_suffix() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    random[..names::BUCKET_SUFFIX_LENGTH].to_owned()
}

/// Reads AWS (never writes) and plans. `built` is `None` for destroy, which wants nothing.
pub async fn prepare(
    aws: &Aws,
    settings: &Settings,
    built: Option<&Built>,
    options: Options,
) -> Result<Prepared, WorkflowError> {
    prepare_holding(aws, settings, built, options, &BTreeSet::new()).await
}

/// As [`prepare`], leaving the accounts in `hold` exactly as they are (the later waves of a
/// rollout): planned like accounts that cannot be reached, without being reported as such.
pub async fn prepare_holding(
    aws: &Aws,
    settings: &Settings,
    built: Option<&Built>,
    options: Options,
    hold: &BTreeSet<String>,
) -> Result<Prepared, WorkflowError> {
    let caller = aws.caller().await?;
    let admin_account = caller.account.clone();
    let org = aws::orgs::organization(aws).await?;
    let deployment_id = settings.deployment_id(&org.management_account);
    let claim = Claim {
        deployment_id: deployment_id.clone(),
        adopt: options.adopt,
    };
    let mut observed = observe(
        aws,
        settings,
        built,
        &claim,
        options.drift && built.is_some(),
    )
    .await?;
    let existing_suffix = bucket_suffix(&observed);
    let fresh = existing_suffix.is_none();
    let suffix = existing_suffix.unwrap_or_else(new_bucket_suffix);
    let wanted = |suffix: &str| -> Result<Desired, WorkflowError> {
        let Some(built) = built else {
            return Ok(Desired::default());
        };
        let code_keys = built
            .artifacts
            .iter()
            .map(|(b, a)| (b.clone(), a.key.clone()))
            .collect();
        Ok(desired::desired(Inputs {
            settings,
            templates: &built.templates,
            org: &org,
            admin_account: &admin_account,
            deployer_arn: &caller.arn,
            code_keys: &code_keys,
            deployment_id: &deployment_id,
            bucket_suffix: suffix,
        })?)
    };
    let mut desired = wanted(&suffix)?;
    refuse_taken_names(&desired, &observed)?;

    let reader = Reader {
        aws,
        settings,
        org: &org,
        admin_account: &admin_account,
    };
    // Reading an existing deployment's member artifacts and drift proves each account reachable
    // (a failed read leaves it as is), so only a first deployment probes the role beforehand.
    let probe = fresh;
    let mut skipped = reader
        .left_as_is(
            &desired,
            &mut observed,
            built.is_some(),
            options.drift,
            probe,
        )
        .await;
    let mut frozen: BTreeSet<String> = skipped.iter().map(|s| s.account.clone()).collect();
    if !fresh {
        let (present, unreadable) = present_artifacts(&reader, &desired.artifacts, &frozen).await?;
        observed.artifacts = present;
        skipped.extend(unreadable);
        frozen = skipped.iter().map(|s| s.account.clone()).collect();
    }
    skipped::explain_unreadable(aws, settings, &org, &admin_account, &mut skipped).await;
    skipped.sort();
    skipped.dedup_by(|a, b| a.account == b.account);
    frozen.extend(hold.iter().cloned());
    desired::leave_as_is(&mut desired, &frozen, &org);
    let changes = plan::plan(&desired, &observed);
    let (digests, approval) = if fresh && built.is_some() {
        // What a saved plan approves is "a new random part", whatever it turns out to be.
        let mut recorded = wanted(NEW_SUFFIX)?;
        desired::leave_as_is(&mut recorded, &frozen, &org);
        let approval = plan::plan(&recorded, &observed);
        (digests(settings, &recorded, &observed, &org), approval)
    } else {
        (
            digests(settings, &desired, &observed, &org),
            changes.clone(),
        )
    };
    Ok(Prepared {
        admin_account,
        deployment_id,
        org,
        desired,
        observed,
        artifacts: built.map(|b| b.artifacts.clone()).unwrap_or_default(),
        changes,
        skipped,
        digests,
        approval,
    })
}

/// What reading member accounts needs.
struct Reader<'a> {
    aws: &'a Aws,
    settings: &'a Settings,
    org: &'a Organization,
    admin_account: &'a str,
}

impl Reader<'_> {
    /// The accounts to leave as they are: inactive ones, and (when deploying) those the role
    /// cannot reach (tried beforehand when `probe`) or read. Drift found in the others goes into
    /// `observed.drift`.
    async fn left_as_is(
        &self,
        desired: &Desired,
        observed: &mut Observed,
        deploying: bool,
        drift: bool,
        probe: bool,
    ) -> Vec<Skipped> {
        let Self {
            aws,
            settings,
            org,
            admin_account,
        } = *self;
        let holding: BTreeSet<String> = observed
            .stack_sets
            .values()
            .flat_map(|s| s.instances.keys().map(|k| k.account.clone()))
            .collect();
        let mut skipped = skipped::inactive(settings, org, &holding);
        if !deploying {
            return skipped;
        }
        // Each account holds its own code: one the role cannot reach cannot get it.
        if probe && settings.artifacts.distribution == Distribution::PerAccount {
            let accounts: BTreeSet<String> = desired
                .artifacts
                .iter()
                .map(|o| o.account.clone())
                .filter(|a| !skipped.iter().any(|s| s.account == *a))
                .collect();
            skipped
                .extend(skipped::unreachable(aws, settings, org, admin_account, &accounts).await);
        }
        if drift {
            let unreadable = read_drift(self, desired, observed, &skipped).await;
            skipped.extend(unreadable);
        }
        skipped
    }
}

fn digests(
    settings: &Settings,
    desired: &Desired,
    observed: &Observed,
    org: &Organization,
) -> Digests {
    Digests::new(Basis {
        settings_digest: &settings.source_digest,
        desired,
        observed,
        org,
    })
}

/// The deployment's stack sets and organisation packs, and the Custos-named ones it does not own.
async fn observe(
    aws: &Aws,
    settings: &Settings,
    built: Option<&Built>,
    claim: &Claim,
    drift: bool,
) -> Result<Observed, WorkflowError> {
    // The overrides Custos recorded stand in for reading every instance only where the drift
    // read would find an override set by hand (in the rule parameters it changes).
    let recorded = if drift {
        aws::overrides::read(&aws.dynamodb(), &claim.deployment_id)
            .await
            .unwrap_or_default()
    } else {
        Record::new()
    };
    let (stack_sets, mut foreign) = aws::stacksets::observe_with(
        &aws.cloudformation(),
        STACK_SET_PREFIX,
        aws::stacksets::Caller {
            delegated_admin: settings.organization.delegated_admin,
        },
        claim,
        &recorded,
    )
    .await?;
    let wants_packs = built.is_some_and(|b| b.templates.values().any(|t| t.organization_wide));
    let (org_packs, other_packs) = aws::org_packs::observe(
        aws,
        &settings.organization.regions,
        STACK_SET_PREFIX,
        wants_packs,
        claim,
    )
    .await?;
    foreign.extend(other_packs);
    foreign.sort();
    Ok(Observed {
        stack_sets,
        org_packs,
        foreign,
        ..Observed::default()
    })
}

/// An error when the settings want a name that an object of someone else holds.
fn refuse_taken_names(desired: &Desired, observed: &Observed) -> Result<(), WorkflowError> {
    let taken: Vec<String> = observed
        .foreign
        .iter()
        .filter(|f| match &f.region {
            Some(region) => desired
                .org_packs
                .get(&f.name)
                .is_some_and(|p| p.regions.contains(region)),
            None => desired.stack_sets.contains_key(&f.name),
        })
        .map(|f| {
            format!(
                "{} is wanted by deployer.toml but is not this deployment's: {}",
                f.what(),
                f.why()
            )
        })
        .collect();
    if taken.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::NameTaken(taken.join("\n")))
    }
}

/// Reads the Custos rules and stacks back in each account holding instances of the wanted
/// stack sets (not already left as is): what was changed by hand goes into `observed.drift`;
/// accounts that cannot be read are returned, to be left as they are.
async fn read_drift(
    reader: &Reader<'_>,
    desired: &Desired,
    observed: &mut Observed,
    skipped: &[Skipped],
) -> Vec<Skipped> {
    let Reader {
        aws,
        settings,
        org,
        admin_account,
    } = *reader;
    let left: BTreeSet<&str> = skipped.iter().map(|s| s.account.as_str()).collect();
    let mut wanted: BTreeMap<String, BTreeMap<String, aws::members::Wanted>> = BTreeMap::new();
    // Instances deployed as wanted and up to date: what they hold can be compared (one still
    // to be updated is updated anyway).
    let mut checked: Vec<(&String, &InstanceKey)> = Vec::new();
    for (name, found) in &observed.stack_sets {
        let Some(spec) = desired.stack_sets.get(name) else {
            continue;
        };
        for (key, instance) in &found.instances {
            if left.contains(key.account.as_str())
                || !spec.instances.contains_key(key)
                || instance.status != "CURRENT"
            {
                continue;
            }
            checked.push((name, key));
            let what = wanted
                .entry(key.account.clone())
                .or_default()
                .entry(key.region.clone())
                .or_default();
            if let Some(rule) = &spec.config_rule {
                what.rules.push(rule.name.clone());
                if rule.remediation.is_some() {
                    what.remediated.push(rule.name.clone());
                }
            }
        }
    }
    for regions in wanted.values_mut() {
        for what in regions.values_mut() {
            what.rules.sort();
            what.rules.dedup();
            what.remediated.sort();
            what.remediated.dedup();
        }
    }
    let role = &settings.organization.role_name;
    let views = aws::members::read_all(aws, admin_account, role, &wanted).await;
    let mut unreadable = Vec::new();
    let mut drift: BTreeMap<String, BTreeMap<InstanceKey, Vec<String>>> = BTreeMap::new();
    for (name, key) in checked {
        let Some(view) = views
            .get(&key.account)
            .and_then(|v| v.as_ref().ok())
            .and_then(|v| v.get(&key.region))
        else {
            continue;
        };
        let findings = crate::drift::findings(
            &desired.stack_sets[name],
            &observed.stack_sets[name],
            key,
            view,
        );
        if !findings.is_empty() {
            drift
                .entry(name.clone())
                .or_default()
                .insert(key.clone(), findings);
        }
    }
    for (account, result) in views {
        if let Err(e) = result {
            unreadable.push(skipped::unreadable(org, &account, role, e.brief()));
        }
    }
    observed.drift = drift;
    unreadable
}

/// The wanted artifacts that already exist (content-addressed: present means current), and,
/// with per-account artifacts, the accounts whose buckets could not be read (left as is).
/// Accounts already left as they are (`frozen`) are not read.
async fn present_artifacts(
    reader: &Reader<'_>,
    wanted: &BTreeSet<ArtifactObject>,
    frozen: &BTreeSet<String>,
) -> Result<(BTreeSet<ArtifactObject>, Vec<Skipped>), AwsError> {
    const AT_ONCE: usize = 8;
    let Reader {
        aws,
        settings,
        org,
        admin_account,
    } = *reader;
    let role = &settings.organization.role_name;
    let per_account = settings.artifacts.distribution == Distribution::PerAccount;
    let mut present = BTreeSet::new();
    let mut unreadable: BTreeMap<String, String> = BTreeMap::new();
    let all: Vec<&ArtifactObject> = wanted
        .iter()
        .filter(|o| !frozen.contains(&o.account))
        .collect();
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
                let found = aws::s3::exists(
                    &aws,
                    &object.region,
                    &object.bucket,
                    &object.account,
                    &object.key,
                )
                .await;
                (object, found)
            });
        }
        while let Some(joined) = reads.join_next().await {
            let (object, found) = joined.map_err(|e| AwsError {
                message: format!("checking artifacts: {e}"),
                code: None,
            })?;
            match found {
                Ok(true) => {
                    present.insert(object);
                }
                Ok(false) => {}
                // A member's bucket that cannot be read: that account is left as it is.
                Err(e) if per_account && object.account != admin_account => {
                    unreadable
                        .entry(object.account.clone())
                        .or_insert(e.message);
                }
                Err(e) => return Err(e),
            }
        }
    }
    let unreadable = unreadable
        .into_iter()
        .map(|(account, e)| skipped::unreadable(org, &account, role, &e))
        .collect();
    Ok((present, unreadable))
}
