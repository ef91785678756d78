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
    bytes: bytes::Bytes,
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

#[cfg(test)]
mod tests {
    //! Against S3's documented answers: the emulator does not check `ExpectedBucketOwner`.

    use std::sync::{Arc, Mutex};

    use aws_smithy_runtime_api::client::http::{
        HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// S3 answering every request with `status`, keeping each request's owner header.
    #[derive(Debug, Clone)]
    struct S3 {
        status: u16,
        owners: Arc<Mutex<Vec<Option<String>>>>,
    }

    impl HttpConnector for S3 {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let owner = request
                .headers()
                .get("x-amz-expected-bucket-owner")
                .map(str::to_owned);
            self.owners.lock().unwrap().push(owner);
            // A HEAD answer has no body; AWS answers a foreign owner with 403 Forbidden.
            let response =
                HttpResponse::new(StatusCode::try_from(self.status).unwrap(), SdkBody::empty());
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    async fn aws(s3: &S3) -> Aws {
        let connector = SharedHttpConnector::new(s3.clone());
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        Aws::from_config(config)
    }

    fn s3(status: u16) -> S3 {
        S3 {
            status,
            owners: Arc::default(),
        }
    }

    const KEY: &str = "lambda/rule/00.zip";

    #[tokio::test]
    async fn a_bucket_owned_by_someone_else_is_an_error_never_missing() {
        let foreign = s3(403);
        let err = exists(&aws(&foreign).await, "eu-west-1", "b", "111111111111", KEY)
            .await
            .unwrap_err();
        assert!(err.message.contains("expected owner 111111111111"), "{err}");
        assert_eq!(
            *foreign.owners.lock().unwrap(),
            [Some("111111111111".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_missing_object_is_missing_and_every_call_names_the_owner() {
        let empty = s3(404);
        let aws = aws(&empty).await;
        assert!(
            !exists(&aws, "eu-west-1", "b", "111111111111", KEY)
                .await
                .unwrap()
        );
        let upload = s3(200);
        put(
            &self::aws(&upload).await,
            "eu-west-1",
            "b",
            "111111111111",
            KEY,
            bytes::Bytes::from_static(&[1]),
        )
        .await
        .unwrap();
        assert_eq!(
            *upload.owners.lock().unwrap(),
            [Some("111111111111".to_owned())]
        );
    }
}
