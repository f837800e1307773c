//! `genolens pca`: principal components as `plink2 --pca [approx]` writes them,
//! plus a PC1/PC2 scatter plot and the variant loadings.

use std::path::PathBuf;

use genolens::study::pca::{run_pca, PcaStepOptions, SampleLabels};

use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens pca`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Number of principal components.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pca: usize,
    /// Randomized, streaming PCA (PLINK 2's `--pca approx`) instead of the exact
    /// eigendecomposition of the N × N relationship matrix.
    #[arg(long)]
    approx: bool,
    /// Seed of the randomized method's start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also draw PC1 against PC2 to OUT.pca.png.
    #[arg(long)]
    plot: bool,
    /// Colour the plot by a label column of this table (`FID IID ...` or `IID ...`).
    #[arg(long, value_name = "FILE", requires = "plot")]
    pop_file: Option<PathBuf>,
    /// The label column of --pop-file.
    #[arg(long, value_name = "NAME", default_value = "population")]
    pop_column: String,
    /// Also write the variant loadings to OUT.eigenvec.var.
    #[arg(long)]
    var_wts: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Computes the PCs and writes OUT.eigenvec, OUT.eigenval (and the plot).
pub fn run(args: Args) -> Result<(), CliError> {
    let options = PcaStepOptions {
        input: args.input.to_input()?,
        components: args.pca,
        approx_seed: args.approx.then_some(args.seed),
        plot: args.plot,
        labels: args.pop_file.map(|path| SampleLabels {
            path,
            column: args.pop_column,
        }),
        var_wts: args.var_wts,
        out: args.out,
    };
    let outcome = run_pca(&options, &progress::Bars::default())?;
    eprintln!(
        "genolens: {} PCs from {} samples x {} variants",
        outcome.eigenvalues.len(),
        outcome.samples,
        outcome.variants
    );
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
