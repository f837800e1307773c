//! `genolens run CONFIG.toml`: the whole study (`genolens::pipeline`), and
//! `genolens report OUT`: its report re-rendered.

use std::path::PathBuf;

use genolens::io::AtomicFile;
use genolens::pipeline::{render_report, Pipeline, EXAMPLE_CONFIG};

use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::progress;

/// Flags of `genolens run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study configuration (TOML; `genolens run --init FILE` writes a
    /// commented example).
    #[arg(value_name = "CONFIG")]
    config: PathBuf,
    /// Write a commented example configuration to CONFIG instead of running.
    #[arg(long)]
    init: bool,
}

/// Runs a study, or writes an example configuration.
pub fn run(args: Args) -> Result<(), CliError> {
    if args.init {
        if args.config.exists() {
            return Err(CliError::Usage(format!(
                "{} exists; --init does not overwrite a configuration",
                args.config.display()
            )));
        }
        let mut f = AtomicFile::create(&args.config)?;
        f.write_all(EXAMPLE_CONFIG.as_bytes())?;
        f.commit()?;
        eprintln!("genolens: wrote {}", args.config.display());
        return Ok(());
    }
    let pipeline = Pipeline::from_toml_file(&args.config)?;
    let study = pipeline.run(&progress::Bars::default())?;
    let warnings = [
        study.prior.as_ref().map(|o| ("prior", &o.warnings)),
        study.qc.as_ref().map(|o| ("qc", &o.warnings)),
        study.pca.as_ref().map(|o| ("pca", &o.warnings)),
        study.gwas.as_ref().map(|o| ("gwas", &o.warnings)),
        study.explain.as_ref().map(|o| ("explain", &o.warnings)),
    ];
    for (step, list) in warnings.into_iter().flatten() {
        for w in list {
            eprintln!("genolens: {step}: warning: {w}");
        }
    }
    for model in study.predict.iter().flat_map(|p| &p.models) {
        for w in &model.warnings {
            eprintln!("genolens: predict {}: warning: {w}", model.model);
        }
    }
    eprintln!("genolens: report {}", study.report.display());
    Ok(())
}

/// Flags of `genolens report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A study's output directory (`out` of its configuration).
    #[arg(value_name = "OUT")]
    out: PathBuf,
}

/// Re-renders a study's report from its output directory.
pub fn report(args: ReportArgs) -> Result<(), CliError> {
    let path = render_report(&args.out)?;
    announce(&[], &[path]);
    Ok(())
}
