//! A conformance pack deployed organisation-wide, driven through the deployer's command line:
//! `PutOrganizationConformancePack` in each region from the management account, with every
//! account the settings do not target excluded, and the role its remediations run as created in
//! every targeted account and region. A second `apply` writes nothing, a changed pack is put
//! again once per region, and `destroy` deletes it.
//!
//! The emulator keeps organisation packs as metadata only (no rules appear in the members), so
//! what is checked here is what the deployer asked of Config; member-side outcomes (failures per
//! account) are covered against AWS's documented responses in the deployer's unit tests.

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use sha2::{Digest, Sha256};
use workspace_tests::emulator::Emulator;
use workspace_tests::org::{ACCESS_ROLE, Organization};

use crate::deployer::{Deployer, deployer_for, writes};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn settings(excluded: &str) -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["us-east-1", "eu-west-1"]
target-ous = ["Workloads"]
exclude-accounts = ["{excluded}"]

[artifacts]
distribution = "per-account"

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}

[packs.baseline]
deployment = "organization"
rules = ["s3-bucket-encryption"]
"#
    )
}

pub(crate) const PACK: &str = r#"
[[managed]]
name = "s3-bucket-versioning-enabled"
identifier = "S3_BUCKET_VERSIONING_ENABLED"
resource-types = ["AWS::S3::Bucket"]

[managed.remediation]
document = "AWS-ConfigureS3BucketVersioning"
actions = ["s3:PutBucketVersioning", "s3:GetBucketVersioning"]
parameters = { BucketName = { resource-value = "RESOURCE_ID" }, VersioningState = { static = ["Enabled"] } }
"#;

const MORE: &str = r#"
[[managed]]
name = "restricted-ssh"
identifier = "INCOMING_SSH_DISABLED"
resource-types = ["AWS::EC2::SecurityGroup"]
"#;

fn write_pack(deployer: &Deployer, text: &str) {
    let dir = deployer.dir.path().join("conformance-packs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("baseline.toml"), text).unwrap();
}

/// The SHA-256 of the pack template the deployer renders now.
fn rendered_hash(deployer: &Deployer) -> String {
    let out = deployer.dir.path().join("rendered");
    let status = deployer
        .command()
        .args(["render", "--out", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let body = std::fs::read(out.join("conformance-pack-custos-baseline.yaml")).unwrap();
    hex::encode(Sha256::digest(body))
}

/// The organisation pack `custos-baseline` as the management account's Config reports it in
/// `region`: its fingerprint parameter and excluded accounts.
async fn org_pack(config: &SdkConfig, region: &str) -> Option<(String, BTreeSet<String>)> {
    let client = aws_sdk_config::Client::from_conf(
        aws_sdk_config::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_owned()))
            .build(),
    );
    let out = client
        .describe_organization_conformance_packs()
        .send()
        .await
        .unwrap();
    out.organization_conformance_packs()
        .iter()
        .find(|p| p.organization_conformance_pack_name() == "custos-baseline")
        .map(|p| {
            let hash = p
                .conformance_pack_input_parameters()
                .iter()
                .find(|i| i.parameter_name() == "CustosTemplateHash")
                .map(|i| i.parameter_value().to_owned())
                .unwrap_or_default();
            (hash, p.excluded_accounts().iter().cloned().collect())
        })
}

async fn has_role(org: &Organization, account: &str, role: &str) -> bool {
    let config = org.assume_role(account, ACCESS_ROLE).await.unwrap();
    aws_sdk_iam::Client::new(&config)
        .get_role()
        .role_name(role)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_pack_is_put_per_region_excluding_every_account_not_targeted() {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let sandbox = org.create_ou(&org.root_id, "Sandbox").await.unwrap();
    let mut targeted = Vec::new();
    for name in ["workload-0", "workload-1"] {
        let account = org.create_member(name).await.unwrap();
        org.move_account(&account.id, &workloads).await.unwrap();
        targeted.push(account.id);
    }
    let excluded = org.create_member("workload-excluded").await.unwrap();
    org.move_account(&excluded.id, &workloads).await.unwrap();
    let outside = org.create_member("sandbox-0").await.unwrap();
    org.move_account(&outside.id, &sandbox).await.unwrap();
    org.enable_stacksets_trusted_access().await.unwrap();

    let deployer = deployer_for(&emulator, &org).await;
    deployer.write_settings(&settings(&excluded.id));
    write_pack(&deployer, PACK);

    let first = deployer.apply();
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let expected_exclusions = BTreeSet::from([
        org.management_account_id.clone(),
        excluded.id.clone(),
        outside.id.clone(),
    ]);
    let hash = rendered_hash(&deployer);
    for region in REGIONS {
        let (put_hash, exclusions) = org_pack(org.management_config(), region)
            .await
            .unwrap_or_else(|| panic!("no organisation pack in {region}"));
        assert_eq!(put_hash, hash, "{region}");
        assert_eq!(exclusions, expected_exclusions, "{region}");
        // The role the pack's remediations run as: in every targeted account, nowhere else.
        let role = format!("custos-baseline-ssm-{region}");
        for account in &targeted {
            assert!(has_role(&org, account, &role).await, "{account} {role}");
        }
        assert!(!has_role(&org, &excluded.id, &role).await);
        assert!(!has_role(&org, &outside.id, &role).await);
    }

    // Nothing changed: no write call.
    let again = deployer.apply();
    assert_eq!(again["status"], "no-changes", "{again:#}");
    assert_eq!(again["write_calls"], 0, "{:?}", writes(&again));

    // One more managed rule (no remediation, so the role is unchanged): one put per region.
    write_pack(&deployer, &format!("{PACK}{MORE}"));
    let changed = deployer.apply();
    assert_eq!(changed["status"], "succeeded", "{changed:#}");
    let puts: Vec<(String, u64)> = writes(&changed);
    assert_eq!(
        puts,
        [(
            "Config Service:PutOrganizationConformancePack".to_owned(),
            2
        )],
        "{changed:#}"
    );
    let new_hash = rendered_hash(&deployer);
    assert_ne!(new_hash, hash);
    for region in REGIONS {
        assert_eq!(
            org_pack(org.management_config(), region).await.unwrap().0,
            new_hash
        );
    }

    // Destroy deletes the pack in every region, and the roles with their stack set.
    let (code, destroyed) = deployer.run(&[
        "destroy",
        "--org",
        "--yes",
        "--allow-delete",
        "--allow-mass-delete",
    ]);
    assert_eq!(code, 0, "{destroyed:#}");
    for region in REGIONS {
        assert_eq!(
            org_pack(org.management_config(), region).await,
            None,
            "{region}"
        );
        let role = format!("custos-baseline-ssm-{region}");
        assert!(!has_role(&org, &targeted[0], &role).await);
    }
}
