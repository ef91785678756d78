//! Suspended accounts, as Organizations documents them: the emulator cannot suspend an
//! account, so `ListAccountsForParent` is mocked with AWS's response shape (`State` and the
//! older `Status` field, `SUSPENDED`).

use std::path::Path;

use aws_credential_types::Credentials;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
use aws_sdk_organizations::types::{
    Account as OrgAccount, AccountState, AccountStatus, Organization as OrgDescription,
    OrganizationalUnit, Root,
};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};

use super::*;
use crate::catalog::Catalog;
use crate::desired::{self, Inputs};

const MANAGEMENT: &str = "111111111111";
const ACTIVE: &str = "222222222222";
const SUSPENDED: &str = "333333333333";
const SUSPENDED_OLD_FIELD: &str = "444444444444";
const LISTED_SUSPENDED: &str = "555555555555";

fn account(id: &str, name: &str, state: Option<AccountState>) -> OrgAccount {
    let status = match state {
        Some(AccountState::Suspended) | None => AccountStatus::Suspended,
        _ => AccountStatus::Active,
    };
    OrgAccount::builder()
        .id(id)
        .name(name)
        .arn(format!(
            "arn:aws:organizations::{MANAGEMENT}:account/o-exampleorg1/{id}"
        ))
        .email(format!("{name}@example.com"))
        .status(status)
        .set_state(state)
        .build()
}

/// Root > Workloads with one active and two suspended accounts (one reported with `State`,
/// one with the older `Status` only); a suspended account and the management account at the
/// root.
async fn suspended_organisation() -> Organization {
    let describe = mock!(Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                OrgDescription::builder()
                    .id("o-exampleorg1")
                    .master_account_id(MANAGEMENT)
                    .build(),
            )
            .build()
    });
    let roots = mock!(Client::list_roots).then_output(|| {
        ListRootsOutput::builder()
            .roots(Root::builder().id("r-root").build())
            .build()
    });
    let root_ous = mock!(Client::list_organizational_units_for_parent)
        .match_requests(|r| r.parent_id() == Some("r-root"))
        .then_output(|| {
            ListOrganizationalUnitsForParentOutput::builder()
                .organizational_units(
                    OrganizationalUnit::builder()
                        .id("ou-work")
                        .name("Workloads")
                        .build(),
                )
                .build()
        });
    let no_ous = mock!(Client::list_organizational_units_for_parent)
        .match_requests(|r| r.parent_id() == Some("ou-work"))
        .then_output(|| ListOrganizationalUnitsForParentOutput::builder().build());
    let root_accounts = mock!(Client::list_accounts_for_parent)
        .match_requests(|r| r.parent_id() == Some("r-root"))
        .then_output(|| {
            ListAccountsForParentOutput::builder()
                .accounts(account(
                    MANAGEMENT,
                    "management",
                    Some(AccountState::Active),
                ))
                .accounts(account(
                    LISTED_SUSPENDED,
                    "listed",
                    Some(AccountState::Suspended),
                ))
                .build()
        });
    let ou_accounts = mock!(Client::list_accounts_for_parent)
        .match_requests(|r| r.parent_id() == Some("ou-work"))
        .then_output(|| {
            ListAccountsForParentOutput::builder()
                .accounts(account(ACTIVE, "dev", Some(AccountState::Active)))
                .accounts(account(SUSPENDED, "old", Some(AccountState::Suspended)))
                .accounts(account(SUSPENDED_OLD_FIELD, "older", None))
                .build()
        });
    let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in [
        &describe,
        &roots,
        &root_ous,
        &no_ous,
        &root_accounts,
        &ou_accounts,
    ] {
        mocks = mocks.with_rule(rule);
    }
    let conf = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(mocks)
        .build();
    let client = Client::from_conf(conf);
    crate::aws::orgs::read(&client).await.unwrap()
}

fn settings() -> Settings {
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = format!(
        r#"
[organization]
role-name = "OrganizationAccountAccessRole"
regions = ["us-east-1"]
target-ous = ["Workloads"]
accounts = ["{LISTED_SUSPENDED}"]

[artifacts]
distribution = "per-account"

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}
"#
    );
    Settings::parse(Path::new("deployer.toml"), &text, &catalog).unwrap()
}

#[tokio::test]
async fn suspended_accounts_are_read_as_inactive_with_their_state() {
    let org = suspended_organisation().await;
    let state = |id: &str| (org.accounts[id].active, org.accounts[id].state.as_str());
    assert_eq!(state(ACTIVE), (true, "ACTIVE"));
    assert_eq!(state(SUSPENDED), (false, "SUSPENDED"));
    assert_eq!(state(SUSPENDED_OLD_FIELD), (false, "SUSPENDED"));
}

#[tokio::test]
async fn suspended_targets_are_reported_and_get_nothing_while_the_others_are_deployed() {
    let org = suspended_organisation().await;
    let settings = settings();

    let skipped = inactive(&settings, &org, &BTreeSet::new());
    let ids: Vec<&str> = skipped.iter().map(|s| s.account.as_str()).collect();
    assert_eq!(ids, [SUSPENDED, SUSPENDED_OLD_FIELD, LISTED_SUSPENDED]);
    assert_eq!(
        lines(&skipped)[0],
        format!("account {SUSPENDED} (old): SUSPENDED in the organisation, left as is")
    );

    // A suspended account listed by id is no configuration error: it is skipped like the rest.
    let templates = crate::render::render(&settings).unwrap();
    let code_keys = desired::binaries(&settings)
        .into_iter()
        .map(|b| (b.clone(), format!("lambda/{b}/{}.zip", "0".repeat(64))))
        .collect();
    let wanted = desired::desired(Inputs {
        settings: &settings,
        templates: &templates,
        org: &org,
        admin_account: MANAGEMENT,
        deployer_arn: "arn:aws:sts::111111111111:assumed-role/custos-deployer/ci",
        code_keys: &code_keys,
        deployment_id: MANAGEMENT,
        bucket_suffix: "0123456789ab",
    })
    .unwrap();
    let deployed_to: BTreeSet<&str> = wanted
        .stack_sets
        .values()
        .flat_map(|s| s.instances.keys())
        .map(|k| k.account.as_str())
        .chain(wanted.artifacts.iter().map(|o| o.account.as_str()))
        .filter(|a| *a != MANAGEMENT)
        .collect();
    assert_eq!(deployed_to, BTreeSet::from([ACTIVE]));
}

#[tokio::test]
async fn a_suspended_account_no_longer_targeted_but_holding_instances_is_left_as_is() {
    let org = suspended_organisation().await;
    let mut settings = settings();
    settings.organization.accounts.clear();
    settings
        .organization
        .exclude_accounts
        .insert(SUSPENDED.to_owned());
    let holding = BTreeSet::from([LISTED_SUSPENDED.to_owned(), SUSPENDED.to_owned()]);
    let ids: Vec<String> = inactive(&settings, &org, &holding)
        .into_iter()
        .map(|s| s.account)
        .collect();
    assert_eq!(ids, [SUSPENDED, SUSPENDED_OLD_FIELD, LISTED_SUSPENDED]);
}

#[test]
fn an_account_left_as_is_keeps_its_ou_from_being_targeted_whole() {
    let org = crate::org::fixture::organization();
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = r#"
[organization]
role-name = "OrganizationAccountAccessRole"
regions = ["us-east-1"]
target-ous = ["Workloads"]

[rules.s3-bucket-encryption]
parameters = { sseAlgorithm = "AES256" }
"#;
    let settings = Settings::parse(Path::new("deployer.toml"), text, &catalog).unwrap();
    let templates = crate::render::render(&settings).unwrap();
    let mut wanted = desired::desired(Inputs {
        settings: &settings,
        templates: &templates,
        org: &org,
        admin_account: "111111111111",
        deployer_arn: "arn:aws:sts::111111111111:assumed-role/custos-deployer/ci",
        code_keys: &desired::binaries(&settings)
            .into_iter()
            .map(|b| (b.clone(), format!("lambda/{b}/x.zip")))
            .collect(),
        deployment_id: "111111111111",
        bucket_suffix: "0123456789ab",
    })
    .unwrap();
    desired::leave_as_is(
        &mut wanted,
        &BTreeSet::from(["333333333333".to_owned()]),
        &org,
    );

    // Nothing is created in the account left as is, and the OU that holds it is never
    // targeted whole (that would reach it): its other accounts are named.
    let changes = crate::plan::plan(&wanted, &crate::observed::Observed::default());
    let creates: Vec<&crate::plan::InstanceChange> = changes
        .iter()
        .filter_map(|c| match c {
            crate::plan::Change::CreateInstances(c) if !c.stack_set.ends_with("artifacts") => {
                Some(c)
            }
            _ => None,
        })
        .collect();
    assert!(!creates.is_empty());
    for create in creates {
        assert_eq!(
            create.ous,
            BTreeSet::from(["ou-work".to_owned()]),
            "{create:?}"
        );
        assert_eq!(create.accounts, BTreeSet::from(["222222222222".to_owned()]));
        assert_eq!(
            create.filter,
            Some(crate::plan::AccountFilter::Intersection)
        );
    }
}
