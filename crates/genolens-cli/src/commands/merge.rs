//! `genolens merge`: joins the `.glm.*` results of a sharded run (one `gwas`
//! per chromosome or range) into one, with λGC, the multiple-testing counts
//! and the plots recomputed over all variants.

use std::path::PathBuf;

use genolens::study::merge::{merge_glm, MergeOptions};

use crate::commands::runlog::announce;
use crate::error::CliError;

/// Flags of `genolens merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards' `PREFIX.PHENO.glm.*` files, in variant order; files of
    /// several phenotypes are merged phenotype by phenotype.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    glm: Vec<PathBuf>,
    /// Output prefix: `OUT.PHENO.glm.*`, Manhattan and QQ plots, `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Merges the shards.
pub fn run(args: Args) -> Result<(), CliError> {
    let outcome = merge_glm(&MergeOptions {
        glm: args.glm,
        out: args.out,
    })?;
    announce(&[], &outcome.written);
    Ok(())
}
