use super::*;

/// A compliance change event as EventBridge delivers it (shape from the AWS Config docs).
fn event() -> Value {
    json!({
        "version": "0",
        "id": "5d2c5e1c-6b4f-4f9e-8b0e-2d3b1a4c5e6f",
        "detail-type": "Config Rules Compliance Change",
        "source": "aws.config",
        "account": "111122223333",
        "time": "2026-06-01T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "resourceId": "vpc-0a1b2c3d",
            "awsRegion": "eu-west-1",
            "awsAccountId": "111122223333",
            "configRuleName": "vpc-creation-approved",
            "recordVersion": "1.0",
            "configRuleARN": "arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc123",
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": {
                "evaluationResultIdentifier": {
                    "evaluationResultQualifier": {
                        "configRuleName": "vpc-creation-approved",
                        "resourceType": "AWS::EC2::VPC",
                        "resourceId": "vpc-0a1b2c3d"
                    },
                    "orderingTimestamp": "2026-06-01T08:59:00.000Z"
                },
                "complianceType": "NON_COMPLIANT",
                "resultRecordedTime": "2026-06-01T09:00:00.000Z",
                "configRuleInvokedTime": "2026-06-01T08:59:30.000Z",
                "annotation": "new VPC without the approval tag custos:approved"
            },
            "notificationCreationTime": "2026-06-01T09:00:01.000Z",
            "resourceType": "AWS::EC2::VPC"
        }
    })
}

/// Evaluates the subset of EventBridge matching the pattern uses: exact values and prefixes.
fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(k, p)| matches(p, event.get(k).unwrap_or(&Value::Null))),
        Value::Array(options) => options.iter().any(|o| match o {
            Value::Object(op) if op.contains_key("prefix") => event
                .as_str()
                .is_some_and(|s| s.starts_with(op["prefix"].as_str().unwrap())),
            literal => literal == event,
        }),
        _ => false,
    }
}

#[test]
fn the_pattern_matches_non_compliant_changes_of_custos_rules_only() {
    let pattern = compliance_change_pattern(
        &["vpc-creation-approved", "s3-bucket-encryption"],
        &["NON_COMPLIANT"],
    );
    assert!(matches(&pattern, &event()));

    let mut pack_rule = event();
    pack_rule["detail"]["configRuleName"] = json!("vpc-creation-approved-conformance-pack-x1y2");
    assert!(
        matches(&pattern, &pack_rule),
        "rules renamed by packs still match"
    );

    let mut other_rule = event();
    other_rule["detail"]["configRuleName"] = json!("someone-elses-rule");
    assert!(!matches(&pattern, &other_rule));

    let mut compliant = event();
    compliant["detail"]["newEvaluationResult"]["complianceType"] = json!("COMPLIANT");
    assert!(!matches(&pattern, &compliant));
}

#[test]
fn the_transformer_and_the_typed_message_say_the_same() {
    let (paths, template) = compliance_change_transformer();
    let mut rendered = template.trim_matches('"').to_owned();
    for (name, path) in paths {
        let event = event();
        let mut value = &event;
        for part in path.trim_start_matches("$.").split('.') {
            value = value.get(part).unwrap_or(&Value::Null);
        }
        let owned = value.as_str().unwrap_or_default().to_owned();
        rendered = rendered.replace(&format!("<{name}>"), &owned);
    }
    let change = ComplianceChange::from_event(&event()).unwrap();
    assert_eq!(rendered, change.message());
    assert_eq!(
        change.message(),
        "Custos: AWS::EC2::VPC vpc-0a1b2c3d in account 111122223333 (eu-west-1) is now NON_COMPLIANT for rule vpc-creation-approved: new VPC without the approval tag custos:approved"
    );
}
