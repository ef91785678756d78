//! How AWS calls are retried, for the rules and the deployer alike.
//!
//! The SDK's default (standard mode, 3 attempts) gives up on a call when three attempts in a
//! row are throttled or fail: with a quarter of attempts failing, as under a throttling
//! control plane (Organizations, StackSets and PutEvaluations have low rate limits), that is
//! about 1 call in 60, so a run of a few hundred calls would almost always lose one. Eight
//! attempts make it about 1 in 50,000 (0.26^8). Standard mode keeps the SDK's jittered
//! exponential backoff (1 s base, 20 s cap) and its retry quota, which stops retry storms when
//! a service is down rather than throttling.

use aws_config::retry::RetryConfig;

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 8;

/// The retry configuration every Custos AWS client uses.
pub fn config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_config::Client;
    use aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

    /// The backoff shortened so the test is quick; the attempts are the product's.
    fn quick() -> RetryConfig {
        config().with_initial_backoff(Duration::from_millis(1))
    }

    #[tokio::test]
    async fn a_call_throttled_seven_times_in_a_row_still_succeeds() {
        let rule = mock!(Client::describe_config_rules)
            .sequence()
            .http_status(400, Some(THROTTLED.to_owned()))
            .times(7)
            .output(|| DescribeConfigRulesOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&rule], |c| c
            .retry_config(quick()));

        client.describe_config_rules().send().await.unwrap();
        assert_eq!(rule.num_calls(), 8);
    }

    #[tokio::test]
    async fn eight_throttled_attempts_give_up() {
        let rule = mock!(Client::describe_config_rules)
            .sequence()
            .http_status(400, Some(THROTTLED.to_owned()))
            .times(9)
            .build();
        let client = mock_client!(aws_sdk_config, RuleMode::Sequential, [&rule], |c| c
            .retry_config(quick()));

        let error = client.describe_config_rules().send().await.unwrap_err();
        assert_eq!(
            aws_sdk_config::error::ProvideErrorMetadata::code(&error),
            Some("ThrottlingException")
        );
        assert_eq!(rule.num_calls(), 8);
    }
}
