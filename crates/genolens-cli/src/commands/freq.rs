//! `genolens freq`.

use std::path::PathBuf;

use genolens::features::qc::{allele_frequencies, count_calls, DEFAULT_BLOCK_SIZE};
use genolens::io::report::{write_afreq, AlleleFreqRow};

use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens freq`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Output prefix: writes `OUT.afreq` and `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Writes `OUT.afreq` and `OUT.log`.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let source = args.input.open()?;
    let log = log_header("freq", source.as_ref());
    // Hard calls are counted on the packed bytes; fractional dosages (VCF DS) need
    // the dosage path.
    let rows: Vec<AlleleFreqRow> = if source.hardcalls_exact() {
        let tally = progress::over_variants(source.n_variants(), "counting alleles", |p| {
            count_calls(source.as_ref(), DEFAULT_BLOCK_SIZE, p)
        })?;
        tally.variants.iter().map(|c| c.afreq_row()).collect()
    } else {
        let counts = progress::over_variants(source.n_variants(), "counting alleles", |p| {
            allele_frequencies(source.as_ref(), DEFAULT_BLOCK_SIZE, p)
        })?;
        counts.iter().map(|c| c.afreq_row()).collect()
    };
    let path = with_suffix(&args.out, "afreq");
    write_afreq(&path, source.variants(), &rows)?;
    finish(log, vec![path], &args.out, started)
}

pub use genolens::study::with_suffix;
