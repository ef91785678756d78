//! The names Custos gives what it deploys and owns: stack set prefix, ownership tag, template
//! parameters and artifact bucket names. Pure; shared by settings (length checks), render and
//! desired, so none of them needs another for a name.

/// Every Custos stack set's name starts with this. The name alone proves nothing: a stack set
/// is this deployment's only when it carries `OWNERSHIP_TAG` with the deployment's id.
pub const STACK_SET_PREFIX: &str = "custos-";
/// The tag (on stack sets, buckets and log groups) that says which deployment owns an object.
pub const OWNERSHIP_TAG: &str = "custos:managed";
/// The CloudFormation parameter that carries the deployment's id into templates (tags).
pub const DEPLOYMENT_PARAMETER: &str = "DeploymentId";
/// The CloudFormation parameter that carries the artifact buckets' random part.
pub const BUCKET_SUFFIX_PARAMETER: &str = "ArtifactBucketSuffix";
/// Length of the random part of artifact bucket names (hex: 48 bits).
pub const BUCKET_SUFFIX_LENGTH: usize = 12;

/// The artifact bucket of `account` in `region`: the deployment's random `suffix` makes the
/// name one nobody else can claim first.
pub fn bucket_name(prefix: &str, account: &str, region: &str, suffix: &str) -> String {
    format!("{prefix}-{account}-{region}-{suffix}")
}

/// The length of an artifact bucket's name in `region`.
pub fn bucket_name_length(prefix: &str, region: &str) -> usize {
    bucket_name(
        prefix,
        "000000000000",
        region,
        &"0".repeat(BUCKET_SUFFIX_LENGTH),
    )
    .len()
}

/// Whether `text` can be a bucket suffix (as this deployer makes them).
pub fn is_bucket_suffix(text: &str) -> bool {
    text.len() == BUCKET_SUFFIX_LENGTH && text.chars().all(|c| c.is_ascii_hexdigit())
}
