//! The organisation reader pages as AWS pages. The local emulator returns every account in one
//! page, so the paging is shown here with Organizations mocked the way AWS answers: at most 20
//! accounts per `ListAccountsForParent` page (the same limit as `ListAccounts`), with a
//! `NextToken` until the last page. The calls are counted by the deployer's own call log.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::list_accounts_for_parent::{
    ListAccountsForParentInput, ListAccountsForParentOutput,
};
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
use aws_sdk_organizations::types::{Account, AccountState, Organization, OrganizationalUnit, Root};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use deployer::aws::CallLog;

/// AWS's largest page for ListAccounts and ListAccountsForParent.
const PAGE: usize = 20;
const ROOT: &str = "r-ab12";
const OU: &str = "ou-ab12-workload";

/// Accounts `0..count` of `parent`, served in pages of 20 as AWS serves them.
fn page(
    parent: &str,
    count: usize,
    req: &ListAccountsForParentInput,
) -> ListAccountsForParentOutput {
    let start: usize = req
        .next_token()
        .and_then(|t| t.strip_prefix(&format!("{parent}/")))
        .map_or(0, |n| n.parse().expect("our own token"));
    let end = (start + PAGE).min(count);
    let offset = if parent == ROOT { 0 } else { 500_000 };
    let accounts = (start..end).map(|i| {
        Account::builder()
            .id(format!("{:012}", 100_000_000_000 + offset + i))
            .name(format!("{parent}-{i}"))
            .state(AccountState::Active)
            .build()
    });
    ListAccountsForParentOutput::builder()
        .set_accounts(Some(accounts.collect()))
        .set_next_token((end < count).then(|| format!("{parent}/{end}")))
        .build()
}

/// Reads an organisation whose root holds `in_root` accounts and whose one OU (when `in_ou` is
/// not 0) holds `in_ou`; returns the accounts read and the deployer's read-call counts.
async fn read(in_root: usize, in_ou: usize) -> (usize, BTreeMap<String, u64>) {
    let described = mock!(aws_sdk_organizations::Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                Organization::builder()
                    .id("o-abcd1234")
                    .master_account_id("111111111111")
                    .build(),
            )
            .build()
    });
    let roots = mock!(aws_sdk_organizations::Client::list_roots).then_output(|| {
        ListRootsOutput::builder()
            .roots(Root::builder().id(ROOT).build())
            .build()
    });
    let ous = mock!(aws_sdk_organizations::Client::list_organizational_units_for_parent)
        .then_compute_output(move |req| {
            let mut out = ListOrganizationalUnitsForParentOutput::builder();
            if req.parent_id() == Some(ROOT) && in_ou > 0 {
                out = out.organizational_units(
                    OrganizationalUnit::builder()
                        .id(OU)
                        .name("Workloads")
                        .build(),
                );
            }
            out.build()
        });
    let accounts = mock!(aws_sdk_organizations::Client::list_accounts_for_parent)
        .then_compute_output(move |req| match req.parent_id() {
            Some(ROOT) => page(ROOT, in_root, req),
            Some(OU) => page(OU, in_ou, req),
            other => panic!("ListAccountsForParent of {other:?}"),
        });
    let calls = CallLog::default();
    let mocks = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&described)
        .with_rule(&roots)
        .with_rule(&ous)
        .with_rule(&accounts);
    let conf = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(mocks)
        .interceptor(calls.clone())
        .build();
    let org = deployer::aws::orgs::read(&aws_sdk_organizations::Client::from_conf(conf))
        .await
        .expect("the organisation reads");
    (org.accounts.len(), calls.counts().reads)
}

fn pages(reads: &BTreeMap<String, u64>) -> u64 {
    reads
        .get("Organizations:ListAccountsForParent")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_thousand_accounts_take_fifty_pages_of_twenty() {
    let (accounts, reads) = read(1000, 0).await;
    assert_eq!(accounts, 1000, "every account is read, none twice");
    assert_eq!(pages(&reads), 50, "{reads:?}");
    // `make bench` reports the figure from the file it names, never from the test's output.
    #[expect(
        clippy::disallowed_methods,
        reason = "where the benchmark wants the figure written"
    )]
    if let Ok(path) = std::env::var("CUSTOS_BENCH_PAGINATION_OUT") {
        let figure = serde_json::json!({
            "accounts": accounts,
            "ListAccountsForParent": pages(&reads),
        });
        std::fs::write(&path, figure.to_string()).expect("the benchmark's results directory");
    }
}

#[tokio::test]
async fn each_parent_is_paged_on_its_own() {
    // 999 in the root: 50 pages (the last of 19); 1 in the OU: one more.
    let (accounts, reads) = read(999, 1).await;
    assert_eq!(accounts, 1000);
    assert_eq!(pages(&reads), 51, "{reads:?}");
    assert_eq!(
        reads.get("Organizations:ListOrganizationalUnitsForParent"),
        Some(&2),
        "{reads:?}"
    );
    // An empty parent still costs its one call: 0 accounts in the root, 20 in the OU.
    let (accounts, reads) = read(0, 20).await;
    assert_eq!((accounts, pages(&reads)), (20, 2), "{reads:?}");
}
