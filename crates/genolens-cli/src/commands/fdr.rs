//! `genolens fdr`: prior-weighted multiple testing of an association report
//! from any tool (plink2 `.glm.*`, PLINK 1.9 `.assoc`, REGENIE, BOLT-LMM,
//! GWAS-SSF), and the weighting shared with `genolens gwas --prior`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::explain::fdr::{AdaptiveOptions, Weighting};
use genolens::explain::fusion::{weighted_scan, WeightedScanOptions};
use genolens::explain::report::weighted_tests_tsv;
use genolens::io::prior::read_association_p;
use genolens::io::{AtomicFile, Variant};

use crate::commands::freq::with_suffix;
use crate::commands::prior::{log_mapping, LoadedPrior, PriorArgs};
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
    fn options(&self, prior: &LoadedPrior, floor: f64) -> WeightedScanOptions {
        WeightedScanOptions {
            mapping: prior.mapping,
            floor,
            weighting: if self.prior_weighting == "fixed" {
                Weighting::Fixed
            } else {
                Weighting::Adaptive(AdaptiveOptions::default())
            },
            alpha: self.fdr,
        }
    }
}

/// Re-tests `p` (one per variant, `NaN` untested) with the prior, writes the
/// weighted table to `path` and returns the log line with the counts with and
/// without the prior.
pub fn prior_weighted(
    variants: &[Variant],
    p: &[f64],
    prior: &LoadedPrior,
    weighting: &WeightingArgs,
    floor: f64,
    path: &Path,
    log: &mut String,
) -> Result<String, CliError> {
    let options = weighting.options(prior, floor);
    let scan = weighted_scan(variants, p, &prior.priors, &prior.map, &options)?;
    log_mapping(log, &scan.genes.report);
    if scan.equal_weights {
        let msg = "warning: every tested variant has the same prior weight: the weighted \
                   analysis equals the unweighted one";
        eprintln!("genolens: {msg}");
        let _ = writeln!(log, "{msg}");
    }
    let text = weighted_tests_tsv(
        variants,
        &scan.genes.genes,
        &scan.genes.score,
        p,
        &scan.tests,
    );
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()?;
    let t = &scan.tests;
    let strengths = if t.strengths.is_empty() {
        String::new()
    } else {
        format!(
            "; adaptive strengths per fold {}",
            t.strengths
                .iter()
                .map(|s| format!("{s}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    Ok(format!(
        "prior-weighted ({}) at level {}: Benjamini-Hochberg {} -> {} discoveries, Bonferroni \
         {} -> {} (unweighted -> weighted, {} tests){strengths}",
        options.weighting.name(),
        t.alpha,
        t.bh,
        t.bh_weighted,
        t.bonferroni,
        t.bonferroni_weighted,
        t.tests
    ))
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
    let mut log = String::new();
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
    let line = prior_weighted(
        &variants,
        &p,
        &prior,
        &args.weighting,
        args.prior.prior_floor,
        &path,
        &mut log,
    )?;
    let _ = writeln!(log, "{line}");
    finish(log, vec![path], &args.out, started)
}
