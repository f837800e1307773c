//! `genolens convert`.

use std::path::PathBuf;

use genolens::io::plink::write_bed_fileset;

use crate::commands::freq::with_suffix;
use crate::commands::runlog::{finish, log_header};
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
    /// Output prefix (the fileset and `OUT.log`).
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
    let started = std::time::Instant::now();
    let source = args.input.open()?;
    let log = log_header("convert", source.as_ref());
    write_bed_fileset(source.as_ref(), &args.out, 1024)?;
    let written = ["bed", "bim", "fam"]
        .iter()
        .map(|ext| with_suffix(&args.out, ext))
        .collect();
    finish(log, written, &args.out, started)
}
