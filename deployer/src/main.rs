use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::FromArgMatches;
use std::path::{Path, PathBuf};

use deployer::catalog::Catalog;
use deployer::cli::DeleteArgs;
use deployer::cli::{Cli, Command, GlobalArgs, PackCommand};
use deployer::commands::{Request, Run};
use deployer::exit::ExitStatus;
use deployer::guard::Allowed;
use deployer::layout::Screen;
use deployer::settings::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli =
        Cli::from_arg_matches(&deployer::cli::command().get_matches()).unwrap_or_else(|e| e.exit());
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            report(&error);
            ExitStatus::Error.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let Cli { global, command } = cli;
    match command {
        Command::NewRule(args) => new_rule(&global, &args),
        Command::Render(args) => render(&global, &args),
        Command::Plan(args) => runtime()?.block_on(async {
            load_run(&global)?
                .plan(&args.package, args.out.as_deref(), args.adopt.adopt)
                .await
        }),
        Command::Apply(args) => runtime()?.block_on(async {
            let request = Request {
                package: Some(&args.package),
                plan_file: args.plan.as_deref(),
                yes: args.yes,
                allowed: allowed(args.delete),
                adopt: args.adopt.adopt,
            };
            load_run(&global)?.apply(request, "apply").await
        }),
        Command::Destroy(args) => runtime()?.block_on(async {
            let request = Request {
                package: None,
                plan_file: None,
                yes: args.yes,
                allowed: allowed(args.delete),
                adopt: args.adopt.adopt,
            };
            load_run(&global)?.apply(request, "destroy").await
        }),
        Command::Unlock(args) => {
            runtime()?.block_on(async { load_run(&global)?.unlock(&args.id).await })
        }
        Command::Doctor(args) if args.print_policies => {
            let settings = load_settings(&global)?;
            let policies = deployer::policies::minimum_policies(&settings);
            match global.output.plain()? {
                deployer::cli::OutputFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&policies)?);
                }
                deployer::cli::OutputFormat::Table => print!(
                    "{}",
                    deployer::policies::text(&policies, &settings.organization.role_name)
                ),
            }
            Ok(ExitStatus::Success)
        }
        Command::Doctor(_) => runtime()?.block_on(async { load_run(&global)?.doctor().await }),
        Command::Evaluate(args) => {
            let scope = deployer::evaluate::Scope {
                rule: args.rule,
                account: args.account,
            };
            runtime()?.block_on(async { load_run(&global)?.evaluate(&scope).await })
        }
        Command::Status(_) => {
            let settings = load_settings(&global)?;
            let format = global.output.plain()?;
            let screen = Screen::detect(global.wide);
            runtime()?.block_on(deployer::status::run(
                &global.aws,
                &settings,
                format,
                screen,
            ))
        }
        Command::Audit(args) => {
            let settings = load_settings(&global)?;
            #[expect(
                clippy::disallowed_methods,
                reason = "the report's date, against which exemptions are judged"
            )]
            let today = chrono::Utc::now().date_naive();
            let request = deployer::audit::command::Request {
                pack: &args.pack,
                rule: args.rule.as_deref(),
                account: args.account.as_deref(),
                format: global.output,
                out: args.out.as_deref(),
                screen: Screen::detect(global.wide),
                today,
            };
            runtime()?.block_on(deployer::audit::command::run(
                &global.aws,
                &settings,
                &request,
            ))
        }
        Command::Pack(PackCommand::Validate(args)) => {
            deployer::packs::validate_command(&args.file, global.output.plain()?)
        }
    }
}

fn new_rule(global: &GlobalArgs, args: &deployer::cli::NewRuleArgs) -> anyhow::Result<ExitStatus> {
    let rules_dir = rules_dir(global);
    let dir = deployer::scaffold::write(&rules_dir, &args.name, &args.resource_type)
        .context("scaffolding the rule")?;
    eprintln!(
        "created {}; run `cargo test -p {}`",
        dir.display(),
        args.name
    );
    Ok(ExitStatus::Success)
}

fn render(global: &GlobalArgs, args: &deployer::cli::RenderArgs) -> anyhow::Result<ExitStatus> {
    let settings = load_settings(global)?;
    let rendered = deployer::render::render(&settings).context("rendering the templates")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (id, template) in &rendered {
        let path = args.out.join(id.file_name());
        std::fs::write(&path, &template.body)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "wrote {} templates to {}",
        rendered.len(),
        args.out.display()
    );
    Ok(ExitStatus::Success)
}

fn allowed(flags: DeleteArgs) -> Allowed {
    Allowed {
        delete: flags.allow_delete,
        mass_delete: flags.allow_mass_delete,
    }
}

fn load_run(global: &GlobalArgs) -> anyhow::Result<Run> {
    Ok(Run {
        settings: load_settings(global)?,
        rules_dir: rules_dir(global),
        aws: global.aws.clone(),
        output: global.output.plain()?,
        screen: Screen::detect(global.wide),
        verbose: global.verbose > 0,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Reads the rules and `deployer.toml`; bad configuration stops here, before any AWS call.
fn load_settings(global: &GlobalArgs) -> anyhow::Result<Settings> {
    let rules_dir = rules_dir(global);
    let catalog = Catalog::discover(&rules_dir).context("reading the rules")?;
    #[expect(
        clippy::disallowed_methods,
        reason = "exemptions may reach at most their rule's max-days ahead of today"
    )]
    let today = chrono::Utc::now().date_naive();
    Ok(Settings::load_on(&global.config, &catalog, Some(today))?)
}

fn rules_dir(global: &GlobalArgs) -> PathBuf {
    global.rules_dir.clone().unwrap_or_else(|| {
        global
            .config
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("rules")
    })
}

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// One cause per line, outermost first.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
