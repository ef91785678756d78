use std::path::{Path, PathBuf};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn catalog() -> Catalog {
    Catalog::discover(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap()
}

fn parse(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(Path::new("deployer.toml"), text, &catalog())
}

fn errors(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = r#"
[organization]
regions = ["eu-west-1"]
target-ous = ["Workloads"]
"#;

#[test]
fn the_example_configuration_is_valid() {
    let example = Settings::load(&fixtures().join("../../deployer.toml"), &catalog()).unwrap();
    assert_eq!(example.rules.len(), 6);
    let fixture = Settings::load(&fixtures().join("deployer.toml"), &catalog()).unwrap();
    assert_eq!(fixture.rules.len(), 6);
}

#[test]
fn the_example_configuration_reads_as_written() {
    let settings = Settings::load(&fixtures().join("deployer.toml"), &catalog()).unwrap();
    let org = &settings.organization;
    assert_eq!(org.role_name, DEFAULT_ROLE_NAME);
    assert_eq!(org.regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(
        org.target_ous
            .iter()
            .map(|o| o.value.to_string())
            .collect::<Vec<_>>(),
        ["Workloads", "Sandbox"]
    );
    let baseline = &settings.rules["ec2-instance-baseline"];
    assert_eq!(
        baseline.parameters["requiredTags"],
        r#"{"CostCenter":"0000","Owner":"unassigned"}"#
    );
    assert_eq!(baseline.remediation, RemediationMode::Manual);
    assert_eq!(
        baseline.overrides[0].parameters["adminSecurityGroupId"],
        "sg-0fedcba9876543210"
    );
    assert!(
        baseline
            .documents
            .contains_key("Custos-Ec2InstanceBaseline")
    );
    assert_eq!(baseline.overrides[0].ou.location.line, 47);
    let encryption = &settings.rules["s3-bucket-encryption"];
    assert_eq!(encryption.remediation, RemediationMode::Automatic);
    assert_eq!(
        encryption.exemptions["legacy-access-logs"],
        "s3-bucket-encryption; until=2027-02-28; reason=replaced by the central log archive in \
         Q1; owner=platform-team"
    );
    assert_eq!(
        settings.rules["ec2-cost-context"].parameters["maxSpendUsd"],
        "500"
    );
    assert_eq!(
        settings.rules["iam-policy-no-admin-wildcards"].parameters["forbiddenActions"],
        "iam:CreateAccessKey,organizations:LeaveOrganization,cloudtrail:StopLogging"
    );
    assert_eq!(
        settings.rules["vpc-creation-approved"].remediation,
        RemediationMode::Off
    );
}

#[test]
fn a_syntax_error_gives_file_line_and_column() {
    let err = errors("[organization]\nregions = [\"eu-west-1\"\ntarget-ous = []\n");
    assert!(
        err.starts_with("deployer.toml:3:1: missing comma between array elements"),
        "{err}"
    );
}

#[test]
fn a_misspelt_key_names_what_was_expected() {
    let err = errors(&MINIMAL.replace("target-ous", "target-ou"));
    assert!(
        err.starts_with("deployer.toml:4:1: unknown field `target-ou`"),
        "{err}"
    );
    assert!(err.contains("`target-ous`"), "{err}");
}

#[test]
fn an_unknown_rule_is_reported_where_it_is_named() {
    let text = format!("{MINIMAL}\n[rules.s3-bucket-encrypton]\n");
    let err = errors(&text);
    insta::assert_snapshot!(err, @r"
    deployer.toml:6:8: no rule named `s3-bucket-encrypton` in the rules directory (expected one of: ec2-cost-context, ec2-instance-baseline, iam-access-key-behaviour, iam-policy-no-admin-wildcards, s3-bucket-encryption, vpc-creation-approved)
      |
    6 | [rules.s3-bucket-encrypton]
      |        ^^^^^^^^^^^^^^^^^^^
    ");
}

#[test]
fn a_disabled_rule_may_name_a_rule_not_written_yet() {
    let text = format!("{MINIMAL}\n[rules.future-rule]\nenabled = false\n");
    let settings = parse(&text).unwrap();
    assert!(settings.rules.is_empty());
}

#[test]
fn parameters_are_checked_against_rule_toml() {
    let text = format!(
        "{MINIMAL}
[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = \"ROT13\", kmsKey = \"k\" }}

[rules.ec2-cost-context]
parameters = {{ maxSpendUsd = \"lots\" }}

[rules.iam-access-key-behaviour]
parameters = {{ deactivateSuspiciousKeys = 1 }}
"
    );
    insta::assert_snapshot!(errors(&text), @r#"
    deployer.toml:7:31: `ROT13` is not allowed (expected one of: AES256, aws:kms, aws:kms:dsse)
      |
    7 | parameters = { sseAlgorithm = "ROT13", kmsKey = "k" }
      |                               ^^^^^^^
    deployer.toml:7:40: `kmsKey` is not a parameter of s3-bucket-encryption (expected one of: inlineRemediation, kmsKeyArns, sseAlgorithm)
      |
    7 | parameters = { sseAlgorithm = "ROT13", kmsKey = "k" }
      |                                        ^^^^^^
    deployer.toml:10:30: expected a number, found `lots`
       |
    10 | parameters = { maxSpendUsd = "lots" }
       |                              ^^^^^^
    deployer.toml:13:43: expected true or false
       |
    13 | parameters = { deactivateSuspiciousKeys = 1 }
       |                                           ^
    "#);
}

#[test]
fn organisation_values_are_checked() {
    let text = r#"
[organization]
role-name = "no spaces please"
regions = ["eu-west-1", "mars-1", "eu-west-1"]
accounts = ["12345", "111111111111"]
exclude-accounts = ["111111111111"]
target-ous = ["Workloads//Prod"]
"#;
    insta::assert_snapshot!(errors(text), @r#"
    deployer.toml:3:13: expected an IAM role name (1-64 of letters, digits and +=,.@_-)
      |
    3 | role-name = "no spaces please"
      |             ^^^^^^^^^^^^^^^^^^
    deployer.toml:4:25: expected a region name such as `eu-west-1`
      |
    4 | regions = ["eu-west-1", "mars-1", "eu-west-1"]
      |                         ^^^^^^^^
    deployer.toml:4:35: region listed twice
      |
    4 | regions = ["eu-west-1", "mars-1", "eu-west-1"]
      |                                   ^^^^^^^^^^^
    deployer.toml:5:13: expected a 12-digit account id
      |
    5 | accounts = ["12345", "111111111111"]
      |             ^^^^^^^
    deployer.toml:5:22: account is both targeted and excluded
      |
    5 | accounts = ["12345", "111111111111"]
      |                      ^^^^^^^^^^^^^^
    deployer.toml:7:15: `Workloads//Prod` is not an OU: expected an id (ou-…) or a path of OU names such as `Workloads/Prod`
      |
    7 | target-ous = ["Workloads//Prod"]
      |               ^^^^^^^^^^^^^^^^^
    "#);
}

#[test]
fn a_configuration_without_targets_is_refused() {
    let err = errors("[organization]\nregions = [\"eu-west-1\"]\n");
    assert!(err.starts_with("deployer.toml:1:1: no targets"), "{err}");
}

#[test]
fn remediation_cannot_be_turned_on_for_a_rule_without_one() {
    let text = format!("{MINIMAL}\n[rules.vpc-creation-approved]\nremediation = \"automatic\"\n");
    let err = errors(&text);
    assert!(
        err.starts_with("deployer.toml:7:15: vpc-creation-approved declares no remediation"),
        "{err}"
    );
}

#[test]
fn remediation_can_be_switched_off_for_the_organisation() {
    let text = format!("{MINIMAL}\n[remediation]\nenabled = false\n[rules.s3-bucket-encryption]\n");
    let settings = parse(&text).unwrap();
    assert_eq!(
        settings.rules["s3-bucket-encryption"].remediation,
        RemediationMode::Off
    );
}

#[test]
fn exemptions_name_enabled_rules_and_dates() {
    let text = format!(
        "{MINIMAL}
[rules.s3-bucket-encryption]

[[exemptions]]
rule = \"vpc-creation-approved\"
resource-id = \"vpc-1\"
until = 2027-01-01
reason = \"r\"

[[exemptions]]
rule = \"all\"
resource-id = \"b\"
until = 2027-01-01T10:00:00
reason = \"r\"
"
    );
    let err = errors(&text);
    assert!(
        err.contains("deployer.toml:9:8: no enabled rule named `vpc-creation-approved`"),
        "{err}"
    );
    assert!(
        err.contains("deployer.toml:17:9: expected a date such as 2027-03-31"),
        "{err}"
    );
}

#[test]
fn an_exemption_for_all_reaches_every_enabled_rule() {
    let text = format!(
        "{MINIMAL}
[rules.s3-bucket-encryption]
[rules.vpc-creation-approved]

[[exemptions]]
rule = \"all\"
resource-id = \"sandbox-thing\"
until = 2027-01-01
reason = \"lab\"
"
    );
    let settings = parse(&text).unwrap();
    for rule in settings.rules.values() {
        assert_eq!(
            rule.exemptions["sandbox-thing"],
            "all; until=2027-01-01; reason=lab"
        );
    }
}

#[test]
fn stack_sets_may_be_administered_by_a_delegated_administrator() {
    assert!(!parse(MINIMAL).unwrap().organization.delegated_admin);
    let delegated = MINIMAL.replace(
        "[organization]\n",
        "[organization]\ncall-as = \"delegated-admin\"\n",
    );
    assert!(parse(&delegated).unwrap().organization.delegated_admin);
    let wrong = MINIMAL.replace("[organization]\n", "[organization]\ncall-as = \"admin\"\n");
    let message = errors(&wrong);
    assert!(
        message.contains("deployer.toml:3:") && message.contains("delegated-admin"),
        "{message}"
    );
}

#[test]
fn a_pack_is_deployed_per_account_unless_it_says_organization() {
    let base = std::fs::read_to_string(fixtures().join("deployer.toml")).unwrap();
    let settings = parse(&base).unwrap();
    assert_eq!(
        settings.packs["baseline"].deployment,
        crate::packs::Deployment::Account
    );
    let text = base.replace(
        "[packs.baseline]",
        "[packs.baseline]\ndeployment = \"organization\"",
    );
    assert_eq!(
        parse(&text).unwrap().packs["baseline"].deployment,
        crate::packs::Deployment::Organization
    );
    let wrong = base.replace("[packs.baseline]", "[packs.baseline]\ndeployment = \"org\"");
    let message = errors(&wrong);
    assert!(message.contains("unknown variant `org`"), "{message}");
    assert!(message.starts_with("deployer.toml:"), "{message}");
}

#[test]
fn a_pack_name_must_leave_room_for_its_remediation_role() {
    let base = std::fs::read_to_string(fixtures().join("deployer.toml")).unwrap();
    let long = "a".repeat(33);
    let message = errors(&base.replace("[packs.baseline]", &format!("[packs.{long}]")));
    assert!(
        message.contains("expected a pack name of letters, digits and hyphens (at most 32)"),
        "{message}"
    );
    assert!(
        parse(&base.replace("[packs.baseline]", &format!("[packs.{}]", "a".repeat(32)))).is_ok()
    );
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn an_exemption_longer_than_its_rule_allows_is_refused_with_its_place() {
    let text = format!(
        "{MINIMAL}
[rules.s3-bucket-encryption]

[[exemptions]]
rule = \"s3-bucket-encryption\"
resource-id = \"b\"
until = 2027-03-02
reason = \"r\"
"
    );
    let on = |today: &str| {
        Settings::parse_on(
            Path::new("deployer.toml"),
            &text,
            &catalog(),
            Some(day(today)),
        )
    };
    // 2026-12-01 + 90 days = 2027-03-01.
    let err = on("2026-12-01").unwrap_err().to_string();
    assert!(
        err.contains(
            "deployer.toml:11:9: 2027-03-02 is 91 days ahead; s3-bucket-encryption allows \
             exemptions of at most 90 days"
        ),
        "{err}"
    );
    assert!(on("2026-12-02").is_ok(), "at the limit");
    assert!(
        on("2027-06-01").is_ok(),
        "expired entries are kept (and reported as expired)"
    );
}

#[test]
fn a_registry_entry_for_all_reaches_the_identity_rules_too() {
    let text = format!(
        "{MINIMAL}
[rules.s3-bucket-encryption]
[rules.iam-access-key-behaviour]

[[exemptions]]
rule = \"all\"
resource-id = \"shared\"
until = 2027-01-01
reason = \"lab\"
"
    );
    let settings = parse(&text).unwrap();
    assert!(
        settings.rules["s3-bucket-encryption"]
            .exemptions
            .contains_key("shared")
    );
    assert_eq!(
        settings.rules["iam-access-key-behaviour"]
            .exemptions
            .get("shared"),
        Some(&"all; until=2027-01-01; reason=lab".to_owned()),
        "identity rules honour the registry, only"
    );
}

/// The problems `text` has against the fixture rules plus `extra` rule.toml texts (or a fixture
/// rule changed by `edit`).
fn errors_with(text: &str, edit: impl FnOnce(&mut Catalog)) -> String {
    let mut catalog = catalog();
    edit(&mut catalog);
    match Settings::parse(Path::new("deployer.toml"), text, &catalog) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_required_parameter_left_out_is_refused_where_the_rule_is_enabled() {
    let text = format!(
        "{MINIMAL}
[rules.ec2-instance-baseline]
parameters = {{ requiredTags = {{ Owner = \"unassigned\" }} }}

[[rules.ec2-instance-baseline.overrides]]
ou = \"Workloads/Prod\"
parameters = {{ adminSecurityGroupId = \"sg-0123456789abcdef0\" }}

[rules.ec2-cost-context]
"
    );
    let errors = errors(&text);
    assert!(
        errors.contains(
            "deployer.toml:6:8: ec2-instance-baseline requires the parameter \
             `adminSecurityGroupId` (every evaluation fails without it): set it in `parameters`, \
             e.g. adminSecurityGroupId = \"sg-0123456789abcdef0\""
        ),
        "{errors}"
    );
    assert!(
        errors
            .contains("deployer.toml:13:8: ec2-cost-context requires the parameter `maxSpendUsd`"),
        "{errors}"
    );
    // Given, it passes; a disabled rule needs nothing.
    let given = format!(
        "{MINIMAL}
[rules.ec2-instance-baseline]
parameters = {{ adminSecurityGroupId = \"sg-0123456789abcdef0\" }}

[rules.ec2-cost-context]
enabled = false
"
    );
    parse(&given).unwrap();
}

#[test]
fn a_malformed_security_group_id_is_refused_in_the_parameters_and_each_override() {
    let text = format!(
        "{MINIMAL}
[rules.ec2-instance-baseline]
parameters = {{ adminSecurityGroupId = \"sg-123\" }}

[[rules.ec2-instance-baseline.overrides]]
ou = \"Workloads/Prod\"
parameters = {{ adminSecurityGroupId = \"admins\" }}
"
    );
    let errors = errors(&text);
    assert!(
        errors.contains(
            "deployer.toml:7:39: `sg-123` is not a security group id (sg- and 8 or 17 lowercase \
             hexadecimal digits)"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("deployer.toml:11:39: `admins` is not a security group id"),
        "{errors}"
    );
}

#[test]
fn a_malformed_cidr_range_is_refused_item_by_item() {
    let rule = r#"
name = "ingress-ranges"
description = "Ingress only from known ranges."
resource-types = ["AWS::EC2::SecurityGroup"]

[trigger]
change = true

[parameters.trustedRanges]
type = "comma-list"
description = "Ranges ingress may come from."
format = "cidr"
"#;
    let text = format!(
        "{MINIMAL}
[rules.ingress-ranges]
parameters = {{ trustedRanges = [\"10.0.0.0/8\", \"10.300.0.0/16\"] }}
"
    );
    let add = |catalog: &mut Catalog| {
        let meta = RuleMeta::from_toml(rule).unwrap();
        catalog.rules.insert(meta.name.clone(), meta);
    };
    let errors = errors_with(&text, add);
    assert!(
        errors.contains(
            "deployer.toml:7:32: `10.300.0.0/16` is not a CIDR range such as 10.0.0.0/16 or \
             2001:db8::/32"
        ),
        "{errors}"
    );
    let good = text.replace("10.300.0.0/16", "2001:db8::/32");
    let mut catalog = catalog();
    add(&mut catalog);
    Settings::parse(Path::new("deployer.toml"), &good, &catalog).unwrap();
}

#[test]
fn remediation_attempts_and_retry_seconds_outside_configs_ranges_are_refused() {
    let text = format!("{MINIMAL}\n[rules.s3-bucket-encryption]\nremediation = \"automatic\"\n");
    for (attempts, seconds, expected) in [
        (
            26,
            60,
            "deployer.toml:6:8: s3-bucket-encryption's rule.toml: remediation.maximum-attempts: \
             26 is outside Config's MaximumAutomaticAttempts range, 1 to 25",
        ),
        (
            0,
            60,
            "remediation.maximum-attempts: 0 is outside Config's MaximumAutomaticAttempts range",
        ),
        (
            3,
            2_678_001,
            "deployer.toml:6:8: s3-bucket-encryption's rule.toml: remediation.retry-seconds: \
             2678001 is outside Config's RetryAttemptSeconds range, 1 to 2678000",
        ),
        (
            3,
            0,
            "remediation.retry-seconds: 0 is outside Config's RetryAttemptSeconds range",
        ),
    ] {
        let errors = errors_with(&text, |catalog| {
            let meta = catalog.rules.get_mut("s3-bucket-encryption").unwrap();
            let remediation = meta.remediation.as_mut().unwrap();
            remediation.maximum_attempts = attempts;
            remediation.retry_seconds = seconds;
        });
        assert!(errors.contains(expected), "{errors}");
    }
    // The limits themselves pass.
    let mut catalog = catalog();
    let remediation = catalog
        .rules
        .get_mut("s3-bucket-encryption")
        .unwrap()
        .remediation
        .as_mut()
        .unwrap();
    remediation.maximum_attempts = 25;
    remediation.retry_seconds = 2_678_000;
    Settings::parse(Path::new("deployer.toml"), &text, &catalog).unwrap();
}
