//! What Config has recorded in one account and region: `ListDiscoveredResources` per resource
//! type, then `BatchGetResourceConfig` in batches of 100 (its limit). Reads only.

use aws_sdk_config::types::{ResourceKey as ApiKey, ResourceType};
use config_rule_sdk::host::edge::item_from_batch;
use config_rule_sdk::{ConfigurationItem, ResourceKey};

use crate::aws::AwsError;

/// `BatchGetResourceConfig` takes at most 100 keys.
const BATCH: usize = 100;
/// Keys Config leaves unprocessed are asked for again this many times.
const ATTEMPTS: usize = 3;

/// One recorded resource: its item, or why there is none to evaluate.
#[derive(Debug, Clone)]
pub enum Recorded {
    Item(Box<ConfigurationItem>),
    Unreadable { key: ResourceKey, why: String },
}

/// Every resource of `resource_types` Config has discovered, with its current item.
pub async fn recorded(
    client: &aws_sdk_config::Client,
    resource_types: &[String],
) -> Result<Vec<Recorded>, AwsError> {
    let mut keys = Vec::new();
    for resource_type in resource_types {
        let mut pages = client
            .list_discovered_resources()
            .resource_type(ResourceType::from(resource_type.as_str()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::new(
                    &format!("listing the recorded {resource_type} resources"),
                    &e,
                )
            })?;
            for resource in page.resource_identifiers() {
                if let Some(id) = resource.resource_id() {
                    keys.push(ResourceKey::new(resource_type, id));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(keys.len());
    for batch in keys.chunks(BATCH) {
        out.extend(batch_get(client, batch).await?);
    }
    Ok(out)
}

async fn batch_get(
    client: &aws_sdk_config::Client,
    keys: &[ResourceKey],
) -> Result<Vec<Recorded>, AwsError> {
    let mut out = Vec::new();
    let mut pending: Vec<ResourceKey> = keys.to_vec();
    for _ in 0..ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let api_keys = pending
            .iter()
            .map(|k| {
                ApiKey::builder()
                    .resource_type(ResourceType::from(k.resource_type.as_str()))
                    .resource_id(&k.resource_id)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError {
                message: format!("building resource keys: {e}"),
                code: None,
            })?;
        let response = client
            .batch_get_resource_config()
            .set_resource_keys(Some(api_keys))
            .send()
            .await
            .map_err(|e| AwsError::new("reading recorded configuration items", &e))?;
        for item in response.base_configuration_items() {
            let key = ResourceKey::new(
                item.resource_type()
                    .map(ResourceType::as_str)
                    .unwrap_or_default(),
                item.resource_id().unwrap_or_default(),
            );
            pending.retain(|k| *k != key);
            out.push(match item_from_batch(item) {
                Ok(item) => Recorded::Item(Box::new(item)),
                Err(e) => Recorded::Unreadable {
                    key,
                    why: format!("the recorded item cannot be read: {e}"),
                },
            });
        }
        let unprocessed: Vec<ResourceKey> = response
            .unprocessed_resource_keys()
            .iter()
            .map(|k| ResourceKey::new(k.resource_type().as_str(), k.resource_id()))
            .collect();
        let (retry, gone): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|k| unprocessed.contains(k));
        out.extend(gone.into_iter().map(|key| Recorded::Unreadable {
            key,
            why: "Config returned no current item (deleted since it was listed?)".to_owned(),
        }));
        pending = retry;
    }
    out.extend(pending.into_iter().map(|key| Recorded::Unreadable {
        key,
        why: format!("Config left the item unprocessed after {ATTEMPTS} requests"),
    }));
    Ok(out)
}
