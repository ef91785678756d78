//! Every shipped `rule.toml` passes; each kind of mistake is refused, naming its field.

use std::collections::BTreeMap;

use super::*;

const GOOD: &str = r#"
name = "example"
description = "An example."
resource-types = ["AWS::S3::Bucket"]
reads = ["configuration.tags"]

[trigger]
change = true

[parameters.mode]
type = "string"
description = "How strict."
default = "strict"
allowed = ["strict", "lax"]

[parameters.keys]
type = "comma-list"
description = "Keys."

[parameters.limit]
type = "number"
description = "A bound."
default = "5"
min = 1
max = 10

[remediation]
kind = "ssm"
document = "AWS-Example"

[remediation.parameters]
Id = "RESOURCE_ID"
Mode = "param:mode or strict if keys"
Key = "first:keys"
Fixed = "yes"

[permissions]
remediation = ["s3:PutEncryptionConfiguration"]

[permissions.resources]
"s3:PutEncryptionConfiguration" = ["arn:${AWS::Partition}:s3:::*"]
"#;

/// The error for `GOOD` with `from` replaced by `to`.
fn error(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    RuleMeta::from_toml(&GOOD.replacen(from, to, 1))
        .unwrap_err()
        .to_string()
}

#[test]
fn every_shipped_rule_toml_passes() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for entry in std::fs::read_dir(&rules).unwrap() {
        let path = entry.unwrap().path().join("rule.toml");
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Err(e) = RuleMeta::from_toml(&text) {
                panic!("{}: {e}", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "{checked} rule.toml files under {}",
        rules.display()
    );
}

#[test]
fn the_example_passes_and_maps_its_remediation() {
    let meta = RuleMeta::from_toml(GOOD).unwrap();
    assert_eq!(meta.trigger_kind(), Some(TriggerKind::Change));
    assert_eq!(meta.reads_for("AWS::S3::Bucket"), ["configuration.tags"]);
    let mapping = &meta.remediation.unwrap().parameters;
    assert_eq!(mapping["Id"], RemediationValue::ResourceId);
    assert_eq!(mapping["Key"], RemediationValue::FirstOf("keys".into()));
    assert_eq!(mapping["Fixed"], RemediationValue::Literal("yes".into()));
    assert_eq!(
        mapping["Mode"],
        RemediationValue::ParamOrIf {
            param: "mode".into(),
            otherwise: "strict".into(),
            if_set: "keys".into()
        }
    );
    assert_eq!(mapping["Mode"].to_string(), "param:mode or strict if keys");
}

#[test]
fn two_trigger_kinds_are_refused() {
    let err = error("change = true", "change = true\nperiodic = \"One_Hour\"");
    assert!(err.contains("trigger (line 7, column 1)"), "{err}");
    assert!(err.contains("exactly one trigger kind"), "{err}");
    let err = error("change = true", "");
    assert!(
        err.contains("trigger") && err.contains("no trigger"),
        "{err}"
    );
}

#[test]
fn a_change_rule_without_resource_types_is_refused() {
    let err = error(
        "resource-types = [\"AWS::S3::Bucket\"]",
        "resource-types = []",
    );
    assert!(err.contains("resource-types (line 4, column 18)"), "{err}");
}

#[test]
fn a_mapping_naming_an_undeclared_parameter_is_refused() {
    let err = error("first:keys", "first:kmsKeys");
    assert!(
        err.contains("remediation.parameters.Key (line 34, column 7)")
            && err.contains("`kmsKeys`, which `[parameters]` does not declare"),
        "{err}"
    );
    let err = error("if keys", "if other");
    assert!(
        err.contains("remediation.parameters.Mode") && err.contains("`other`"),
        "{err}"
    );
    let err = error("first:keys", "first:mode");
    assert!(err.contains("`mode` is not a comma-list"), "{err}");
    let err = error("or strict if keys", "or strict");
    assert!(
        err.contains("remediation.parameters.Mode") && err.contains("line 33"),
        "{err}"
    );
}

#[test]
fn a_default_outside_allowed_is_refused() {
    let err = error("default = \"strict\"", "default = \"severe\"");
    assert!(
        err.contains("parameters.mode.default (line 13, column 11)")
            && err.contains("`severe` is not allowed"),
        "{err}"
    );
}

#[test]
fn a_bad_iam_action_is_refused() {
    let err = error(
        "remediation = [\"s3:PutEncryptionConfiguration\"]",
        "remediation = [\"s3:*\"]",
    );
    assert!(
        err.contains("permissions.remediation[0] (line 38, column 15)")
            && err.contains("`s3:*` is not an IAM action"),
        "{err}"
    );
    let err = error(
        "\"s3:PutEncryptionConfiguration\" = ",
        "\"s3:GetObject\" = ",
    );
    assert!(
        err.contains("permissions.resources.\"s3:GetObject\" (line 41, column 18)")
            && err.contains("neither `rule` nor `remediation` declares"),
        "{err}"
    );
    let err = error("arn:${AWS::Partition}:s3:::*", "s3:::*");
    assert!(
        err.contains("[0] (line 41") && err.contains("not an ARN template"),
        "{err}"
    );
}

#[test]
fn a_value_not_matching_its_format_is_refused() {
    let err = error(
        "[parameters.keys]\ntype = \"comma-list\"",
        "[parameters.keys]\ntype = \"comma-list\"\nformat = \"cidr\"\nexample = \"10.0.0.0/8,10.1.0.0\"",
    );
    assert!(
        err.contains("parameters.keys.example (line 19, column 11)")
            && err.contains("`10.1.0.0` is not a CIDR range"),
        "{err}"
    );
    let err = error(
        "type = \"comma-list\"",
        "type = \"comma-list\"\nformat = \"ip\"",
    );
    assert!(
        err.contains("parameters.keys.format") && err.contains("ip"),
        "{err}"
    );
}

#[test]
fn a_number_out_of_range_is_refused() {
    let err = error("default = \"5\"", "default = \"11\"");
    assert!(
        err.contains("parameters.limit.default (line 23, column 11)")
            && err.contains("`11` is outside the range 1..=10"),
        "{err}"
    );
    let err = error("min = 1", "min = 20");
    assert!(
        err.contains("parameters.limit.min") && err.contains("above `max`"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = GOOD
        .replacen("default = \"strict\"", "default = \"severe\"", 1)
        .replacen("default = \"5\"", "default = \"11\"", 1);
    let err = RuleMeta::from_toml(&text).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(
        err.to_string().starts_with("rule.toml: 2 problems\n  "),
        "{err}"
    );
}

#[test]
fn reads_by_resource_type_name_the_rules_own_types() {
    let text = GOOD.replacen(
        "reads = [\"configuration.tags\"]",
        "[reads]\n\"AWS::S3::Bucket\" = [\"supplementaryConfiguration.X\"]\n\"AWS::EC2::VPC\" = [\"tags\"]",
        1,
    );
    // Tables follow the top-level keys: move `[reads]` after them.
    let (head, tail) = text.split_once("[trigger]").unwrap();
    let (before, reads) = head.split_once("[reads]").unwrap();
    let text = format!(
        "{before}[trigger]{}",
        tail.replacen(
            "[parameters.mode]",
            &format!("[reads]{reads}[parameters.mode]"),
            1
        )
    );
    let err = RuleMeta::from_toml(&text).unwrap_err().to_string();
    assert!(
        err.contains("reads.\"AWS::EC2::VPC\"") && err.contains("not in `resource-types`"),
        "{err}"
    );
    assert!(err.contains("`tags` is not a field under"), "{err}");
}

#[test]
fn a_mapping_resolves_as_the_rendered_template_does() {
    let value = |text: &str| RemediationValue::try_from(text.to_owned()).unwrap();
    let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let or_if = value("param:sseAlgorithm or aws:kms if kmsKeyArns");
    assert_eq!(or_if.resolve("b", &params(&[])), None);
    assert_eq!(
        or_if
            .resolve("b", &params(&[("kmsKeyArns", "k1,k2")]))
            .as_deref(),
        Some("aws:kms")
    );
    assert_eq!(
        or_if
            .resolve(
                "b",
                &params(&[("sseAlgorithm", "AES256"), ("kmsKeyArns", "k1")])
            )
            .as_deref(),
        Some("AES256")
    );
    assert_eq!(
        value("first:kmsKeyArns")
            .resolve("b", &params(&[("kmsKeyArns", "k1,k2")]))
            .as_deref(),
        Some("k1")
    );
    assert_eq!(value("param:x").resolve("b", &params(&[("x", " ")])), None);
    assert_eq!(
        value("RESOURCE_ID").resolve("b", &params(&[])).as_deref(),
        Some("b")
    );
    assert_eq!(
        value("AES256").resolve("b", &params(&[])).as_deref(),
        Some("AES256")
    );
}

#[test]
fn value_checks_follow_the_spec() {
    let meta = RuleMeta::from_toml(GOOD).unwrap();
    let limit = &meta.parameters["limit"];
    assert!(limit.check_value("10").is_ok());
    assert!(limit.check_value("0").unwrap_err().contains("outside"));
    assert!(
        limit
            .check_value("ten")
            .unwrap_err()
            .contains("expected a number")
    );
    assert!(meta.parameters["mode"].check_value("lax").is_ok());
}

#[test]
fn security_group_ids() {
    for ok in ["sg-0123abcd", "sg-0123456789abcdef0"] {
        assert!(is_security_group_id(ok), "{ok}");
    }
    for bad in [
        "sg-0123abc",
        "sg-0123456789ABCDEF0",
        "sg-0123456789abcdef",
        "sg-0123456789abcdefg",
        "0123456789abcdef0",
        "sg_0123abcd",
        "",
    ] {
        assert!(!is_security_group_id(bad), "{bad}");
    }
}

#[test]
fn cidr_ranges() {
    for ok in [
        "10.0.0.0/16",
        "0.0.0.0/0",
        "192.168.1.7/32",
        "2001:db8::/32",
        "::/0",
    ] {
        assert!(is_cidr(ok), "{ok}");
    }
    for bad in [
        "10.0.0.0",
        "10.0.0.0/33",
        "10.0.0/16",
        "256.0.0.0/8",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "2001:db8::/129",
        "10.0.0.0/16 ",
    ] {
        assert!(!is_cidr(bad), "{bad}");
    }
}
