use std::path::Path;

use super::*;
use crate::catalog::Catalog;
use crate::org::fixture;

/// The fixture `deployer.toml`, as written.
fn fixture_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deployer.toml"))
        .unwrap()
}

fn settings(text: Option<&str>) -> Settings {
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = text.map_or_else(fixture_text, str::to_owned);
    Settings::parse(Path::new("deployer.toml"), &text, &catalog).unwrap()
}

fn code_keys(settings: &Settings) -> BTreeMap<String, String> {
    binaries(settings)
        .into_iter()
        .map(|b| {
            let key = format!("lambda/{b}/{}.zip", "0".repeat(64));
            (b, key)
        })
        .collect()
}

fn desired_for(settings: &Settings) -> Result<Desired, DesiredError> {
    let templates = render::render(settings).unwrap();
    desired(Inputs {
        settings,
        templates: &templates,
        org: &fixture::organization(),
        admin_account: "111111111111",
        deployer_arn: "arn:aws:sts::111111111111:assumed-role/custos-deployer/ci",
        code_keys: &code_keys(settings),
        deployment_id: "111111111111",
        bucket_suffix: "0123456789ab",
    })
}

#[test]
fn the_example_organisation() {
    let settings = settings(None);
    let desired = desired_for(&settings).unwrap();
    let summary: BTreeMap<&str, String> = desired
        .stack_sets
        .iter()
        .map(|(name, s)| {
            let accounts: BTreeSet<&str> = s.instances.keys().map(|k| k.account.as_str()).collect();
            let line = format!(
                "{:?} {} instances over {}",
                s.permission_model,
                s.instances.len(),
                accounts.into_iter().collect::<Vec<_>>().join(",")
            );
            (name.as_str(), line)
        })
        .collect();
    insta::assert_yaml_snapshot!(summary);
    let baseline = &desired.stack_sets["custos-rule-ec2-instance-baseline"];
    insta::assert_yaml_snapshot!("baseline-parameters", baseline.parameters);
    let prod = &baseline.instances[&InstanceKey {
        account: "333333333333".into(),
        region: "eu-west-1".into(),
    }];
    assert_eq!(prod.ou.as_deref(), Some("ou-work"));
    assert_eq!(
        prod.overrides,
        BTreeMap::from([(
            "ParamAdminSecurityGroupId".into(),
            "sg-0fedcba9876543210".into()
        )])
    );
    // Six rules, one with a remediation Lambda: one object per binary and region.
    assert_eq!(desired.artifacts.len(), 7 * 2);
}

#[test]
fn per_account_artifacts_go_to_every_target_account() {
    let text = fixture_text().replace(
        "distribution = \"central\"",
        "distribution = \"per-account\"",
    );
    let desired = desired_for(&settings(Some(&text))).unwrap();
    let accounts: BTreeSet<&str> = desired
        .artifacts
        .iter()
        .map(|a| a.account.as_str())
        .collect();
    assert_eq!(
        accounts.into_iter().collect::<Vec<_>>(),
        [
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444"
        ]
    );
    assert!(!desired.stack_sets.contains_key("custos-artifacts"));
}

#[test]
fn an_ou_missing_from_the_organisation_is_reported_where_it_is_named() {
    let text = fixture_text().replace("\"Workloads\", \"Sandbox\"", "\"Workloads\", \"Sandbx\"");
    let err = desired_for(&settings(Some(&text))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "deployer.toml:13:28: no OU `Sandbx` in the organisation"
    );
}

#[test]
fn excluded_accounts_and_the_management_account_get_no_ou_instances() {
    let text = fixture_text().replace(
        "exclude-accounts = []",
        "exclude-accounts = [\"444444444444\"]",
    );
    let desired = desired_for(&settings(Some(&text))).unwrap();
    let base = &desired.stack_sets["custos-base"];
    assert!(base.instances.keys().all(|k| k.account != "444444444444"));
    assert!(base.instances.keys().all(|k| k.account != "111111111111"));
    let accounts = &desired.stack_sets["custos-base-accounts"];
    assert!(
        accounts
            .instances
            .keys()
            .all(|k| k.account == "111111111111")
    );
}

/// The fixture with `baseline` deployed organisation-wide, `444444444444` excluded and the
/// management account left out; `remediation` says whether its managed rule has one.
fn organisation_pack_settings(remediation: bool) -> Settings {
    let text = fixture_text()
        .replace(
            "exclude-accounts = []",
            "exclude-accounts = [\"444444444444\"]",
        )
        .replace(
            "include-management-account = true",
            "include-management-account = false",
        )
        .replace(
            "[packs.baseline]",
            "[packs.baseline]\ndeployment = \"organization\"",
        );
    let mut settings = settings(Some(&text));
    let mut pack = "[[managed]]\nname = \"s3-bucket-versioning-enabled\"\nidentifier = \"S3_BUCKET_VERSIONING_ENABLED\"\n".to_owned();
    if remediation {
        pack.push_str(
            "[managed.remediation]\ndocument = \"AWS-ConfigureS3BucketVersioning\"\nactions = [\"s3:PutBucketVersioning\"]\n",
        );
    }
    settings.packs.get_mut("baseline").unwrap().definition =
        crate::packs::Definition::parse(Path::new("baseline.toml"), &pack).unwrap();
    settings
}

#[test]
fn an_organisation_pack_excludes_every_account_not_targeted_and_its_stack_holds_the_role() {
    let desired = desired_for(&organisation_pack_settings(true)).unwrap();
    let pack = &desired.org_packs["custos-baseline"];
    assert_eq!(
        pack.excluded_accounts,
        BTreeSet::from(["111111111111".to_owned(), "444444444444".to_owned()])
    );
    assert_eq!(
        pack.regions,
        BTreeSet::from(["eu-west-1".to_owned(), "us-east-1".to_owned()])
    );
    assert_eq!(pack.template_hash.len(), 64);
    assert!(pack.body.contains("CustosTemplateHash"));
    // The role goes where the pack goes: every targeted account and region.
    let roles = &desired.stack_sets["custos-pack-baseline"];
    let accounts: BTreeSet<&str> = roles.instances.keys().map(|k| k.account.as_str()).collect();
    assert_eq!(accounts, BTreeSet::from(["222222222222", "333333333333"]));
    assert!(!roles.body.contains("AWS::Config::ConformancePack"));
}

#[test]
fn an_organisation_pack_without_remediation_needs_no_stack_set() {
    let desired = desired_for(&organisation_pack_settings(false)).unwrap();
    assert!(desired.org_packs.contains_key("custos-baseline"));
    assert!(
        desired
            .stack_sets
            .keys()
            .all(|n| !n.starts_with("custos-pack-")),
        "{:?}",
        desired.stack_sets.keys()
    );
}

#[test]
fn an_organisation_pack_that_would_exclude_over_a_thousand_accounts_is_refused() {
    let settings = organisation_pack_settings(false);
    let templates = render::render(&settings).unwrap();
    let mut org = fixture::organization();
    for i in 0..1000 {
        org.accounts.insert(
            format!("9{i:011}"),
            crate::org::Account {
                name: format!("outside-{i}"),
                parent: org.root_id.clone(),
                active: true,
                state: "ACTIVE".into(),
            },
        );
    }
    let error = desired(Inputs {
        settings: &settings,
        templates: &templates,
        org: &org,
        admin_account: "111111111111",
        deployer_arn: "arn:aws:sts::111111111111:assumed-role/custos-deployer/ci",
        code_keys: &code_keys(&settings),
        deployment_id: "111111111111",
        bucket_suffix: "0123456789ab",
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "conformance pack custos-baseline: deployed organisation-wide it would exclude 1002 \
         accounts that are not targeted; Config excludes at most 1000 (deploy it per account: \
         deployment = \"account\")"
    );
}
