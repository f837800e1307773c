//! REGENIE's two steps (Mbatchou et al. 2021): whole-genome ridge regression
//! in blocks of variants giving leave-one-chromosome-out (LOCO) predictions
//! of each trait ([`wgr_step1`]), then per-variant tests with the LOCO
//! prediction of the variant's chromosome as an offset
//! ([`wgr_scan_quantitative`], [`wgr_scan_binary`]).
//!
//! The steps follow regenie 4.1's defaults (`docs/architecture.md` lists the
//! differences):
//! - covariates, intercept included, become an orthonormal basis; traits and
//!   genotypes are residualised on it and scaled to unit variance;
//! - level 0: per block of `block_size` consecutive variants of one
//!   chromosome, ridge fits over the heritability grid, λ = M(1 − h²)/h² for M
//!   variants, in K folds of consecutive samples; each block gives one
//!   out-of-fold predictor per λ, standardised;
//! - level 1: ridge (quantitative) or logistic ridge with the covariates'
//!   fit as offset (binary) on those predictors, τ = P(1 − h²)/h² (× 3/π²
//!   for binary traits), τ chosen by out-of-fold loss; the prediction of
//!   each sample uses the level-1 fit without its fold, and the LOCO
//!   prediction of chromosome c sums the predictors of the other
//!   chromosomes;
//! - step 2: quantitative traits by the score test of the residual after
//!   the offset (regenie's χ²₁ on `N − C` degrees of freedom); binary traits
//!   by the score test of a logistic null model with the offset, and
//!   regenie's approximate Firth correction (`--firth --approx`) below a
//!   p-value threshold.
//!
//! Memory is bounded by one block of genotypes (`samples × block_size`)
//! plus the level-0 predictors (`samples × blocks × grid` per trait).
//! Regenie switches binary traits to leave-one-out CV below 5,000 samples;
//! genolens keeps K folds (the level-1 choice differs only through CV
//! noise).

use faer::linalg::matmul::{
    matmul,
    triangular::{self, BlockStructure},
};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use ndarray::ArrayView2;

use crate::stats::ln_normal_two_sided;
use crate::{Error, Result};

/// The heritability grid of both levels (regenie's five values).
pub const DEFAULT_H2_GRID: [f64; 5] = [0.01, 0.25, 0.5, 0.75, 0.99];

/// Options of step 1.
#[derive(Debug, Clone, PartialEq)]
pub struct WgrOptions {
    /// Consecutive variants of one chromosome per level-0 block (regenie's
    /// `--bsize`; 1,000 as its documentation recommends).
    pub block_size: usize,
    /// Cross-validation folds of consecutive samples (regenie's `--cv`, 5).
    pub folds: usize,
    /// Heritabilities giving the ridge penalties of both levels.
    pub h2_grid: Vec<f64>,
}

impl Default for WgrOptions {
    fn default() -> Self {
        Self {
            block_size: 1000,
            folds: 5,
            h2_grid: DEFAULT_H2_GRID.to_vec(),
        }
    }
}

/// One trait of step 1: a value per sample of the source (`NaN` where
/// missing: the sample is left out of this trait's fits).
#[derive(Debug, Clone, Copy)]
pub struct WgrTrait<'a> {
    /// The trait's name.
    pub name: &'a str,
    /// One value per sample; 0/1 for a binary trait.
    pub values: &'a [f64],
    /// Case/control (logistic ridge at level 1).
    pub binary: bool,
}

/// Step 1's result for one trait.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitPredictions {
    /// The trait's name.
    pub name: String,
    /// Case/control.
    pub binary: bool,
    /// The level-1 heritability chosen.
    pub level1_h2: f64,
    /// Out-of-fold loss per grid value (mean squared error of the
    /// standardised trait, or minus the mean log-likelihood for binary
    /// traits).
    pub cv_loss: Vec<f64>,
    /// The whole-genome prediction (sum over every chromosome), per sample;
    /// `NaN` where the trait is missing.
    pub whole: Vec<f64>,
    /// Per chromosome of step 1 (its code, see [`chromosome_code`]): the
    /// LOCO prediction, the prediction from every other chromosome, per
    /// sample. Quantitative traits are on the scale of the residualised,
    /// standardised trait; binary ones on the logit scale, without the
    /// covariates' part.
    pub loco: Vec<(u32, Vec<f64>)>,
}

impl TraitPredictions {
    /// The offset for variants of chromosome `code`: its LOCO prediction, or
    /// the whole-genome prediction for a chromosome step 1 did not see.
    pub fn offset(&self, code: u32) -> &[f64] {
        self.loco
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(&self.whole, |(_, v)| v)
    }
}

/// What step 1 did.
#[derive(Debug, Clone, PartialEq)]
pub struct Step1 {
    /// Variants in the ridge regression.
    pub variants: usize,
    /// Variants left out as constant after the covariates.
    pub constant: usize,
    /// Level-0 blocks.
    pub blocks: usize,
    /// One entry per trait, in order.
    pub traits: Vec<TraitPredictions>,
}

/// Regenie's chromosome number: `1`–`22` as such, the sex chromosomes,
/// their pseudo-autosomal part and mitochondria as 23 (`X`, `Y`, `XY`,
/// `MT`, `PAR1`, `PAR2`, codes 23–26), other numeric codes (non-human
/// autosomes) as themselves. `None` for a name that is none of these.
pub fn chromosome_code(chrom: &str) -> Option<u32> {
    let c = chrom.strip_prefix("chr").unwrap_or(chrom);
    match c.to_ascii_uppercase().as_str() {
        "X" | "Y" | "XY" | "MT" | "M" | "PAR1" | "PAR2" => Some(23),
        other => match other.parse::<u32>() {
            Ok(n) if (23..=26).contains(&n) => Some(23),
            Ok(n) if n > 0 => Some(n),
            _ => None,
        },
    }
}

/// An orthonormal basis of the intercept and `covariates` (`n × c`, no
/// missing value) over the samples: regenie's `getBasis`. Directions the
/// others explain (collinear covariates) are dropped.
pub fn covariate_basis(covariates: ArrayView2<'_, f64>) -> Result<Mat<f64>> {
    let n = covariates.nrows();
    if covariates.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "whole-genome regression: a covariate value is missing or not finite".into(),
        ));
    }
    let x = Mat::from_fn(n, covariates.ncols() + 1, |i, j| {
        if j == 0 {
            1.0
        } else {
            covariates[(i, j - 1)]
        }
    });
    orthonormal_basis(x.as_ref())
}

/// `X V D^{-1/2}` from the eigendecomposition `XᵀX = V D Vᵀ`, keeping the
/// directions with an eigenvalue above 1e-12 of the largest.
fn orthonormal_basis(x: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let xtx = x.transpose() * x;
    let evd = xtx
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::Invalid(format!("covariate basis: {e:?}")))?;
    let s = evd.S();
    let k = x.ncols();
    let largest = (0..k).map(|i| s[i]).fold(0.0f64, f64::max);
    let kept: Vec<usize> = (0..k).filter(|&i| s[i] > 1e-12 * largest).collect();
    if kept.is_empty() {
        return Err(Error::Invalid(
            "whole-genome regression: the covariates have no variance".into(),
        ));
    }
    let u = evd.U();
    let v = Mat::from_fn(k, kept.len(), |i, j| u[(i, kept[j])] / s[kept[j]].sqrt());
    Ok(x * v)
}

/// `v − Q (Qᵀ v)` in place.
fn residualize(q: MatRef<'_, f64>, v: &mut Mat<f64>) {
    let qtv = q.transpose() * v.as_ref();
    matmul(v.as_mut(), Accum::Add, q, qtv.as_ref(), -1.0, Par::rayon(0));
}

/// The sample ranges of `folds` folds of consecutive samples: `n / folds`
/// each, the last taking the remainder (regenie's `set_folds`).
fn fold_ranges(n: usize, folds: usize) -> Vec<std::ops::Range<usize>> {
    let k = folds.clamp(2, n.max(2));
    let size = n / k;
    (0..k)
        .map(|f| f * size..if f + 1 == k { n } else { (f + 1) * size })
        .collect()
}

/// Per variant of a block: samples with a call and their allele-1 count.
pub(crate) type CallCounts = Vec<(u32, f64)>;

/// The mean-imputed genotypes of variants `range` of `source` as an `n × b`
/// matrix, with their [`CallCounts`].
pub(crate) fn read_imputed<S: genolens_io::GenotypeSource + ?Sized>(
    source: &S,
    range: std::ops::Range<usize>,
) -> Result<(Mat<f64>, CallCounts)> {
    let block = source.read_block(range.clone())?;
    let n = source.n_samples();
    let b = range.len();
    let mut g = Mat::<f64>::zeros(n, b);
    let mut counts = Vec::with_capacity(b);
    for j in 0..b {
        let col = block.variant(j);
        let (mut sum, mut called) = (0.0f64, 0u32);
        for &d in col {
            if !d.is_nan() {
                sum += f64::from(d);
                called += 1;
            }
        }
        let mean = if called > 0 {
            sum / f64::from(called)
        } else {
            0.0
        };
        for (i, &d) in col.iter().enumerate() {
            g[(i, j)] = if d.is_nan() { mean } else { f64::from(d) };
        }
        counts.push((called, sum));
    }
    Ok((g, counts))
}

/// Step 1: LOCO predictions of every trait from `source` (its samples are
/// the analysis' samples; every variant enters the regression, so filter
/// them first), with `covariates` (`n × c`, complete) removed.
pub fn wgr_step1<S: genolens_io::GenotypeSource + ?Sized>(
    source: &S,
    traits: &[WgrTrait<'_>],
    covariates: ArrayView2<'_, f64>,
    options: &WgrOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Step1> {
    let n = source.n_samples();
    let m = source.n_variants();
    if covariates.nrows() != n || traits.iter().any(|t| t.values.len() != n) {
        return Err(Error::Invalid(format!(
            "whole-genome regression: {n} samples, but covariates or traits of another length"
        )));
    }
    if traits.is_empty() || m == 0 {
        return Err(Error::Invalid(
            "whole-genome regression: no trait or no variant".into(),
        ));
    }
    if options.h2_grid.is_empty() || options.h2_grid.iter().any(|&h| !(h > 0.0 && h < 1.0)) {
        return Err(Error::Invalid(format!(
            "whole-genome regression: heritability grid {:?} must lie in (0, 1)",
            options.h2_grid
        )));
    }
    let q = covariate_basis(covariates)?;
    let c = q.ncols();
    let folds = fold_ranges(n, options.folds);
    if folds.iter().any(|f| f.len() < 2) || n <= c + folds.len() {
        return Err(Error::Invalid(format!(
            "whole-genome regression: {n} samples are too few for {} folds and {c} covariates",
            folds.len()
        )));
    }
    // The standardised residual of each trait, 0 where missing.
    let t_count = traits.len();
    let mut y = Mat::<f64>::zeros(n, t_count);
    let mut masks: Vec<Vec<bool>> = Vec::with_capacity(t_count);
    for (t, tr) in traits.iter().enumerate() {
        let mask: Vec<bool> = tr.values.iter().map(|v| !v.is_nan()).collect();
        let n_eff = mask.iter().filter(|&&b| b).count();
        if n_eff <= c + 1 {
            return Err(Error::Invalid(format!(
                "whole-genome regression: {}: {n_eff} samples with a value",
                tr.name
            )));
        }
        if tr.binary
            && tr
                .values
                .iter()
                .any(|&v| !v.is_nan() && v != 0.0 && v != 1.0)
        {
            return Err(Error::Invalid(format!(
                "whole-genome regression: {}: a binary trait must be coded 0/1",
                tr.name
            )));
        }
        let mut col = Mat::from_fn(n, 1, |i, _| if mask[i] { tr.values[i] } else { 0.0 });
        residualize(q.as_ref(), &mut col);
        let mut ss = 0.0;
        for i in 0..n {
            if !mask[i] {
                col[(i, 0)] = 0.0;
            }
            ss += col[(i, 0)] * col[(i, 0)];
        }
        let scale = (ss / (n_eff - c) as f64).sqrt();
        if scale.is_nan() || scale <= 1e-8 {
            return Err(Error::Invalid(format!(
                "whole-genome regression: {} has no variance after the covariates",
                tr.name
            )));
        }
        for i in 0..n {
            y[(i, t)] = col[(i, 0)] / scale;
        }
        masks.push(mask);
    }

    // Level 0, block by block within chromosomes.
    let penalties: Vec<f64> = options
        .h2_grid
        .iter()
        .map(|h| m as f64 * (1.0 - h) / h)
        .collect();
    let r = penalties.len();
    let blocks = runs(source.variants(), options.block_size)?;
    // predictors[t]: n × (blocks · r), column block·r + j.
    let p_count = blocks.len() * r;
    let mut predictors: Vec<Mat<f64>> = (0..t_count).map(|_| Mat::zeros(n, p_count)).collect();
    let mut constant = 0usize;
    let g_scale = ((n - c) as f64).sqrt();
    for (b, (_, range)) in blocks.iter().enumerate() {
        let (mut g, _) = read_imputed(source, range.clone())?;
        residualize(q.as_ref(), &mut g);
        for j in 0..g.ncols() {
            let norm = (0..n).map(|i| g[(i, j)] * g[(i, j)]).sum::<f64>().sqrt();
            let s = norm / g_scale;
            let f = if s < 1e-6 {
                constant += 1;
                0.0
            } else {
                1.0 / s
            };
            for i in 0..n {
                g[(i, j)] *= f;
            }
        }
        let oof = level0_block(g.as_ref(), y.as_ref(), &folds, &penalties)?;
        for (t, pred) in oof.iter().enumerate() {
            for j in 0..r {
                let col = b * r + j;
                standardize_into(pred, j, &masks[t], &mut predictors[t], col);
            }
        }
        progress(range.end);
    }
    if constant == m {
        return Err(Error::Invalid(
            "whole-genome regression: every variant is constant after the covariates".into(),
        ));
    }

    // Level 1, per trait.
    let mut out = Vec::with_capacity(t_count);
    for (t, tr) in traits.iter().enumerate() {
        let w = &predictors[t];
        let mask = &masks[t];
        let grid_scale = if tr.binary {
            3.0 / (std::f64::consts::PI * std::f64::consts::PI)
        } else {
            1.0
        };
        let taus: Vec<f64> = options
            .h2_grid
            .iter()
            .map(|h| p_count as f64 * (1.0 - h) / h * grid_scale)
            .collect();
        let fit = if tr.binary {
            let y01: Vec<f64> = tr
                .values
                .iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect();
            level1_binary(w.as_ref(), &y01, mask, q.as_ref(), &folds, &taus, tr.name)?
        } else {
            let yt: Vec<f64> = (0..n).map(|i| y[(i, t)]).collect();
            level1_quantitative(w.as_ref(), &yt, mask, &folds, &taus)
        };
        // Per chromosome, the level-1 contribution of its predictors.
        let mut codes: Vec<u32> = blocks.iter().map(|(code, _)| *code).collect();
        codes.dedup();
        let mut per_chrom: Vec<(u32, Vec<f64>)> =
            codes.iter().map(|&c| (c, vec![0.0; n])).collect();
        for (f, range) in folds.iter().enumerate() {
            let alpha = &fit.alphas[f];
            for (b, (code, _)) in blocks.iter().enumerate() {
                let slot = &mut per_chrom
                    .iter_mut()
                    .find(|(c, _)| c == code)
                    .expect("every block's chromosome has a slot")
                    .1;
                for j in 0..r {
                    let col = b * r + j;
                    let a = alpha[col];
                    for i in range.clone() {
                        slot[i] += w[(i, col)] * a;
                    }
                }
            }
        }
        let mut whole = vec![0.0; n];
        for (_, z) in &per_chrom {
            for (s, v) in whole.iter_mut().zip(z) {
                *s += v;
            }
        }
        let masked = |v: Vec<f64>| -> Vec<f64> {
            v.into_iter()
                .zip(mask)
                .map(|(x, &ok)| if ok { x } else { f64::NAN })
                .collect()
        };
        let loco = per_chrom
            .iter()
            .map(|(code, z)| {
                let l: Vec<f64> = whole.iter().zip(z).map(|(a, b)| a - b).collect();
                (*code, masked(l))
            })
            .collect();
        out.push(TraitPredictions {
            name: tr.name.to_string(),
            binary: tr.binary,
            level1_h2: options.h2_grid[fit.chosen],
            cv_loss: fit.losses,
            whole: masked(whole),
            loco,
        });
    }
    Ok(Step1 {
        variants: m - constant,
        constant,
        blocks: blocks.len(),
        traits: out,
    })
}

/// Writes column `j` of `pred` (`n × r`), standardised over the trait's
/// samples and 0 elsewhere, into column `col` of `w`.
fn standardize_into(pred: &Mat<f64>, j: usize, mask: &[bool], w: &mut Mat<f64>, col: usize) {
    let n = pred.nrows();
    let (mut sum, mut ss, mut k) = (0.0, 0.0, 0usize);
    for i in 0..n {
        if mask[i] {
            let v = pred[(i, j)];
            sum += v;
            ss += v * v;
            k += 1;
        }
    }
    let mean = sum / k as f64;
    let var = (ss - k as f64 * mean * mean) / (k as f64 - 1.0);
    let inv = if var > 1e-20 { 1.0 / var.sqrt() } else { 0.0 };
    for i in 0..n {
        w[(i, col)] = if mask[i] {
            (pred[(i, j)] - mean) * inv
        } else {
            0.0
        };
    }
}

/// Level 0 of one block: for each trait, the `n × r` out-of-fold ridge
/// predictions (one column per penalty). Each fold's fit solves the primal
/// system (`b × b`) or, with fewer training samples than variants, the
/// equivalent dual one (`n_train × n_train`).
fn level0_block(
    g: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    folds: &[std::ops::Range<usize>],
    penalties: &[f64],
) -> Result<Vec<Mat<f64>>> {
    let (n, b) = (g.nrows(), g.ncols());
    let t_count = y.ncols();
    let r = penalties.len();
    let mut out: Vec<Mat<f64>> = (0..t_count).map(|_| Mat::zeros(n, r)).collect();
    let fail = |e: &dyn std::fmt::Debug| {
        Error::Invalid(format!("whole-genome regression, level 0: {e:?}"))
    };
    let par = Par::rayon(0);
    // Each fold's cross-products (lower triangle of GₖᵀGₖ: half the flops)
    // and their sum, from which a fold's own are removed.
    let primal = folds.iter().any(|f| n - f.len() >= b);
    let mut fold_gtg = Vec::new();
    let mut fold_gty = Vec::new();
    let mut total_gtg = Mat::<f64>::zeros(0, 0);
    let mut total_gty = Mat::<f64>::zeros(0, 0);
    if primal {
        total_gtg = Mat::zeros(b, b);
        total_gty = Mat::zeros(b, t_count);
        for fold in folds {
            let gk = g.subrows(fold.start, fold.len());
            let mut a = Mat::<f64>::zeros(b, b);
            triangular::matmul(
                a.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                gk.transpose(),
                BlockStructure::Rectangular,
                gk,
                BlockStructure::Rectangular,
                1.0,
                par,
            );
            let c = gk.transpose() * y.subrows(fold.start, fold.len());
            total_gtg += &a;
            total_gty += &c;
            fold_gtg.push(a);
            fold_gty.push(c);
        }
    }
    for (f, fold) in folds.iter().enumerate() {
        let n_tr = n - fold.len();
        let gk = g.subrows(fold.start, fold.len());
        // Held-out predictions: rows = fold samples, column j·T + t.
        let pred = if n_tr >= b {
            // One Cholesky factorisation per penalty: cheaper than an
            // eigendecomposition for the grid's five values.
            let a = &total_gtg - &fold_gtg[f];
            let c = &total_gty - &fold_gty[f];
            let mut betas = Mat::<f64>::zeros(b, r * t_count);
            for (j, &lambda) in penalties.iter().enumerate() {
                let mut aj = a.clone();
                for k in 0..b {
                    aj[(k, k)] += lambda;
                }
                let beta = aj.llt(Side::Lower).map_err(|e| fail(&e))?.solve(c.as_ref());
                betas
                    .subcols_mut(j * t_count, t_count)
                    .copy_from(beta.as_ref());
            }
            gk * betas
        } else {
            // Fewer training samples than variants: the dual system
            // β = Gᵀ(GGᵀ + λI)⁻¹y, one eigendecomposition for every λ.
            let train: Vec<usize> = (0..n).filter(|i| !fold.contains(i)).collect();
            let gtr = Mat::from_fn(n_tr, b, |i, j| g[(train[i], j)]);
            let ytr = Mat::from_fn(n_tr, t_count, |i, t| y[(train[i], t)]);
            let kern = gtr.as_ref() * gtr.transpose();
            let evd = kern.self_adjoint_eigen(Side::Lower).map_err(|e| fail(&e))?;
            let u = evd.U();
            let proj = (gk * gtr.transpose()) * u;
            let rhs = u.transpose() * ytr;
            let mut scaled = Mat::<f64>::zeros(n_tr, r * t_count);
            for (j, &lambda) in penalties.iter().enumerate() {
                for k in 0..n_tr {
                    let w = 1.0 / (evd.S()[k].max(0.0) + lambda);
                    for t in 0..t_count {
                        scaled[(k, j * t_count + t)] = rhs[(k, t)] * w;
                    }
                }
            }
            proj * scaled
        };
        for (t, o) in out.iter_mut().enumerate() {
            for j in 0..r {
                for (r_i, i) in fold.clone().enumerate() {
                    o[(i, j)] = pred[(r_i, j * t_count + t)];
                }
            }
        }
    }
    Ok(out)
}

/// Level 1's choice and fits.
struct Level1 {
    /// Index of the chosen grid value.
    chosen: usize,
    /// Out-of-fold loss per grid value.
    losses: Vec<f64>,
    /// Per fold, the chosen fit on the other folds.
    alphas: Vec<Vec<f64>>,
}

/// Level 1 for a quantitative trait: ridge without intercept, out-of-fold
/// mean squared error.
fn level1_quantitative(
    w: MatRef<'_, f64>,
    y: &[f64],
    mask: &[bool],
    folds: &[std::ops::Range<usize>],
    taus: &[f64],
) -> Level1 {
    let p = w.ncols();
    let ym = Mat::from_fn(y.len(), 1, |i, _| y[i]);
    let wtw = w.transpose() * w;
    let wty = w.transpose() * ym.as_ref();
    let mut sq = vec![0.0; taus.len()];
    let mut per_fold: Vec<Vec<Vec<f64>>> = Vec::with_capacity(folds.len());
    for fold in folds {
        let wk = w.subrows(fold.start, fold.len());
        let yk = ym.subrows(fold.start, fold.len());
        let mut a = wtw.clone();
        let mut c = wty.clone();
        matmul(a.as_mut(), Accum::Add, wk.transpose(), wk, -1.0, Par::Seq);
        matmul(c.as_mut(), Accum::Add, wk.transpose(), yk, -1.0, Par::Seq);
        let alphas: Vec<Vec<f64>> = match a.self_adjoint_eigen(Side::Lower) {
            Ok(evd) => {
                let v = evd.U();
                let vc = v.transpose() * c.as_ref();
                taus.iter()
                    .map(|&tau| {
                        let s = Mat::from_fn(p, 1, |k, _| vc[(k, 0)] / (evd.S()[k].max(0.0) + tau));
                        let alpha = v * s.as_ref();
                        (0..p).map(|k| alpha[(k, 0)]).collect()
                    })
                    .collect()
            }
            Err(_) => taus.iter().map(|_| vec![0.0; p]).collect(),
        };
        for (j, alpha) in alphas.iter().enumerate() {
            for i in fold.clone() {
                if mask[i] {
                    let pred: f64 = (0..p).map(|k| w[(i, k)] * alpha[k]).sum();
                    sq[j] += (pred - y[i]) * (pred - y[i]);
                }
            }
        }
        per_fold.push(alphas);
    }
    let n_eff = mask.iter().filter(|&&b| b).count() as f64;
    let losses: Vec<f64> = sq.iter().map(|s| s / n_eff).collect();
    let chosen = argmin(&losses);
    Level1 {
        chosen,
        losses,
        alphas: per_fold
            .into_iter()
            .map(|mut a| a.swap_remove(chosen))
            .collect(),
    }
}

/// The first index of the smallest value.
fn argmin(v: &[f64]) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x < v[best] {
            best = j;
        }
    }
    best
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Solves the symmetric positive definite `a x = b` (`k × k` row-major).
fn solve_spd(a: &[f64], k: usize, b: &[f64]) -> Option<Vec<f64>> {
    let l = crate::linear::cholesky_by(k, |i, j| a[i * k + j])?;
    let mut x = b.to_vec();
    crate::linear::forward(&l, k, &mut x);
    // Back substitution with Lᵀ.
    for i in (0..k).rev() {
        let mut s = x[i];
        for j in i + 1..k {
            s -= l[j * k + i] * x[j];
        }
        x[i] = s / l[i * k + i];
    }
    Some(x)
}

/// A logistic fit with an offset: coefficients, probabilities.
struct LogisticFit {
    beta: Vec<f64>,
    mu: Vec<f64>,
}

/// Newton–Raphson with step halving for `logit p = offset + X β (+ penalty)`
/// over the samples where `mask`; `ridge` adds `ridge‖β‖²/2` to minus the
/// log-likelihood. Converges when the largest gradient entry is below `tol`.
#[allow(clippy::too_many_arguments)]
fn logistic_newton(
    x: MatRef<'_, f64>,
    y: &[f64],
    offset: &[f64],
    mask: &[bool],
    ridge: f64,
    start: Vec<f64>,
    tol: f64,
    max_iter: usize,
) -> Option<LogisticFit> {
    let (n, k) = (x.nrows(), x.ncols());
    let objective = |beta: &[f64]| -> (f64, Vec<f64>) {
        let mut f = 0.0;
        let mut mu = vec![0.0; n];
        for i in 0..n {
            if !mask[i] {
                continue;
            }
            let eta = offset[i] + (0..k).map(|a| x[(i, a)] * beta[a]).sum::<f64>();
            let p = sigmoid(eta);
            mu[i] = p;
            // −log-likelihood, stably.
            f += if y[i] > 0.5 {
                softplus(-eta)
            } else {
                softplus(eta)
            };
        }
        f += 0.5 * ridge * beta.iter().map(|b| b * b).sum::<f64>();
        (f, mu)
    };
    let mut beta = start;
    let (mut f, mut mu) = objective(&beta);
    for _ in 0..max_iter {
        let mut grad = vec![0.0; k];
        let mut h = vec![0.0; k * k];
        for i in 0..n {
            if !mask[i] {
                continue;
            }
            let r = y[i] - mu[i];
            let wi = mu[i] * (1.0 - mu[i]);
            for a in 0..k {
                let xa = x[(i, a)];
                grad[a] += xa * r;
                for b in 0..=a {
                    h[a * k + b] += wi * xa * x[(i, b)];
                }
            }
        }
        for a in 0..k {
            grad[a] -= ridge * beta[a];
            h[a * k + a] += ridge;
            for b in 0..a {
                h[b * k + a] = h[a * k + b];
            }
        }
        if grad.iter().fold(0.0f64, |m, g| m.max(g.abs())) < tol {
            return Some(LogisticFit { beta, mu });
        }
        let step = solve_spd(&h, k, &grad)?;
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..25 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            let (fc, muc) = objective(&cand);
            if fc.is_finite() && fc <= f + 1e-12 * f.abs() {
                beta = cand;
                f = fc;
                mu = muc;
                moved = true;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            return None;
        }
    }
    None
}

fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Level 1 for a binary trait: logistic ridge on the predictors with the
/// covariates' logistic fit as offset, warm-started along the grid,
/// out-of-fold minus mean log-likelihood (probabilities clipped to
/// [1e-5, 1 − 1e-5], as regenie does).
fn level1_binary(
    w: MatRef<'_, f64>,
    y: &[f64],
    mask: &[bool],
    q: MatRef<'_, f64>,
    folds: &[std::ops::Range<usize>],
    taus: &[f64],
    name: &str,
) -> Result<Level1> {
    let n = y.len();
    let p = w.ncols();
    let zero = vec![0.0; n];
    let null = logistic_newton(q, y, &zero, mask, 0.0, vec![0.0; q.ncols()], 1e-8, 50).ok_or_else(
        || {
            Error::Invalid(format!(
                "whole-genome regression: {name}: the covariates' logistic model does not converge"
            ))
        },
    )?;
    let offset: Vec<f64> = (0..n)
        .map(|i| (0..q.ncols()).map(|a| q[(i, a)] * null.beta[a]).sum())
        .collect();
    let mut loss = vec![0.0; taus.len()];
    let mut per_fold = Vec::with_capacity(folds.len());
    for fold in folds {
        let train: Vec<bool> = (0..n).map(|i| mask[i] && !fold.contains(&i)).collect();
        let mut start = vec![0.0; p];
        let mut alphas = Vec::with_capacity(taus.len());
        for (j, &tau) in taus.iter().enumerate() {
            // regenie minimises −2 log L + τ‖α‖², i.e. −log L + (τ/2)‖α‖².
            let fit = logistic_newton(w, y, &offset, &train, tau, start.clone(), 1e-4, 100)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "whole-genome regression: {name}: the level-1 logistic ridge does not \
                         converge"
                    ))
                })?;
            for i in fold.clone() {
                if mask[i] {
                    let eta = offset[i] + (0..p).map(|k| w[(i, k)] * fit.beta[k]).sum::<f64>();
                    let pr = sigmoid(eta).clamp(1e-5, 1.0 - 1e-5);
                    loss[j] -= if y[i] > 0.5 { pr.ln() } else { (1.0 - pr).ln() };
                }
            }
            start = fit.beta.clone();
            alphas.push(fit.beta);
        }
        per_fold.push(alphas);
    }
    let n_eff = mask.iter().filter(|&&b| b).count() as f64;
    let losses: Vec<f64> = loss.iter().map(|l| l / n_eff).collect();
    let chosen = argmin(&losses);
    Ok(Level1 {
        chosen,
        losses,
        alphas: per_fold
            .into_iter()
            .map(|mut a| a.swap_remove(chosen))
            .collect(),
    })
}

/// Options of step 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step2Options {
    /// Binary traits: variants whose score-test p is below this get
    /// regenie's approximate Firth test (`--pThresh`, 0.05); 0 turns Firth
    /// off.
    pub firth_threshold: f64,
    /// Variants with a minor allele count below this are not tested
    /// (regenie's `--minMAC`, 5).
    pub min_mac: f64,
    /// Variants per block read.
    pub block_size: usize,
}

impl Default for Step2Options {
    fn default() -> Self {
        Self {
            firth_threshold: 0.05,
            min_mac: 5.0,
            block_size: 256,
        }
    }
}

/// Why a variant of step 2 has no test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgrSkip {
    /// Minor allele count below [`Step2Options::min_mac`].
    LowMac,
    /// No variance left after the covariates.
    Constant,
    /// The Firth correction did not converge (the score test is kept).
    FirthFailed,
}

impl WgrSkip {
    /// The code in `ERRCODE` / regenie's `EXTRA` column.
    pub fn code(self) -> &'static str {
        match self {
            WgrSkip::LowMac => "LOW_MAC",
            WgrSkip::Constant => "CONST_OMITTED_ALLELE",
            WgrSkip::FirthFailed => "TEST_FAIL",
        }
    }
}

/// One variant's step-2 test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WgrTest {
    /// Samples with a call.
    pub n: u32,
    /// Frequency of allele 1 among them.
    pub a1_freq: f64,
    /// Effect of allele 1 (trait units, or log odds).
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// The χ²₁ statistic.
    pub chisq: f64,
    /// ln p.
    pub ln_p: f64,
    /// The approximate Firth test replaced the score test.
    pub firth: bool,
    /// Why there is no (or only the score) test.
    pub skip: Option<WgrSkip>,
}

impl WgrTest {
    fn untested(n: u32, a1_freq: f64, skip: WgrSkip) -> Self {
        Self {
            n,
            a1_freq,
            beta: f64::NAN,
            se: f64::NAN,
            chisq: f64::NAN,
            ln_p: f64::NAN,
            firth: false,
            skip: Some(skip),
        }
    }
}

/// The offset of each variant's chromosome: per sample of the scanned
/// source.
pub trait LocoOffsets {
    /// The offset for chromosome `code` ([`chromosome_code`]), one value per
    /// sample, or `None` if there is none.
    fn offset(&self, code: u32) -> Option<&[f64]>;
}

impl LocoOffsets for [(u32, Vec<f64>)] {
    fn offset(&self, code: u32) -> Option<&[f64]> {
        self.iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }
}

/// Runs of consecutive variants of one chromosome code, at most `size` long.
fn runs(
    variants: &[genolens_io::Variant],
    size: usize,
) -> Result<Vec<(u32, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut lo = 0;
    while lo < variants.len() {
        let code = chromosome_code(&variants[lo].chrom).ok_or_else(|| {
            Error::Invalid(format!(
                "whole-genome regression: chromosome {:?} has no number",
                variants[lo].chrom
            ))
        })?;
        let mut hi = lo + 1;
        while hi < variants.len()
            && hi - lo < size.max(1)
            && chromosome_code(&variants[hi].chrom) == Some(code)
        {
            hi += 1;
        }
        out.push((code, lo..hi));
        lo = hi;
    }
    Ok(out)
}

/// Checks step 2's inputs: every sample has the trait and the covariates.
fn check_step2(n: usize, y: &[f64], covariates: &ArrayView2<'_, f64>) -> Result<()> {
    if y.len() != n || covariates.nrows() != n {
        return Err(Error::Invalid(format!(
            "whole-genome regression, step 2: {n} samples but {} trait values and {} covariate \
             rows",
            y.len(),
            covariates.nrows()
        )));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "whole-genome regression, step 2: every sample needs the trait".into(),
        ));
    }
    Ok(())
}

/// The LOCO offset of chromosome `code`, checked.
fn offset_for<L: LocoOffsets + ?Sized>(loco: &L, code: u32, n: usize) -> Result<&[f64]> {
    let o = loco.offset(code).ok_or_else(|| {
        Error::Invalid(format!(
            "whole-genome regression, step 2: no LOCO prediction for chromosome {code}"
        ))
    })?;
    if o.len() != n || o.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "whole-genome regression, step 2: the LOCO prediction of chromosome {code} lacks \
             some analysed samples"
        )));
    }
    Ok(o)
}

/// Per variant of a block: (called samples, allele-1 frequency, minor
/// allele count).
fn allele_counts(counts: &[(u32, f64)]) -> Vec<(u32, f64, f64)> {
    counts
        .iter()
        .map(|&(called, sum)| {
            let total = 2.0 * f64::from(called);
            let freq = if called > 0 { sum / total } else { f64::NAN };
            (called, freq, sum.min(total - sum))
        })
        .collect()
}

/// Step 2 for a quantitative trait `y` (every sample of `source`) with
/// `covariates` and the LOCO `loco` predictions (on the scale of the
/// standardised residual, as [`wgr_step1`] gives them): regenie's score
/// test, BETA in trait units.
pub fn wgr_scan_quantitative<S, L>(
    source: &S,
    y: &[f64],
    covariates: ArrayView2<'_, f64>,
    loco: &L,
    options: &Step2Options,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<WgrTest>>
where
    S: genolens_io::GenotypeSource + ?Sized,
    L: LocoOffsets + ?Sized,
{
    let n = source.n_samples();
    check_step2(n, y, &covariates)?;
    let q = covariate_basis(covariates)?;
    let c = q.ncols();
    if n <= c + 1 {
        return Err(Error::Invalid(format!(
            "whole-genome regression, step 2: {n} samples for {c} covariates"
        )));
    }
    let mut yr = Mat::from_fn(n, 1, |i, _| y[i]);
    residualize(q.as_ref(), &mut yr);
    let ss: f64 = (0..n).map(|i| yr[(i, 0)] * yr[(i, 0)]).sum();
    let s_y = (ss / (n - c) as f64).sqrt();
    if s_y.is_nan() || s_y <= 1e-8 {
        return Err(Error::Invalid(
            "whole-genome regression, step 2: the trait has no variance after the covariates"
                .into(),
        ));
    }
    let mut out = Vec::with_capacity(source.n_variants());
    let mut current: Option<(u32, Mat<f64>, f64)> = None;
    for (code, range) in runs(source.variants(), options.block_size)? {
        if current.as_ref().map(|c| c.0) != Some(code) {
            let l = offset_for(loco, code, n)?;
            let res = Mat::from_fn(n, 1, |i, _| yr[(i, 0)] / s_y - l[i]);
            let s_r =
                ((0..n).map(|i| res[(i, 0)] * res[(i, 0)]).sum::<f64>() / (n - c) as f64).sqrt();
            current = Some((code, res, s_r));
        }
        let (_, res, s_r) = current.as_ref().expect("set above");
        let (mut g, counts) = read_imputed(source, range.clone())?;
        residualize(q.as_ref(), &mut g);
        let num = res.transpose() * g.as_ref();
        for (j, (called, freq, mac)) in allele_counts(&counts).into_iter().enumerate() {
            if mac < options.min_mac {
                out.push(WgrTest::untested(called, freq, WgrSkip::LowMac));
                continue;
            }
            let gg: f64 = (0..n).map(|i| g[(i, j)] * g[(i, j)]).sum();
            if (gg / (n - c) as f64).sqrt() < 1e-6 {
                out.push(WgrTest::untested(called, freq, WgrSkip::Constant));
                continue;
            }
            let t = num[(0, j)] / (s_r * gg.sqrt());
            out.push(WgrTest {
                n: called,
                a1_freq: freq,
                beta: s_y * num[(0, j)] / gg,
                se: s_y * s_r / gg.sqrt(),
                chisq: t * t,
                ln_p: ln_normal_two_sided(t.abs()),
                firth: false,
                skip: None,
            });
        }
        progress(range.end);
    }
    Ok(out)
}

/// The per-chromosome null model of a binary trait.
struct BinaryNull<'a> {
    /// `y − p̂`.
    resid: Vec<f64>,
    /// `√(p̂(1 − p̂))`.
    gamma: Vec<f64>,
    /// Orthonormal basis of `diag(γ) X`.
    xg: Mat<f64>,
    /// The approximate Firth null offset (`X β̂_F + L`), when first needed.
    firth_offset: Option<Option<Vec<f64>>>,
    /// The null fit's coefficients (on the basis) and offset.
    beta: Vec<f64>,
    offset: &'a [f64],
}

/// Step 2 for a binary trait `y` (0/1, every sample of `source`) with
/// `covariates` and LOCO predictions on the logit scale: regenie's score
/// test from a logistic null model with the offset, and its approximate
/// Firth test (`--firth --approx`) where the score test's p is below
/// [`Step2Options::firth_threshold`].
pub fn wgr_scan_binary<S, L>(
    source: &S,
    y: &[f64],
    covariates: ArrayView2<'_, f64>,
    loco: &L,
    options: &Step2Options,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<WgrTest>>
where
    S: genolens_io::GenotypeSource + ?Sized,
    L: LocoOffsets + ?Sized,
{
    let n = source.n_samples();
    check_step2(n, y, &covariates)?;
    if y.iter().any(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::Invalid(
            "whole-genome regression, step 2: a binary trait must be coded 0/1".into(),
        ));
    }
    let q = covariate_basis(covariates)?;
    let all = vec![true; n];
    let ln_threshold = options.firth_threshold.ln();
    let mut out = Vec::with_capacity(source.n_variants());
    let mut current: Option<(u32, BinaryNull)> = None;
    for (code, range) in runs(source.variants(), options.block_size)? {
        if current.as_ref().map(|c| c.0) != Some(code) {
            let l = offset_for(loco, code, n)?;
            let fit = logistic_newton(q.as_ref(), y, l, &all, 0.0, vec![0.0; q.ncols()], 1e-6, 50)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "whole-genome regression, step 2: the null logistic model of \
                         chromosome {code} does not converge"
                    ))
                })?;
            let gamma: Vec<f64> = fit.mu.iter().map(|p| (p * (1.0 - p)).sqrt()).collect();
            let xw = Mat::from_fn(n, q.ncols(), |i, a| q[(i, a)] * gamma[i]);
            current = Some((
                code,
                BinaryNull {
                    resid: (0..n).map(|i| y[i] - fit.mu[i]).collect(),
                    xg: orthonormal_basis(xw.as_ref())?,
                    gamma,
                    firth_offset: None,
                    beta: fit.beta,
                    offset: l,
                },
            ));
        }
        let null = &mut current.as_mut().expect("set above").1;
        let (g, counts) = read_imputed(source, range.clone())?;
        // G̃ = ΓG − X_Γ X_Γᵀ ΓG.
        let mut gt = Mat::from_fn(n, g.ncols(), |i, j| g[(i, j)] * null.gamma[i]);
        residualize(null.xg.as_ref(), &mut gt);
        for (j, (called, freq, mac)) in allele_counts(&counts).into_iter().enumerate() {
            if mac < options.min_mac {
                out.push(WgrTest::untested(called, freq, WgrSkip::LowMac));
                continue;
            }
            let v: f64 = (0..n).map(|i| gt[(i, j)] * gt[(i, j)]).sum();
            if v.sqrt() < 1e-6 {
                out.push(WgrTest::untested(called, freq, WgrSkip::Constant));
                continue;
            }
            // Xᵀ(y − p̂) = 0 at the null fit, so Gᵀ(y − p̂) = G̃ᵀ (y − p̂)/γ.
            let score: f64 = (0..n)
                .map(|i| gt[(i, j)] * null.resid[i] / null.gamma[i].max(1e-300))
                .sum();
            let t = score / v.sqrt();
            let mut test = WgrTest {
                n: called,
                a1_freq: freq,
                beta: score / v,
                se: 1.0 / v.sqrt(),
                chisq: t * t,
                ln_p: ln_normal_two_sided(t.abs()),
                firth: false,
                skip: None,
            };
            if options.firth_threshold > 0.0 && test.ln_p < ln_threshold {
                if null.firth_offset.is_none() {
                    null.firth_offset = Some(firth_null(q.as_ref(), y, null.offset, &null.beta));
                }
                let firth = null
                    .firth_offset
                    .as_ref()
                    .and_then(Option::as_ref)
                    .and_then(|off| {
                        let gj: Vec<f64> = (0..n)
                            .map(|i| gt[(i, j)] / null.gamma[i].max(1e-300))
                            .collect();
                        firth_one(&gj, y, off)
                    });
                match firth {
                    Some((b, se, lrt)) => {
                        test.beta = b;
                        test.se = se;
                        test.chisq = lrt;
                        test.ln_p = ln_normal_two_sided(lrt.sqrt());
                        test.firth = true;
                    }
                    None => {
                        test.chisq = f64::NAN;
                        test.ln_p = f64::NAN;
                        test.skip = Some(WgrSkip::FirthFailed);
                    }
                }
            }
            out.push(test);
        }
        progress(range.end);
    }
    Ok(out)
}

/// Minus twice the log-likelihood of 0/1 `y` at linear predictor `eta`.
fn deviance(y: &[f64], eta: impl Iterator<Item = f64>) -> f64 {
    y.iter()
        .zip(eta)
        .map(|(&yi, e)| 2.0 * if yi > 0.5 { softplus(-e) } else { softplus(e) })
        .sum()
}

/// The approximate Firth null model (regenie's `fit_approx_firth_null`):
/// Firth's penalised logistic regression on the covariate basis `x` with
/// offset `l`, from `start`; returns `X β̂_F + L`.
fn firth_null(x: MatRef<'_, f64>, y: &[f64], l: &[f64], start: &[f64]) -> Option<Vec<f64>> {
    let (n, k) = (x.nrows(), x.ncols());
    // Penalised deviance, probabilities and information at β.
    let eval = |beta: &[f64]| -> Option<(f64, Vec<f64>, Vec<f64>)> {
        let eta: Vec<f64> = (0..n)
            .map(|i| l[i] + (0..k).map(|a| x[(i, a)] * beta[a]).sum::<f64>())
            .collect();
        let mu: Vec<f64> = eta.iter().map(|&e| sigmoid(e)).collect();
        let mut info = vec![0.0; k * k];
        for i in 0..n {
            let w = mu[i] * (1.0 - mu[i]);
            for a in 0..k {
                for b in 0..=a {
                    info[a * k + b] += w * x[(i, a)] * x[(i, b)];
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                info[b * k + a] = info[a * k + b];
            }
        }
        let chol = crate::linear::cholesky_by(k, |a, b| info[a * k + b])?;
        let logdet: f64 = (0..k).map(|a| 2.0 * chol[a * k + a].ln()).sum();
        let d = deviance(y, eta.iter().copied()) - logdet;
        Some((d, mu, info))
    };
    let mut beta = start.to_vec();
    let (mut d, mut mu, mut info) = eval(&beta)?;
    for iter in 0..1000 {
        // Leverages h_i = w_i x_iᵀ I⁻¹ x_i.
        let mut u = vec![0.0; k];
        for i in 0..n {
            let xi: Vec<f64> = (0..k).map(|a| x[(i, a)]).collect();
            let sol = solve_spd(&info, k, &xi)?;
            let w = mu[i] * (1.0 - mu[i]);
            let h = w * xi.iter().zip(&sol).map(|(a, b)| a * b).sum::<f64>();
            let r = y[i] - mu[i] + h * (0.5 - mu[i]);
            for a in 0..k {
                u[a] += xi[a] * r;
            }
        }
        if iter >= 1 && u.iter().fold(0.0f64, |m, v| m.max(v.abs())) < 1e-7 {
            return Some(
                (0..n)
                    .map(|i| l[i] + (0..k).map(|a| x[(i, a)] * beta[a]).sum::<f64>())
                    .collect(),
            );
        }
        let mut step = solve_spd(&info, k, &u)?;
        let largest = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if largest > 25.0 {
            step.iter_mut().for_each(|s| *s *= 25.0 / largest);
        }
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..25 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            if let Some((dc, muc, infoc)) = eval(&cand) {
                if dc <= d + 1e-12 * d.abs() {
                    beta = cand;
                    d = dc;
                    mu = muc;
                    info = infoc;
                    moved = true;
                    break;
                }
            }
            t *= 0.5;
        }
        if !moved {
            return None;
        }
    }
    None
}

/// Regenie's per-variant approximate Firth test: `logit p = offset + b g`
/// with the covariates fixed in `offset`, Firth's penalty
/// `½ log(Σ g² w)`. Returns (b̂, SE from the unpenalised information at b̂,
/// penalised likelihood-ratio χ²).
fn firth_one(g: &[f64], y: &[f64], offset: &[f64]) -> Option<(f64, f64, f64)> {
    let eval = |b: f64| -> (f64, f64, Vec<f64>) {
        let eta: Vec<f64> = offset.iter().zip(g).map(|(o, gi)| o + b * gi).collect();
        let mu: Vec<f64> = eta.iter().map(|&e| sigmoid(e)).collect();
        let info: f64 = g
            .iter()
            .zip(&mu)
            .map(|(gi, p)| gi * gi * p * (1.0 - p))
            .sum();
        let d = deviance(y, eta.iter().copied()) - info.ln();
        (d, info, mu)
    };
    let (d0, _, _) = eval(0.0);
    let mut b = 0.0;
    let (mut d, mut info, mut mu) = eval(b);
    for _ in 0..250 {
        if info.is_nan() || info <= 0.0 {
            return None;
        }
        let u: f64 = (0..g.len())
            .map(|i| {
                let w = mu[i] * (1.0 - mu[i]);
                let h = g[i] * g[i] * w / info;
                g[i] * (y[i] - mu[i] + h * (0.5 - mu[i]))
            })
            .sum();
        if u.abs() < 1e-8 {
            let lrt = d0 - d;
            if lrt.is_nan() || lrt < 0.0 {
                return None;
            }
            return Some((b, 1.0 / info.sqrt(), lrt));
        }
        let step = (u / info).clamp(-5.0, 5.0);
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..25 {
            let (dc, infoc, muc) = eval(b + t * step);
            if dc.is_finite() && dc <= d + 1e-12 * d.abs() {
                b += t * step;
                d = dc;
                info = infoc;
                mu = muc;
                moved = true;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            // No decrease at any step length: at the optimum to rounding.
            let lrt = d0 - d;
            return (lrt >= 0.0 && u.abs() < 1e-4).then(|| (b, 1.0 / info.sqrt(), lrt));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A biobank-like cohort: 1,000 founders of 2 populations, 150 of whose
    /// pairs have 2 children (1,300 samples), h² 0.8 over 300 causal
    /// variants. Linear regression is inflated (1.84) and PCs do not fix it
    /// (1.21); WGR removes the inflation, slightly over (0.954: the
    /// out-of-fold predictions carry relatives' phenotypes, see
    /// docs/benchmarks.md), and finds at least as many causal variants as
    /// linear regression with 10 PCs.
    #[test]
    fn wgr_is_calibrated_in_a_cohort_with_relatives() {
        use crate::linear::{linear_scan, Covariates, Phenotype};
        use crate::summary::genomic_control;
        use genolens_features::pca::{pca, PcaMethod, PcaOptions};
        use genolens_io::GenotypeSource;

        let (_dir, cohort, causal, y) = crate::testing::families_with_trait(1000, 150, 2);
        let (n, m) = (cohort.n_samples(), cohort.n_variants());
        let null = |ln_p: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..m).filter(|v| v % 40 != 0).map(ln_p).collect()
        };
        // Causal variants past p < 1e-3 after dividing χ² by λGC (if > 1).
        let hits = |z: &dyn Fn(usize) -> f64, lambda: f64| {
            causal
                .iter()
                .filter(|&&v| z(v).powi(2) / lambda.max(1.0) > 10.828)
                .count()
        };
        let trait_ = [Phenotype {
            name: "y",
            values: &y,
        }];
        let lin = linear_scan(&cohort, &trait_, &Covariates::none(n), 256, &|_| {}).unwrap();
        let lambda_linear = genomic_control(&null(&|v| lin.tests[0][v].ln_p)).unwrap();
        let pcs = pca(&cohort, &PcaOptions::new(10, PcaMethod::Exact), &|_| {}).unwrap();
        let pc_values = ndarray::Array2::from_shape_fn((n, 10), |(i, k)| pcs.sample_scores(i)[k]);
        let names: Vec<String> = (1..=10).map(|k| format!("PC{k}")).collect();
        let covariates = Covariates {
            names: &names,
            values: pc_values.view(),
        };
        let with_pcs = linear_scan(&cohort, &trait_, &covariates, 256, &|_| {}).unwrap();
        let lambda_pcs = genomic_control(&null(&|v| with_pcs.tests[0][v].ln_p)).unwrap();
        let hits_pcs = hits(&|v| with_pcs.tests[0][v].t, lambda_pcs);

        let none = ndarray::Array2::<f64>::zeros((n, 0));
        let step1 = wgr_step1(
            &cohort,
            &[WgrTrait {
                name: "y",
                values: &y,
                binary: false,
            }],
            none.view(),
            &WgrOptions::default(),
            &|_| {},
        )
        .unwrap();
        let wgr = wgr_scan_quantitative(
            &cohort,
            &y,
            none.view(),
            step1.traits[0].loco.as_slice(),
            &Step2Options::default(),
            &|_| {},
        )
        .unwrap();
        let lambda_wgr = genomic_control(&null(&|v| wgr[v].ln_p)).unwrap();
        let hits_wgr = hits(&|v| wgr[v].beta / wgr[v].se, lambda_wgr);
        eprintln!(
            "lambda GC: linear {lambda_linear:.3}, + 10 PCs {lambda_pcs:.3}, WGR \
             {lambda_wgr:.3}; causal found: PCs {hits_pcs}, WGR {hits_wgr}; level-1 h2 {}",
            step1.traits[0].level1_h2
        );
        assert!(lambda_linear > 1.5, "linear lambda {lambda_linear}");
        assert!(
            lambda_pcs > 1.15,
            "PCs do not model relatives: {lambda_pcs}"
        );
        assert!(
            (0.93..1.06).contains(&lambda_wgr),
            "WGR lambda {lambda_wgr}"
        );
        assert!(hits_wgr >= hits_pcs, "WGR {hits_wgr} vs PCs {hits_pcs}");
    }

    /// Step 2 for a binary trait with a LOCO offset that differs by
    /// chromosome equals the score test computed here from scratch: a null
    /// logistic fit with the offset, then U = gᵀ(y − p̂) and
    /// V = gᵀWg − gᵀWX(XᵀWX)⁻¹XᵀWg.
    #[test]
    fn binary_step2_is_the_score_test_with_the_offset() {
        use genolens_features::simulate::{CohortSpec, SimulatedCohort};
        use genolens_io::GenotypeSource;

        let cohort = SimulatedCohort::new(CohortSpec {
            samples: 300,
            variants: 60,
            populations: 1,
            fst: 0.0,
            missing_rate: 0.02,
            seed: 4,
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        genolens_io::plink::write_bed_fileset(&cohort, dir.path().join("c"), 64).unwrap();
        let cohort = genolens_io::plink::BedFile::open(dir.path().join("c")).unwrap();
        let n = cohort.n_samples();
        let mut state = 11u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let cov: Vec<f64> = (0..n).map(|_| uniform() - 0.5).collect();
        let y: Vec<f64> = cov
            .iter()
            .map(|c| f64::from(u8::from(uniform() < sigmoid(-0.8 + 1.5 * c))))
            .collect();
        // A different offset per chromosome.
        let loco: Vec<(u32, Vec<f64>)> = (1..=23)
            .map(|code| {
                let shift = 0.05 * f64::from(code) - 0.5;
                (
                    code,
                    (0..n).map(|_| shift + 0.6 * (uniform() - 0.5)).collect(),
                )
            })
            .collect();
        let covariates = ndarray::Array2::from_shape_fn((n, 1), |(i, _)| cov[i]);
        let options = Step2Options {
            firth_threshold: 0.0,
            min_mac: 1.0,
            block_size: 16,
        };
        let tests = wgr_scan_binary(
            &cohort,
            &y,
            covariates.view(),
            loco.as_slice(),
            &options,
            &|_| {},
        )
        .unwrap();
        let x = Mat::from_fn(n, 2, |i, j| if j == 0 { 1.0 } else { cov[i] });
        let all = vec![true; n];
        let mut g = vec![0.0f32; n];
        let mut checked = 0;
        for (v, test) in tests.iter().enumerate() {
            let code = chromosome_code(&cohort.variants()[v].chrom).unwrap();
            let offset = loco.as_slice().offset(code).unwrap();
            let null = logistic_newton(x.as_ref(), &y, offset, &all, 0.0, vec![0.0; 2], 1e-12, 100)
                .unwrap();
            cohort.read_variant_into(v, &mut g).unwrap();
            let called: Vec<f64> = g
                .iter()
                .filter(|d| !d.is_nan())
                .map(|&d| f64::from(d))
                .collect();
            let mean = called.iter().sum::<f64>() / called.len() as f64;
            let gi: Vec<f64> = g
                .iter()
                .map(|&d| if d.is_nan() { mean } else { f64::from(d) })
                .collect();
            let w: Vec<f64> = null.mu.iter().map(|p| p * (1.0 - p)).collect();
            let u: f64 = (0..n).map(|i| gi[i] * (y[i] - null.mu[i])).sum();
            // XᵀWX, XᵀWg, gᵀWg.
            let mut xwx = [0.0f64; 4];
            let mut xwg = [0.0f64; 2];
            let mut gwg = 0.0;
            for i in 0..n {
                let xi = [1.0, cov[i]];
                for a in 0..2 {
                    xwg[a] += xi[a] * w[i] * gi[i];
                    for b in 0..2 {
                        xwx[a * 2 + b] += xi[a] * w[i] * xi[b];
                    }
                }
                gwg += gi[i] * w[i] * gi[i];
            }
            let det = xwx[0] * xwx[3] - xwx[1] * xwx[2];
            let inv = [xwx[3] / det, -xwx[1] / det, -xwx[2] / det, xwx[0] / det];
            let quad = xwg[0] * (inv[0] * xwg[0] + inv[1] * xwg[1])
                + xwg[1] * (inv[2] * xwg[0] + inv[3] * xwg[1]);
            let var = gwg - quad;
            if test.skip.is_some() {
                continue;
            }
            assert!(
                (test.beta - u / var).abs() <= 1e-6 * (u / var).abs().max(1e-3),
                "{v}"
            );
            assert!(
                (test.se - 1.0 / var.sqrt()).abs() <= 1e-6 / var.sqrt(),
                "{v}"
            );
            assert!(
                (test.chisq - u * u / var).abs() <= 1e-6 * (u * u / var).max(1e-3),
                "{v}"
            );
            checked += 1;
        }
        assert!(checked >= 50, "{checked} variants checked");
    }

    #[test]
    fn chromosome_codes_follow_regenie() {
        assert_eq!(chromosome_code("1"), Some(1));
        assert_eq!(chromosome_code("chr22"), Some(22));
        assert_eq!(chromosome_code("X"), Some(23));
        assert_eq!(chromosome_code("25"), Some(23));
        assert_eq!(chromosome_code("29"), Some(29));
        assert_eq!(chromosome_code("scaffold_7"), None);
    }

    #[test]
    fn folds_are_consecutive_and_cover_every_sample() {
        let f = fold_ranges(494, 5);
        assert_eq!(
            f.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [98, 98, 98, 98, 102]
        );
        assert_eq!(f.last().unwrap().end, 494);
    }

    #[test]
    fn basis_is_orthonormal_and_drops_collinear_columns() {
        let cov = ndarray::Array2::from_shape_fn((50, 3), |(i, j)| match j {
            0 => i as f64,
            1 => (i * i % 7) as f64,
            _ => 2.0 * i as f64 + 1.0,
        });
        let q = covariate_basis(cov.view()).unwrap();
        assert_eq!(q.ncols(), 3);
        let qtq = q.transpose() * q.as_ref();
        for a in 0..3 {
            for b in 0..3 {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((qtq[(a, b)] - want).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn primal_and_dual_level0_agree() {
        // 40 samples, 12 variants: folds of 8 train on 32 ≥ 12 (primal);
        // the same data with 50 variants trains dual.
        let n = 40;
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let g = Mat::from_fn(n, 50, |_, _| rnd());
        let y = Mat::from_fn(n, 1, |_, _| rnd());
        let folds = fold_ranges(n, 5);
        let wide = level0_block(g.as_ref(), y.as_ref(), &folds, &[3.0, 30.0]).unwrap();
        // Ridge by brute force on the first fold for λ = 3.
        let train: Vec<usize> = (8..n).collect();
        let gt = Mat::from_fn(32, 50, |i, j| g[(train[i], j)]);
        let yt = Mat::from_fn(32, 1, |i, _| y[(train[i], 0)]);
        let mut a = gt.transpose() * gt.as_ref();
        for k in 0..50 {
            a[(k, k)] += 3.0;
        }
        let rhs = gt.transpose() * yt.as_ref();
        let beta = a.as_ref().llt(Side::Lower).unwrap().solve(rhs.as_ref());
        let pred = g.subrows(0, 8) * beta.as_ref();
        for i in 0..8 {
            assert!((pred[(i, 0)] - wide[0][(i, 0)]).abs() < 1e-9);
        }
        let narrow = level0_block(g.subcols(0, 12), y.as_ref(), &folds, &[3.0]).unwrap();
        let gt = Mat::from_fn(32, 12, |i, j| g[(train[i], j)]);
        let mut a = gt.transpose() * gt.as_ref();
        for k in 0..12 {
            a[(k, k)] += 3.0;
        }
        let rhs = gt.transpose() * yt.as_ref();
        let beta = a.as_ref().llt(Side::Lower).unwrap().solve(rhs.as_ref());
        let pred = g.subrows(0, 8).subcols(0, 12) * beta.as_ref();
        for i in 0..8 {
            assert!((pred[(i, 0)] - narrow[0][(i, 0)]).abs() < 1e-9);
        }
    }

    #[test]
    fn firth_one_solves_the_modified_score() {
        let g: Vec<f64> = (0..60).map(|i| f64::from(i % 3) - 1.0).collect();
        let y: Vec<f64> = (0..60)
            .map(|i| if i % 3 == 2 || i % 7 == 0 { 1.0 } else { 0.0 })
            .collect();
        let off = vec![-0.5; 60];
        let (b, se, lrt) = firth_one(&g, &y, &off).unwrap();
        assert!(b > 0.0 && se > 0.0 && lrt > 0.0);
        let mu: Vec<f64> = g
            .iter()
            .zip(&off)
            .map(|(gi, o)| sigmoid(o + b * gi))
            .collect();
        let info: f64 = (0..60).map(|i| g[i] * g[i] * mu[i] * (1.0 - mu[i])).sum();
        let u: f64 = (0..60)
            .map(|i| {
                let h = g[i] * g[i] * mu[i] * (1.0 - mu[i]) / info;
                g[i] * (y[i] - mu[i] + h * (0.5 - mu[i]))
            })
            .sum();
        assert!(u.abs() < 1e-7);
        assert!((se - 1.0 / info.sqrt()).abs() < 1e-12);
    }
}
