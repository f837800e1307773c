//! `genolens predict` (cross-validated prediction, and a final model) and
//! `genolens score` (a saved model applied to new genotypes).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::predict::cv::as_probabilities;
use genolens::assoc::predict::metrics::roc_curve;
use genolens::assoc::predict::prs::{polygenic_score, PrsOptions};
use genolens::assoc::predict::{
    cross_validate, fit_predictor, CvReport, LinearPredictor, ModelKind, ModelSpec,
    PredictorCovariates, PriorPenalty, Task,
};
use genolens::explain::fusion::prior_penalty_weights;
use genolens::io::report::{format_g, read_text, write_text, write_tsv};
use genolens::io::scorefile::{read_score_file, write_sscore, SscoreRow};
use genolens::io::table::{ColumnKind, SampleTable, TableOptions};
use genolens::io::{GenotypeSource, SampleId};
use genolens::plot::{LinePlot, ScatterPlot};
use ndarray::Array2;

use crate::commands::freq::with_suffix;
use crate::commands::prior::{log_mapping, PriorArgs};
use crate::commands::runlog::{finish, log_header};
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
    let started = Instant::now();
    let source = args.input.open()?;
    let mut log = log_header("predict", source.as_ref());
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let options = |names: Option<Vec<String>>| TableOptions {
        case_control_01: args.case_control_01,
        columns: names,
        ..TableOptions::default()
    };
    let table = SampleTable::read_phenotypes(
        &args.pheno,
        &options(args.pheno_name.clone().map(|n| vec![n])),
    )?;
    let (phenos, report) = table.align(&ids)?;
    let Some(name) = phenos.names.first().cloned() else {
        return Err(CliError::Usage(format!(
            "{}: no phenotype column",
            args.pheno.display()
        )));
    };
    let task = if phenos.kinds[0] == ColumnKind::CaseControl {
        Task::Binary
    } else {
        Task::Quantitative
    };
    let y: Vec<f64> = phenos.values.column(0).to_vec();
    let _ = writeln!(
        log,
        "--pheno {} ({name}, {}): {} of {} genotype samples matched, {} with a value",
        args.pheno.display(),
        if task == Task::Binary {
            "case/control"
        } else {
            "quantitative"
        },
        report.matched,
        ids.len(),
        y.iter().filter(|v| !v.is_nan()).count()
    );
    let (cov_names, cov_values) = match &args.covar {
        None => (Vec::new(), Array2::<f64>::zeros((ids.len(), 0))),
        Some(path) => {
            let names = (!args.covar_name.is_empty()).then(|| args.covar_name.clone());
            let table = SampleTable::read_covariates(path, &options(names))?;
            let (aligned, _) = table.align(&ids)?;
            (aligned.names, aligned.values)
        }
    };
    let covariates = (!cov_names.is_empty()).then(|| PredictorCovariates {
        names: &cov_names,
        values: cov_values.view(),
    });
    let folds = args.folds.resolve(source.as_ref(), args.seed)?;
    let prior = match args.prior.load(None, &mut log)? {
        None => None,
        Some(loaded) => {
            let (weights, genes) = prior_penalty_weights(
                source.variants(),
                &loaded.priors,
                &loaded.map,
                &loaded.mapping,
                args.prior.prior_floor,
            )?;
            log_mapping(&mut log, &genes.report);
            let _ = writeln!(
                log,
                "prior-informed penalties: strength chosen by inner CV among {:?} (0 = no prior; \
                 another must beat it at one-sided level {})",
                args.prior_strengths, args.prior_level
            );
            Some(PriorPenalty {
                weights,
                strengths: args.prior_strengths.clone(),
                level: args.prior_level,
            })
        }
    };
    let spec = ModelSpec {
        kind: args.model,
        grid: (!args.grid.is_empty()).then(|| args.grid.clone()),
        inner_folds: args.inner_folds,
        inner_repeats: args
            .inner_repeats
            .unwrap_or(if prior.is_some() { 3 } else { 1 }),
        seed: args.seed,
        prior,
    };
    let cv = crate::progress::spinner(&format!("{} cross-validation", spec.kind.name()), || {
        cross_validate(source.as_ref(), &y, covariates, &folds, task, &spec)
    })?;
    let mut written = write_cv(&args.out, &cv, source.as_ref(), &mut log)?;
    // The deployable model: fitted on every sample with a phenotype.
    let usable: Vec<usize> = (0..y.len())
        .filter(|&i| !y[i].is_nan() && cov_values.row(i).iter().all(|v| !v.is_nan()))
        .collect();
    let model = fit_predictor(source.as_ref(), &y, covariates, &usable, task, &spec)?;
    let model_path = with_suffix(&args.out, "model");
    write_text(&model_path, &model.to_json())?;
    written.push(model_path);
    let _ = writeln!(
        log,
        "final model: {} on {} samples, {}",
        spec.kind.name(),
        usable.len(),
        model
            .hyperparameters
            .iter()
            .map(|(k, v)| format!("{k} = {}", format_g(*v, 6)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    finish(log, written, &args.out, started)
}

/// Writes OUT.cv.tsv, OUT.pred.tsv and the picture; returns the paths.
fn write_cv(
    out: &std::path::Path,
    cv: &CvReport,
    source: &dyn GenotypeSource,
    log: &mut String,
) -> Result<Vec<PathBuf>, CliError> {
    let g = |x: f64| format_g(x, 6);
    let (header, k): (Vec<&str>, usize) = match cv.task {
        Task::Quantitative => (vec!["fold", "n", "r", "r2", "mse"], 3),
        Task::Binary => (vec!["fold", "n", "auc", "logloss"], 2),
    };
    let mut rows: Vec<Vec<String>> = cv
        .folds
        .iter()
        .map(|f| {
            let mut row = vec![(f.fold + 1).to_string(), f.n.to_string()];
            row.extend(f.metrics[..k].iter().map(|&m| g(m)));
            row
        })
        .collect();
    let nf = cv.folds.len() as f64;
    let mean: Vec<f64> = (0..k)
        .map(|j| cv.folds.iter().map(|f| f.metrics[j]).sum::<f64>() / nf)
        .collect();
    let sd: Vec<f64> = (0..k)
        .map(|j| {
            (cv.folds
                .iter()
                .map(|f| (f.metrics[j] - mean[j]).powi(2))
                .sum::<f64>()
                / (nf - 1.0).max(1.0))
            .sqrt()
        })
        .collect();
    let n_total: usize = cv.folds.iter().map(|f| f.n).sum();
    for (label, values) in [("mean", &mean), ("sd", &sd)] {
        let mut row = vec![label.to_string(), n_total.to_string()];
        row.extend(values.iter().map(|&v| g(v)));
        rows.push(row);
    }
    let cv_path = with_suffix(out, "cv.tsv");
    write_tsv(&cv_path, &header, rows)?;
    let _ = writeln!(
        log,
        "cross-validation over {} folds: {}",
        cv.folds.len(),
        header[2..]
            .iter()
            .zip(mean.iter().zip(&sd))
            .map(|(h, (m, s))| format!("{h} {} ± {}", format_g(*m, 4), format_g(*s, 3)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let samples = source.samples();
    let pred_path = with_suffix(out, "pred.tsv");
    write_tsv(
        &pred_path,
        &["FID", "IID", "fold", "y", "pred"],
        cv.predictions.iter().map(|p| {
            vec![
                samples[p.sample].id.fid.clone(),
                samples[p.sample].id.iid.clone(),
                (p.fold + 1).to_string(),
                g(p.observed),
                g(p.predicted),
            ]
        }),
    )?;
    let png = with_suffix(out, "png");
    match cv.task {
        Task::Quantitative => {
            let groups: Vec<String> = cv
                .predictions
                .iter()
                .map(|p| format!("fold {}", p.fold + 1))
                .collect();
            let xs: Vec<f64> = cv.predictions.iter().map(|p| p.predicted).collect();
            let ys: Vec<f64> = cv.predictions.iter().map(|p| p.observed).collect();
            ScatterPlot::new()
                .title("Out-of-fold predictions")
                .x_label("predicted")
                .y_label("observed")
                .legend(cv.folds.len() <= 12)
                .columns(&xs, &ys, &groups)
                .write_png(&png)?;
        }
        Task::Binary => {
            let labels: Vec<bool> = cv.predictions.iter().map(|p| p.observed > 0.5).collect();
            let scores: Vec<f64> = cv.predictions.iter().map(|p| p.predicted).collect();
            let roc = roc_curve(&labels, &scores);
            LinePlot::new()
                .title("ROC, out-of-fold predictions")
                .x_label("false-positive rate")
                .y_label("true-positive rate")
                .series("model", roc)
                .series("chance", [(0.0, 0.0), (1.0, 1.0)])
                .write_png(&png)?;
            // Calibration: a reliability table, in the log and as OUT.calibration.tsv.
            let probabilities = as_probabilities(&cv.folds[0].model, &scores);
            let bins = genolens::assoc::predict::metrics::calibration(&labels, &probabilities, 10);
            for bin in &bins {
                let _ = writeln!(
                    log,
                    "calibration [{:.1}, {:.1}): n {}, mean predicted {:.3}, observed {:.3}",
                    bin.lower, bin.upper, bin.n, bin.mean_predicted, bin.observed
                );
            }
            let calibration = with_suffix(out, "calibration.tsv");
            write_tsv(
                &calibration,
                &["bin_lower", "bin_upper", "n", "mean_predicted", "observed"],
                bins.iter().map(|b| {
                    vec![
                        g(b.lower),
                        g(b.upper),
                        b.n.to_string(),
                        g(b.mean_predicted),
                        g(b.observed),
                    ]
                }),
            )?;
            return Ok(vec![cv_path, pred_path, png, calibration]);
        }
    }
    Ok(vec![cv_path, pred_path, png])
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
        (Some(path), false) => {
            let table = SampleTable::read_covariates(
                path,
                &TableOptions {
                    columns: Some(covariate_names.clone()),
                    ..TableOptions::default()
                },
            )?;
            Some(table.align(&ids)?.0.values)
        }
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
    mut log: String,
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
