//! What a member account holds of Custos in one region, read through the member role: the
//! stacks StackSets put there, the Config rules and their remediations. Reads only.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::StackStatus;

use super::{Aws, AwsError};
use crate::drift::{MemberView, SeenRemediation, SeenRule};

/// Config describes at most this many remediation configurations per call.
const REMEDIATIONS_PER_CALL: usize = 25;

/// What to read in one account and region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Config rule names.
    pub rules: Vec<String>,
    /// Of those, the rules with a remediation.
    pub remediated: Vec<String>,
}

/// Reads the Custos stacks, `wanted`'s Config rules and their remediations in `region` of the
/// account `aws` acts in.
pub async fn read(aws: &Aws, region: &str, wanted: &Wanted) -> Result<MemberView, AwsError> {
    let Wanted { rules, remediated } = wanted;
    let mut view = MemberView::default();
    // Listed rather than described: ListStacks needs no permission on every stack.
    let mut stacks = aws
        .cloudformation_in(region)
        .list_stacks()
        .into_paginator()
        .items()
        .send();
    while let Some(stack) = stacks.next().await {
        let stack =
            stack.map_err(|e| AwsError::new(&format!("listing the stacks in {region}"), &e))?;
        let name = stack.stack_name().unwrap_or_default();
        let deleted = stack.stack_status() == Some(&StackStatus::DeleteComplete);
        if name.starts_with("StackSet-custos-") && !deleted {
            view.stacks.insert(
                name.to_owned(),
                stack
                    .stack_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            );
        }
    }
    if rules.is_empty() {
        return Ok(view);
    }
    let config = aws.config_service(region);
    let mut pages = config.describe_config_rules().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(&format!("reading the Config rules in {region}"), &e))?;
        for rule in page.config_rules() {
            let Some(name) = rule.config_rule_name() else {
                continue;
            };
            if !rules.iter().any(|r| r == name) {
                continue;
            }
            view.rules.insert(
                name.to_owned(),
                SeenRule {
                    input_parameters: rule.input_parameters().map(str::to_owned),
                    source_identifier: rule
                        .source()
                        .and_then(|s| s.source_identifier())
                        .map(str::to_owned),
                },
            );
        }
    }
    for chunk in remediated.chunks(REMEDIATIONS_PER_CALL) {
        let out = config
            .describe_remediation_configurations()
            .set_config_rule_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::new(&format!("reading the remediations in {region}"), &e))?;
        for remediation in out.remediation_configurations() {
            view.remediations.insert(
                remediation.config_rule_name().to_owned(),
                SeenRemediation {
                    automatic: remediation.automatic(),
                },
            );
        }
    }
    Ok(view)
}

/// Each account's view, by region, for the accounts in `wanted` (account -> region -> what);
/// an account that cannot be read is returned with the error, never as a view.
pub async fn read_all(
    aws: &Aws,
    admin_account: &str,
    role: &str,
    wanted: &BTreeMap<String, BTreeMap<String, Wanted>>,
) -> BTreeMap<String, Result<BTreeMap<String, MemberView>, AwsError>> {
    const AT_ONCE: usize = 8;
    let mut out = BTreeMap::new();
    let accounts: Vec<(&String, &BTreeMap<String, Wanted>)> = wanted.iter().collect();
    for chunk in accounts.chunks(AT_ONCE) {
        let mut reads = tokio::task::JoinSet::new();
        for (account, regions) in chunk {
            let member = aws.member(account, admin_account, role).await;
            let account = (*account).clone();
            let regions = (*regions).clone();
            reads.spawn(async move {
                let mut views = BTreeMap::new();
                for (region, what) in regions {
                    match read(&member, &region, &what).await {
                        Ok(view) => {
                            views.insert(region, view);
                        }
                        Err(e) => return (account, Err(e)),
                    }
                }
                (account, Ok(views))
            });
        }
        while let Some(joined) = reads.join_next().await {
            match joined {
                Ok((account, result)) => {
                    out.insert(account, result);
                }
                Err(e) => tracing::error!(error = %e, "a member read stopped"),
            }
        }
    }
    // A read that stopped (panicked) gives no answer: unreadable, never drift-free.
    for account in wanted.keys() {
        out.entry(account.clone()).or_insert_with(|| {
            Err(AwsError {
                message: "the read of the account stopped".to_owned(),
                code: None,
            })
        });
    }
    out
}
