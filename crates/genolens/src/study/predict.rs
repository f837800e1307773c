//! The prediction step: a model cross-validated over folds (hyperparameters
//! and, with a prior, the prior's strength chosen in inner folds), its
//! out-of-fold predictions and a picture, then the deployable model fitted
//! on every sample with a phenotype. `genolens predict` and the pipeline's
//! `predict` step are this one call.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::assoc::predict::cv::as_probabilities;
use crate::assoc::predict::metrics::{calibration, roc_curve};
use crate::assoc::predict::{
    cross_validate, fit_predictor, CvReport, ModelKind, ModelSpec, PredictorCovariates,
    PriorPenalty, Task,
};
use crate::explain::fusion::prior_penalty_weights;
use crate::features::split::{k_folds, Folds};
use crate::io::folds::{FoldAssignment, FoldFileOptions};
use crate::io::report::{format_g, write_text, write_tsv};
use crate::io::table::{ColumnKind, SampleTable, TableOptions};
use crate::io::{GenotypeSource, SampleId};
use crate::plot::{LinePlot, ScatterPlot};
use crate::study::prior::{log_mapping, PriorInput};
use crate::study::progress::Progress;
use crate::study::{with_suffix, GenotypeInput, RunLog};
use crate::{Error, Result};

/// How samples are split into cross-validation folds.
#[derive(Debug, Clone, PartialEq)]
pub enum FoldSpec {
    /// K seeded folds.
    Seeded(usize),
    /// Folds from a file: its ID column and integer fold column.
    File {
        /// The fold file.
        path: PathBuf,
        /// The individual-ID column.
        id_col: String,
        /// The fold column.
        fold_col: String,
    },
}

impl FoldSpec {
    /// The folds of `source`'s samples.
    pub fn resolve(&self, source: &dyn GenotypeSource, seed: u64) -> Result<Folds> {
        Ok(match self {
            FoldSpec::File {
                path,
                id_col,
                fold_col,
            } => {
                let assignment =
                    FoldAssignment::read(path, &FoldFileOptions::new(id_col, fold_col))?;
                Folds::from_assignment(source.samples(), &assignment)?
            }
            FoldSpec::Seeded(k) => k_folds(source.n_samples(), *k, seed)?,
        })
    }
}

/// Options of the prediction step.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Phenotype table.
    pub pheno: PathBuf,
    /// The phenotype to predict (default: the first column).
    pub pheno_name: Option<String>,
    /// Covariate table (standardised columns of the model).
    pub covar: Option<PathBuf>,
    /// Covariates to use (empty: every column).
    pub covar_names: Vec<String>,
    /// Case/control coded 0/1 instead of 1/2.
    pub case_control_01: bool,
    /// The model.
    pub model: ModelKind,
    /// The outer folds.
    pub folds: FoldSpec,
    /// Hyperparameter grid (default: the model's own).
    pub grid: Option<Vec<f64>>,
    /// Inner folds for the hyperparameter.
    pub inner_folds: usize,
    /// Repeats of the inner cross-validation (default: 3 with a prior, 1
    /// without).
    pub inner_repeats: Option<usize>,
    /// Seed of the folds.
    pub seed: u64,
    /// A gene prior for prior-informed penalties.
    pub prior: Option<PriorInput>,
    /// Prior strengths the inner folds choose among (0 = no prior).
    pub prior_strengths: Vec<f64>,
    /// One-sided level of the test a prior strength must pass.
    pub prior_level: f64,
    /// Output prefix.
    pub out: PathBuf,
}

impl PredictOptions {
    /// `model` on the first phenotype of `pheno`, 5 seeded folds (seed 1),
    /// 5 inner folds, no covariates or prior.
    pub fn new(
        input: GenotypeInput,
        pheno: impl Into<PathBuf>,
        model: ModelKind,
        out: impl Into<PathBuf>,
    ) -> Self {
        Self {
            input,
            pheno: pheno.into(),
            pheno_name: None,
            covar: None,
            covar_names: Vec::new(),
            case_control_01: false,
            model,
            folds: FoldSpec::Seeded(5),
            grid: None,
            inner_folds: 5,
            inner_repeats: None,
            seed: 1,
            prior: None,
            prior_strengths: vec![0.0, 0.5, 1.0, 2.0],
            prior_level: 0.05,
            out: out.into(),
        }
    }
}

/// One outer fold's accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldMetrics {
    /// The fold (1-based, as the tables print it).
    pub fold: usize,
    /// Test samples with an outcome.
    pub n: usize,
    /// The metrics, named by [`PredictOutcome::metric_names`].
    pub values: Vec<f64>,
}

/// What a case/control model's predictions are, and so how they become case
/// probabilities (as [`as_probabilities`] does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreScale {
    /// Already probabilities (a logistic link).
    Probability,
    /// A decision value, through the logistic function (SVM; uncalibrated).
    Decision,
    /// A linear probability, clipped to (0, 1).
    Linear,
}

impl ScoreScale {
    /// The case probability of a prediction on this scale.
    pub fn probability(self, predicted: f64) -> f64 {
        match self {
            ScoreScale::Probability => predicted,
            ScoreScale::Decision => 1.0 / (1.0 + (-predicted).exp()),
            ScoreScale::Linear => predicted.clamp(1e-6, 1.0 - 1e-6),
        }
    }
}

/// What the prediction step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictOutcome {
    /// The model's name.
    pub model: String,
    /// The phenotype.
    pub phenotype: String,
    /// `true` for a case/control trait.
    pub binary: bool,
    /// The metrics' names: `r`, `r2`, `mse` or `auc`, `logloss`.
    pub metric_names: Vec<String>,
    /// Per outer fold.
    pub folds: Vec<FoldMetrics>,
    /// Mean over folds, per metric.
    pub mean: Vec<f64>,
    /// Standard deviation over folds, per metric.
    pub sd: Vec<f64>,
    /// Samples the final model was fitted on.
    pub final_samples: usize,
    /// The final model's hyperparameters.
    pub hyperparameters: Vec<(String, f64)>,
    /// `OUT.cv.tsv`.
    pub cv_table: PathBuf,
    /// `OUT.pred.tsv`: out-of-fold predictions.
    pub predictions: PathBuf,
    /// `OUT.png`: observed against predicted, or the ROC curve.
    pub picture: PathBuf,
    /// `OUT.model`.
    pub model_file: PathBuf,
    /// `OUT.calibration.tsv` (case/control traits).
    pub calibration: Option<PathBuf>,
    /// How the predictions become case probabilities (case/control traits).
    pub scale: Option<ScoreScale>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Cross-validates the model, then fits it on every sample with a phenotype.
pub fn run_predict(options: &PredictOptions, progress: &dyn Progress) -> Result<PredictOutcome> {
    let started = Instant::now();
    let (source, mut log) = options.input.open_logged("predict")?;
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let table_options = |names: Option<Vec<String>>| TableOptions {
        case_control_01: options.case_control_01,
        columns: names,
        ..TableOptions::default()
    };
    let table = SampleTable::read_phenotypes(
        &options.pheno,
        &table_options(options.pheno_name.clone().map(|n| vec![n])),
    )?;
    let (phenos, report) = table.align(&ids)?;
    let Some(name) = phenos.names.first().cloned() else {
        return Err(Error::Invalid(format!(
            "{}: no phenotype column",
            options.pheno.display()
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
        options.pheno.display(),
        if task == Task::Binary {
            "case/control"
        } else {
            "quantitative"
        },
        report.matched,
        ids.len(),
        y.iter().filter(|v| !v.is_nan()).count()
    );
    let (cov_names, cov_values) = match &options.covar {
        None => (Vec::new(), Array2::<f64>::zeros((ids.len(), 0))),
        Some(path) => {
            let names = (!options.covar_names.is_empty()).then(|| options.covar_names.clone());
            let table = SampleTable::read_covariates(path, &table_options(names))?;
            let (aligned, _) = table.align(&ids)?;
            (aligned.names, aligned.values)
        }
    };
    let covariates = (!cov_names.is_empty()).then(|| PredictorCovariates {
        names: &cov_names,
        values: cov_values.view(),
    });
    let folds = options.folds.resolve(source.as_ref(), options.seed)?;
    let prior = match &options.prior {
        None => None,
        Some(input) => {
            let loaded = input.load(None, &mut log)?;
            let (weights, genes) = prior_penalty_weights(
                source.variants(),
                &loaded.priors,
                &loaded.map,
                &loaded.mapping,
                loaded.floor,
            )?;
            log_mapping(&mut log, &genes.report);
            let _ = writeln!(
                log,
                "prior-informed penalties: strength chosen by inner CV among {:?} (0 = no prior; \
                 another must beat it at one-sided level {})",
                options.prior_strengths, options.prior_level
            );
            Some(PriorPenalty {
                weights,
                strengths: options.prior_strengths.clone(),
                level: options.prior_level,
            })
        }
    };
    let spec = ModelSpec {
        kind: options.model,
        grid: options.grid.clone(),
        inner_folds: options.inner_folds,
        inner_repeats: options
            .inner_repeats
            .unwrap_or(if prior.is_some() { 3 } else { 1 }),
        seed: options.seed,
        prior,
    };
    progress.start(&format!("{} cross-validation", spec.kind.name()), None, "");
    let cv = cross_validate(source.as_ref(), &y, covariates, &folds, task, &spec);
    progress.finish();
    let cv = cv?;
    let written_cv = write_cv(&options.out, &cv, source.as_ref(), &mut log)?;
    // The deployable model: fitted on every sample with a phenotype.
    let usable: Vec<usize> = (0..y.len())
        .filter(|&i| !y[i].is_nan() && cov_values.row(i).iter().all(|v| !v.is_nan()))
        .collect();
    progress.start(&format!("{} final fit", spec.kind.name()), None, "");
    let model = fit_predictor(source.as_ref(), &y, covariates, &usable, task, &spec);
    progress.finish();
    let model = model?;
    let model_path = with_suffix(&options.out, "model");
    write_text(&model_path, &model.to_json())?;
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
    let mut written = written_cv.files.clone();
    written.push(model_path.clone());
    let warnings = log.warnings().to_vec();
    let log_path = log.write(&options.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(PredictOutcome {
        model: spec.kind.name().to_string(),
        phenotype: name,
        binary: task == Task::Binary,
        metric_names: written_cv.metric_names,
        folds: written_cv.folds,
        mean: written_cv.mean,
        sd: written_cv.sd,
        final_samples: usable.len(),
        hyperparameters: model.hyperparameters.clone(),
        cv_table: written_cv.files[0].clone(),
        predictions: written_cv.files[1].clone(),
        picture: written_cv.files[2].clone(),
        model_file: model_path,
        calibration: written_cv.files.get(3).cloned(),
        scale: (task == Task::Binary).then_some(if model.logistic_link {
            ScoreScale::Probability
        } else if model.kind == ModelKind::Svm {
            ScoreScale::Decision
        } else {
            ScoreScale::Linear
        }),
        written,
        warnings,
    })
}

/// What [`write_cv`] wrote and summarised.
struct WrittenCv {
    files: Vec<PathBuf>,
    metric_names: Vec<String>,
    folds: Vec<FoldMetrics>,
    mean: Vec<f64>,
    sd: Vec<f64>,
}

/// Writes OUT.cv.tsv, OUT.pred.tsv and the picture (and OUT.calibration.tsv
/// for case/control traits).
fn write_cv(
    out: &Path,
    cv: &CvReport,
    source: &dyn GenotypeSource,
    log: &mut RunLog,
) -> Result<WrittenCv> {
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
    let mut files = vec![cv_path, pred_path, png.clone()];
    match cv.task {
        Task::Quantitative => {
            // By fold, so the legend lists the folds in order.
            let mut by_fold: Vec<_> = cv.predictions.iter().collect();
            by_fold.sort_by_key(|p| p.fold);
            let groups: Vec<String> = by_fold
                .iter()
                .map(|p| format!("fold {}", p.fold + 1))
                .collect();
            let xs: Vec<f64> = by_fold.iter().map(|p| p.predicted).collect();
            let ys: Vec<f64> = by_fold.iter().map(|p| p.observed).collect();
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
            let bins = calibration(&labels, &probabilities, 10);
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
            files.push(calibration);
        }
    }
    Ok(WrittenCv {
        files,
        metric_names: header[2..].iter().map(|s| s.to_string()).collect(),
        folds: cv
            .folds
            .iter()
            .map(|f| FoldMetrics {
                fold: f.fold + 1,
                n: f.n,
                values: f.metrics[..k].to_vec(),
            })
            .collect(),
        mean,
        sd,
    })
}
