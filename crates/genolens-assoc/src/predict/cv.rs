//! Fitting a predictor on training samples (hyperparameters by inner
//! cross-validation on those samples only) and cross-validating it.
//!
//! Genotypes are centred on the training mean (missing calls get it) but not
//! scaled, as in GBLUP and scikit-learn; covariates are standardised.
//!
//! Leakage is ruled out by construction: the genotype scaling, the covariate
//! scaling, the hyperparameter search and the fit all see only the training
//! samples' rows; test samples enter only through [`LinearPredictor::score`]
//! of the finished model.

use genolens_features::scale::{Imputation, Scaling, Standardizer};
use genolens_features::split::{k_folds, Folds};
use genolens_io::GenotypeSource;
use linfa::prelude::*;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis, Ix1};

use super::elastic_net::{
    alpha_max, alpha_max_weighted, elastic_net_path_weighted, normalise_penalty_factors,
    CoordinateDescent,
};
use super::gd::GradientDescent;
use super::metrics::{auc, log_loss, mse, pearson, r_squared};
use super::model::{LinearPredictor, ModelCovariate, ModelKind, Task};
use super::ridge::ridge_path;
use crate::error::{Error, Result};
use crate::linear::Covariates;

/// How to fit a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The family.
    pub kind: ModelKind,
    /// The hyperparameter grid (λ for ridge, α for elastic net and lasso, the
    /// L2 penalty for logistic, C for the SVM), or `None` for the default grid.
    pub grid: Option<Vec<f64>>,
    /// Inner folds for choosing the hyperparameter.
    pub inner_folds: usize,
    /// Repeats of the inner cross-validation, each with its own split of the
    /// training rows; candidates are compared on the losses of every
    /// repeat's folds (more repeats: a steadier choice, proportionally more
    /// fits). 1 = plain K-fold (0 counts as 1).
    pub inner_repeats: usize,
    /// Seed of the inner folds (and of gradient descent's sample order).
    pub seed: u64,
    /// Per-variant prior weights (ridge, elastic net and lasso only).
    pub prior: Option<PriorPenalty>,
}

impl ModelSpec {
    /// The defaults for a family: its default grid, 5 inner folds once,
    /// seed 1, no prior.
    pub fn new(kind: ModelKind) -> Self {
        Self {
            kind,
            grid: None,
            inner_folds: 5,
            inner_repeats: 1,
            seed: 1,
            prior: None,
        }
    }
}

/// Prior knowledge about which variants matter, as per-variant weights
/// (each > 0; larger = more likely to matter), entering the penalty:
///
/// - ridge: variant `j`'s prior variance is proportional to `w_j^κ` (its
///   column is scaled by `√(w_j^κ)`, weights normalised to mean 1), so a
///   supported variant is shrunk less;
/// - elastic net and lasso: variant `j`'s penalty factor (glmnet's
///   `penalty.factor`) is `1 / w_j^κ`, rescaled to mean 1.
///
/// The strength `κ` is chosen with the penalty by the inner folds among
/// `strengths`; 0 is the analysis without the prior. A strength's best
/// candidate replaces the best one without the prior only when the inner
/// folds show it *significantly* better: a one-sided paired t-test of their
/// per-fold loss differences, the variance corrected for the overlapping
/// training sets of cross-validation (Nadeau & Bengio 2003, `(1/J +
/// n_val/n_fit)·σ²` over `J` inner folds of all repeats), at `level`
/// divided by the number of strengths above 0 (Bonferroni). The best of many
/// candidates wins the inner comparison by chance more often than any one of
/// them; a prior that does not clearly help is not forced on the fit.
/// Covariates are never re-weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorPenalty {
    /// One weight per variant of the source.
    pub weights: Vec<f64>,
    /// Strengths tried.
    pub strengths: Vec<f64>,
    /// One-sided family-wise level of the tests a prior strength must pass
    /// to be used (each of the `k` strengths above 0 is tested at
    /// `level / k`).
    pub level: f64,
}

impl PriorPenalty {
    /// The default strengths 0, ½, 1 and 2, level 0.05.
    pub fn new(weights: Vec<f64>) -> Self {
        Self {
            weights,
            strengths: vec![0.0, 0.5, 1.0, 2.0],
            level: 0.05,
        }
    }

    fn check(&self, m: usize, kind: ModelKind) -> Result<()> {
        if !matches!(
            kind,
            ModelKind::Ridge | ModelKind::ElasticNet | ModelKind::Lasso
        ) {
            return Err(Error::Invalid(format!(
                "{} takes no prior; ridge, elastic-net and lasso do",
                kind.name()
            )));
        }
        if self.weights.len() != m {
            return Err(Error::Invalid(format!(
                "{} prior weights for {m} variants",
                self.weights.len()
            )));
        }
        if let Some(bad) = self.weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(Error::Invalid(format!(
                "prior weight {bad} is not a positive number"
            )));
        }
        if self.strengths.is_empty() || self.strengths.iter().any(|s| !s.is_finite()) {
            return Err(Error::Invalid(
                "prior strengths must be finite numbers".into(),
            ));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::Invalid(format!(
                "prior test level {} is not in (0, 1)",
                self.level
            )));
        }
        Ok(())
    }

    /// Per-column multipliers of the design (`m` variants then `c`
    /// covariates) at strength `kappa`: the column scales for ridge, the
    /// penalty factors for the elastic net.
    fn shape(&self, kind: ModelKind, kappa: f64, c: usize) -> Vec<f64> {
        let raw: Vec<f64> = self.weights.iter().map(|w| w.powf(kappa)).collect();
        let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
        let mut out: Vec<f64> = raw
            .iter()
            .map(|w| {
                let v = w / mean;
                if kind == ModelKind::Ridge {
                    v.sqrt()
                } else {
                    1.0 / v
                }
            })
            .collect();
        out.extend(std::iter::repeat_n(1.0, c));
        out
    }
}

/// How a prior shapes one fit.
#[derive(Debug, Clone, Copy)]
enum Shape<'a> {
    /// No prior.
    Plain,
    /// Ridge: the design's columns are scaled by these.
    Columns(&'a [f64]),
    /// Elastic net: per-column penalty factors.
    Factors(&'a [f64]),
}

impl<'a> Shape<'a> {
    fn of(kind: ModelKind, multipliers: Option<&'a [f64]>) -> Self {
        match (kind, multipliers) {
            (_, None) => Shape::Plain,
            (ModelKind::Ridge, Some(m)) => Shape::Columns(m),
            (_, Some(m)) => Shape::Factors(m),
        }
    }
}

/// Covariates for the predictor: names and values (`n_samples × c`, `NaN`
/// missing).
#[derive(Debug, Clone, Copy)]
pub struct PredictorCovariates<'a> {
    /// Column names.
    pub names: &'a [String],
    /// Values, one row per genotype sample.
    pub values: ArrayView2<'a, f64>,
}

/// The training rows of the design: standardised genotypes then covariates.
struct Design {
    scaling: Standardizer,
    covariates: Vec<ModelCovariate>,
    /// `train.len() × (m + c)`.
    x: Array2<f64>,
}

fn design<S: GenotypeSource + ?Sized>(
    source: &S,
    covariates: Option<PredictorCovariates<'_>>,
    train: &[usize],
) -> Result<Design> {
    let scaling = Standardizer::fit(
        source,
        Some(train),
        Imputation::Mean,
        Scaling::None,
        512,
        &|_| {},
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let m = source.n_variants();
    let c = covariates.map_or(0, |c| c.values.ncols());
    let mut x = Array2::<f64>::zeros((train.len(), m + c));
    let mut dosages = vec![0.0f32; train.len()];
    let mut z = vec![0.0f64; train.len()];
    for v in 0..m {
        source.read_variant_subset_into(v, train, &mut dosages)?;
        scaling.standardize_column(v, &dosages, &mut z);
        x.column_mut(v)
            .iter_mut()
            .zip(&z)
            .for_each(|(o, z)| *o = *z);
    }
    let mut saved = Vec::with_capacity(c);
    if let Some(cov) = covariates {
        for j in 0..c {
            let col: Vec<f64> = train.iter().map(|&i| cov.values[[i, j]]).collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let sd =
                (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt();
            let sd = if sd > 0.0 { sd } else { 1.0 };
            for (r, v) in col.iter().enumerate() {
                x[[r, m + j]] = (v - mean) / sd;
            }
            saved.push(ModelCovariate {
                name: cov.names[j].clone(),
                mean,
                sd,
            });
        }
    }
    Ok(Design {
        scaling,
        covariates: saved,
        x,
    })
}

/// A model fitted on a design matrix: weights, intercept, logistic link.
struct Fitted {
    weights: Array1<f64>,
    intercept: f64,
    link: bool,
}

impl Fitted {
    fn scores(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.dot(&self.weights) + self.intercept
    }
}

/// The default grid of a family for a design of `m` columns.
fn default_grid(
    kind: ModelKind,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    factors: Option<&[f64]>,
) -> Vec<f64> {
    let m = x.ncols() as f64;
    match kind {
        // λ relative to the summed column variances (Σ 2p(1−p) for dosages):
        // λ = σ²_e/σ²_g · Σ var, so a factor of 1 is GBLUP at heritability ½.
        ModelKind::Ridge => {
            let total_var: f64 = x.var_axis(Axis(0), 0.0).sum();
            let scale = if total_var > 0.0 { total_var } else { m };
            [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
                .iter()
                .map(|f| f * scale)
                .collect()
        }
        ModelKind::ElasticNet | ModelKind::Lasso => {
            let ratio = if kind == ModelKind::Lasso { 1.0 } else { 0.5 };
            let top = match factors {
                Some(f) => alpha_max_weighted(
                    x,
                    y,
                    ratio,
                    Some(&normalise_penalty_factors(f).unwrap_or_else(|_| f.to_vec())),
                ),
                None => alpha_max(x, y, ratio),
            };
            [0.5, 0.2, 0.1, 0.05, 0.02, 0.01]
                .iter()
                .map(|f| f * top)
                .collect()
        }
        ModelKind::Logistic => vec![1.0, 10.0, 100.0, 1000.0, 10_000.0],
        ModelKind::Svm => vec![0.0001, 0.001, 0.01, 0.1],
        ModelKind::PrsCt => super::prs_ct::DEFAULT_THRESHOLDS.to_vec(),
        ModelKind::Ols | ModelKind::GdLinear => vec![f64::NAN],
    }
}

/// Fits `kind` with each grid value on `(x, y)`.
fn fit_grid(
    kind: ModelKind,
    task: Task,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    grid: &[f64],
    seed: u64,
    shape: Shape<'_>,
) -> Result<Vec<Fitted>> {
    if let Shape::Columns(scale) = shape {
        // Ridge on scaled columns; the weights come back per original unit.
        let scaled = &x * &ndarray::ArrayView1::from(scale);
        let fits = fit_grid(kind, task, scaled.view(), y, grid, seed, Shape::Plain)?;
        return Ok(fits
            .into_iter()
            .map(|mut f| {
                f.weights *= &ndarray::ArrayView1::from(scale);
                f
            })
            .collect());
    }
    let factors = match shape {
        Shape::Factors(f) => Some(f),
        _ => None,
    };
    let plain = |weights: Array1<f64>, intercept: f64| Fitted {
        weights,
        intercept,
        link: false,
    };
    match kind {
        ModelKind::PrsCt => Err(Error::Invalid(
            "prs-ct is fitted from the genotypes, not a design matrix".into(),
        )),
        ModelKind::Ridge => Ok(ridge_path(x, y, grid)?
            .into_iter()
            .map(|f| plain(f.weights, f.intercept))
            .collect()),
        ModelKind::ElasticNet | ModelKind::Lasso => {
            let ratio = if kind == ModelKind::Lasso { 1.0 } else { 0.5 };
            // Largest penalty first for warm starts; back to grid order after.
            let mut order: Vec<usize> = (0..grid.len()).collect();
            order.sort_by(|&a, &b| grid[b].total_cmp(&grid[a]));
            let sorted: Vec<f64> = order.iter().map(|&i| grid[i]).collect();
            let fits = elastic_net_path_weighted(
                x,
                y,
                &sorted,
                ratio,
                factors,
                &CoordinateDescent::default(),
            )?;
            let mut out: Vec<Option<Fitted>> = (0..grid.len()).map(|_| None).collect();
            for (&i, f) in order.iter().zip(fits) {
                out[i] = Some(plain(f.weights, f.intercept));
            }
            Ok(out
                .into_iter()
                .map(|f| f.expect("every grid point fitted"))
                .collect())
        }
        ModelKind::Ols => {
            if x.nrows() <= x.ncols() + 1 {
                return Err(Error::Invalid(format!(
                    "ols: {} training samples for {} predictors; least squares needs more \
                     samples than predictors (use ridge)",
                    x.nrows(),
                    x.ncols()
                )));
            }
            let data: Dataset<f64, f64, Ix1> = Dataset::new(x.to_owned(), y.to_owned());
            let fit = linfa_linear::LinearRegression::new()
                .fit(&data)
                .map_err(|e| Error::Invalid(format!("ols: {e}")))?;
            Ok(vec![plain(fit.params().to_owned(), fit.intercept())])
        }
        ModelKind::GdLinear => {
            let fit = GradientDescent {
                seed,
                ..GradientDescent::default()
            }
            .fit(x, y)?;
            Ok(vec![plain(fit.weights, fit.intercept)])
        }
        ModelKind::Logistic => {
            require_binary(kind, task)?;
            let labels: Array1<bool> = y.mapv(|v| v > 0.5);
            let data: Dataset<f64, bool, Ix1> = Dataset::new(x.to_owned(), labels);
            grid.iter()
                .map(|&alpha| {
                    let fit = linfa_logistic::LogisticRegression::default()
                        .alpha(alpha)
                        .max_iterations(200)
                        .fit(&data)
                        .map_err(|e| Error::Invalid(format!("logistic: {e}")))?;
                    // linfa models P(more frequent class); turn it into P(case).
                    let sign = if fit.labels().pos.class { 1.0 } else { -1.0 };
                    Ok(Fitted {
                        weights: fit.params().mapv(|w| sign * w),
                        intercept: sign * fit.intercept(),
                        link: true,
                    })
                })
                .collect()
        }
        ModelKind::Svm => {
            require_binary(kind, task)?;
            let labels: Array1<bool> = y.mapv(|v| v > 0.5);
            let data: Dataset<f64, bool, Ix1> = Dataset::new(x.to_owned(), labels);
            grid.iter()
                .map(|&c| {
                    let fit = linfa_svm::Svm::<f64, bool>::params()
                        .linear_kernel()
                        .pos_neg_weights(c, c)
                        .fit(&data)
                        .map_err(|e| Error::Invalid(format!("svm: {e}")))?;
                    // A linear kernel: the decision function is wᵀx − ρ; recover w
                    // from the decision values at the unit vectors.
                    let m = x.ncols();
                    let origin = Array1::<f64>::zeros(m);
                    let at_origin = fit.weighted_sum(&origin.view()) - fit.rho;
                    let mut w = Array1::<f64>::zeros(m);
                    let mut e = Array1::<f64>::zeros(m);
                    for j in 0..m {
                        e[j] = 1.0;
                        w[j] = fit.weighted_sum(&e.view()) - fit.rho - at_origin;
                        e[j] = 0.0;
                    }
                    Ok(plain(w, at_origin))
                })
                .collect()
        }
    }
}

fn require_binary(kind: ModelKind, task: Task) -> Result<()> {
    if task == Task::Binary {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{} needs a case/control trait",
            kind.name()
        )))
    }
}

/// Loss of predictions for choosing hyperparameters (lower is better).
fn selection_loss(task: Task, link: bool, y: ArrayView1<'_, f64>, scores: &Array1<f64>) -> f64 {
    let ys: Vec<f64> = y.to_vec();
    match (task, link) {
        (Task::Quantitative, _) => mse(&ys, scores.as_slice().expect("contiguous")),
        (Task::Binary, true) => {
            let labels: Vec<bool> = ys.iter().map(|&v| v > 0.5).collect();
            let p: Vec<f64> = scores.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect();
            log_loss(&labels, &p)
        }
        (Task::Binary, false) => {
            let labels: Vec<bool> = ys.iter().map(|&v| v > 0.5).collect();
            1.0 - auc(&labels, scores.as_slice().expect("contiguous"))
        }
    }
}

/// One-sided p-value that the candidate with losses `with` beats the one
/// with losses `without` on the same inner folds (pairs `(loss, n_val)`),
/// by the corrected resampled t-test of Nadeau & Bengio (2003): the paired
/// differences' variance scaled by `1/J + n_val/n_fit` with `n_val/n_fit =
/// 1/(k−1)` for `k`-fold splits, `J − 1` degrees of freedom.
fn improvement_p(with: &[(f64, f64)], without: &[(f64, f64)], k: usize) -> f64 {
    let d: Vec<f64> = with.iter().zip(without).map(|(a, b)| b.0 - a.0).collect();
    let total: f64 = with.iter().map(|(_, n)| n).sum();
    let j = d.len() as f64;
    let gain = d.iter().zip(with).map(|(x, (_, n))| x * n).sum::<f64>() / total;
    if d.len() < 2 || gain <= 0.0 {
        return 1.0;
    }
    let var = d.iter().map(|x| (x - gain).powi(2)).sum::<f64>() / (j - 1.0);
    let se = ((1.0 / j + 1.0 / (k.max(2) as f64 - 1.0)) * var).sqrt();
    if se == 0.0 {
        return 0.0;
    }
    0.5 * crate::stats::ln_t_two_sided(gain / se, j - 1.0).exp()
}

/// Fits a predictor on the samples `train` (indices into the source) with
/// outcomes `y` (one per source sample; only the training entries are read).
/// The hyperparameter is chosen by `spec.inner_folds`-fold cross-validation
/// within `train`.
pub fn fit_predictor<S: GenotypeSource + ?Sized>(
    source: &S,
    y: &[f64],
    covariates: Option<PredictorCovariates<'_>>,
    train: &[usize],
    task: Task,
    spec: &ModelSpec,
) -> Result<LinearPredictor> {
    if y.len() != source.n_samples() {
        return Err(Error::Invalid(format!(
            "{} outcomes for {} samples",
            y.len(),
            source.n_samples()
        )));
    }
    let yt: Array1<f64> = train.iter().map(|&i| y[i]).collect();
    if let Some(bad) = yt.iter().find(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "training outcome {bad} is not a number"
        )));
    }
    let mean = yt.mean().unwrap_or(f64::NAN);
    if yt.len() < 2
        || yt
            .iter()
            .all(|v| (v - mean).abs() <= 1e-12 * mean.abs().max(1.0))
    {
        return Err(Error::Invalid(format!(
            "the phenotype has no variance over the {} training samples",
            yt.len()
        )));
    }
    if task == Task::Binary && yt.iter().any(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::Invalid(
            "a case/control phenotype must be 0/1".into(),
        ));
    }
    let m = source.n_variants();
    if let Some(prior) = &spec.prior {
        prior.check(m, spec.kind)?;
    }
    let d = design(source, covariates, train)?;
    if spec.kind == ModelKind::PrsCt {
        let empty = Array2::<f64>::zeros((source.n_samples(), 0));
        let no_names: Vec<String> = Vec::new();
        let (names, values): (&[String], ArrayView2<'_, f64>) = match covariates {
            Some(c) => (c.names, c.values.reborrow()),
            None => (&no_names, empty.view()),
        };
        let gwas_covariates = Covariates { names, values };
        let thresholds = spec
            .grid
            .clone()
            .unwrap_or_else(|| super::prs_ct::DEFAULT_THRESHOLDS.to_vec());
        let fit = super::prs_ct::fit_ct(
            source,
            y,
            &gwas_covariates,
            train,
            d.x.slice(s![.., ..m]),
            task,
            &thresholds,
            spec.inner_folds,
            spec.seed,
        )?;
        let c = d.covariates.len();
        return Ok(LinearPredictor::new(
            spec.kind,
            task,
            vec![("p_threshold".to_string(), fit.threshold)],
            &d.scaling,
            fit.weights.to_vec(),
            d.covariates,
            vec![0.0; c],
            fit.intercept,
            fit.link,
        ));
    }
    let c = d.covariates.len();
    // Per prior strength (one pass without a prior): the design's column
    // multipliers and the hyperparameter grid.
    let shapes: Vec<(f64, Option<Vec<f64>>)> = match &spec.prior {
        None => vec![(0.0, None)],
        Some(p) => p
            .strengths
            .iter()
            .map(|&k| (k, Some(p.shape(spec.kind, k, c))))
            .collect(),
    };
    let grids: Vec<Vec<f64>> = shapes
        .iter()
        .map(|(_, mult)| {
            spec.grid
                .clone()
                .unwrap_or_else(|| match (spec.kind, mult) {
                    (ModelKind::Ridge, Some(scale)) => {
                        let scaled = &d.x * &ndarray::ArrayView1::from(scale.as_slice());
                        default_grid(spec.kind, scaled.view(), yt.view(), None)
                    }
                    (_, mult) => default_grid(spec.kind, d.x.view(), yt.view(), mult.as_deref()),
                })
        })
        .collect();
    let candidates: Vec<(usize, usize)> = grids
        .iter()
        .enumerate()
        .flat_map(|(s, g)| (0..g.len()).map(move |k| (s, k)))
        .collect();
    let (chosen_shape, chosen) = if candidates.len() <= 1 {
        (0, 0)
    } else {
        // Inner folds over the training rows only, `inner_repeats` splits.
        let k = spec.inner_folds.max(2);
        let mut splits = Vec::new();
        for r in 0..spec.inner_repeats.max(1) {
            let seed = if r == 0 {
                spec.seed
            } else {
                spec.seed ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            };
            let inner = k_folds(train.len(), k, seed).map_err(|e| Error::Invalid(e.to_string()))?;
            for fold in 0..inner.n_folds() {
                splits.push(
                    inner
                        .train_test(fold)
                        .map_err(|e| Error::Invalid(e.to_string()))?,
                );
            }
        }
        // Per candidate, the loss of every inner fold.
        let mut loss: Vec<Vec<Vec<(f64, f64)>>> = grids
            .iter()
            .map(|g| vec![Vec::with_capacity(splits.len()); g.len()])
            .collect();
        for (fit_rows, val_rows) in &splits {
            let xf = d.x.select(Axis(0), fit_rows);
            let yf = yt.select(Axis(0), fit_rows);
            let xv = d.x.select(Axis(0), val_rows);
            let yv = yt.select(Axis(0), val_rows);
            for (s, (_, mult)) in shapes.iter().enumerate() {
                let shape = Shape::of(spec.kind, mult.as_deref());
                let fits = fit_grid(
                    spec.kind,
                    task,
                    xf.view(),
                    yf.view(),
                    &grids[s],
                    spec.seed,
                    shape,
                )?;
                for (c, f) in fits.iter().enumerate() {
                    loss[s][c].push((
                        selection_loss(task, f.link, yv.view(), &f.scores(xv.view())),
                        val_rows.len() as f64,
                    ));
                }
            }
        }
        // Means weighted by the validation folds' sizes.
        let mean = |v: &[(f64, f64)]| {
            v.iter().map(|(l, n)| l * n).sum::<f64>() / v.iter().map(|(_, n)| n).sum::<f64>()
        };
        // The smallest mean loss; on ties the earlier candidate (weaker prior,
        // larger penalty first in the default grids) stays.
        let best = candidates
            .iter()
            .copied()
            .min_by(|&(s1, k1), &(s2, k2)| mean(&loss[s1][k1]).total_cmp(&mean(&loss[s2][k2])))
            .expect("non-empty grid");
        // A prior must earn its place: the best fit without it stays unless
        // a strength's best fit is significantly better, each strength tested
        // at `level / strengths tried` (Bonferroni: the chance that any useless
        // strength passes stays below `level`); of those that pass, the one
        // with the smallest loss.
        match (
            &spec.prior,
            shapes.iter().position(|(kappa, _)| *kappa == 0.0),
        ) {
            (Some(prior), Some(plain)) if shapes[best.0].0 != 0.0 => {
                let best_of = |s: usize| {
                    (0..grids[s].len())
                        .min_by(|&a, &b| mean(&loss[s][a]).total_cmp(&mean(&loss[s][b])))
                        .expect("non-empty grid")
                };
                let no_prior = best_of(plain);
                let tried: Vec<usize> = (0..shapes.len()).filter(|&s| shapes[s].0 != 0.0).collect();
                let level = prior.level / tried.len() as f64;
                tried
                    .into_iter()
                    .map(|s| (s, best_of(s)))
                    .filter(|&(s, c)| improvement_p(&loss[s][c], &loss[plain][no_prior], k) < level)
                    .min_by(|&(s1, c1), &(s2, c2)| {
                        mean(&loss[s1][c1]).total_cmp(&mean(&loss[s2][c2]))
                    })
                    .unwrap_or((plain, no_prior))
            }
            _ => best,
        }
    };
    let value = grids[chosen_shape][chosen];
    let (kappa, mult) = &shapes[chosen_shape];
    let shape = Shape::of(spec.kind, mult.as_deref());
    let fit = fit_grid(
        spec.kind,
        task,
        d.x.view(),
        yt.view(),
        &[value],
        spec.seed,
        shape,
    )?
    .remove(0);
    let mut hyper = match spec.kind {
        ModelKind::Ridge => vec![("lambda".to_string(), value)],
        ModelKind::ElasticNet | ModelKind::Lasso => vec![("alpha".to_string(), value)],
        ModelKind::Logistic => vec![("l2_penalty".to_string(), value)],
        ModelKind::Svm => vec![("C".to_string(), value)],
        ModelKind::Ols | ModelKind::GdLinear | ModelKind::PrsCt => Vec::new(),
    };
    if spec.prior.is_some() {
        hyper.push(("prior_strength".to_string(), *kappa));
    }
    Ok(LinearPredictor::new(
        spec.kind,
        task,
        hyper,
        &d.scaling,
        fit.weights.slice(s![..m]).to_vec(),
        d.covariates,
        fit.weights.slice(s![m..]).to_vec(),
        fit.intercept,
        fit.link,
    ))
}

/// One outer fold's result.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldResult {
    /// The fold label.
    pub fold: usize,
    /// Test samples with an outcome.
    pub n: usize,
    /// Quantitative: Pearson r, R², MSE. Binary: AUC, log-loss, and NaN.
    pub metrics: [f64; 3],
    /// The model fitted on the other folds.
    pub model: LinearPredictor,
}

/// One sample's out-of-fold prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutOfFold {
    /// Source index of the sample.
    pub sample: usize,
    /// Its fold.
    pub fold: usize,
    /// Its outcome.
    pub observed: f64,
    /// The prediction of the model that did not see it.
    pub predicted: f64,
}

/// The outcome of [`cross_validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CvReport {
    /// The task.
    pub task: Task,
    /// Per fold, in fold order.
    pub folds: Vec<FoldResult>,
    /// Out-of-fold predictions of every sample with an outcome.
    pub predictions: Vec<OutOfFold>,
}

/// Cross-validates `spec` over `folds` (one label per source sample): each
/// fold's samples are predicted by a model fitted on the other folds' samples
/// with an outcome (`NaN` outcomes are left out everywhere).
pub fn cross_validate<S: GenotypeSource + ?Sized>(
    source: &S,
    y: &[f64],
    covariates: Option<PredictorCovariates<'_>>,
    folds: &Folds,
    task: Task,
    spec: &ModelSpec,
) -> Result<CvReport> {
    if folds.n_samples() != source.n_samples() || y.len() != source.n_samples() {
        return Err(Error::Invalid(format!(
            "{} fold labels and {} outcomes for {} samples",
            folds.n_samples(),
            y.len(),
            source.n_samples()
        )));
    }
    let usable = |i: &usize| {
        !y[*i].is_nan() && covariates.is_none_or(|c| c.values.row(*i).iter().all(|v| !v.is_nan()))
    };
    let mut results = Vec::with_capacity(folds.n_folds());
    let mut predictions = Vec::new();
    for fold in 0..folds.n_folds() {
        let (train, test) = folds
            .train_test(fold)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let train: Vec<usize> = train.into_iter().filter(usable).collect();
        let test: Vec<usize> = test.into_iter().filter(usable).collect();
        let model = fit_predictor(source, y, covariates, &train, task, spec)?;
        let all = model.predict(source, covariates.map(|c| c.values))?;
        let observed: Vec<f64> = test.iter().map(|&i| y[i]).collect();
        let predicted: Vec<f64> = test.iter().map(|&i| all[i]).collect();
        let metrics = match task {
            Task::Quantitative => [
                pearson(&observed, &predicted),
                r_squared(&observed, &predicted),
                mse(&observed, &predicted),
            ],
            Task::Binary => {
                let labels: Vec<bool> = observed.iter().map(|&v| v > 0.5).collect();
                let probabilities = as_probabilities(&model, &predicted);
                [
                    auc(&labels, &predicted),
                    log_loss(&labels, &probabilities),
                    f64::NAN,
                ]
            }
        };
        predictions.extend(test.iter().zip(&observed).zip(&predicted).map(
            |((&sample, &o), &p)| OutOfFold {
                sample,
                fold,
                observed: o,
                predicted: p,
            },
        ));
        results.push(FoldResult {
            fold,
            n: test.len(),
            metrics,
            model,
        });
    }
    predictions.sort_by_key(|p| p.sample);
    Ok(CvReport {
        task,
        folds: results,
        predictions,
    })
}

/// Predictions as case probabilities: a logistic model's already are; a
/// linear score on a 0/1 outcome is a linear probability, clipped; an SVM's
/// decision value goes through the logistic function (uncalibrated).
pub fn as_probabilities(model: &LinearPredictor, predicted: &[f64]) -> Vec<f64> {
    match (model.logistic_link, model.kind) {
        (true, _) => predicted.to_vec(),
        (false, ModelKind::Svm) => predicted.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect(),
        (false, _) => predicted
            .iter()
            .map(|p| p.clamp(1e-6, 1.0 - 1e-6))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::improvement_p;

    fn folds(losses: &[f64]) -> Vec<(f64, f64)> {
        losses.iter().map(|&l| (l, 50.0)).collect()
    }

    #[test]
    fn the_prior_test_needs_a_consistent_gain() {
        let without = folds(&[1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98, 1.0]);
        // No gain, or a loss: p = 1.
        assert_eq!(improvement_p(&without, &without, 3), 1.0);
        let worse: Vec<(f64, f64)> = without.iter().map(|&(l, n)| (l + 0.1, n)).collect();
        assert_eq!(improvement_p(&worse, &without, 3), 1.0);
        // The same mean gain, steady across folds or erratic.
        let steady: Vec<(f64, f64)> = without
            .iter()
            .enumerate()
            .map(|(i, &(l, n))| (l - 0.05 - 0.002 * (i % 2) as f64, n))
            .collect();
        let erratic: Vec<(f64, f64)> = without
            .iter()
            .enumerate()
            .map(|(i, &(l, n))| (l - 0.051 + if i % 2 == 0 { 0.1 } else { -0.1 }, n))
            .collect();
        let (p_steady, p_erratic) = (
            improvement_p(&steady, &without, 3),
            improvement_p(&erratic, &without, 3),
        );
        assert!(p_steady < 1e-4, "{p_steady}");
        assert!(p_erratic > 0.1 && p_erratic < 0.5, "{p_erratic}");
        // The overlap correction: fewer folds per split (more overlap of the
        // training sets) widens the variance, so the same gain is less sure.
        assert!(improvement_p(&erratic, &without, 2) > p_erratic);
    }
}
