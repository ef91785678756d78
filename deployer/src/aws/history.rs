//! S3 reads of the delivery bucket for `history ingest --org`: the keys under a prefix, and
//! each object's bytes. Read only.

use super::{Aws, AwsError};

/// Every key under `prefix` in `bucket`, page after page.
pub async fn keys(
    aws: &Aws,
    region: &str,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, AwsError> {
    let client = aws.s3(region);
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::new(&format!("listing s3://{bucket}/{prefix}"), &e))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(keys)
}

/// One object's bytes.
pub async fn get(aws: &Aws, region: &str, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
    let what = format!("reading s3://{bucket}/{key}");
    let object = aws
        .s3(region)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| AwsError::new(&what, &e))?;
    let body = object.body.collect().await.map_err(|e| AwsError {
        message: format!("{what}: {e}"),
        code: None,
    })?;
    Ok(body.into_bytes().to_vec())
}
