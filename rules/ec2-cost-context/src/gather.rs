//! The edge: every instance of the account and region, from `DescribeInstances` (paged).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Instance as SdkInstance;
use config_rule_sdk::RuleError;

use crate::estimate::Instance;

/// `DescribeInstances` returns at most this many instances per page.
const PAGE_SIZE: i32 = 1000;

/// Every instance `DescribeInstances` lists, in every state, sorted by instance id.
pub async fn instances(client: &aws_sdk_ec2::Client) -> Result<Vec<Instance>, RuleError> {
    let mut found = Vec::new();
    let mut pages = client
        .describe_instances()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RuleError::aws("DescribeInstances", e))?;
        for instance in page
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
        {
            if let Some(instance) = from_sdk(instance) {
                found.push(instance);
            } else {
                tracing::warn!(
                    instance_id = instance.instance_id().unwrap_or_default(),
                    "DescribeInstances listed an instance without id or type; skipped"
                );
            }
        }
    }
    found.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    Ok(found)
}

fn from_sdk(instance: &SdkInstance) -> Option<Instance> {
    let tags: BTreeMap<String, String> = instance
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    Some(Instance {
        instance_id: instance.instance_id()?.to_owned(),
        instance_type: instance.instance_type()?.as_str().to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .map_or("unknown", |n| n.as_str())
            .to_owned(),
        launch_time: instance.launch_time().and_then(config_rule_sdk::to_chrono),
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesError;
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
    use aws_sdk_ec2::types::{InstanceState, InstanceStateName, InstanceType, Reservation, Tag};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn sdk_instance(id: &str, kind: &str, state: InstanceStateName) -> SdkInstance {
        SdkInstance::builder()
            .instance_id(id)
            .instance_type(InstanceType::from(kind))
            .state(InstanceState::builder().name(state).build())
            .launch_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
            .tags(Tag::builder().key("team").value("web").build())
            .build()
    }

    #[tokio::test]
    async fn every_page_is_read_and_instances_keep_type_state_launch_and_tags() {
        let pages = mock!(Client::describe_instances)
            .sequence()
            .output(|| {
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(sdk_instance("i-b", "m5.large", InstanceStateName::Running))
                            .build(),
                    )
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(sdk_instance("i-a", "t3.nano", InstanceStateName::Stopped))
                            .instances(SdkInstance::builder().instance_id("i-broken").build())
                            .build(),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&pages]);

        let found = instances(&client).await.unwrap();

        assert_eq!(pages.num_calls(), 2);
        let ids: Vec<&str> = found.iter().map(|i| i.instance_id.as_str()).collect();
        assert_eq!(
            ids,
            ["i-a", "i-b"],
            "sorted, and the one without a type skipped"
        );
        assert_eq!(found[1].instance_type, "m5.large");
        assert_eq!(found[1].state, "running");
        assert_eq!(found[0].state, "stopped");
        assert_eq!(
            found[1].launch_time,
            Some("2026-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(found[1].tags["team"], "web");
    }

    #[tokio::test]
    async fn an_ec2_error_fails_the_gathering_and_names_the_call() {
        let denied = mock!(Client::describe_instances).then_error(|| {
            DescribeInstancesError::generic(
                ErrorMetadata::builder()
                    .code("UnauthorizedOperation")
                    .message("not allowed")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&denied]);
        let err = instances(&client).await.unwrap_err();
        assert_eq!(err.kind(), "AwsError");
        assert!(
            err.to_string().starts_with("DescribeInstances failed"),
            "{err}"
        );
        assert!(err.to_string().contains("UnauthorizedOperation"), "{err}");
    }
}
