//! `genolens predict` (cross-validated prediction, and a final model) and
//! `genolens score` (a saved model applied to new genotypes).

use std::path::PathBuf;

use genolens::assoc::predict::ModelKind;
use genolens::study::predict::{run_predict, PredictOptions};
use genolens::study::score::{run_score, ScoreOptions, ScoreWith, WeightTable};

use crate::commands::prior::PriorArgs;
use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::{FoldArgs, InputArgs};

/// Parses `--model` by the library's own names.
fn parse_model(name: &str) -> Result<ModelKind, String> {
    ModelKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown model {name:?}; one of {}", names.join(", "))
    })
}

/// Flags of `genolens predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table.
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// The phenotype to predict (default: the first column).
    #[arg(long, value_name = "NAME")]
    pheno_name: Option<String>,
    /// Covariate table (added to the model as standardised columns).
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Covariates to use, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "covar")]
    covar_name: Vec<String>,
    /// Case/control coded 0/1 instead of 1/2.
    #[arg(long = "1")]
    case_control_01: bool,
    /// The model: ridge (GBLUP-equivalent kernel form when p > n), elastic-net,
    /// lasso, ols (needs more samples than predictors), logistic and svm
    /// (case/control traits), gd-linear (the gradient-descent teaching model),
    /// prs-ct (clumping + thresholding score).
    #[arg(long, value_parser = parse_model)]
    model: ModelKind,
    #[command(flatten)]
    folds: FoldArgs,
    /// Hyperparameter grid (λ, α, L2 penalty or C), comma-separated; default:
    /// the model's own grid.
    #[arg(long, value_name = "VALUES", value_delimiter = ',')]
    grid: Vec<f64>,
    /// Inner folds for choosing the hyperparameter.
    #[arg(long, value_name = "K", default_value_t = 5)]
    inner_folds: usize,
    /// Repeats of the inner cross-validation, each with its own split
    /// (default: 3 with --prior, whose strength is chosen by a test over
    /// every repeat's folds; 1 without).
    #[arg(long, value_name = "R")]
    inner_repeats: Option<usize>,
    /// Seed of the folds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    prior: PriorArgs,
    /// Prior strengths the inner folds choose among (with the penalty); 0 is
    /// the model without the prior, so a useless prior is not forced on it.
    #[arg(long, value_name = "K", value_delimiter = ',', default_values_t = [0.0, 0.5, 1.0, 2.0], requires = "prior")]
    prior_strengths: Vec<f64>,
    /// One-sided level of the test a prior strength must pass in the inner
    /// folds against the model without the prior (corrected resampled
    /// t-test of the paired fold losses; Bonferroni over the strengths
    /// above 0) to be used.
    #[arg(long, value_name = "LEVEL", default_value_t = 0.05, requires = "prior")]
    prior_level: f64,
    /// Output prefix: OUT.cv.tsv, OUT.pred.tsv, OUT.model, OUT.png (observed against
    /// predicted, or the ROC curve), OUT.calibration.tsv (case/control), OUT.log.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Cross-validates the model, then fits it on every sample with a phenotype.
pub fn run(args: Args) -> Result<(), CliError> {
    let options = PredictOptions {
        input: args.input.to_input()?,
        pheno: args.pheno,
        pheno_name: args.pheno_name,
        covar: args.covar,
        covar_names: args.covar_name,
        case_control_01: args.case_control_01,
        model: args.model,
        folds: args.folds.spec(),
        grid: (!args.grid.is_empty()).then_some(args.grid),
        inner_folds: args.inner_folds,
        inner_repeats: args.inner_repeats,
        seed: args.seed,
        prior: args.prior.input(),
        prior_strengths: args.prior_strengths,
        prior_level: args.prior_level,
        out: args.out,
    };
    let outcome = run_predict(&options, &crate::progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}

/// Flags of `genolens score`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["model", "score"])))]
pub struct ScoreArgs {
    #[command(flatten)]
    input: InputArgs,
    /// A model written by `genolens predict` (a file), or the `model/`
    /// directory `genolens train` writes: writes OUT.pred.tsv.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// A weight table, as `plink2 --score` reads it: writes OUT.sscore.
    #[arg(long, value_name = "FILE")]
    score: Option<PathBuf>,
    /// The weight table's 1-based ID, allele and weight columns.
    #[arg(long, value_name = "I,J,K", value_delimiter = ',', num_args = 3, default_values_t = [1, 2, 3], requires = "score")]
    score_cols: Vec<usize>,
    /// The weight table has a header line.
    #[arg(long, requires = "score")]
    score_header: bool,
    /// Missing calls contribute nothing (PLINK 2's `no-mean-imputation`).
    #[arg(long, requires = "score")]
    no_mean_imputation: bool,
    /// Covariate table, when the model has covariates.
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Output prefix: OUT.pred.tsv (FID IID pred) or OUT.sscore, and OUT.log.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Applies a saved model or a weight table to genotypes.
pub fn score(args: ScoreArgs) -> Result<(), CliError> {
    let with = match (args.model, args.score) {
        (Some(model), _) => ScoreWith::Model(model),
        (None, Some(path)) => ScoreWith::Weights(WeightTable {
            path,
            columns: [args.score_cols[0], args.score_cols[1], args.score_cols[2]],
            header: args.score_header,
            mean_imputation: !args.no_mean_imputation,
        }),
        (None, None) => return Err(CliError::Usage("give --model or --score".into())),
    };
    let options = ScoreOptions {
        input: args.input.to_input()?,
        with,
        covar: args.covar,
        out: args.out,
    };
    let outcome = run_score(&options)?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
