//! `deployer status` and `deployer audit` read back exactly what the rules put: a small
//! organisation gets the s3-bucket-encryption rule and the baseline conformance pack through
//! `apply`; the harness runs the deployed rule on each member's buckets as Config would; then
//! the status matrix, the audit JSON and the HTML report (loaded in headless Chromium) show
//! those results, with the exemption from deployer.toml and its owner.
//!
//! Where the emulator departs from AWS: Config is keyed by account only, so one region is
//! used; its conformance packs are created but hold no rules, so only the pack's stack is
//! checked; its aggregators return the caller's account only, so the aggregator path is
//! covered with mocks in the deployer's unit tests.

use std::path::Path;
use std::process::Command;

use config_rule_sdk::host::Mode;
use serde_json::Value;
use workspace_tests::config_service::ConfigService;
use workspace_tests::emulator::{Account, Emulator};
use workspace_tests::org::{ACCESS_ROLE, Organization};
use workspace_tests::s3::put_default_encryption;
use workspace_tests::{recorder, unique_name};

use crate::deployer::{Deployer, custos_stacks, deployer_for, has_stack_of, repo};

const RULE: &str = "s3-bucket-encryption";
const REGION: &str = "us-east-1";
/// The exemption's last day: within the rule's 90 days, so `plan` accepts it.
static UNTIL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| workspace_tests::days_ahead(60));

fn settings(exempt_bucket: &str, extra: &str) -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Workloads"]

[artifacts]
distribution = "per-account"

[rules.{RULE}]
parameters = {{ sseAlgorithm = "AES256" }}

[[exemptions]]
rule = "{RULE}"
resource-id = "{exempt_bucket}"
until = {until}
reason = "replaced by the central log archive"
owner = "platform-team"

[packs.baseline]
description = "What every account runs."
rules = ["{RULE}"]
{extra}
"#,
        until = UNTIL.as_str()
    )
}

async fn bucket(account: &Account, name: &str, encrypted: bool) {
    let s3 = aws_sdk_s3::Client::new(&account.config);
    s3.create_bucket().bucket(name).send().await.unwrap();
    if encrypted {
        put_default_encryption(&s3, name, "AES256", None)
            .await
            .unwrap();
    }
}

/// Runs the deployed rule on `buckets` in `account`, as Config would on a change.
async fn run_rule(account: &Account, buckets: &[&str]) {
    let config = ConfigService::new(account);
    let deployed = config.deployed_rule(RULE).await.unwrap();
    for name in buckets {
        let item = recorder::s3_bucket(&account.config, &account.id, name)
            .await
            .unwrap();
        config
            .run_change_rule(&s3_bucket_encryption::entry(), &deployed, &item, Mode::Put)
            .await
            .unwrap();
    }
}

/// Runs the deployer with its output as it is (not necessarily JSON).
fn raw(deployer: &Deployer, args: &[&str]) -> (i32, String, String) {
    let out = deployer
        .command()
        .args(args)
        .output()
        .expect("the deployer runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The cell of `rule` in the row of `account`: (state, non-compliant, compliant, not applicable).
fn cell(matrix: &Value, account: &str, rule: &str) -> (String, u64, u64, u64) {
    let row = matrix["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"] == account)
        .unwrap_or_else(|| panic!("no row for {account}: {matrix:#}"));
    let c = &row["cells"][rule];
    (
        c["state"].as_str().unwrap_or_default().to_owned(),
        c["non_compliant"].as_u64().unwrap(),
        c["compliant"].as_u64().unwrap(),
        c["not_applicable"].as_u64().unwrap(),
    )
}

/// The DOM Chromium builds from `file`, read headless: what a person would see.
fn chromium_dom(file: &Path, screenshot: &Path) -> String {
    let url = format!("file://{}", file.display());
    let run = |extra: &[&str]| {
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "chromium could not be started ({e}): install Debian's chromium package \
                     (apt-get install chromium); the HTML report is tested in it"
                )
            })
    };
    let dom = run(&["--dump-dom"]);
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let shot = run(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1400,1000",
    ]);
    assert!(
        shot.status.success() && screenshot.exists(),
        "no screenshot"
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// The organisation, the rollout and the rule's results that every check below reads.
struct World {
    org: Organization,
    deployer: Deployer,
    dev: Account,
    prod: Account,
    exempt: String,
    plain: String,
}

async fn world(emulator: &Emulator) -> World {
    let org = Organization::isolated(emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let dev = org.create_member("dev").await.unwrap();
    let prod = org.create_member("prod").await.unwrap();
    for account in [&dev, &prod] {
        org.move_account(&account.id, &workloads).await.unwrap();
    }
    org.enable_stacksets_trusted_access().await.unwrap();

    let exempt = unique_name("legacy-logs");
    let deployer = deployer_for(emulator, &org).await;
    deployer.write_settings(&settings(&exempt, ""));
    let packs = deployer.dir.path().join("conformance-packs");
    std::fs::create_dir(&packs).unwrap();
    std::fs::copy(
        repo().join("conformance-packs/baseline.toml"),
        packs.join("baseline.toml"),
    )
    .unwrap();
    deployer.apply();
    // The pack's managed rules went out through their own stack set.
    let stacks = custos_stacks(&dev.config, REGION).await;
    assert!(
        has_stack_of(&stacks, "custos-pack-baseline"),
        "no pack stack in dev: {stacks:?}"
    );

    // dev: one plain, one encrypted, one exempt bucket; prod: one encrypted bucket.
    let (plain, sealed, safe) = (
        unique_name("plain"),
        unique_name("sealed"),
        unique_name("safe"),
    );
    bucket(&dev, &plain, false).await;
    bucket(&dev, &sealed, true).await;
    bucket(&dev, &exempt, false).await;
    bucket(&prod, &safe, true).await;
    Box::pin(run_rule(&dev, &[&plain, &sealed, &exempt])).await;
    Box::pin(run_rule(&prod, &[&safe])).await;
    World {
        org,
        deployer,
        dev,
        prod,
        exempt,
        plain,
    }
}

/// The matrix counts exactly the results put.
fn check_status(w: &World) {
    let World {
        deployer,
        dev,
        prod,
        ..
    } = w;
    let (code, status) = deployer.run(&["status", "--org"]);
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(
        cell(&status, &dev.id, RULE),
        ("non-compliant".to_owned(), 1, 1, 1)
    );
    assert_eq!(
        cell(&status, &prod.id, RULE),
        ("compliant".to_owned(), 0, 1, 0)
    );
    assert_eq!(status["rows"].as_array().unwrap().len(), 2, "{status:#}");
    assert_eq!(status["totals"]["non_compliant"], 1);
    // Every exemption, with its source, owner, expiry and days left: the registry entry of
    // deployer.toml, and the same one as dev's rule reported it.
    let exemptions: Vec<(&str, &str, &str, &str, i64)> = status["exemptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
                e["owner"].as_str().unwrap_or_default(),
                e["until"].as_str().unwrap(),
                e["days_left"].as_i64().unwrap(),
            )
        })
        .collect();
    let entry = |account| {
        (
            account,
            "exemption registry",
            "platform-team",
            UNTIL.as_str(),
            60,
        )
    };
    assert_eq!(
        exemptions,
        [entry(""), entry(dev.id.as_str())],
        "{status:#}"
    );
}

/// The audit lists the resources to look at and the exemption, with owner and expiry.
fn check_audit(w: &World) {
    let World {
        deployer,
        dev,
        exempt,
        plain,
        ..
    } = w;
    let (code, audit) = deployer.run(&["audit", "--pack", "baseline", "--org"]);
    assert_eq!(code, 0, "{audit:#}");
    let findings = audit["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{audit:#}");
    assert_eq!(findings[0]["account"], dev.id.as_str());
    let resources: Vec<(&str, &str)> = findings[0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource_id"].as_str().unwrap(),
                r["compliance"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        resources,
        [
            (plain.as_str(), "NON_COMPLIANT"),
            (exempt.as_str(), "NOT_APPLICABLE")
        ]
    );
    assert_eq!(
        findings[0]["resources"][0]["annotation"],
        "bucket has no default encryption"
    );
    // The exemption, from deployer.toml and as Config reported it in dev, with owner and expiry.
    let exemptions: Vec<(&str, &str, &str, &str)> = audit["exemptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["origin"].as_str().unwrap(),
                e["account"].as_str().unwrap(),
                e["owner"].as_str().unwrap_or_default(),
                e["until"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        exemptions,
        [
            ("settings", "", "platform-team", UNTIL.as_str()),
            (
                "annotation",
                dev.id.as_str(),
                "platform-team",
                UNTIL.as_str()
            ),
        ]
    );
}

/// Bad requests: exit 2, a message naming what is wrong, nothing written.
fn check_bad_requests(w: &World) {
    let World { deployer, .. } = w;
    let report = deployer.dir.path().join("audit.html");
    let out = report.to_str().unwrap();
    for (args, says) in [
        (vec!["--pack", "nope"], "no pack named `nope`"),
        (vec!["--pack", "baseline", "--rule", "x"], "has no rule `x`"),
        (
            vec!["--pack", "baseline", "--account", "999999999999"],
            "999999999999 is not a target account",
        ),
    ] {
        let mut all = vec!["--output", "html", "audit", "--org", "--out", out];
        all.extend(args);
        let (code, _, stderr) = raw(deployer, &all);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!report.exists());
    }
}

/// The HTML report, as Chromium shows it.
fn check_html(w: &World) {
    let World {
        deployer,
        dev,
        prod,
        plain,
        ..
    } = w;
    let report = deployer.dir.path().join("audit.html");
    let out = report.to_str().unwrap();
    let (code, _, stderr) = raw(
        deployer,
        &[
            "--output", "html", "audit", "--pack", "baseline", "--org", "--out", out,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let screenshot = deployer.dir.path().join("audit.png");
    let dom = chromium_dom(&report, &screenshot);
    let dev_row = format!("<th>dev<br><small>{}</small></th>", dev.id);
    let prod_row = format!("<th>prod<br><small>{}</small></th>", prod.id);
    for seen in [
        dev_row.as_str(),
        prod_row.as_str(),
        "1 non-compliant",
        "compliant (1)",
        plain.as_str(),
        "bucket has no default encryption",
        "platform-team",
        UNTIL.as_str(),
    ] {
        assert!(dom.contains(seen), "the report does not show {seen}");
    }
    assert_eq!(dom.matches("class=\"cell nc\"").count(), 1, "one red cell");
    assert_eq!(
        dom.matches("class=\"cell ok\"").count(),
        1,
        "one green cell"
    );
    assert!(
        dom.contains("<details open=\"\">"),
        "the drill-down is there"
    );
    assert!(dom.contains("id=\"total-non-compliant\"><b>1</b>"));
    assert!(dom.contains("id=\"total-exemptions\"><b>1</b>"));
    #[expect(
        clippy::disallowed_methods,
        reason = "where to keep the report and its screenshot for a person to look at"
    )]
    let keep = std::env::var("CUSTOS_KEEP_REPORT");
    if let Ok(keep) = keep {
        std::fs::copy(&report, Path::new(&keep).join("audit.html")).unwrap();
        std::fs::copy(&screenshot, Path::new(&keep).join("audit.png")).unwrap();
    }
}

/// An aggregator that does not exist stops status with a clear message and exit 2.
fn check_missing_aggregator(w: &World) {
    let World {
        deployer, exempt, ..
    } = w;
    deployer.write_settings(&settings(
        exempt,
        "[status]\naggregator = \"missing-aggregator\"\n",
    ));
    let (code, _, stderr) = raw(deployer, &["status", "--org"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no configuration aggregator `missing-aggregator`"),
        "{stderr}"
    );
}

/// An account the member role cannot reach is reported as unreadable, with why; the other
/// accounts are read as before, and the command asks for attention (exit 1).
async fn check_unreadable_account(w: &World) {
    let World {
        org,
        deployer,
        dev,
        exempt,
        ..
    } = w;
    let email = format!("{}@example.com", unique_name("no-role"));
    let lost = org.create_account("no-role", &email).await.unwrap();
    let workloads = org.parent_of(&dev.id).await.unwrap();
    org.move_account(&lost, &workloads).await.unwrap();
    deployer.write_settings(&settings(exempt, ""));

    let (code, status) = deployer.run(&["status", "--org"]);
    assert_eq!(code, 1, "{status:#}");
    assert_eq!(
        cell(&status, &lost, RULE),
        ("unreadable".to_owned(), 0, 0, 0)
    );
    assert_eq!(
        cell(&status, &dev.id, RULE),
        ("non-compliant".to_owned(), 1, 1, 1)
    );
    let unreadable = status["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{status:#}");
    assert_eq!(unreadable[0]["account"], lost.as_str());

    let (code, _, stderr) = raw(deployer, &["status", "--org"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("could not read account {lost} in {REGION}")),
        "{stderr}"
    );
}

#[tokio::test]
async fn status_and_audit_report_what_the_rules_put() {
    let emulator = Emulator::from_env();
    let w = Box::pin(world(&emulator)).await;
    check_status(&w);
    check_audit(&w);
    check_bad_requests(&w);
    check_html(&w);
    check_missing_aggregator(&w);
    check_unreadable_account(&w).await;
}

/// `deployer pack validate`, as a user runs it: AWS's sample pack passes unchanged; a broken one
/// fails with exit 2 and each problem at its line.
#[test]
fn pack_validate_accepts_the_samples_and_locates_problems() {
    let binary = crate::deployer::deployer_binary();
    let packs = repo().join("deployer/fixtures/packs");
    let run = |file: &str| {
        let out = Command::new(&binary)
            .args(["pack", "validate"])
            .arg(packs.join(file))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for sample in [
        "Operational-Best-Practices-for-Amazon-S3.yaml",
        "s3-encryption-with-remediation.yaml",
    ] {
        let (code, stdout, stderr) = run(sample);
        assert_eq!((code, stdout.as_str()), (0, ""), "{sample}: {stderr}");
        assert!(stderr.contains(": valid"), "{stderr}");
    }
    let (code, stdout, _) = run("broken.yaml");
    assert_eq!(code, 2);
    let located: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap_or_default())
        .map(|l| l.rsplit('/').next().unwrap_or_default())
        .collect();
    assert_eq!(
        located,
        [
            "broken.yaml:5:3",
            "broken.yaml:10:11",
            "broken.yaml:14:23",
            "broken.yaml:19:16",
            "broken.yaml:21:28",
            "broken.yaml:23:22",
        ]
    );
}
