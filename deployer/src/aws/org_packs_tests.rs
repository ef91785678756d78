//! Organisation packs against AWS's documented responses: the emulator keeps them as metadata,
//! always reports CREATE_SUCCESSFUL and never fails in a member account.

use std::time::Duration;

use aws_sdk_config::operation::delete_organization_conformance_pack::{
    DeleteOrganizationConformancePackError, DeleteOrganizationConformancePackOutput,
};
use aws_sdk_config::operation::describe_organization_conformance_pack_statuses::{
    DescribeOrganizationConformancePackStatusesError,
    DescribeOrganizationConformancePackStatusesOutput,
};
use aws_sdk_config::operation::describe_organization_conformance_packs::{
    DescribeOrganizationConformancePacksError, DescribeOrganizationConformancePacksOutput,
};
use aws_sdk_config::operation::get_organization_conformance_pack_detailed_status::GetOrganizationConformancePackDetailedStatusOutput;
use aws_sdk_config::operation::put_organization_conformance_pack::PutOrganizationConformancePackOutput;
use aws_sdk_config::types::error::{
    NoSuchOrganizationConformancePackException, OrganizationAccessDeniedException,
};
use aws_sdk_config::types::{
    OrganizationConformancePack, OrganizationConformancePackDetailedStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::ErrorMetadata;

use super::*;
use crate::packs::organization::template_hash;

fn fast() -> Polling {
    Polling {
        first: Duration::from_millis(1),
        longest: Duration::from_millis(2),
        give_up_after: Duration::from_secs(5),
    }
}

fn claim() -> Claim {
    Claim {
        deployment_id: "111111111111".into(),
        adopt: false,
    }
}

fn pack(name: &str, hash: Option<&str>, excluded: &[&str]) -> OrganizationConformancePack {
    owned_pack(name, hash, None, excluded)
}

fn owned_pack(
    name: &str,
    hash: Option<&str>,
    owner: Option<&str>,
    excluded: &[&str],
) -> OrganizationConformancePack {
    let mut builder = OrganizationConformancePack::builder()
        .organization_conformance_pack_name(name)
        .organization_conformance_pack_arn(format!(
            "arn:aws:config:eu-west-1:111111111111:organization-conformance-pack/{name}-abcd1234"
        ))
        .set_excluded_accounts(Some(excluded.iter().map(|a| (*a).to_owned()).collect()))
        .last_update_time(DateTime::from_secs(1_700_000_000));
    if let Some(hash) = hash {
        builder = builder.conformance_pack_input_parameters(
            ConformancePackInputParameter::builder()
                .parameter_name(TEMPLATE_HASH_PARAMETER)
                .parameter_value(hash)
                .build()
                .unwrap(),
        );
    }
    if let Some(owner) = owner {
        builder = builder.conformance_pack_input_parameters(
            ConformancePackInputParameter::builder()
                .parameter_name(DEPLOYMENT_PARAMETER)
                .parameter_value(owner)
                .build()
                .unwrap(),
        );
    }
    builder.build().unwrap()
}

fn status(name: &str, status: OrganizationResourceStatus) -> OrganizationConformancePackStatus {
    OrganizationConformancePackStatus::builder()
        .organization_conformance_pack_name(name)
        .status(status)
        .build()
        .unwrap()
}

fn spec() -> OrgPackSpec {
    let body = "Resources: {}\n";
    OrgPackSpec {
        name: "custos-baseline".into(),
        body: body.into(),
        template_hash: template_hash(body),
        excluded_accounts: BTreeSet::from(["555555555555".to_owned(), "666666666666".to_owned()]),
        regions: BTreeSet::from(["eu-west-1".to_owned()]),
        deployment: "111111111111".into(),
    }
}

#[tokio::test]
async fn observing_reads_every_page_keeps_custos_packs_and_their_fingerprint() {
    let pages = mock!(Client::describe_organization_conformance_packs)
        .sequence()
        .output(|| {
            DescribeOrganizationConformancePacksOutput::builder()
                .organization_conformance_packs(pack(
                    "custos-baseline",
                    Some("h1"),
                    &["555555555555"],
                ))
                .organization_conformance_packs(pack("security-team-pack", None, &[]))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeOrganizationConformancePacksOutput::builder()
                .organization_conformance_packs(pack("custos-extra", None, &[]))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&pages]);

    let found = observe_region(&client, "custos-").await.unwrap();

    assert_eq!(pages.num_calls(), 2);
    assert_eq!(
        found,
        BTreeMap::from([
            (
                "custos-baseline".to_owned(),
                ObservedOrgPack {
                    template_hash: Some("h1".into()),
                    excluded_accounts: BTreeSet::from(["555555555555".to_owned()]),
                    deployment: None,
                }
            ),
            ("custos-extra".to_owned(), ObservedOrgPack::default()),
        ])
    );
}

fn denied() -> DescribeOrganizationConformancePacksError {
    DescribeOrganizationConformancePacksError::OrganizationAccessDeniedException(
        OrganizationAccessDeniedException::builder()
            .message("This action can only be performed if you are a registered delegated administrator for AWS Config with permissions to call ListDelegatedAdministrators API.")
            .meta(
                ErrorMetadata::builder()
                    .code("OrganizationAccessDeniedException")
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn a_caller_that_may_not_manage_organisation_packs_is_refused_only_when_it_needs_to() {
    let rule = mock!(Client::describe_organization_conformance_packs).then_error(denied);
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rule]);
    let regions = ["eu-west-1".to_owned(), "us-east-1".to_owned()];

    // No pack of the settings is organisation-wide: nothing of Custos's can be there to remove.
    let none = observe_with(|_| client.clone(), &regions, "custos-", false, &claim()).await;
    assert_eq!(none.unwrap(), (BTreeMap::new(), Vec::new()));

    let error = observe_with(|_| client.clone(), &regions, "custos-", true, &claim())
        .await
        .unwrap_err();
    assert!(error.is("OrganizationAccessDeniedException"));
    assert!(
        error
            .message
            .contains("delegated administrator for config-multiaccountsetup.amazonaws.com"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn only_the_packs_of_this_deployment_are_its_own() {
    let page = mock!(Client::describe_organization_conformance_packs).then_output(|| {
        DescribeOrganizationConformancePacksOutput::builder()
            .organization_conformance_packs(owned_pack(
                "custos-baseline",
                Some("h1"),
                Some("111111111111"),
                &[],
            ))
            .organization_conformance_packs(owned_pack(
                "custos-staging",
                Some("h2"),
                Some("staging"),
                &[],
            ))
            .organization_conformance_packs(pack("custos-earlier", Some("h3"), &[]))
            .organization_conformance_packs(pack("custos-by-hand", None, &[]))
            .build()
    });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&page]);
    let regions = ["eu-west-1".to_owned()];
    let (own, foreign) = observe_with(|_| client.clone(), &regions, "custos-", true, &claim())
        .await
        .unwrap();
    assert_eq!(
        own["eu-west-1"].keys().collect::<Vec<_>>(),
        ["custos-baseline"]
    );
    let left: Vec<(&str, bool)> = foreign
        .iter()
        .map(|f| (f.name.as_str(), f.adoptable))
        .collect();
    assert_eq!(
        left,
        [
            ("custos-by-hand", false),
            ("custos-earlier", true),
            ("custos-staging", false)
        ]
    );
}

#[tokio::test]
async fn a_pack_is_put_with_its_fingerprint_owner_and_exclusions() {
    let want = spec();
    let expected = want.clone();
    let put_call = mock!(Client::put_organization_conformance_pack)
        .match_requests(move |r| {
            let parameters = r.conformance_pack_input_parameters();
            r.organization_conformance_pack_name() == Some("custos-baseline")
                && r.template_body() == Some(expected.body.as_str())
                && parameters.len() == 2
                && parameters[0].parameter_name() == TEMPLATE_HASH_PARAMETER
                && parameters[0].parameter_value() == expected.template_hash
                && parameters[1].parameter_name() == DEPLOYMENT_PARAMETER
                && parameters[1].parameter_value() == "111111111111"
                && r.excluded_accounts() == ["555555555555", "666666666666"]
        })
        .then_output(|| {
            PutOrganizationConformancePackOutput::builder()
                .organization_conformance_pack_arn("arn:aws:config:eu-west-1:111111111111:organization-conformance-pack/custos-baseline-abcd1234")
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&put_call]);

    put(&client, &want, &want.excluded_accounts).await.unwrap();
    assert_eq!(put_call.num_calls(), 1);
}

#[tokio::test]
async fn waiting_follows_the_pack_until_every_account_has_it() {
    let statuses = mock!(Client::describe_organization_conformance_pack_statuses)
        .sequence()
        .output(|| {
            DescribeOrganizationConformancePackStatusesOutput::builder()
                .organization_conformance_pack_statuses(status(
                    "custos-baseline",
                    OrganizationResourceStatus::UpdateInProgress,
                ))
                .build()
        })
        .times(2)
        .output(|| {
            DescribeOrganizationConformancePackStatusesOutput::builder()
                .organization_conformance_pack_statuses(status(
                    "custos-baseline",
                    OrganizationResourceStatus::UpdateSuccessful,
                ))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&statuses]);

    let outcome = wait(&client, "custos-baseline", "eu-west-1", fast())
        .await
        .unwrap();

    assert_eq!(statuses.num_calls(), 3);
    assert_eq!(outcome.status, "SUCCEEDED");
    assert_eq!(outcome.failures, vec![]);
}

fn detailed(account: &str, code: &str, message: &str) -> OrganizationConformancePackDetailedStatus {
    OrganizationConformancePackDetailedStatus::builder()
        .account_id(account)
        .conformance_pack_name("OrgConformsPack-custos-baseline-abcd1234")
        .status(OrganizationResourceDetailedStatus::CreateFailed)
        .error_code(code)
        .error_message(message)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_failed_pack_names_the_member_accounts_where_it_failed_and_why() {
    let statuses =
        mock!(Client::describe_organization_conformance_pack_statuses).then_output(|| {
            DescribeOrganizationConformancePackStatusesOutput::builder()
                .organization_conformance_pack_statuses(status(
                    "custos-baseline",
                    OrganizationResourceStatus::CreateFailed,
                ))
                .build()
        });
    let create_failed = mock!(Client::get_organization_conformance_pack_detailed_status)
        .match_requests(|r| {
            r.filters().and_then(|f| f.status())
                == Some(&OrganizationResourceDetailedStatus::CreateFailed)
        })
        .sequence()
        .output(|| {
            GetOrganizationConformancePackDetailedStatusOutput::builder()
                .organization_conformance_pack_detailed_statuses(detailed(
                    "333333333333",
                    "NoSuchConfigurationRecorderException",
                    "Config is not recording in this account.",
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            GetOrganizationConformancePackDetailedStatusOutput::builder()
                .organization_conformance_pack_detailed_statuses(detailed(
                    "222222222222",
                    "InsufficientPermissionsException",
                    "The AWSServiceRoleForConfigConforms role is missing.",
                ))
                .build()
        })
        .build();
    let other_failures = mock!(Client::get_organization_conformance_pack_detailed_status)
        .then_output(|| GetOrganizationConformancePackDetailedStatusOutput::builder().build());
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&statuses, &create_failed, &other_failures]
    );

    let outcome = wait(&client, "custos-baseline", "eu-west-1", fast())
        .await
        .unwrap();

    assert_eq!(outcome.status, "FAILED");
    assert_eq!(create_failed.num_calls(), 2);
    assert_eq!(
        other_failures.num_calls(),
        2,
        "UPDATE_FAILED and DELETE_FAILED"
    );
    let failed: Vec<(&str, &str, Option<&str>)> = outcome
        .failures
        .iter()
        .map(|t| (t.account.as_str(), t.region.as_str(), t.reason.as_deref()))
        .collect();
    assert_eq!(
        failed,
        [
            (
                "222222222222",
                "eu-west-1",
                Some(
                    "InsufficientPermissionsException: The AWSServiceRoleForConfigConforms role is missing."
                )
            ),
            (
                "333333333333",
                "eu-west-1",
                Some(
                    "NoSuchConfigurationRecorderException: Config is not recording in this account."
                )
            ),
        ]
    );
}

fn no_such_status() -> DescribeOrganizationConformancePackStatusesError {
    DescribeOrganizationConformancePackStatusesError::NoSuchOrganizationConformancePackException(
        NoSuchOrganizationConformancePackException::builder()
            .message(
                "Could not find an OrganizationConformancePack with the name 'custos-baseline'.",
            )
            .meta(
                ErrorMetadata::builder()
                    .code("NoSuchOrganizationConformancePackException")
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn a_deleted_pack_is_waited_for_until_config_no_longer_knows_it() {
    let delete_call = mock!(Client::delete_organization_conformance_pack)
        .then_output(|| DeleteOrganizationConformancePackOutput::builder().build());
    let statuses = mock!(Client::describe_organization_conformance_pack_statuses)
        .sequence()
        .output(|| {
            DescribeOrganizationConformancePackStatusesOutput::builder()
                .organization_conformance_pack_statuses(status(
                    "custos-baseline",
                    OrganizationResourceStatus::DeleteInProgress,
                ))
                .build()
        })
        .error(no_such_status)
        .build();
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&delete_call, &statuses]
    );

    delete(&client, "custos-baseline").await.unwrap();
    let outcome = wait(&client, "custos-baseline", "eu-west-1", fast())
        .await
        .unwrap();

    assert_eq!(statuses.num_calls(), 2);
    assert_eq!(outcome.status, "SUCCEEDED");
}

#[tokio::test]
async fn deleting_a_pack_that_is_already_gone_succeeds() {
    let gone = mock!(Client::delete_organization_conformance_pack).then_error(|| {
        DeleteOrganizationConformancePackError::NoSuchOrganizationConformancePackException(
            NoSuchOrganizationConformancePackException::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("NoSuchOrganizationConformancePackException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&gone]);
    delete(&client, "custos-baseline").await.unwrap();
    assert_eq!(gone.num_calls(), 1);
}

#[tokio::test]
async fn a_pack_that_never_settles_is_given_up_on_with_its_last_status() {
    let statuses =
        mock!(Client::describe_organization_conformance_pack_statuses).then_output(|| {
            DescribeOrganizationConformancePackStatusesOutput::builder()
                .organization_conformance_pack_statuses(status(
                    "custos-baseline",
                    OrganizationResourceStatus::CreateInProgress,
                ))
                .build()
        });
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&statuses]);
    let polling = Polling {
        give_up_after: Duration::from_millis(5),
        ..fast()
    };
    let error = wait(&client, "custos-baseline", "eu-west-1", polling)
        .await
        .unwrap_err();
    assert!(
        error.message.contains("is still CREATE_IN_PROGRESS"),
        "{}",
        error.message
    );
}
