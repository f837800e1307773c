//! `genolens relatedness`: KING-robust kinship as `plink2 --make-king-table`,
//! the unrelated set of `--king-cutoff`, and the relationship matrix of
//! `--make-grm-bin` (GCTA's binary layout).

use std::path::PathBuf;

use genolens::study::relatedness::{run_relatedness, GrmRequest, RelatednessOptions};

use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens relatedness`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Write the KING-robust table of every pair to OUT.kin0 (PLINK 2's
    /// columns: FID1 IID1 FID2 IID2 NSNP HETHET IBS0 KINSHIP).
    #[arg(long)]
    make_king_table: bool,
    /// Keep a maximal set of samples without a pair above this kinship, as
    /// plink2 --king-cutoff: OUT.king.cutoff.in.id / .out.id (0.0884 removes
    /// 2nd-degree relatives and closer, 0.177 1st degree, 0.354 duplicates).
    #[arg(long, value_name = "KINSHIP")]
    king_cutoff: Option<f64>,
    /// Write the genomic relationship matrix in GCTA's binary layout
    /// (OUT.grm.bin, OUT.grm.N.bin, OUT.grm.id), as plink2 --make-grm-bin.
    #[arg(long)]
    make_grm: bool,
    /// With --make-grm: centre the genotypes without standardising (plink2's
    /// `cov` modifier; GEMMA's centred relatedness matrix).
    #[arg(long, requires = "make_grm")]
    grm_cov: bool,
    /// With --make-grm: divide every pair by all variants, missing calls at the
    /// mean (plink2's `meanimpute`), not by the variants both samples have.
    #[arg(long, requires = "make_grm")]
    grm_meanimpute: bool,
    /// Draw kinship against IBS0 with KING's degree thresholds to
    /// OUT.king.png.
    #[arg(long, requires = "make_king_table")]
    plot: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Computes what was asked and writes it.
pub fn run(args: Args) -> Result<(), CliError> {
    let options = RelatednessOptions {
        input: args.input.to_input()?,
        king_table: args.make_king_table,
        king_cutoff: args.king_cutoff,
        grm: args.make_grm.then_some(GrmRequest {
            cov: args.grm_cov,
            meanimpute: args.grm_meanimpute,
        }),
        plot: args.plot,
        out: args.out,
    };
    let outcome = run_relatedness(&options, &progress::Bars::default())?;
    eprintln!(
        "genolens: {} samples x {} autosomal variants",
        outcome.samples, outcome.variants
    );
    if let Some(d) = &outcome.degrees {
        eprintln!(
            "genolens: pairs by KING degree: {} duplicate/MZ, {} 1st, {} 2nd, {} 3rd",
            d.duplicates, d.first, d.second, d.third
        );
    }
    if options.king_cutoff.is_some() {
        eprintln!(
            "genolens: --king-cutoff removed {} of {} samples",
            outcome.removed.len(),
            outcome.samples
        );
    }
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
