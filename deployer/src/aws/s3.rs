//! S3: the content-addressed artifacts.

use super::{Aws, AwsError};

/// Whether `key` exists in `bucket` (a missing bucket counts as missing).
pub async fn exists(aws: &Aws, region: &str, bucket: &str, key: &str) -> Result<bool, AwsError> {
    match aws
        .s3(region)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let missing = e
                .as_service_error()
                .is_some_and(aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found)
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
            if missing {
                Ok(false)
            } else {
                Err(AwsError::new(&format!("reading s3://{bucket}/{key}"), &e))
            }
        }
    }
}

pub async fn put(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    bytes: bytes::Bytes,
) -> Result<(), AwsError> {
    aws.s3(region)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .content_type("application/zip")
        .send()
        .await
        .map_err(|e| AwsError::new(&format!("uploading s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// Deletes every object version in `bucket`; a bucket that does not exist is already empty.
pub async fn empty(aws: &Aws, region: &str, bucket: &str) -> Result<(), AwsError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let client = aws.s3(region);
    loop {
        let listed = match client.list_object_versions().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => {
                let error = AwsError::new(&format!("listing s3://{bucket}"), &e);
                return if error.is("NoSuchBucket") {
                    Ok(())
                } else {
                    Err(error)
                };
            }
        };
        let mut objects = Vec::new();
        for v in listed.versions() {
            objects.push((v.key().unwrap_or_default(), v.version_id()));
        }
        for m in listed.delete_markers() {
            objects.push((m.key().unwrap_or_default(), m.version_id()));
        }
        if objects.is_empty() {
            return Ok(());
        }
        let identifiers = objects
            .into_iter()
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(identifiers))
            .quiet(true)
            .build()
            .map_err(|e| AwsError {
                message: format!("emptying s3://{bucket}: {e}"),
                code: None,
            })?;
        client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| AwsError::new(&format!("emptying s3://{bucket}"), &e))?;
    }
}
