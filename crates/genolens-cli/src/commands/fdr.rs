//! `genolens fdr`: prior-weighted multiple testing of an association report
//! from any tool (plink2 `.glm.*`, PLINK 1.9 `.assoc`, REGENIE, BOLT-LMM,
//! GWAS-SSF), and the weighting shared with `genolens gwas --prior`.

use genolens::study::RunLog;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::io::prior::read_association_p;
use genolens::io::Variant;
use genolens::study::prior::{prior_weighted, WeightingOptions};

use crate::commands::freq::with_suffix;
use crate::commands::prior::PriorArgs;
use crate::commands::runlog::finish;
use crate::error::CliError;

/// How the prior's weights enter the tests.
#[derive(Debug, Clone, clap::Args)]
pub struct WeightingArgs {
    /// `adaptive`: the weights' strength is learned per genomic fold on the
    /// other folds (cross-fitted, as IHW), so a useless prior costs little;
    /// `fixed`: the prior weights as they are.
    #[arg(long, value_name = "adaptive|fixed", default_value = "adaptive", value_parser = ["adaptive", "fixed"])]
    pub prior_weighting: String,
    /// The FDR (and family-wise) level of the counts in the log.
    #[arg(long, value_name = "ALPHA", default_value_t = 0.05)]
    pub fdr: f64,
}

impl WeightingArgs {
    /// The weighting as the study steps take it.
    pub fn options(&self) -> WeightingOptions {
        WeightingOptions {
            adaptive: self.prior_weighting != "fixed",
            alpha: self.fdr,
        }
    }
}

/// Flags of `genolens fdr`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An association report with variant ID, chromosome, position and P (or
    /// LOG10_P) columns, from any tool.
    #[arg(long, value_name = "FILE")]
    sumstats: PathBuf,
    #[command(flatten)]
    prior: PriorArgs,
    #[command(flatten)]
    weighting: WeightingArgs,
    /// Output prefix: `OUT.prior.tsv` and `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Re-tests a report with a prior.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    if args.prior.prior.is_none() {
        return Err(CliError::Usage(
            "genolens fdr needs --prior and --gene-map".into(),
        ));
    }
    let mut log = RunLog::new();
    let rows = read_association_p(&args.sumstats)?;
    let _ = writeln!(
        log,
        "genolens fdr: {} variants with a p-value from {}",
        rows.len(),
        args.sumstats.display()
    );
    let prior = args
        .prior
        .load(None, &mut log)?
        .expect("--prior checked above");
    let variants: Vec<Variant> = rows
        .iter()
        .map(|r| Variant {
            chrom: r.chrom.clone(),
            pos: r.pos,
            id: r.id.clone(),
            cm: 0.0,
            allele1: ".".into(),
            allele2: ".".into(),
        })
        .collect();
    let p: Vec<f64> = rows.iter().map(|r| r.p).collect();
    let path = with_suffix(&args.out, "prior.tsv");
    let (line, _) = prior_weighted(
        &variants,
        &p,
        &prior,
        &args.weighting.options(),
        &path,
        &mut log,
    )?;
    let _ = writeln!(log, "{line}");
    finish(log, vec![path], &args.out, started)
}
