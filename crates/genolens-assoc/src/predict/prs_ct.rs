//! Clumping + thresholding (C+T) polygenic scores, learnt from the training
//! samples only: the GWAS engine scans the training samples (everyone else's
//! phenotype masked), the clumping keeps the lead variant of each LD clump
//! (index p ≤ 1, members with r² > 0.1 within 250 kb, phased r² over the
//! training samples), and the score sums the leads' GWAS effects over those
//! with p ≤ a threshold. The threshold comes from inner cross-validation (each
//! inner fold reruns the scan and the clumping on its own training part), and
//! the final score is calibrated to the phenotype's scale on the inner folds'
//! out-of-fold scores (least squares, or a logistic fit for case/control
//! traits), not on the samples that selected its variants.

use genolens_features::split::k_folds;
use genolens_io::GenotypeSource;
use ndarray::{Array1, ArrayView2, Axis};

use super::metrics::{auc, pearson};
use super::model::Task;
use crate::clump::{clump, ClumpOptions};
use crate::error::{Error, Result};
use crate::linear::{linear_scan, Covariates, Phenotype};
use crate::logistic::{logistic_scan, LogisticMethod};

/// The default p-value thresholds.
pub const DEFAULT_THRESHOLDS: [f64; 10] = [5e-8, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1.0];

/// The clumping C+T uses.
pub fn ct_clump_options() -> ClumpOptions {
    ClumpOptions {
        p1: 1.0,
        p2: 1.0,
        r2: 0.1,
        kb: 250.0,
    }
}

/// GWAS effects (per copy of allele 1), p-values and lead-variant flags from
/// the samples `rows` only.
pub(super) struct Leads {
    beta: Vec<f64>,
    pub(super) p: Vec<f64>,
    pub(super) lead: Vec<bool>,
}

pub(super) fn leads<S: GenotypeSource + ?Sized>(
    source: &S,
    y: &[f64],
    covariates: &Covariates<'_>,
    rows: &[usize],
    task: Task,
    clumping: &ClumpOptions,
) -> Result<Leads> {
    let n = source.n_samples();
    let mut masked = vec![f64::NAN; n];
    let mut keep = vec![false; n];
    for &i in rows {
        masked[i] = y[i];
        keep[i] = true;
    }
    let phenotype = [Phenotype {
        name: "training",
        values: &masked,
    }];
    let (beta, p): (Vec<f64>, Vec<f64>) = match task {
        Task::Quantitative => linear_scan(source, &phenotype, covariates, 256, &|_| {})?.tests[0]
            .iter()
            .map(|t| (t.beta, if t.error.is_some() { f64::NAN } else { t.p() }))
            .unzip(),
        Task::Binary => logistic_scan(
            source,
            &phenotype,
            covariates,
            LogisticMethod::default(),
            128,
            &|_| {},
        )?
        .tests[0]
            .iter()
            .map(|t| (t.beta, if t.error.is_some() { f64::NAN } else { t.p() }))
            .unzip(),
    };
    let report = clump(source, &p, &keep, clumping)?;
    let mut lead = vec![false; p.len()];
    for c in &report.clumps {
        lead[c.index] = true;
    }
    Ok(Leads { beta, p, lead })
}

impl Leads {
    /// Score weights (per allele-1 dosage) at threshold `t`.
    fn weights(&self, t: f64) -> Array1<f64> {
        (0..self.p.len())
            .map(|j| {
                if self.lead[j] && self.p[j] <= t {
                    self.beta[j]
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// A C+T fit: per-variant weights (per centred dosage), intercept, whether the
/// output goes through the logistic function, and the threshold chosen.
pub(super) struct CtFit {
    pub(super) weights: Array1<f64>,
    pub(super) intercept: f64,
    pub(super) link: bool,
    pub(super) threshold: f64,
}

/// Fits C+T on `train`; `x` holds the training rows' centred dosages (in
/// `train` order, one column per variant).
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_ct<S: GenotypeSource + ?Sized>(
    source: &S,
    y: &[f64],
    covariates: &Covariates<'_>,
    train: &[usize],
    x: ArrayView2<'_, f64>,
    task: Task,
    thresholds: &[f64],
    inner_folds: usize,
    seed: u64,
) -> Result<CtFit> {
    if thresholds.is_empty() || thresholds.iter().any(|t| !(0.0..=1.0).contains(t)) {
        return Err(Error::Invalid(
            "prs-ct: thresholds must be p-values in [0, 1]".into(),
        ));
    }
    // Loss of a score on held-out rows: 1 − r² (quantitative) or 1 − AUC.
    let loss = |rows: &[usize], score: &Array1<f64>| -> f64 {
        let obs: Vec<f64> = rows.iter().map(|&r| y[train[r]]).collect();
        let s = score.as_slice().expect("contiguous");
        let value = match task {
            Task::Quantitative => pearson(&obs, s).powi(2),
            Task::Binary => auc(&obs.iter().map(|&v| v > 0.5).collect::<Vec<_>>(), s),
        };
        if value.is_nan() {
            1.0
        } else {
            1.0 - value
        }
    };
    let yt: Vec<f64> = train.iter().map(|&i| y[i]).collect();
    // Each threshold's out-of-fold scores over the training samples: they pick
    // the threshold and calibrate the final score. (Calibrating on the samples
    // that selected the variants would be overconfident: the winner's curse.)
    let (chosen, held_out) = if thresholds.len() == 1 {
        (thresholds[0], None)
    } else {
        let inner = k_folds(train.len(), inner_folds.max(2), seed)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let mut total = vec![0.0f64; thresholds.len()];
        let mut oof = vec![vec![0.0f64; train.len()]; thresholds.len()];
        for fold in 0..inner.n_folds() {
            let (fit_pos, val_pos) = inner
                .train_test(fold)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let rows: Vec<usize> = fit_pos.iter().map(|&r| train[r]).collect();
            let found = leads(source, y, covariates, &rows, task, &ct_clump_options())?;
            let xv = x.select(Axis(0), &val_pos);
            for (k, &t) in thresholds.iter().enumerate() {
                let scores = xv.dot(&found.weights(t));
                total[k] += loss(&val_pos, &scores) * val_pos.len() as f64;
                for (&pos, &sc) in val_pos.iter().zip(&scores) {
                    oof[k][pos] = sc;
                }
            }
        }
        let best = (0..thresholds.len())
            .min_by(|&a, &b| total[a].total_cmp(&total[b]))
            .expect("non-empty");
        (thresholds[best], Some(oof.swap_remove(best)))
    };
    let found = leads(source, y, covariates, train, task, &ct_clump_options())?;
    let raw = found.weights(chosen);
    let in_sample = x.dot(&raw);
    let calibration_scores: Vec<f64> = held_out.unwrap_or_else(|| in_sample.to_vec());
    let (a, b, link) = calibrate(&calibration_scores, &yt, task);
    Ok(CtFit {
        weights: raw * b,
        intercept: a,
        link,
        threshold: chosen,
    })
}

/// `a + b·score` fitted to the outcomes: least squares, or a logistic fit for
/// case/control traits (then `link` is true). Stacking's second level: C+T
/// calibrates its score with it, the transformer step its additive path.
pub fn calibrate(score: &[f64], y: &[f64], task: Task) -> (f64, f64, bool) {
    match task {
        Task::Quantitative => {
            let n = y.len() as f64;
            let (ms, my) = (score.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
            let var: f64 = score.iter().map(|s| (s - ms).powi(2)).sum();
            let cov: f64 = score.iter().zip(y).map(|(s, v)| (s - ms) * (v - my)).sum();
            let b = if var > 0.0 { cov / var } else { 0.0 };
            (my - b * ms, b, false)
        }
        Task::Binary => {
            let (a, b) = logistic_1d(score, y);
            (a, b, true)
        }
    }
}

/// Logistic regression of 0/1 `y` on one score (Newton–Raphson from the
/// intercept-only fit): (intercept, slope).
fn logistic_1d(score: &[f64], y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let rate = (y.iter().sum::<f64>() / n).clamp(1e-6, 1.0 - 1e-6);
    let (mut a, mut b) = ((rate / (1.0 - rate)).ln(), 0.0f64);
    for _ in 0..50 {
        let (mut g0, mut g1, mut h00, mut h01, mut h11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&s, &v) in score.iter().zip(y) {
            let m = 1.0 / (1.0 + (-(a + b * s)).exp());
            let w = m * (1.0 - m);
            g0 += v - m;
            g1 += (v - m) * s;
            h00 += w;
            h01 += w * s;
            h11 += w * s * s;
        }
        let det = h00 * h11 - h01 * h01;
        if det.abs() < 1e-300 {
            break;
        }
        let (da, db) = ((h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det);
        a += da;
        b += db;
        if da.abs() + db.abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}
