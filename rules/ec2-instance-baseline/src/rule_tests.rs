use config_rule_sdk::RuleMeta;
use serde_json::{Value, json};

use super::*;

fn meta() -> RuleMeta {
    RuleMeta::from_toml(RULE_TOML).expect("rule.toml is valid")
}

const SSM_DOCUMENT: &str = include_str!("../ssm/Custos-Ec2InstanceBaseline.yaml");

/// The document Config runs and the remediation declared in rule.toml must name the same
/// parameters, and the Lambda must read each one; a rename on one side breaks remediation in
/// AWS only, so it is caught here.
#[test]
fn the_ssm_document_passes_every_remediation_parameter_to_the_lambda() {
    let meta = meta();
    let remediation = meta
        .remediation
        .as_ref()
        .expect("rule.toml declares remediation");
    assert_eq!(
        remediation.document.as_deref(),
        Some("Custos-Ec2InstanceBaseline")
    );
    assert!(SSM_DOCUMENT.contains("schemaVersion: '0.3'"));
    assert!(SSM_DOCUMENT.contains("assumeRole: '{{ AutomationAssumeRole }}'"));
    assert_eq!(
        SSM_DOCUMENT
            .matches("action: aws:invokeLambdaFunction")
            .count(),
        1
    );
    for name in remediation.parameters.keys() {
        assert!(
            SSM_DOCUMENT.contains(&format!("\n  {name}:\n")),
            "the document declares no parameter {name}"
        );
        assert!(
            SSM_DOCUMENT.contains(&format!("{name}: '{{{{ {name} }}}}'")),
            "the document does not pass {name} to the Lambda"
        );
    }
    let mut input = serde_json::Map::new();
    for name in remediation.parameters.keys() {
        input.insert(name.clone(), json!("i-0123456789abcdef0"));
    }
    let request = remediation::lambda::Request::from_payload(Value::Object(input)).unwrap();
    assert_eq!(request.instance_id, "i-0123456789abcdef0");
    assert_eq!(
        remediation.parameters.keys().collect::<Vec<_>>(),
        ["InstanceId"],
        "the caller names the instance; every setting comes from the deployed rule"
    );
}
