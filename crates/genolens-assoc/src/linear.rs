//! Per-variant linear regression with covariates, as `plink2 --glm` runs it on a
//! quantitative trait.
//!
//! PLINK 2's semantics:
//! - the tested allele is each variant's allele 1 (ALT), with its dosage 0..2;
//! - samples missing the phenotype or any covariate are left out of every test;
//! - samples missing the genotype are left out of that variant's test only (never
//!   imputed), so `OBS_CT` varies by variant;
//! - a variant that is constant over the samples used gets `CONST_OMITTED_ALLELE`,
//!   and one with no more samples than predictors `SAMPLE_CT<=PREDICTOR_CT`, both
//!   with `NA` statistics.
//!
//! How (see `docs/architecture.md`): covariates are standardised (regression is
//! invariant to that, and the normal equations get well conditioned), and the
//! model's cross-products `XᵀX`, `Xᵀy`, `yᵀy` are formed once per phenotype. Each
//! block of variants is decoded once for every phenotype; one GEMM per block and
//! phenotype gives every variant's `[X y]ᵀ g`, and the genotype's effect follows
//! from a Schur complement on the `(C+1) × (C+1)` Cholesky factor of `XᵀX`. A
//! variant with missing calls downdates the cross-products by its missing samples'
//! rows before the same step, which is exact, not an approximation.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use genolens_io::GenotypeSource;
use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::stats::{ln_t_two_sided, neg_log10};

/// Called with the number of variants scanned so far.
pub type Progress<'a> = &'a (dyn Fn(usize) + Sync);

/// PLINK 2's per-variant error codes for the linear model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearError {
    /// The genotype is constant over the samples used.
    ConstOmittedAllele,
    /// No more samples than predictors (intercept, covariates, genotype).
    SampleCtLePredictorCt,
    /// Two predictors (genotype and covariates, intercept aside) correlate beyond
    /// PLINK 2's `--max-corr` (0.999) over the samples used.
    CorrTooHigh,
    /// The predictors' correlation matrix cannot be inverted: the genotype is a
    /// linear combination of the covariates over the samples used.
    VifInfinite,
    /// A predictor's variance inflation factor exceeds PLINK 2's `--vif` (50).
    VifTooHigh,
}

impl LinearError {
    /// The `ERRCODE` PLINK 2 prints.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConstOmittedAllele => "CONST_OMITTED_ALLELE",
            Self::SampleCtLePredictorCt => "SAMPLE_CT<=PREDICTOR_CT",
            Self::CorrTooHigh => "CORR_TOO_HIGH",
            Self::VifInfinite => "VIF_INFINITE",
            Self::VifTooHigh => "VIF_TOO_HIGH",
        }
    }
}

/// One variant's test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearTest {
    /// Samples in the regression.
    pub obs_ct: u32,
    /// Effect of one more copy of allele 1; `NaN` when not estimable.
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// `beta / se`.
    pub t: f64,
    /// ln of the two-sided p-value (finite far below 1e-308).
    pub ln_p: f64,
    /// Why the test did not run, if it did not.
    pub error: Option<LinearError>,
}

impl LinearTest {
    /// The p-value, or `NaN` when the test did not run.
    pub fn p_value(&self) -> f64 {
        if self.error.is_none() {
            self.ln_p.exp()
        } else {
            f64::NAN
        }
    }

    fn failed(obs_ct: u32, error: LinearError) -> Self {
        Self {
            obs_ct,
            beta: f64::NAN,
            se: f64::NAN,
            t: f64::NAN,
            ln_p: f64::NAN,
            error: Some(error),
        }
    }

    /// The two-sided p-value (0 where it underflows; see [`log10_p`](Self::log10_p)).
    pub fn p(&self) -> f64 {
        self.ln_p.exp()
    }

    /// `-log10(p)`.
    pub fn log10_p(&self) -> f64 {
        neg_log10(self.ln_p)
    }
}

/// A phenotype to scan: one value per genotype sample, `NaN` where missing.
#[derive(Debug, Clone, Copy)]
pub struct Phenotype<'a> {
    /// Its name, for messages.
    pub name: &'a str,
    /// One value per sample of the genotype source, in its order.
    pub values: &'a [f64],
}

/// Covariates: one row per genotype sample (in its order), `NaN` where missing.
#[derive(Debug, Clone, Copy)]
pub struct Covariates<'a> {
    /// Column names, for messages.
    pub names: &'a [String],
    /// `n_samples × n_covariates`.
    pub values: ArrayView2<'a, f64>,
}

impl Covariates<'static> {
    /// No covariates for `n_samples` samples (an intercept-only model).
    pub fn none(n_samples: usize) -> Self {
        Self {
            names: &[],
            values: ArrayView2::from_shape((n_samples, 0), &[])
                .expect("an n × 0 view needs no elements"),
        }
    }
}

/// The fitted null-model pieces of one phenotype (shared with the logistic scan).
pub(crate) struct NullModel {
    /// Samples with the phenotype and every covariate.
    pub(crate) valid: Vec<bool>,
    pub(crate) n_valid: usize,
    /// `[1, standardised covariates, y]` on valid rows, zero elsewhere: N × (P + 1)
    /// with P = 1 + C predictors before the genotype.
    pub(crate) xy: Mat<f64>,
    /// Cross-products of `[X y]` over the valid samples: (P + 1) × (P + 1).
    pub(crate) cross: Mat<f64>,
    pub(crate) predictors: usize,
    /// Covariates left out because they are constant over the valid samples.
    pub(crate) dropped: Vec<String>,
    /// Cholesky factor of the predictors' block of `cross` (variants without
    /// missing calls reuse it).
    pub(crate) chol: Vec<f64>,
}

impl NullModel {
    pub(crate) fn new(pheno: &Phenotype<'_>, covariates: &Covariates<'_>) -> Result<Self> {
        let n = pheno.values.len();
        let c = covariates.values.ncols();
        let valid: Vec<bool> = (0..n)
            .map(|i| {
                !pheno.values[i].is_nan() && covariates.values.row(i).iter().all(|x| !x.is_nan())
            })
            .collect();
        let n_valid = valid.iter().filter(|&&v| v).count();
        // Standardise each covariate over the valid samples; PLINK 2 leaves out
        // (with a warning) covariates that are constant there.
        let mut kept = Vec::with_capacity(c);
        let mut dropped = Vec::new();
        let mut standardised: Vec<(f64, f64)> = Vec::with_capacity(c);
        for k in 0..c {
            let col: Vec<f64> = (0..n)
                .filter(|&i| valid[i])
                .map(|i| covariates.values[[i, k]])
                .collect();
            let mean = col.iter().sum::<f64>() / n_valid as f64;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n_valid as f64;
            if var <= 1e-12 * mean.abs().max(1.0).powi(2) {
                dropped.push(covariates.names[k].clone());
            } else {
                kept.push(k);
                standardised.push((mean, var.sqrt()));
            }
        }
        let p = 1 + kept.len();
        if n_valid <= p {
            return Err(Error::Invalid(format!(
                "phenotype {}: {n_valid} samples have it and every covariate, too few for {p} \
                 predictors",
                pheno.name
            )));
        }
        let mut xy = Mat::<f64>::zeros(n, p + 1);
        for i in (0..n).filter(|&i| valid[i]) {
            xy[(i, 0)] = 1.0;
            xy[(i, p)] = pheno.values[i];
            for (slot, (&k, &(mean, sd))) in kept.iter().zip(&standardised).enumerate() {
                xy[(i, 1 + slot)] = (covariates.values[[i, k]] - mean) / sd;
            }
        }
        let ys: Vec<f64> = (0..n)
            .filter(|&i| valid[i])
            .map(|i| pheno.values[i])
            .collect();
        let ymean = ys.iter().sum::<f64>() / n_valid as f64;
        if ys
            .iter()
            .all(|&y| (y - ymean).abs() <= 1e-12 * ymean.abs().max(1.0))
        {
            return Err(Error::Invalid(format!(
                "phenotype {} is constant over the {n_valid} samples with covariates",
                pheno.name
            )));
        }
        let mut cross = Mat::<f64>::zeros(p + 1, p + 1);
        matmul(
            cross.as_mut(),
            Accum::Replace,
            xy.transpose(),
            xy.as_ref(),
            1.0,
            Par::Seq,
        );
        // Collinear covariates: the predictors' Cholesky factor must exist.
        let Some(chol) = cholesky(&cross, p) else {
            return Err(Error::Invalid(format!(
                "phenotype {}: the covariates ({}) are collinear over the {n_valid} samples \
                 used; drop one of them",
                pheno.name,
                covariates.names.join(", ")
            )));
        };
        Ok(Self {
            valid,
            n_valid,
            xy,
            cross,
            predictors: p,
            dropped,
            chol,
        })
    }
}

/// Lower Cholesky factor of the leading `p × p` block of `a`, or `None` when it is
/// not (numerically) positive definite.
pub(crate) fn cholesky(a: &Mat<f64>, p: usize) -> Option<Vec<f64>> {
    cholesky_by(p, |i, j| a[(i, j)])
}

/// [`cholesky`] of the `p × p` matrix whose entries `a(i, j)` gives.
pub(crate) fn cholesky_by(p: usize, a: impl Fn(usize, usize) -> f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; p * p];
    for j in 0..p {
        let mut d = a(j, j);
        for k in 0..j {
            d -= l[j * p + k] * l[j * p + k];
        }
        // Relative pivot test: a predictor explained by the others to 1e-10.
        if d <= 1e-10 * a(j, j).abs().max(f64::MIN_POSITIVE) {
            return None;
        }
        let d = d.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a(i, j);
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = s / d;
        }
    }
    Some(l)
}

/// PLINK 2's checks on the predictors other than the intercept (genotype and
/// covariates) over the samples used, from their cross-products: a pairwise
/// correlation above 0.999, a correlation matrix that cannot be inverted, or a
/// variance inflation factor above 50. `cross` holds `[1, covariates, y]`
/// cross-products, `xg` the genotype's (`[1, covariates, y]ᵀ g`), `s` = Σg².
fn collinearity(cross: &Mat<f64>, xg: &[f64], s: f64, n: usize, p: usize) -> Option<LinearError> {
    const MAX_CORR: f64 = 0.999;
    const MAX_VIF: f64 = 50.0;
    let k = p; // genotype + (p − 1) covariates
    let nf = n as f64;
    // Sums and cross-products; index 0 is the genotype, 1.. the covariates.
    let sum = |a: usize| if a == 0 { xg[0] } else { cross[(0, a)] };
    let prod = |a: usize, b: usize| match (a, b) {
        (0, 0) => s,
        (0, b) => xg[b],
        (a, 0) => xg[a],
        (a, b) => cross[(a, b)],
    };
    let mut corr = vec![0.0f64; k * k];
    let cov = |a: usize, b: usize| (prod(a, b) - sum(a) * sum(b) / nf) / (nf - 1.0);
    let sd: Vec<f64> = (0..k).map(|a| cov(a, a).max(0.0).sqrt()).collect();
    for a in 0..k {
        corr[a * k + a] = 1.0;
        for b in 0..a {
            let r = cov(a, b) / (sd[a] * sd[b]);
            if r.abs() > MAX_CORR {
                return Some(LinearError::CorrTooHigh);
            }
            corr[a * k + b] = r;
            corr[b * k + a] = r;
        }
    }
    // VIFs are the diagonal of the inverse correlation matrix.
    let mut m = Mat::<f64>::zeros(k, k);
    for a in 0..k {
        for b in 0..k {
            m[(a, b)] = corr[a * k + b];
        }
    }
    let Some(l) = cholesky(&m, k) else {
        return Some(LinearError::VifInfinite);
    };
    for j in 0..k {
        // R = L Lᵀ, so (R⁻¹)_jj = ‖L⁻¹ e_j‖²: one forward substitution.
        let mut e = vec![0.0f64; k];
        e[j] = 1.0;
        forward(&l, k, &mut e);
        let vif: f64 = e.iter().map(|x| x * x).sum();
        if vif > MAX_VIF {
            return Some(LinearError::VifTooHigh);
        }
    }
    None
}

/// Solves `L z = b` in place for the lower-triangular `l` (p × p, row-major).
pub(crate) fn forward(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// The outcome of [`linear_scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinearScan {
    /// Per phenotype (in the order given), one test per variant in source order.
    pub tests: Vec<Vec<LinearTest>>,
    /// Per phenotype, the covariates left out because they were constant over its
    /// samples (PLINK 2 drops them with a warning).
    pub dropped_covariates: Vec<Vec<String>>,
}

/// Scans every variant of `source` against each phenotype with the same
/// covariates, decoding each block of `block_size` variants once for all
/// phenotypes, in parallel over blocks on the current rayon pool.
///
/// A phenotype that cannot be modelled (constant, collinear covariates, too few
/// samples) is an error naming it, as in PLINK 2.
pub fn linear_scan<S: GenotypeSource + ?Sized>(
    source: &S,
    phenotypes: &[Phenotype<'_>],
    covariates: &Covariates<'_>,
    block_size: usize,
    progress: Progress<'_>,
) -> Result<LinearScan> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n = source.n_samples();
    if covariates.values.nrows() != n || covariates.names.len() != covariates.values.ncols() {
        return Err(Error::Invalid(format!(
            "covariates have {} rows and {} names for {} samples and {} columns",
            covariates.values.nrows(),
            covariates.names.len(),
            n,
            covariates.values.ncols()
        )));
    }
    if let Some(bad) = phenotypes.iter().find(|p| p.values.len() != n) {
        return Err(Error::Invalid(format!(
            "phenotype {} has {} values for {n} samples",
            bad.name,
            bad.values.len()
        )));
    }
    let models = phenotypes
        .iter()
        .map(|p| NullModel::new(p, covariates))
        .collect::<Result<Vec<_>>>()?;
    let n_var = source.n_variants();
    let step = block_size.max(1);
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    let done = AtomicUsize::new(0);
    let per_block: Vec<Vec<Vec<LinearTest>>> = starts
        .par_iter()
        .map_init(
            || None,
            |recycled, &start| -> Result<_> {
                let end = (start + step).min(n_var);
                let block = decode_block(source, start..end, recycled.take())?;
                let out = models.iter().map(|m| scan_block(m, &block)).collect();
                *recycled = Some(block.g);
                progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
                Ok(out)
            },
        )
        .collect::<Result<_>>()?;
    let mut result: Vec<Vec<LinearTest>> = vec![Vec::with_capacity(n_var); phenotypes.len()];
    for block in per_block {
        for (r, tests) in result.iter_mut().zip(block) {
            r.extend(tests);
        }
    }
    Ok(LinearScan {
        tests: result,
        dropped_covariates: models.into_iter().map(|m| m.dropped).collect(),
    })
}

/// A block of genotypes as f64 (`n_samples × block`), missing calls as 0, with each
/// variant's missing samples listed (they are excluded, never imputed) and its
/// Σg² over all samples.
///
/// Sources of hard calls are decoded straight from their packed bytes into
/// the f64 matrix (each element written once, no intermediate f32 block);
/// their Σg² is exact in any order, being a sum of small integers.
pub(crate) struct DecodedBlock {
    /// `n_samples × block` dosages, missing calls 0.
    pub g: Mat<f64>,
    /// Per variant, its samples with a missing call.
    pub missing: Vec<Vec<usize>>,
    /// Per variant, Σg² over every sample.
    pub sum_sq: Vec<f64>,
}

/// What one packed byte (four samples) decodes to.
struct ByteEntry {
    values: [f64; 4],
    sum_sq: u8,
    /// Bit `k` set when sample slot `k` is missing.
    missing: u8,
}

/// The 256 bytes' decodings, computed at compile time.
const BYTE_TABLE: [ByteEntry; 256] = byte_table();

const fn byte_table() -> [ByteEntry; 256] {
    let mut table = [const {
        ByteEntry {
            values: [0.0; 4],
            sum_sq: 0,
            missing: 0,
        }
    }; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut slot = 0;
        while slot < 4 {
            match (byte >> (2 * slot)) & 3 {
                0 => {
                    table[byte].values[slot] = 2.0;
                    table[byte].sum_sq += 4;
                }
                1 => table[byte].missing |= 1 << slot,
                2 => {
                    table[byte].values[slot] = 1.0;
                    table[byte].sum_sq += 1;
                }
                _ => {}
            }
            slot += 1;
        }
        byte += 1;
    }
    table
}

/// `recycled` is an earlier block's matrix to write into (every entry is
/// overwritten), which spares a fresh allocation's page faults and zeroing.
pub(crate) fn decode_block<S: GenotypeSource + ?Sized>(
    source: &S,
    range: std::ops::Range<usize>,
    recycled: Option<Mat<f64>>,
) -> Result<DecodedBlock> {
    let n = source.n_samples();
    let b = range.len();
    let mut g = match recycled {
        Some(mut m) if m.nrows() == n && m.ncols() >= b => {
            m.truncate(n, b);
            m
        }
        _ => Mat::<f64>::zeros(n, b),
    };
    if source.hardcalls_exact() {
        let calls = source.read_hardcalls(range)?;
        let table = &BYTE_TABLE;
        let mut missing = vec![Vec::new(); b];
        let mut sum_sq = vec![0.0; b];
        let full = n / 4;
        for j in 0..b {
            let bytes = calls.variant(j);
            let Some(col) = g.col_mut(j).try_as_col_major_mut() else {
                continue;
            };
            let col = col.as_slice_mut();
            let mut sq = 0u64;
            for (k, (&byte, out)) in bytes[..full]
                .iter()
                .zip(col.chunks_exact_mut(4))
                .enumerate()
            {
                let entry = &table[usize::from(byte)];
                out.copy_from_slice(&entry.values);
                sq += u64::from(entry.sum_sq);
                if entry.missing != 0 {
                    for slot in 0..4 {
                        if entry.missing & (1 << slot) != 0 {
                            missing[j].push(4 * k + slot);
                        }
                    }
                }
            }
            // The last, partial byte (its padding codes are zero).
            for i in 4 * full..n {
                let code = (bytes[i / 4] >> (2 * (i % 4))) & 3;
                col[i] = match code {
                    0 => 2.0,
                    2 => 1.0,
                    _ => 0.0,
                };
                match code {
                    0 => sq += 4,
                    1 => missing[j].push(i),
                    2 => sq += 1,
                    _ => {}
                }
            }
            sum_sq[j] = sq as f64;
        }
        return Ok(DecodedBlock { g, missing, sum_sq });
    }
    let block = source.read_block(range)?;
    let mut missing: Vec<Vec<usize>> = vec![Vec::new(); b];
    let mut sum_sq = vec![0.0; b];
    for j in 0..b {
        for (i, &d) in block.variant(j).iter().enumerate() {
            if d.is_nan() {
                g[(i, j)] = 0.0;
                missing[j].push(i);
            } else {
                let x = f64::from(d);
                g[(i, j)] = x;
                sum_sq[j] += x * x;
            }
        }
    }
    Ok(DecodedBlock { g, missing, sum_sq })
}

/// Tests every column of `g` against one phenotype's null model.
fn scan_block(m: &NullModel, block: &DecodedBlock) -> Vec<LinearTest> {
    let (g, missing) = (&block.g, &block.missing);
    let p = m.predictors;
    let b = g.ncols();
    // [X y]ᵀ g for every variant: (P + 1) × b.
    let mut xg = Mat::<f64>::zeros(p + 1, b);
    matmul(
        xg.as_mut(),
        Accum::Replace,
        m.xy.transpose(),
        g.as_ref(),
        1.0,
        Par::Seq,
    );
    (0..b)
        .map(|j| {
            let col = g.col(j);
            let miss: Vec<usize> = missing[j].iter().copied().filter(|&i| m.valid[i]).collect();
            let n_used = m.n_valid - miss.len();
            let obs_ct = n_used as u32;
            if n_used <= p + 1 {
                return LinearTest::failed(obs_ct, LinearError::SampleCtLePredictorCt);
            }
            // Σg² over the used samples (missing entries are 0).
            let s: f64 = if m.n_valid == col.nrows() {
                block.sum_sq[j]
            } else {
                (0..col.nrows())
                    .filter(|&i| m.valid[i])
                    .map(|i| col[i] * col[i])
                    .sum()
            };
            let sum_g = xg[(0, j)];
            let var_g = s - sum_g * sum_g / n_used as f64;
            if var_g <= 1e-10 * s.max(f64::MIN_POSITIVE) {
                return LinearTest::failed(obs_ct, LinearError::ConstOmittedAllele);
            }
            // Cross-products of [X y] over the used samples: downdate by the
            // missing samples' rows.
            let (l, cross);
            let (l, cross) = if miss.is_empty() {
                (&m.chol, &m.cross)
            } else {
                let mut c = m.cross.clone();
                for &i in &miss {
                    for a in 0..=p {
                        for bb in 0..=p {
                            c[(a, bb)] -= m.xy[(i, a)] * m.xy[(i, bb)];
                        }
                    }
                }
                match cholesky(&c, p) {
                    Some(fl) => {
                        l = fl;
                        cross = c;
                        (&l, &cross)
                    }
                    None => return LinearTest::failed(obs_ct, LinearError::VifInfinite),
                }
            };
            if p > 1 {
                if let Some(e) = collinearity(
                    cross,
                    xg.col(j)
                        .try_as_col_major()
                        .map(|c| c.as_slice())
                        .unwrap_or(&[]),
                    s,
                    n_used,
                    p,
                ) {
                    return LinearTest::failed(obs_ct, e);
                }
            }
            let mut zu: Vec<f64> = (0..p).map(|a| cross[(a, p)]).collect();
            forward(l, p, &mut zu);
            let mut zv: Vec<f64> = (0..p).map(|a| xg[(a, j)]).collect();
            forward(l, p, &mut zv);
            let uau: f64 = zu.iter().map(|x| x * x).sum();
            let vav: f64 = zv.iter().map(|x| x * x).sum();
            let vau: f64 = zv.iter().zip(&zu).map(|(x, y)| x * y).sum();
            let denom = s - vav;
            if denom <= 1e-10 * var_g {
                return LinearTest::failed(obs_ct, LinearError::VifInfinite);
            }
            let w = xg[(p, j)];
            let num = w - vau;
            let beta = num / denom;
            let rss = (cross[(p, p)] - uau - num * num / denom).max(0.0);
            let df = (n_used - p - 1) as f64;
            let se = (rss / df / denom).sqrt();
            let t = beta / se;
            LinearTest {
                obs_ct,
                beta,
                se,
                t,
                ln_p: ln_t_two_sided(t, df),
                error: None,
            }
        })
        .collect()
}
