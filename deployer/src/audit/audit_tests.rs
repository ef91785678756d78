use std::path::Path;

use config_rule_sdk::exemption::{Exemption, Source};

use super::*;
use crate::catalog::Catalog;

pub(crate) fn settings() -> Settings {
    let catalog =
        Catalog::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")).unwrap();
    let text = r#"
[organization]
regions = ["eu-west-1"]
target-ous = ["Workloads"]

[rules.s3-bucket-encryption]
[rules.iam-policy-no-admin-wildcards]

[[exemptions]]
rule = "s3-bucket-encryption"
resource-id = "legacy-access-logs"
until = 2027-03-31
reason = "replaced by the central log archive in Q1"
owner = "platform-team"

[[exemptions]]
rule = "s3-bucket-encryption"
resource-id = "old-export"
until = 2026-01-31
reason = "export job retired"

[packs.baseline]
description = "What every account runs."
rules = ["s3-bucket-encryption", "iam-policy-no-admin-wildcards"]
"#;
    Settings::parse(Path::new("deployer.toml"), text, &catalog).unwrap()
}

fn result(id: &str, compliance: Compliance, annotation: &str) -> ResourceResult {
    ResourceResult {
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: id.into(),
        compliance,
        annotation: Some(annotation.into()),
    }
}

pub(crate) fn readings() -> Vec<Reading> {
    let tagged = Exemption::parse(
        "s3-bucket-encryption; until=2027-01-31; reason=legacy data; owner=team-web",
        Source::Tag,
    )
    .unwrap();
    vec![
        Reading {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
            rule: "s3-bucket-encryption".into(),
            deployed: true,
            results: vec![
                result(
                    "plain",
                    Compliance::NonCompliant,
                    "bucket has no default encryption",
                ),
                result("kms", Compliance::Compliant, "default encryption aws:kms"),
                result(
                    "web-assets",
                    Compliance::NotApplicable,
                    &tagged.active_note(),
                ),
            ],
            unreadable: None,
        },
        Reading {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
            rule: "iam-policy-no-admin-wildcards".into(),
            deployed: true,
            results: vec![],
            unreadable: None,
        },
        Reading {
            account: "333333333333".into(),
            region: "eu-west-1".into(),
            rule: "s3-bucket-encryption".into(),
            deployed: true,
            results: vec![result(
                "prod-data",
                Compliance::Compliant,
                "default encryption AES256",
            )],
            unreadable: None,
        },
    ]
}

pub(crate) fn sample() -> Report {
    let settings = settings();
    let rules: BTreeSet<String> = settings.packs["baseline"].rules.iter().cloned().collect();
    let accounts = BTreeMap::from([
        ("222222222222".to_owned(), "dev".to_owned()),
        ("333333333333".to_owned(), "prod".to_owned()),
    ]);
    report(
        "baseline",
        &settings,
        &rules,
        &accounts,
        &["eu-west-1".to_owned()],
        &readings(),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
}

#[test]
fn the_sdk_exemption_note_reads_back() {
    let e = Exemption::parse(
        "all; until=2027-01-31; reason=legacy: keep (for now); owner=team-web",
        Source::Tag,
    )
    .unwrap();
    let note = parse_exemption_note(&e.active_note()).unwrap();
    assert_eq!(
        note,
        ExemptionNote {
            until: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(),
            source: "tag custos:exempt".into(),
            owner: Some("team-web".into()),
            reason: "legacy: keep (for now)".into(),
        }
    );
    let anonymous = Exemption::parse("all; until=2027-01-31; reason=r", Source::Registry).unwrap();
    let note = parse_exemption_note(&anonymous.active_note()).unwrap();
    assert_eq!(
        (note.source.as_str(), note.owner),
        ("exemption registry", None)
    );
    assert_eq!(
        parse_exemption_note("bucket has no default encryption"),
        None
    );
    assert_eq!(parse_exemption_note(&e.expired_note()), None);
}

#[test]
fn findings_list_the_non_compliant_and_exempt_resources() {
    let r = sample();
    let found: Vec<String> = r
        .findings
        .iter()
        .flat_map(|f| {
            f.resources.iter().map(move |x| {
                format!(
                    "{} {} {} {:?} (compliant: {})",
                    f.name, f.rule, x.resource_id, x.compliance, f.compliant
                )
            })
        })
        .collect();
    assert_eq!(
        found,
        [
            "dev s3-bucket-encryption plain NonCompliant (compliant: 1)",
            "dev s3-bucket-encryption web-assets NotApplicable (compliant: 1)",
        ]
    );
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.matrix.totals.non_compliant, 1);
    // prod has no reading for the IAM rule: not deployed there.
    assert_eq!(
        r.matrix.rows[1].cells["iam-policy-no-admin-wildcards"].state,
        crate::compliance::CellState::NotDeployed
    );
}

#[test]
fn exemptions_come_from_settings_and_annotations_with_owner_and_expiry() {
    let r = sample();
    let listed: Vec<String> = r
        .exemptions
        .iter()
        .map(|e| {
            format!(
                "{} {:?} [{}] {} owner={:?} until={} active={} left={}",
                e.resource_id,
                e.origin,
                e.account,
                e.source,
                e.owner,
                e.until,
                e.active,
                e.days_left
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "legacy-access-logs Settings [] exemption registry owner=Some(\"platform-team\") until=2027-03-31 active=true left=120",
            "old-export Settings [] exemption registry owner=None until=2026-01-31 active=false left=-304",
            "web-assets Annotation [222222222222] tag custos:exempt owner=Some(\"team-web\") until=2027-01-31 active=true left=61",
        ]
    );
}

#[test]
fn an_account_that_could_not_be_read_is_shown_as_unreadable_with_why() {
    let settings = settings();
    let rules: BTreeSet<String> = settings.packs["baseline"].rules.iter().cloned().collect();
    let accounts = BTreeMap::from([
        ("222222222222".to_owned(), "dev".to_owned()),
        ("444444444444".to_owned(), "lab".to_owned()),
    ]);
    let reason = "reading the Config rules: AccessDenied: not authorized to perform sts:AssumeRole";
    let mut readings = readings();
    readings.extend(
        rules
            .iter()
            .map(|rule| Reading::unreadable("444444444444", "eu-west-1", rule, reason)),
    );
    let r = report(
        "baseline",
        &settings,
        &rules,
        &accounts,
        &["eu-west-1".to_owned()],
        &readings,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    assert_eq!(r.matrix.unreadable.len(), 1);
    assert_eq!(
        crate::compliance::exit_status(&r.matrix),
        crate::exit::ExitStatus::Attention
    );
    let html = html::render(&r).unwrap();
    assert_eq!(
        html.matches("class=\"cell ur\"").count(),
        rules.len(),
        "{html}"
    );
    assert!(html.contains("<section id=\"unreadable\">"));
    assert!(html.contains("<code>444444444444</code> eu-west-1"));
    assert!(html.contains("not authorized to perform sts:AssumeRole"));
    // A report that read everything has no such section.
    assert!(
        !html::render(&sample())
            .unwrap()
            .contains("id=\"unreadable\"")
    );
}
