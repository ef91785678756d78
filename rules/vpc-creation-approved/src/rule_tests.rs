use std::path::Path;

use config_rule_sdk::host::Evaluation;
use config_rule_sdk::notify::{ComplianceChange, compliance_change_pattern};
use config_rule_sdk::testing::{self, Fixture};
use config_rule_sdk::{Compliance, RuleMeta};
use serde_json::{Value, json};

use super::*;

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

fn evaluate_fixture(name: &str) -> Evaluation {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    testing::run(&VpcCreationApproved, &meta(), &Fixture::load(&path)).unwrap()
}

/// The `Config Rules Compliance Change` event Config sends EventBridge after it records
/// `evaluation` (shape from the AWS Config documentation).
fn compliance_change_event(evaluation: &Evaluation, rule: &str) -> Value {
    json!({
        "version": "0",
        "id": "0e6c5b87-7c1d-4d0c-9b8f-3f0e8a1f2b3c",
        "detail-type": "Config Rules Compliance Change",
        "source": "aws.config",
        "account": "123456789012",
        "time": "2026-05-20T08:16:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "resourceId": evaluation.compliance_resource_id,
            "awsRegion": "us-east-1",
            "awsAccountId": "123456789012",
            "configRuleName": rule,
            "recordVersion": "1.0",
            "configRuleARN": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abcdef",
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": {
                "evaluationResultIdentifier": {
                    "evaluationResultQualifier": {
                        "configRuleName": rule,
                        "resourceType": evaluation.compliance_resource_type,
                        "resourceId": evaluation.compliance_resource_id,
                    },
                    "orderingTimestamp": evaluation.ordering_timestamp,
                },
                "complianceType": evaluation.compliance_type,
                "resultRecordedTime": "2026-05-20T08:16:04.000Z",
                "configRuleInvokedTime": "2026-05-20T08:16:02.000Z",
                "annotation": evaluation.annotation,
            },
            "notificationCreationTime": "2026-05-20T08:16:05.000Z",
            "resourceType": evaluation.compliance_resource_type,
        }
    })
}

/// EventBridge matching for the pattern features Custos uses: nested fields, lists of exact
/// values, and `prefix`.
fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, p)| pattern_matches(p, event.get(name).unwrap_or(&Value::Null))),
        Value::Array(options) => options.iter().any(|option| match option {
            Value::Object(op) if op.contains_key("prefix") => event
                .as_str()
                .zip(op["prefix"].as_str())
                .is_some_and(|(value, prefix)| value.starts_with(prefix)),
            literal => literal == event,
        }),
        _ => false,
    }
}

/// The compliance types rule.toml has mailed, as the deployer renders them.
fn notified(meta: &RuleMeta) -> Vec<&'static str> {
    meta.notify.iter().map(|c| c.as_str()).collect()
}

#[test]
fn a_non_compliant_vpc_reaches_the_administrators_by_email_naming_vpc_account_and_region() {
    let meta = meta();
    let rule = meta.name.clone();
    let pattern = compliance_change_pattern(&[&rule], &notified(&meta));
    let evaluation = evaluate_fixture("non-compliant-not-approved.json");
    let event = compliance_change_event(&evaluation, &rule);

    assert!(
        pattern_matches(&pattern, &event),
        "{pattern} must match {event}"
    );
    let message = ComplianceChange::from_event(&event).unwrap().message();
    assert_eq!(
        message,
        "Custos: AWS::EC2::VPC vpc-0f1e2d3c4b5a69788 in account 123456789012 (us-east-1) is now \
         NON_COMPLIANT for rule vpc-creation-approved: VPC vpc-0f1e2d3c4b5a69788 (10.20.0.0/16) \
         is not approved: tag it custos:approved=<who approved> to approve it, or delete it"
    );
}

#[test]
fn approving_a_vpc_sends_no_email() {
    let meta = meta();
    let rule = meta.name.clone();
    let pattern = compliance_change_pattern(&[&rule], &notified(&meta));
    let approved = evaluate_fixture("compliant-approved-by-tag.json");
    assert_eq!(approved.compliance_type, Compliance::Compliant);
    assert!(!pattern_matches(
        &pattern,
        &compliance_change_event(&approved, &rule)
    ));
    // Deployed in a conformance pack, Config suffixes the rule name; the mail still goes out.
    let reported = evaluate_fixture("non-compliant-default-vpc.json");
    let packed =
        compliance_change_event(&reported, "vpc-creation-approved-conformance-pack-ab12cd");
    assert!(pattern_matches(&pattern, &packed));
}
