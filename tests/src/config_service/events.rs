//! The Lambda events AWS Config sends a custom rule, for a rule deployed on the emulator: the
//! SDK's encoder with the deployed rule's name, ARN, id and parameters.

use chrono::{DateTime, Utc};
use config_rule_sdk::testing::Envelope;
use serde_json::Value;

use super::DeployedRule;
use crate::recorder::timestamp;

/// A result token Config would issue: the emulator files `PutEvaluations` results under the rule
/// named before the `#`.
pub fn result_token(rule_name: &str) -> String {
    format!("{rule_name}#{}", uuid::Uuid::new_v4())
}

/// The role Config runs as; in the event, never assumed by Custos rules.
pub fn config_service_role(account_id: &str) -> String {
    format!(
        "arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
}

/// A `ConfigurationItemChangeNotification` event for `item` (in scope: `eventLeftScope` false).
pub fn change_event(
    rule: &DeployedRule,
    account_id: &str,
    item: &Value,
    now: DateTime<Utc>,
) -> Value {
    envelope(rule, account_id).change(item, &timestamp(now))
}

/// A `ScheduledNotification` event, as Config sends a periodic rule.
pub fn scheduled_event(rule: &DeployedRule, account_id: &str, now: DateTime<Utc>) -> Value {
    envelope(rule, account_id).scheduled(&timestamp(now))
}

/// What Config puts around the notification for this deployed rule.
fn envelope(rule: &DeployedRule, account_id: &str) -> Envelope {
    Envelope {
        rule_arn: rule.arn.clone(),
        rule_id: Some(rule.id.clone()),
        account_id: account_id.to_owned(),
        rule_parameters: rule.input_parameters.clone(),
        result_token: result_token(&rule.name),
        execution_role_arn: config_service_role(account_id),
        ..Envelope::new(&rule.name)
    }
}

#[cfg(test)]
mod tests {
    use config_rule_sdk::host::event::{Invocation, Trigger};
    use serde_json::json;

    use super::*;

    fn rule() -> DeployedRule {
        DeployedRule {
            name: "s3-bucket-encryption".into(),
            arn: "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-abc".into(),
            id: "config-rule-abc".into(),
            input_parameters: r#"{"sseAlgorithm":"aws:kms"}"#.into(),
        }
    }

    fn item() -> Value {
        json!({
            "configurationItemCaptureTime": "2026-01-02T03:04:05.000Z",
            "configurationItemStatus": "OK",
            "awsAccountId": "111122223333",
            "resourceType": "AWS::S3::Bucket",
            "resourceId": "b",
            "ARN": "arn:aws:s3:::b",
            "awsRegion": "us-east-1",
            "configuration": {"name": "b"},
        })
    }

    #[test]
    fn the_sdk_reads_a_change_event_as_config_would_send_it() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:06Z")
            .unwrap()
            .with_timezone(&Utc);
        let event = change_event(&rule(), "111122223333", &item(), now);
        let invocation = Invocation::from_json(event).unwrap();
        let Trigger::Change(item) = invocation.trigger else {
            panic!("not a change: {:?}", invocation.trigger)
        };
        assert_eq!(item.key.resource_id, "b");
        assert_eq!(invocation.parameters["sseAlgorithm"], "aws:kms");
        assert!(
            invocation.result_token.starts_with("s3-bucket-encryption#"),
            "{}",
            invocation.result_token
        );
        assert_eq!(invocation.notification_time, Some(now));
        assert_eq!(invocation.account_id.as_deref(), Some("111122223333"));
        assert!(!invocation.event_left_scope);
    }

    #[test]
    fn the_sdk_reads_a_scheduled_event() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:06Z")
            .unwrap()
            .with_timezone(&Utc);
        let invocation =
            Invocation::from_json(scheduled_event(&rule(), "111122223333", now)).unwrap();
        assert_eq!(invocation.trigger, Trigger::Scheduled);
        assert_eq!(invocation.notification_time, Some(now));
    }

    #[test]
    fn every_event_gets_its_own_token() {
        assert_ne!(result_token("r"), result_token("r"));
    }
}
