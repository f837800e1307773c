//! `genolens gwas`: per-variant association as `plink2 --glm` runs it, writing
//! `OUT.NAME.glm.linear` per phenotype with PLINK 2's columns.
//!
//! Quantitative traits get linear regression (`.glm.linear`), case/control traits
//! logistic regression with Firth fallback (`.glm.logistic.hybrid`).

use std::path::PathBuf;

use genolens::assoc::lmm::LmmTests;
use genolens::assoc::logistic::{FirthMode, LogisticMethod};
use genolens::assoc::wgr::{Step2Options, WgrOptions};
use genolens::study::gwas::{run_gwas, GwasOptions, XchrModel};
use genolens::study::lmm::LmmRequest;
use genolens::study::wgr::WgrRequest;

use crate::commands::clump::ClumpArgs;
use crate::commands::fdr::WeightingArgs;
use crate::commands::prior::PriorArgs;
use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens gwas`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table (`FID IID` or `IID` columns, then one column per trait).
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// Phenotypes to test, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pheno_name: Vec<String>,
    /// Covariate table; categorical columns become indicator columns.
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Covariates to use, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "covar")]
    covar_name: Vec<String>,
    /// Compute K principal components of the genotypes (autosomes; exact up to
    /// 5,000 samples, randomized beyond) and add them as covariates PC1..PCK.
    #[arg(long, value_name = "K")]
    pca: Option<usize>,
    /// Accepted for PLINK 2 compatibility: covariates are always standardised
    /// internally (the results do not depend on their scale).
    #[arg(long)]
    covar_variance_standardize: bool,
    /// Case/control coded 0/1 instead of 1/2 (PLINK 2's `--1`).
    #[arg(long = "1")]
    case_control_01: bool,
    /// Firth regression only where the ordinary fit fails, an allele is absent
    /// from the cases or the controls, or the covariates separate them (PLINK 2's
    /// `firth-fallback`; the default).
    #[arg(long, conflicts_with_all = ["firth", "no_firth", "score_test"])]
    firth_fallback: bool,
    /// Firth regression for every case/control test (PLINK 2's `firth`).
    #[arg(long, conflicts_with_all = ["no_firth", "score_test"])]
    firth: bool,
    /// Never use Firth regression: failed fits get LOGISTIC_CONVERGE_FAIL and the
    /// output is `.glm.logistic` without the `FIRTH?` column.
    #[arg(long, conflicts_with = "score_test")]
    no_firth: bool,
    /// Screen case/control traits with Rao's score test at the covariates-only
    /// fit instead of the Wald test (no iteration; much faster). Writes
    /// `.glm.logistic.score`: the odds ratio is the one-step estimate.
    #[arg(long)]
    score_test: bool,
    /// Clump each phenotype's results into lead variants by LD (PLINK 1.9's
    /// `--clump` on the printed results): writes `OUT.NAME.clumped`.
    #[arg(long)]
    clump: bool,
    #[command(flatten)]
    clump_thresholds: ClumpArgs,
    /// Test with GEMMA's exact linear mixed model instead of `--glm`, for
    /// related samples: `wald` (gemma -lmm 1, λ by REML per variant), `lrt`
    /// (-lmm 2), `score` (-lmm 3) or `all` (-lmm 4). Writes
    /// `OUT.NAME.glm.lmm` and GEMMA's layout `OUT.NAME.lmm.assoc.txt`; the log
    /// has the variance components and the SNP heritability with its SE.
    #[arg(long, value_name = "TEST", num_args = 0..=1, default_missing_value = "wald",
          value_parser = ["wald", "lrt", "score", "all"],
          conflicts_with_all = ["firth", "no_firth", "score_test", "firth_fallback"])]
    lmm: Option<String>,
    /// With --lmm: the relationship matrix, a GCTA binary GRM prefix
    /// (`PREFIX.grm.bin`, `PREFIX.grm.id`; e.g. from `genolens relatedness
    /// --make-grm`), instead of the centred GRM of the tested samples.
    #[arg(long, value_name = "PREFIX", requires = "lmm")]
    grm: Option<PathBuf>,
    /// With --lmm: leave one chromosome out (GEMMA's -loco, BOLT-LMM's
    /// default): each chromosome is tested with the matrix of the others, so
    /// the tested variant is not in it. Recommended; one eigendecomposition
    /// per chromosome. With --wgr: `--loco FILE` skips step 1 and reads the
    /// LOCO predictions from a prediction list (`OUT.pred.list` of
    /// `--loco-out`, or regenie's own `_pred.list`).
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with = "grm")]
    loco: Option<Option<PathBuf>>,
    /// Test with REGENIE's two steps instead of `--glm`: whole-genome ridge
    /// regression in blocks gives each trait leave-one-chromosome-out
    /// predictions (step 1), which enter the per-variant tests as an offset
    /// (step 2: score test; case/control traits with the approximate Firth
    /// test below --wgr-firth-p). Writes `OUT.NAME.glm.wgr` and regenie's
    /// layout `OUT.NAME.regenie`.
    #[arg(long, conflicts_with_all = ["lmm", "firth", "no_firth", "score_test", "firth_fallback"])]
    wgr: bool,
    /// With --wgr: write the LOCO predictions (`OUT.NAME.loco`, regenie's
    /// layout, and `OUT.pred.list`) for reuse with `--loco FILE`.
    #[arg(long, requires = "wgr")]
    loco_out: bool,
    /// With --wgr: consecutive variants per step-1 block (regenie's --bsize).
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "wgr")]
    wgr_block_size: usize,
    /// With --wgr: case/control variants whose score-test p is below this
    /// get the approximate Firth test (regenie's --pThresh); 0 turns it off.
    #[arg(long, value_name = "P", default_value_t = 0.05, requires = "wgr")]
    wgr_firth_p: f64,
    /// chrX coding, as PLINK 2's `--xchr-model`: 2 (default) male genotypes
    /// 0/2, 1 males 0/1, 0 chrX not tested. On chrX sex is added as a
    /// covariate (when both sexes are present) and samples of unknown sex are
    /// left out; chrY is tested on males.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=2))]
    xchr_model: u8,
    /// Do not add sex as a covariate on chrX (PLINK 2's `no-x-sex`).
    #[arg(long)]
    no_x_sex: bool,
    /// Also write the results as Parquet (`OUT.NAME.glm.linear.parquet`).
    #[arg(long)]
    parquet: bool,
    #[command(flatten)]
    prior: PriorArgs,
    #[command(flatten)]
    weighting: WeightingArgs,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Runs the scan and writes one results file per phenotype.
pub fn run(args: Args) -> Result<(), CliError> {
    let logistic = if args.score_test {
        LogisticMethod::Score
    } else if args.firth {
        LogisticMethod::Wald(FirthMode::Always)
    } else if args.no_firth {
        LogisticMethod::Wald(FirthMode::Never)
    } else {
        LogisticMethod::Wald(FirthMode::Fallback)
    };
    if args.lmm.is_some() && matches!(args.loco, Some(Some(_))) {
        return Err(CliError::Usage(
            "--lmm --loco takes no file (it leaves each chromosome out of the matrix); \
             --loco FILE reuses predictions with --wgr"
                .into(),
        ));
    }
    if args.loco.is_some() && args.lmm.is_none() && !args.wgr {
        return Err(CliError::Usage("--loco needs --lmm or --wgr".into()));
    }
    let wgr = args.wgr.then(|| WgrRequest {
        step1: WgrOptions {
            block_size: args.wgr_block_size,
            ..WgrOptions::default()
        },
        step2: Step2Options {
            firth_threshold: args.wgr_firth_p,
            ..Step2Options::default()
        },
        loco_out: args.loco_out,
        loco_in: args.loco.clone().flatten(),
        ..WgrRequest::default()
    });
    let options = GwasOptions {
        input: args.input.to_input()?,
        pheno: args.pheno,
        pheno_names: args.pheno_name,
        covar: args.covar,
        covar_names: args.covar_name,
        pca: args.pca,
        pc_file: None,
        case_control_01: args.case_control_01,
        logistic,
        xchr_model: match args.xchr_model {
            0 => XchrModel::Skip,
            1 => XchrModel::MalesHalf,
            _ => XchrModel::MalesFull,
        },
        no_x_sex: args.no_x_sex,
        clump: args.clump.then(|| args.clump_thresholds.options()),
        parquet: args.parquet,
        gene_map: args.prior.gene_map.clone(),
        prior: args.prior.input(),
        weighting: args.weighting.options(),
        lmm: args.lmm.as_deref().map(|t| {
            let tests = match t {
                "lrt" => LmmTests::Lrt,
                "score" => LmmTests::Score,
                "all" => LmmTests::All,
                _ => LmmTests::Wald,
            };
            LmmRequest {
                grm: args.grm.clone(),
                loco: args.loco.is_some(),
                ..LmmRequest::new(tests)
            }
        }),
        wgr,
        out: args.out,
    };
    let outcome = run_gwas(&options, &progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
