//! Command-line types only; the doc comments are the help text.

use std::path::PathBuf;

use std::fmt::Write as _;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// Roll AWS Config custom rules out to every account and region of an AWS Organization.
///
/// The deployer reads `deployer.toml` and each rule's `rule.toml`, renders CloudFormation from
/// `templates/`, compares it with the StackSets already deployed, and applies the difference.
/// Credentials come from the standard AWS chain; `AWS_ENDPOINT_URL` points it at another
/// endpoint.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The verbs by what people do with them: how `deployer` with no arguments lists them.
pub const VERB_GROUPS: [(&str, &[&str]); 3] = [
    ("Deploy", &["plan", "apply", "destroy", "unlock"]),
    (
        "Inspect",
        &["status", "audit", "evaluate", "doctor", "history", "graph"],
    ),
    ("Author", &["new-rule", "render", "pack"]),
];

/// The command line, its verbs listed in [`VERB_GROUPS`]; with no arguments it prints the
/// help.
pub fn command() -> clap::Command {
    let cli = Cli::command();
    let mut verbs = String::new();
    for (group, names) in VERB_GROUPS {
        let _ = writeln!(verbs, "{group}:");
        for name in names {
            let about = cli
                .find_subcommand(name)
                .and_then(clap::Command::get_about)
                .map(ToString::to_string)
                .unwrap_or_default();
            let _ = writeln!(verbs, "  {name:<9} {about}");
        }
        verbs.push('\n');
    }
    cli.arg_required_else_help(true).help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{verbs}Options:\n{{options}}{{after-help}}"
    ))
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The organisation configuration.
    #[arg(
        long,
        global = true,
        env = "CUSTOS_CONFIG",
        default_value = "deployer.toml"
    )]
    pub config: PathBuf,

    /// Where the rule crates live [default: `rules/` beside the configuration file].
    #[arg(long, global = true, env = "CUSTOS_RULES_DIR")]
    pub rules_dir: Option<PathBuf>,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// How results are printed on stdout; `json` prints JSON only; `html` is a report file,
    /// for `audit` only.
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,

    /// Tables as wide as their content, one line per row, instead of fitting the terminal.
    #[arg(long, global = true)]
    pub wide: bool,

    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Where and as whom AWS is called (the management account, or a delegated administrator).
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Named profile from the shared AWS configuration files.
    #[arg(long, global = true)]
    pub profile: Option<String>,

    /// Region that administers the StackSets [default: the profile's or `AWS_REGION`].
    #[arg(long, global = true)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// The `--output` flag: every command prints a table or JSON; `audit` also writes HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Table,
    Json,
    Html,
}

#[derive(Debug, thiserror::Error)]
#[error("`--output html` is for `deployer audit` only (expected table or json)")]
pub struct HtmlOnlyForAudit;

impl OutputArg {
    /// The format of a command that prints a table or JSON.
    pub fn plain(self) -> Result<OutputFormat, HtmlOnlyForAudit> {
        match self {
            Self::Table => Ok(OutputFormat::Table),
            Self::Json => Ok(OutputFormat::Json),
            Self::Html => Err(HtmlOnlyForAudit),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Json => "JSON",
            Self::Html => "HTML",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change, per StackSet, OU, account and region.
    ///
    /// Exits 0 when nothing would change, 1 when changes are pending, 2 on error.
    Plan(PlanArgs),

    /// Apply the reviewed plan (or a fresh one) to the organisation.
    ///
    /// Exits 0 when every target succeeded, 1 when some targets failed, 2 on error.
    Apply(ApplyArgs),

    /// Remove everything this deployment deployed in the organisation.
    ///
    /// Needs --allow-delete and --allow-mass-delete. Exits 0 when everything is gone, 1 when
    /// something failed or was left as is (unreachable or suspended accounts), 2 on error or
    /// refusal.
    Destroy(DestroyArgs),

    /// Remove the apply lock ID of this deployment, left by a run that stopped without
    /// releasing it (the lock says who took it, on which host and when).
    Unlock(UnlockArgs),

    /// Write every rendered CloudFormation template to a directory, for review and linting.
    Render(RenderArgs),

    /// Scaffold a new rule crate under the rules directory that builds and passes its test.
    NewRule(NewRuleArgs),

    /// Check each account and region is ready: recorder on, StackSets trusted access, roles.
    ///
    /// Exits 0 when everything is ready, 1 when something is missing, 2 on error.
    Doctor(DoctorArgs),

    /// Preview what the rules would report, read-only, before rolling them out.
    ///
    /// Runs the rules locally on what Config has recorded in each target account and region,
    /// and prints what each rule would report. Writes nothing. Periodic rules gather their facts read-only. A recorded item that lacks what a rule needs
    /// is reported NOT_EVALUABLE, naming the missing field. Exits 0 when every account and
    /// region was previewed, 1 when some could not be, 2 on error.
    Evaluate(EvaluateArgs),

    /// Show compliance of every Custos rule: an account x rule matrix.
    ///
    /// Read back from Config in every target account and region (through `[status]
    /// aggregator` when set, else each account), with counts of non-compliant resources.
    Status(StatusArgs),

    /// Report a conformance pack's compliance, for auditors (table, JSON or HTML).
    ///
    /// Per account and rule, with the non-compliant resources, their annotations and the
    /// exemptions (owner, expiry): a table, JSON, or one self-contained HTML file
    /// (`--output html --out FILE`).
    Audit(AuditArgs),

    /// Check conformance pack templates.
    #[command(subcommand)]
    Pack(PackCommand),

    /// Keep and query the history of resources: items, CloudTrail, verdicts, remediations.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Query and export the infrastructure graph built from Config's recorded items.
    #[command(subcommand)]
    Graph(GraphCommand),
}

/// The infrastructure graph, from the configuration items AWS Config delivers.
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// List what depends on a resource, transitively, with the path to each.
    ///
    /// RESOURCE is a resource id, an ARN, a name or a key (`account|region|type|id`). Sorted by
    /// depth, then name. Exits 0, or 2 when the resource is unknown or the items unreadable.
    Impact(GraphImpactArgs),

    /// Write the whole graph for other tools: GraphML, Cypher (Neo4j) or DOT (Graphviz).
    Export(GraphExportArgs),
}

/// Where the graph's items come from.
#[derive(Debug, Clone, Args)]
pub struct GraphSource {
    /// A folder of AWS Config history or snapshot files (`.json`, `.json.gz`, as delivered to
    /// S3), read recursively.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
}

#[derive(Debug, Args)]
pub struct GraphImpactArgs {
    /// The resource: id, ARN, name, or `account|region|type|id`.
    pub resource: String,

    /// Follow dependencies at most this many steps [default: no limit].
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,

    #[command(flatten)]
    pub source: GraphSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Graphml,
    Cypher,
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphExportArgs {
    #[arg(long, value_enum)]
    pub format: GraphFormat,

    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub source: GraphSource,
}

/// Act on the whole organisation.
#[derive(Debug, Clone, Copy, Args)]
pub struct OrgScope {
    /// Act on every target OU and account of the organisation (required: the only scope today).
    #[arg(long, required = true)]
    pub org: bool,
}

/// Where the rule Lambda zips come from.
#[derive(Debug, Clone, Default, Args)]
#[group(multiple = false)]
pub struct PackageArgs {
    /// Use zips already built by `cargo lambda build --release --arm64 --output-format zip`:
    /// DIR/<rule>/bootstrap.zip (e.g. target/lambda).
    #[arg(long, value_name = "DIR")]
    pub lambda_dir: Option<PathBuf>,

    /// Package prebuilt executables DIR/<rule> as `bootstrap` (e.g. a host build in
    /// target/debug, for local runs); nothing is built.
    #[arg(long, value_name = "DIR")]
    pub bootstrap_dir: Option<PathBuf>,
}

/// Taking over what an earlier Custos made.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct AdoptArgs {
    /// Take over the stack sets and organisation packs an earlier Custos made (tag
    /// `custos:managed=true`, no deployment id): they are tagged with this deployment's id and
    /// managed from then on. Without it they are left alone.
    #[arg(long)]
    pub adopt: bool,
}

/// What a run may delete.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct DeleteArgs {
    /// Allow the run to delete stack instances, stack sets and organisation packs.
    #[arg(long)]
    pub allow_delete: bool,

    /// Also allow deleting more than `mass-delete-percentage` of the managed stack instances, or
    /// whole stack sets and packs (`mass-delete-stack-sets`).
    #[arg(long)]
    pub allow_mass_delete: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub scope: OrgScope,

    /// Also save the plan as JSON, for `apply --plan`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub package: PackageArgs,

    #[command(flatten)]
    pub adopt: AdoptArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub scope: OrgScope,

    /// Apply exactly this saved plan: everything is rendered and read again, and the run is
    /// refused (exit 2, nothing written) when anything differs from the plan. The deletions it
    /// lists are allowed.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    /// With `[rollout]` waves: go on past a wave whose gate tripped; the reason is printed and
    /// recorded with the rollout.
    #[arg(long, value_name = "REASON")]
    pub skip_gate: Option<String>,

    #[command(flatten)]
    pub package: PackageArgs,

    #[command(flatten)]
    pub delete: DeleteArgs,

    #[command(flatten)]
    pub adopt: AdoptArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub scope: OrgScope,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub delete: DeleteArgs,

    #[command(flatten)]
    pub adopt: AdoptArgs,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The lock's id, as a refused run names it.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write the templates to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct NewRuleArgs {
    /// Rule name in kebab-case, stating the desired state (e.g. `ebs-volume-encrypted`).
    pub name: String,

    /// AWS Config resource type the rule evaluates.
    #[arg(long, default_value = "AWS::S3::Bucket")]
    pub resource_type: String,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Act on every target OU and account of the organisation.
    #[arg(long, required_unless_present = "print_policies")]
    pub org: bool,

    /// Print the least IAM policies the deployer needs (its own role, and `role-name` in each
    /// target account) for plan, apply, destroy and doctor, and check nothing.
    #[arg(long)]
    pub print_policies: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub scope: OrgScope,

    /// Only this rule (one enabled in `deployer.toml`).
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,

    /// Only this target account.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub scope: OrgScope,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub scope: OrgScope,

    /// The pack, as named in `deployer.toml` (`[packs.NAME]`).
    #[arg(long, value_name = "NAME")]
    pub pack: String,

    /// Only this rule of the pack.
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,

    /// Only this target account.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Check a conformance pack template (YAML or JSON, CloudFormation short tags allowed)
    /// against Config's rules for packs; problems are reported with their line.
    ///
    /// Exits 0 when the template is acceptable, 2 when it has problems or cannot be read.
    Validate(PackValidateArgs),
}

#[derive(Debug, Args)]
pub struct PackValidateArgs {
    /// The template file.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Append Config history and snapshot files, CloudTrail log files, evaluation results and
    /// remediation records to the history store.
    ///
    /// From a folder (`--from DIR`, walked recursively for `.json.gz` and `.json`) or from the
    /// delivery bucket (`--org --bucket NAME`, every `AWSLogs/<account>/` in it). A file
    /// ingested before adds nothing. A truncated or malformed file is reported with its name
    /// and position and the others go on. Exits 0 when every file was read, 1 when some could
    /// not be, 2 on error.
    Ingest(HistoryIngestArgs),

    /// Run one SQL query over the store (tables `items`, `trail`, `evaluations`,
    /// `remediations`, each partitioned by `account`, `region` and `date`).
    Query(HistoryQueryArgs),

    /// One resource's history: its state at a time, its changes as field-level diffs, the
    /// verdicts rules gave and the remediations it received, in time order.
    Show(HistoryShowArgs),

    /// Print the CloudFormation template of the Glue database and tables that let Athena
    /// query the same layout in S3.
    AthenaTemplate(HistoryAthenaArgs),
}

/// Where the history store is.
#[derive(Debug, Clone, Args)]
pub struct HistoryStoreArgs {
    /// The store directory.
    #[arg(long, env = "CUSTOS_HISTORY_STORE", default_value = ".custos/history")]
    pub store: PathBuf,
}

#[derive(Debug, Args)]
pub struct HistoryIngestArgs {
    /// A folder of files as AWS delivers them (`AWSLogs/<account>/Config|CloudTrail/<region>/...`).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "org",
        conflicts_with = "org"
    )]
    pub from: Option<PathBuf>,

    /// Read the organisation's delivery bucket (Config delivery channel and CloudTrail) in S3.
    #[arg(long, requires = "bucket")]
    pub org: bool,

    /// The delivery bucket, read under `AWSLogs/`.
    #[arg(long, env = "CUSTOS_HISTORY_BUCKET")]
    pub bucket: Option<String>,

    #[command(flatten)]
    pub store: HistoryStoreArgs,
}

#[derive(Debug, Args)]
pub struct HistoryQueryArgs {
    /// The SQL statement.
    pub sql: String,

    #[command(flatten)]
    pub store: HistoryStoreArgs,
}

#[derive(Debug, Args)]
pub struct HistoryShowArgs {
    /// The resource: its id (a bucket name, `i-...`) or its ARN.
    pub resource: String,

    /// Show the resource as it was at this time (RFC 3339, e.g. 2026-12-01T10:20:00Z).
    #[arg(long, value_name = "TIME")]
    pub at: Option<chrono::DateTime<chrono::FixedOffset>>,

    #[command(flatten)]
    pub store: HistoryStoreArgs,
}

#[derive(Debug, Args)]
pub struct HistoryAthenaArgs {
    /// The S3 location of the store (`s3://bucket/prefix`), laid out as locally.
    #[arg(long, value_name = "S3_URI")]
    pub location: String,

    /// The Glue database name.
    #[arg(long, default_value = "custos_history")]
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_verb_is_listed_in_exactly_one_group() {
        let listed: Vec<&str> = VERB_GROUPS
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let mut verbs: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        verbs.sort();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, verbs);
    }

    #[test]
    fn without_arguments_the_verbs_are_shown_by_group() {
        let err = command().try_get_matches_from(["deployer"]).unwrap_err();
        let help = err.to_string();
        let at = |text: &str| help.find(text).unwrap_or_else(|| panic!("{text}: {help}"));
        assert!(
            at("Deploy:") < at("  plan ") && at("  destroy ") < at("Inspect:"),
            "{help}"
        );
        assert!(
            at("Inspect:") < at("  status ") && at("Author:") < at("  new-rule "),
            "{help}"
        );
    }

    #[test]
    fn plan_requires_the_org_scope() {
        let err = Cli::try_parse_from(["deployer", "plan"]).unwrap_err();
        assert!(err.to_string().contains("--org"), "{err}");
    }

    #[test]
    fn the_two_package_sources_exclude_each_other() {
        let parsed = Cli::try_parse_from([
            "deployer",
            "apply",
            "--org",
            "--lambda-dir",
            "a",
            "--bootstrap-dir",
            "b",
        ]);
        assert!(parsed.is_err());
    }
}
