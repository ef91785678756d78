//! The deployer, run as its binary with the management account's credentials, as a platform
//! engineer runs it; its `deployer.toml` is written for the demo's organisation.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::estate::Estate;
use crate::emulator::{Emulator, REGION};
use crate::org::{ACCESS_ROLE, Organization};

pub struct Deployer {
    binary: PathBuf,
    /// Host-built rule executables, packaged as each Lambda's `bootstrap`.
    pub bootstrap_dir: PathBuf,
    config: PathBuf,
    rules_dir: PathBuf,
    env: Vec<(String, String)>,
}

/// What one run printed.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Deployer {
    /// The deployer of this build (`target/debug`), acting as `org`'s management account,
    /// with `settings` written to `dir/deployer.toml`.
    pub async fn new(
        emulator: &Emulator,
        org: &Organization,
        dir: &Path,
        settings: &str,
    ) -> Result<Self> {
        let exe = std::env::current_exe().context("this program's own path")?;
        let mut bin_dir = exe
            .parent()
            .context("this program's directory")?
            .to_path_buf();
        // Test binaries live one level down, in target/debug/deps.
        if bin_dir.ends_with("deps") {
            bin_dir.pop();
        }
        let binary = bin_dir.join("deployer");
        if !binary.exists() {
            bail!(
                "{} is missing: build it with `cargo build -p deployer` (make demo does)",
                binary.display()
            );
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the tests crate is in the repository")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = dir.join("deployer.toml");
        std::fs::write(&config, settings)
            .with_context(|| format!("writing {}", config.display()))?;
        let env = org.management_environment(emulator.url()).await?;
        Ok(Self {
            binary,
            bootstrap_dir: bin_dir,
            config,
            rules_dir: repo.join("rules"),
            env,
        })
    }

    pub fn settings_file(&self) -> &Path {
        &self.config
    }

    /// `deployer ARGS` with the demo's settings; the exit code and what it printed.
    pub fn run(&self, args: &[&str]) -> Result<Ran> {
        self.run_with(args, Stdio::piped())
    }

    fn run_with(&self, args: &[&str], stderr: Stdio) -> Result<Ran> {
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .arg("--rules-dir")
            .arg(&self.rules_dir)
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Its stdout is captured: its tables fit the demo's own terminal.
            .env("COLUMNS", screen_width().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("running {}", self.binary.display()))?;
        let out = child
            .wait_with_output()
            .with_context(|| format!("running {}", self.binary.display()))?;
        Ok(Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `deployer --output json ARGS`, which must exit with one of `ok_codes`.
    pub fn json(&self, args: &[&str], ok_codes: &[i32]) -> Result<Value> {
        self.json_with(args, ok_codes, Stdio::piped())
    }

    /// `json`, with the deployer's progress shown as it goes (long runs such as `apply`).
    pub fn json_showing_progress(&self, args: &[&str], ok_codes: &[i32]) -> Result<Value> {
        self.json_with(args, ok_codes, Stdio::inherit())
    }

    fn json_with(&self, args: &[&str], ok_codes: &[i32], stderr: Stdio) -> Result<Value> {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let ran = self.run_with(&all, stderr)?;
        if !ok_codes.contains(&ran.code) {
            bail!(
                "deployer {} exited {}:\n{}{}",
                args.join(" "),
                ran.code,
                ran.stdout,
                ran.stderr
            );
        }
        serde_json::from_str(&ran.stdout).with_context(|| {
            format!(
                "deployer {} printed no JSON: {}",
                args.join(" "),
                ran.stdout
            )
        })
    }

    /// `deployer ARGS` for people: its table, which must come with one of `ok_codes`.
    pub fn table(&self, args: &[&str], ok_codes: &[i32]) -> Result<Ran> {
        let ran = self.run(args)?;
        if !ok_codes.contains(&ran.code) {
            bail!(
                "deployer {} exited {}:\n{}{}",
                args.join(" "),
                ran.code,
                ran.stdout,
                ran.stderr
            );
        }
        Ok(ran)
    }
}

/// The width of the terminal the demo prints to (100 when it is not a terminal).
fn screen_width() -> u16 {
    comfy_table::Table::new().width().unwrap_or(100)
}

/// The demo's `deployer.toml`: every seed rule, one region, per-account artifacts (the
/// emulator's CloudFormation reads Lambda code from the stack's own account only), and the
/// administrator security group of each account's VPC given per OU.
pub fn settings(estate: &Estate) -> String {
    let group = |ou: &str| {
        estate
            .members
            .iter()
            .find(|m| m.ou == ou)
            .map(|m| m.admin_group.clone())
            .unwrap_or_default()
    };
    let mut text = format!(
        r#"# Written by the Custos demo for its organisation on the local emulator.
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Workloads", "Sandbox"]
include-management-account = true

[artifacts]
# The emulator's CloudFormation reads Lambda code from the stack's own account only.
distribution = "per-account"

[notifications]
emails = ["cloud-security@example.com"]

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}

[rules.ec2-instance-baseline]
parameters = {{ requiredTags = {{ Owner = "unassigned", CostCenter = "0000" }}, adminSecurityGroupId = "{}" }}
"#,
        group("Workloads")
    );
    for ou in ["Workloads/Prod", "Sandbox"] {
        let _ = write!(
            text,
            r#"
[[rules.ec2-instance-baseline.overrides]]
ou = "{ou}"
parameters = {{ adminSecurityGroupId = "{}" }}
"#,
            group(ou)
        );
    }
    text.push_str(
        r#"
[rules.vpc-creation-approved]

[rules.ec2-cost-context]
parameters = { maxSpendUsd = 500 }

[rules.iam-access-key-behaviour]
parameters = { deactivateSuspiciousKeys = false }

[rules.iam-policy-no-admin-wildcards]
parameters = { forbiddenActions = ["iam:CreateAccessKey", "organizations:LeaveOrganization", "cloudtrail:StopLogging"] }

[packs.baseline]
description = "What every account runs."
rules = ["s3-bucket-encryption", "ec2-instance-baseline", "vpc-creation-approved", "iam-policy-no-admin-wildcards", "ec2-cost-context", "iam-access-key-behaviour"]
"#,
    );
    text
}
