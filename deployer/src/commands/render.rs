//! `deployer render --out DIR`: every template the settings make, written for review and linting.

use anyhow::Context;

use super::load_settings;
use crate::cli::{GlobalArgs, RenderArgs};
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &RenderArgs) -> anyhow::Result<ExitStatus> {
    let settings = load_settings(global)?;
    let rendered = crate::render::render(&settings).context("rendering the templates")?;
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
