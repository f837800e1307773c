//! `genolens info`.

use genolens::features::qc::{summarize, DEFAULT_BLOCK_SIZE};

use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
}

/// Prints the summary to stdout.
pub fn run(args: Args) -> Result<(), CliError> {
    let source = args.input.open()?;
    let summary = progress::over_variants(source.n_variants(), "scanning", |p| {
        summarize(source.as_ref(), DEFAULT_BLOCK_SIZE, p)
    })?;
    println!("source\t{}", source.origin().display());
    println!("samples\t{}", summary.n_samples);
    println!("variants\t{}", summary.n_variants);
    println!("chromosomes\t{}", summary.chromosomes.len());
    for (chrom, n) in &summary.chromosomes {
        println!("chromosome\t{chrom}\t{n}");
    }
    println!("missing_calls\t{}", summary.missing_calls);
    println!(
        "missing_rate\t{}",
        genolens::io::report::format_g(summary.missing_rate(), 6)
    );
    Ok(())
}
