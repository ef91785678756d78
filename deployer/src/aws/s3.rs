//! S3: the content-addressed artifacts. Every call names the account that must own the bucket
//! (`ExpectedBucketOwner`): a bucket of the same name owned by anyone else answers 403, which is
//! an error, never "missing", so code is never read from or written to a bucket Custos does not
//! own.

use super::{Aws, AwsError};

/// Whether `key` exists in `bucket` (owned by `owner`); a bucket that does not exist yet counts
/// as missing.
pub async fn exists(
    aws: &Aws,
    region: &str,
    bucket: &str,
    owner: &str,
    key: &str,
) -> Result<bool, AwsError> {
    match aws
        .s3(region)
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
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
                Err(AwsError::new(
                    &format!("reading s3://{bucket}/{key} (expected owner {owner})"),
                    &e,
                ))
            }
        }
    }
}

/// Uploads `bytes` to `bucket`, which `owner` must own.
pub async fn put(
    aws: &Aws,
    region: &str,
    bucket: &str,
    owner: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<(), AwsError> {
    aws.s3(region)
        .put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
        .body(bytes.into())
        .content_type("application/zip")
        .send()
        .await
        .map_err(|e| {
            AwsError::new(
                &format!("uploading s3://{bucket}/{key} (expected owner {owner})"),
                &e,
            )
        })?;
    Ok(())
}
