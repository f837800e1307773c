//! `genolens epistasis`: every pair of variants tested for an interaction effect
//! on a quantitative trait, as `plink1.9 --epistasis`, writing `OUT.epi.qt`,
//! `OUT.epi.qt.summary` and `OUT.log`.

use std::path::PathBuf;

use genolens::study::epistasis::{run_epistasis, EpistasisStepOptions};

use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens epistasis`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table (`FID IID` or `IID` columns, then one column per trait).
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// The quantitative trait to test (default: the table's first column).
    #[arg(long, value_name = "NAME")]
    pheno_name: Option<String>,
    /// Report pairs with p at or below this (PLINK 1.9's `--epi1`; 1 reports
    /// every pair, failed ones as nan).
    #[arg(long, value_name = "P", default_value_t = 1e-4)]
    epi1: f64,
    /// Count pairs with p at or below this in the summary's N_SIG (`--epi2`).
    #[arg(long, value_name = "P", default_value_t = 0.01)]
    epi2: f64,
    /// Largest variance inflation factor among A, B and A·B (`--vif`).
    #[arg(long, value_name = "VIF", default_value_t = 50.0)]
    vif: f64,
    /// Output prefix: writes `OUT.epi.qt`, `OUT.epi.qt.summary`, `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Runs the scan and writes the reports.
pub fn run(args: Args) -> Result<(), CliError> {
    let options = EpistasisStepOptions {
        input: args.input.to_input()?,
        pheno: args.pheno,
        pheno_name: args.pheno_name,
        epi1: args.epi1,
        epi2: args.epi2,
        vif: args.vif,
        out: args.out,
    };
    let outcome = run_epistasis(&options, &progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
