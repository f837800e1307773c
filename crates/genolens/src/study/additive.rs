//! The transformer step's additive path: a penalised linear model over every
//! marker (ridge for a quantitative trait, L2-penalised logistic regression
//! for a case/control one; the penalty chosen by inner cross-validation as
//! in `genolens predict`), whose predictions enter the transformer as fixed
//! offsets of its outputs. The transformer sees a few hundred tokens; the
//! additive model sees the whole panel, and the transformer learns only what
//! it misses (issue 15: a polygenic trait is spread over every marker).
//!
//! The additive model's scores are then calibrated, as stacking's second
//! level does: `a + b·score` fitted on the cross-fitted fit-sample scores
//! (least squares for a quantitative trait, a two-parameter logistic
//! regression for a case/control one; `b ≥ 0`). A penalised model's scores
//! are shrunk, or over-confident when the penalty is weak, and a transformer
//! would otherwise spend its tokens rescaling them. With a positive slope the
//! calibration is monotone, so the additive path's r and AUC are those of the
//! plain model; a slope of 0 (out-of-sample scores that do not predict the
//! trait) leaves the training mean, or base rate, alone. It is folded into
//! the saved models' weights.
//!
//! Offsets must be out of sample wherever they meet a target the
//! transformer learns from or is judged on:
//! - fit samples: cross-fitted (5 folds of the fit samples, the penalty the
//!   fit samples chose), so the transformer learns from residuals as large
//!   as it will meet on new samples, not from the additive model's
//!   overfit in-sample ones;
//! - validation samples (early stopping): the model fitted on the fit
//!   samples;
//! - held-out samples and the saved model: the model fitted on every
//!   training sample (fit and validation) with the run's seed, the same fit
//!   `genolens predict --model ridge` (or `logistic`) makes on that fold, so
//!   the additive path alone is that command's prediction up to the
//!   calibration.

use ndarray::{Array2, ArrayView2};

use crate::assoc::predict::cv::{fit_predictor, ModelSpec, PredictorCovariates};
use crate::assoc::predict::model::{LinearPredictor, ModelKind, Task};
use crate::assoc::predict::prs_ct::calibrate;
use crate::features::split::k_folds;
use crate::io::GenotypeSource;
use crate::transformer::finetune::OutputKind;
use crate::{Error, Result};

/// Folds of the fit samples for the cross-fitted offsets.
const CROSS_FIT_FOLDS: usize = 5;

/// The offsets of one training round, `rows × outputs` each, and the
/// additive models fitted on every training sample (one per output).
pub(crate) struct RoundOffsets {
    /// Cross-fitted offsets of the fit samples.
    pub fit: Array2<f32>,
    /// Offsets of the validation samples (model fitted on the fit samples).
    pub valid: Array2<f32>,
    /// Offsets of the held-out samples (model fitted on fit + validation).
    pub test: Array2<f32>,
    /// Per output, the model fitted on fit + validation samples.
    pub models: Vec<LinearPredictor>,
}

/// The samples of a round, as indices into the genotype source.
pub(crate) struct RoundSamples<'a> {
    /// Samples the transformer fits.
    pub fit: &'a [usize],
    /// Samples for early stopping.
    pub valid: &'a [usize],
    /// Held-out samples.
    pub test: &'a [usize],
}

/// The family of the additive model for an output.
fn family(kind: OutputKind) -> (ModelKind, Task) {
    match kind {
        OutputKind::Regression => (ModelKind::Ridge, Task::Quantitative),
        OutputKind::Binary => (ModelKind::Logistic, Task::Binary),
    }
}

/// Fits the additive models of a round and returns their offsets. `y` is
/// `n_samples × outputs` (`NaN` missing), `covariates` the same covariates
/// the transformer's head gets.
pub(crate) fn round_offsets(
    source: &dyn GenotypeSource,
    y: ArrayView2<'_, f64>,
    kinds: &[OutputKind],
    covariates: Option<PredictorCovariates<'_>>,
    samples: &RoundSamples<'_>,
    seed: u64,
) -> Result<RoundOffsets> {
    let outputs = kinds.len();
    let mut offsets = RoundOffsets {
        fit: Array2::zeros((samples.fit.len(), outputs)),
        valid: Array2::zeros((samples.valid.len(), outputs)),
        test: Array2::zeros((samples.test.len(), outputs)),
        models: Vec::with_capacity(outputs),
    };
    let values = covariates.map(|c| c.values);
    for (o, &kind) in kinds.iter().enumerate() {
        let (model_kind, task) = family(kind);
        let column: Vec<f64> = y.column(o).to_vec();
        let present = |rows: &[usize]| -> Vec<usize> {
            rows.iter()
                .copied()
                .filter(|&i| !column[i].is_nan())
                .collect()
        };
        let fit_rows = present(samples.fit);
        if fit_rows.len() < CROSS_FIT_FOLDS {
            return Err(Error::Invalid(format!(
                "output {}: {} fit samples with a value, too few for the additive path",
                o + 1,
                fit_rows.len()
            )));
        }
        let spec = ModelSpec {
            seed,
            ..ModelSpec::new(model_kind)
        };
        let on_fit = fit_predictor(source, &column, covariates, &fit_rows, task, &spec)?;
        let fit_scores = on_fit.score(source, values)?;
        // Cross-fitting with the penalty the fit samples chose (a grid of
        // one value skips the inner search). Fit samples without a target
        // keep the fit model's score: no loss reads them.
        let mut crossed = fit_scores.clone();
        let penalty = on_fit.hyperparameters.first().map(|(_, v)| *v);
        let folds = k_folds(fit_rows.len(), CROSS_FIT_FOLDS, seed ^ 0xA5A5)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let fixed = ModelSpec {
            grid: penalty.map(|p| vec![p]),
            ..spec.clone()
        };
        for f in 0..folds.n_folds() {
            let (train_k, held_k) = folds
                .train_test(f)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let rows: Vec<usize> = train_k.iter().map(|&k| fit_rows[k]).collect();
            let model = fit_predictor(source, &column, covariates, &rows, task, &fixed)?;
            let scores = model.score(source, values)?;
            for &k in &held_k {
                crossed[fit_rows[k]] = scores[fit_rows[k]];
            }
        }
        let targets: Vec<f64> = fit_rows.iter().map(|&i| column[i]).collect();
        let scores: Vec<f64> = fit_rows.iter().map(|&i| crossed[i]).collect();
        let (a, b) = calibration(task, &scores, &targets);
        for (k, &i) in samples.fit.iter().enumerate() {
            offsets.fit[[k, o]] = (a + b * crossed[i]) as f32;
        }
        for (k, &i) in samples.valid.iter().enumerate() {
            offsets.valid[[k, o]] = (a + b * fit_scores[i]) as f32;
        }
        let mut train_rows: Vec<usize> = fit_rows;
        train_rows.extend(present(samples.valid));
        train_rows.sort_unstable();
        let mut on_train = fit_predictor(source, &column, covariates, &train_rows, task, &spec)?;
        fold_calibration(&mut on_train, a, b);
        if !samples.test.is_empty() {
            let scores = on_train.score(source, values)?;
            for (k, &i) in samples.test.iter().enumerate() {
                offsets.test[[k, o]] = scores[i] as f32;
            }
        }
        offsets.models.push(on_train);
    }
    Ok(offsets)
}

/// `a + b·score` fitted to the targets (least squares, or logistic
/// regression for a binary output: C+T's calibration), with the slope kept
/// ≥ 0: a model whose out-of-sample scores point the wrong way contributes
/// nothing rather than its reverse.
fn calibration(task: Task, scores: &[f64], targets: &[f64]) -> (f64, f64) {
    let (a, b, _) = calibrate(scores, targets, task);
    if a.is_finite() && b.is_finite() && b >= 0.0 {
        return (a, b);
    }
    let mean = targets.iter().sum::<f64>() / targets.len().max(1) as f64;
    match task {
        Task::Quantitative => (mean, 0.0),
        Task::Binary => {
            let p = mean.clamp(1e-6, 1.0 - 1e-6);
            ((p / (1.0 - p)).ln(), 0.0)
        }
    }
}

/// Folds `a + b·score` into a linear model's weights.
fn fold_calibration(model: &mut LinearPredictor, a: f64, b: f64) {
    model.weights.iter_mut().for_each(|w| *w *= b);
    model.covariate_weights.iter_mut().for_each(|w| *w *= b);
    model.intercept = a + b * model.intercept;
    model.hyperparameters.extend([
        ("calibration_a".to_string(), a),
        ("calibration_b".to_string(), b),
    ]);
}

/// Offsets of every sample of `source` from saved additive models (one per
/// output; `NaN` covariates give `NaN`, refused by the transformer).
pub(crate) fn saved_offsets(
    models: &[LinearPredictor],
    source: &dyn GenotypeSource,
    covariates: Option<ArrayView2<'_, f64>>,
) -> Result<Array2<f32>> {
    let mut out = Array2::<f32>::zeros((source.n_samples(), models.len()));
    for (o, model) in models.iter().enumerate() {
        let scores = model.score(source, covariates)?;
        for (i, s) in scores.iter().enumerate() {
            out[[i, o]] = *s as f32;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_recovers_a_known_line_and_never_reverses() {
        let t: Vec<f64> = (0..50).map(|i| f64::from(i) / 7.0).collect();
        let s: Vec<f64> = t.iter().map(|t| 2.0 * t + 1.0).collect();
        let (a, b) = calibration(Task::Quantitative, &s, &t);
        assert!(
            (a + 0.5).abs() < 1e-12 && (b - 0.5).abs() < 1e-12,
            "{a} {b}"
        );
        let reversed: Vec<f64> = t.iter().map(|t| -t).collect();
        let (a, b) = calibration(Task::Quantitative, &reversed, &t);
        assert_eq!(b, 0.0);
        assert!((a - t.iter().sum::<f64>() / 50.0).abs() < 1e-12);

        // Case/control drawn from P(y) = σ(−0.5 + 0.8·s) with a fixed
        // uniform stream: the fit lands near the truth.
        let mut state = 7u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let scores: Vec<f64> = (0..4000).map(|i| f64::from(i % 100) / 25.0 - 2.0).collect();
        let y: Vec<f64> = scores
            .iter()
            .map(|s| {
                let p = 1.0 / (1.0 + (-(-0.5 + 0.8 * s)).exp());
                f64::from(u8::from(uniform() < p))
            })
            .collect();
        let (a, b) = calibration(Task::Binary, &scores, &y);
        assert!((a + 0.5).abs() < 0.1 && (b - 0.8).abs() < 0.1, "{a} {b}");
        let mut model_scores = scores.clone();
        model_scores.iter_mut().for_each(|s| *s = -*s);
        assert_eq!(calibration(Task::Binary, &model_scores, &y).1, 0.0);
    }
}
