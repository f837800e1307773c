//! `genolens predict` (cross-validated prediction, and a final model) and
//! `genolens score` (a saved model applied to new genotypes).

use genolens::study::RunLog;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::predict::prs::{polygenic_score, PrsOptions};
use genolens::assoc::predict::{LinearPredictor, ModelKind};
use genolens::io::report::{format_g, read_text, write_tsv};
use genolens::io::scorefile::{read_score_file, write_sscore, SscoreRow};
use genolens::io::{GenotypeSource, SampleId};
use genolens::study::input::read_model_covariates;
use genolens::study::predict::{run_predict, PredictOptions};

use crate::commands::freq::with_suffix;
use crate::commands::prior::PriorArgs;
use crate::commands::runlog::{announce, finish, log_header};
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

/// Applies a saved model, or a weight table, to genotypes.
pub fn score(args: ScoreArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let source = args.input.open()?;
    let mut log = log_header("score", source.as_ref());
    let Some(model_path) = args.model.clone() else {
        return weight_table(&args, source.as_ref(), log, started);
    };
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let is_transformer = model_path.is_dir();
    let (model, covariate_names) = if is_transformer {
        let text = read_text(model_path.join("model.json"))?;
        let saved = genolens::transformer::saved::SavedTransformer::from_json(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", model_path.display())))?;
        (None, saved.covariates)
    } else {
        let model = LinearPredictor::from_json(&read_text(&model_path)?)
            .map_err(|e| CliError::Usage(format!("{}: {e}", model_path.display())))?;
        let names = model.covariates.iter().map(|c| c.name.clone()).collect();
        (Some(model), names)
    };
    let covariates = match (&args.covar, covariate_names.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(CliError::Usage(format!(
                "{}: the model needs covariates ({}); give --covar",
                model_path.display(),
                covariate_names.join(", ")
            )))
        }
        (Some(path), false) => Some(read_model_covariates(path, &covariate_names, &ids)?),
    };
    let (outputs, predictions) = match model {
        None => crate::commands::train::score_transformer(
            &model_path,
            source.as_ref(),
            covariates.as_ref(),
            &mut log,
        )?,
        Some(model) => {
            let predictions = model
                .predict(source.as_ref(), covariates.as_ref().map(|c| c.view()))
                .map_err(|e| CliError::Usage(format!("{}: {e}", model_path.display())))?;
            let _ = writeln!(
                log,
                "--model {}: {} on {} variants, {} samples scored",
                model_path.display(),
                model.kind.name(),
                model.variants.len(),
                predictions.len()
            );
            let n = predictions.len();
            (
                vec!["pred".to_string()],
                predictions
                    .into_shape_with_order((n, 1))
                    .map_err(|e| CliError::Usage(format!("{}: {e}", model_path.display())))?,
            )
        }
    };
    let mut header = vec!["FID".to_string(), "IID".to_string()];
    if outputs.len() == 1 {
        header.push("pred".into());
    } else {
        header.extend(outputs.iter().map(|o| format!("pred_{o}")));
    }
    let path = with_suffix(&args.out, "pred.tsv");
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_tsv(
        &path,
        &header,
        ids.iter().zip(predictions.rows()).map(|(id, p)| {
            let mut row = vec![id.fid.clone(), id.iid.clone()];
            row.extend(p.iter().map(|v| format_g(*v, 6)));
            row
        }),
    )?;
    finish(log, vec![path], &args.out, started)
}

/// `--score`: PLINK 2's linear scoring from a weight table.
fn weight_table(
    args: &ScoreArgs,
    source: &dyn GenotypeSource,
    mut log: RunLog,
    started: Instant,
) -> Result<(), CliError> {
    let path = args
        .score
        .as_ref()
        .expect("clap requires --model or --score");
    let cols = [args.score_cols[0], args.score_cols[1], args.score_cols[2]];
    let weights = read_score_file(path, cols, args.score_header)?;
    let scores = polygenic_score(
        source,
        &weights,
        &PrsOptions {
            mean_imputation: !args.no_mean_imputation,
        },
    )?;
    let _ = writeln!(
        log,
        "--score {}: {} weights, {} used, {} variant IDs absent, {} allele codes not in the \
         variant, {} strand-ambiguous (A/T, C/G) variants scored as given",
        path.display(),
        weights.len(),
        scores.used,
        scores.absent,
        scores.allele_mismatch.len(),
        scores.ambiguous
    );
    if scores.ambiguous > 0 {
        eprintln!(
            "genolens: warning: {} strand-ambiguous (A/T, C/G) variants scored as given",
            scores.ambiguous
        );
    }
    let rows: Vec<SscoreRow> = (0..source.n_samples())
        .map(|i| SscoreRow {
            allele_ct: scores.allele_ct[i],
            dosage_sum: scores.dosage_sum[i],
            score_avg: scores.score_avg[i],
        })
        .collect();
    let out = with_suffix(&args.out, "sscore");
    write_sscore(&out, source.samples(), &rows)?;
    finish(log, vec![out], &args.out, started)
}
