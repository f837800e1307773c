//! `genolens qc`: PLINK 2's QC reports and filters, and LD pruning, in one pass
//! structure: `--mind`, then the reports, then `--geno`, `--hwe`, `--maf`, then
//! `--indep-pairwise` and `--make-bed` on what is left.

use std::path::PathBuf;

use genolens::features::ld::IndepPairwise;
use genolens::features::qc::QcThresholds;
use genolens::study::qc::{run_qc, QcOptions};

use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens qc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Remove variants with minor-allele frequency below this.
    #[arg(long, value_name = "FREQ")]
    maf: Option<f64>,
    /// Remove variants with a missing-call rate above this.
    #[arg(long, value_name = "RATE")]
    geno: Option<f64>,
    /// Remove samples with a missing-call rate above this (applied first).
    #[arg(long, value_name = "RATE")]
    mind: Option<f64>,
    /// Remove variants with a Hardy–Weinberg exact-test p-value below this:
    /// autosomes, and chrX with sexes (females' genotypes and males' alleles,
    /// as plink2).
    #[arg(long, value_name = "P")]
    hwe: Option<f64>,
    /// Use mid-p for the Hardy–Weinberg test (`--hwe` and `--hardy`), as PLINK 2's
    /// `midp` modifier.
    #[arg(long)]
    midp: bool,
    /// Write OUT.afreq.
    #[arg(long)]
    freq: bool,
    /// Write OUT.hardy (autosomes) and, with sexes, OUT.hardy.x (chrX:
    /// Graffelman–Weir's exact test, as plink2).
    #[arg(long)]
    hardy: bool,
    /// Write OUT.smiss and OUT.vmiss.
    #[arg(long)]
    missing: bool,
    /// Write OUT.het (autosomal heterozygosity and F per sample).
    #[arg(long)]
    het: bool,
    /// LD-prune with a window of W variants, step S and r² threshold R2, writing
    /// OUT.prune.in and OUT.prune.out.
    #[arg(long, num_args = 3, value_names = ["W", "S", "R2"])]
    indep_pairwise: Option<Vec<String>>,
    /// Write the filtered fileset to OUT.bed/.bim/.fam.
    #[arg(long)]
    make_bed: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

fn parse_pairwise(v: &[String]) -> Result<IndepPairwise, CliError> {
    let bad = |what: &str, s: &str| CliError::Usage(format!("--indep-pairwise: bad {what} {s:?}"));
    let window = v[0]
        .parse::<usize>()
        .map_err(|_| bad("window size", &v[0]))?;
    let step = v[1].parse::<usize>().map_err(|_| bad("step", &v[1]))?;
    let r2 = v[2]
        .parse::<f64>()
        .map_err(|_| bad("r² threshold", &v[2]))?;
    Ok(IndepPairwise { window, step, r2 })
}

/// Runs the QC steps the flags ask for.
pub fn run(args: Args) -> Result<(), CliError> {
    let indep_pairwise = args
        .indep_pairwise
        .as_deref()
        .map(parse_pairwise)
        .transpose()?;
    let options = QcOptions {
        input: args.input.to_input()?,
        thresholds: QcThresholds {
            mind: args.mind,
            geno: args.geno,
            hwe: args.hwe,
            hwe_midp: args.midp,
            maf: args.maf,
        },
        freq: args.freq,
        hardy: args.hardy,
        missing: args.missing,
        het: args.het,
        indep_pairwise,
        make_bed: args.make_bed,
        out: args.out,
    };
    // Checked before the genotypes are read, so a typo fails fast.
    if !options.wants_any() {
        return Err(CliError::Usage(
            "nothing to do: ask for --freq, --hardy, --missing, --het, --indep-pairwise, \
             --make-bed or a filter"
                .into(),
        ));
    }
    let outcome = run_qc(&options, &progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
