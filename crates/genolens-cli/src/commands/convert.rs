//! `genolens convert`.

use std::path::PathBuf;

use genolens::io::plink::write_bed_fileset;

use crate::error::CliError;
use crate::input::InputArgs;

/// Flags of `genolens convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Write a PLINK 1 binary fileset (`OUT.bed`, `OUT.bim`, `OUT.fam`).
    #[arg(long)]
    make_bed: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Writes the requested output format.
pub fn run(args: Args) -> Result<(), CliError> {
    if !args.make_bed {
        return Err(CliError::Usage(
            "convert: say which output to write (--make-bed)".into(),
        ));
    }
    let source = args.input.open()?;
    write_bed_fileset(source.as_ref(), &args.out, 1024)?;
    eprintln!(
        "genolens: wrote {0}.bed, {0}.bim, {0}.fam ({1} samples, {2} variants)",
        args.out.display(),
        source.n_samples(),
        source.n_variants()
    );
    Ok(())
}
