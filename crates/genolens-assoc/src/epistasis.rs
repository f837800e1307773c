//! Pairwise epistasis scan for a quantitative trait, as PLINK 1.9's
//! `--epistasis`.
//!
//! Every pair of variants (A, B) gets the regression
//! `y ~ 1 + A + B + A·B` on the samples with a phenotype and both genotypes
//! (A and B count the A1 allele), and the Wald χ² of the interaction
//! coefficient. The model, the validity checks (more than 4 samples, no
//! constant or near-collinear term, variance inflation factor below 50 by
//! default, a non-degenerate residual variance), the reporting threshold
//! (`--epi1`, default p ≤ 1e-4) and the per-variant summary (`--epi2`, default
//! 0.01: N_SIG, N_TOT, BEST_CHISQ, BEST_SNP) are PLINK 1.9's; a pair that
//! fails a check counts as failed, not as a test.
//!
//! Speed: PLINK 1.9 visits each pair's genotypes (O(n) per pair, bit-packed).
//! Here every per-pair sum the regression needs — Σ AB, Σ A²B, Σ AB², Σ A²B²,
//! Σ AB·y and, where genotypes are missing, the sums over the samples both
//! variants share — is an entry of a matrix product of two variant blocks,
//! so the O(n·m²) part runs as dense GEMM (integer counts exactly in `f32`,
//! phenotype products in `f64`) and only an O(1) 4 × 4 solve remains per pair.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use genolens_io::{ChromKind, GenotypeSource};
use rayon::prelude::*;

use crate::linear::Progress;
use crate::stats::ln_normal_two_sided;
use crate::{Error, Result};

/// PLINK 1.9's singular-matrix tolerance (2⁻³⁰).
const EPSILON: f64 = 1.0 / (1u64 << 30) as f64;

/// Settings of [`epistasis_scan`]; the defaults are PLINK 1.9's.
#[derive(Debug, Clone, PartialEq)]
pub struct EpistasisOptions {
    /// Pairs with p at or below this are returned (`--epi1`; 1 returns every
    /// pair, failed ones with NaN statistics, as PLINK does).
    pub report_p: f64,
    /// Pairs with p at or below this count towards a variant's N_SIG
    /// (`--epi2`).
    pub count_p: f64,
    /// Largest variance inflation factor allowed among A, B and A·B (`--vif`).
    pub vif_threshold: f64,
    /// Variants per block of the matrix products.
    pub block_size: usize,
}

impl Default for EpistasisOptions {
    fn default() -> Self {
        Self {
            report_p: 1e-4,
            count_p: 0.01,
            vif_threshold: 50.0,
            block_size: 512,
        }
    }
}

/// One pair's interaction test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InteractionTest {
    /// The first variant (index into the source; `first < second`).
    pub first: usize,
    /// The second variant.
    pub second: usize,
    /// The coefficient of A·B (NaN for a failed pair).
    pub beta: f64,
    /// Its Wald χ² with one degree of freedom (NaN for a failed pair).
    pub chisq: f64,
}

impl InteractionTest {
    /// The two-sided p-value of the interaction (NaN for a failed pair).
    pub fn p_value(&self) -> f64 {
        if self.chisq.is_nan() {
            f64::NAN
        } else {
            ln_normal_two_sided(self.chisq.sqrt()).exp()
        }
    }
}

/// One variant's summary over all its pairs (PLINK's `.epi.qt.summary`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VariantEpistasis {
    /// Pairs with p ≤ [`EpistasisOptions::count_p`].
    pub n_significant: u64,
    /// Valid tests (pairs that did not fail a check).
    pub n_tests: u64,
    /// The largest interaction χ² over its pairs (0 when no test is valid).
    pub best_chisq: f64,
    /// The partner of that pair.
    pub best_partner: Option<usize>,
}

/// The result of [`epistasis_scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct EpistasisScan {
    /// Samples with a phenotype.
    pub n_samples: usize,
    /// Valid tests.
    pub n_tests: u64,
    /// Pairs that failed a validity check.
    pub n_failed: u64,
    /// Variants left out, as PLINK 1.9 leaves them out: on a haploid
    /// chromosome (X, Y, MT) or monomorphic among the samples with a
    /// phenotype. They have no pairs and an empty summary.
    pub skipped: Vec<usize>,
    /// The reported pairs, ordered by `(first, second)`.
    pub pairs: Vec<InteractionTest>,
    /// Per variant, in source order.
    pub variants: Vec<VariantEpistasis>,
}

/// Tests every pair of variants in `source` for an interaction effect on
/// `phenotype` (one value per sample, NaN where missing). `progress` receives
/// the number of variant blocks finished against all later ones.
pub fn epistasis_scan<S: GenotypeSource + ?Sized>(
    source: &S,
    phenotype: &[f64],
    options: &EpistasisOptions,
    progress: Progress<'_>,
) -> Result<EpistasisScan> {
    if phenotype.len() != source.n_samples() {
        return Err(Error::Invalid(format!(
            "the phenotype has {} values for {} samples",
            phenotype.len(),
            source.n_samples()
        )));
    }
    for (name, p) in [
        ("report p-value", options.report_p),
        ("count p-value", options.count_p),
    ] {
        if !(p > 0.0 && p <= 1.0) {
            return Err(Error::Invalid(format!(
                "the epistasis {name} must be in (0, 1], not {p}"
            )));
        }
    }
    if options.vif_threshold.is_nan() || options.vif_threshold < 1.0 {
        return Err(Error::Invalid(format!(
            "the VIF threshold must be at least 1, not {}",
            options.vif_threshold
        )));
    }
    let samples: Vec<usize> = (0..phenotype.len())
        .filter(|&i| phenotype[i].is_finite())
        .collect();
    let y: Vec<f64> = samples.iter().map(|&i| phenotype[i]).collect();
    let sum: f64 = y.iter().sum();
    let ssq: f64 = y.iter().map(|v| v * v).sum();
    if y.is_empty() || ssq * y.len() as f64 == sum * sum {
        return Err(Error::Invalid("the phenotype is constant".to_string()));
    }
    let report = chisq_threshold(options.report_p);
    let count = chisq_threshold(options.count_p);
    let report_all = options.report_p >= 1.0;
    let m = source.n_variants();
    let (tested, skipped) = testable_variants(source, &samples)?;
    let b = options.block_size.max(1);
    let chunks: Vec<&[usize]> = tested.chunks(b).collect();
    let mut variants = vec![VariantEpistasis::default(); m];
    let mut pairs = Vec::new();
    let (mut n_tests, mut n_failed) = (0u64, 0u64);
    let context = Context {
        y: &y,
        sum,
        ssq,
        vif: options.vif_threshold,
        report,
        count,
        report_all,
    };
    for (k, chunk) in chunks.iter().enumerate() {
        let first = Block::read(source, &samples, &y, chunk)?;
        let results: Vec<BlockResult> = (k..chunks.len())
            .into_par_iter()
            .map(|k2| -> Result<BlockResult> {
                let second = if k2 == k {
                    None
                } else {
                    Some(Block::read(source, &samples, &y, chunks[k2])?)
                };
                Ok(context.block_pair(&first, second.as_ref()))
            })
            .collect::<Result<_>>()?;
        for r in results {
            n_tests += r.n_tests;
            n_failed += r.n_failed;
            pairs.extend(r.pairs);
            for (v, update) in r.updates {
                let s = &mut variants[v];
                s.n_significant += update.n_significant;
                s.n_tests += update.n_tests;
                if update.best_chisq > s.best_chisq
                    || (s.best_partner.is_none() && update.best_partner.is_some())
                {
                    s.best_chisq = update.best_chisq;
                    s.best_partner = update.best_partner;
                }
            }
        }
        progress(k + 1);
    }
    pairs.sort_by_key(|p| (p.first, p.second));
    Ok(EpistasisScan {
        n_samples: samples.len(),
        n_tests,
        n_failed,
        skipped,
        pairs,
        variants,
    })
}

/// The variants PLINK 1.9 tests (diploid chromosome, polymorphic among
/// `samples`) and the ones it skips.
fn testable_variants<S: GenotypeSource + ?Sized>(
    source: &S,
    samples: &[usize],
) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut buf = vec![0.0f32; samples.len()];
    let (mut tested, mut skipped) = (Vec::new(), Vec::new());
    for (v, variant) in source.variants().iter().enumerate() {
        let diploid = variant.chrom_kind() == ChromKind::Autosome;
        let polymorphic = diploid && {
            source.read_variant_subset_into(v, samples, &mut buf)?;
            let mut seen = [false; 3];
            for &d in buf.iter().filter(|d| !d.is_nan()) {
                seen[d.round().clamp(0.0, 2.0) as usize] = true;
            }
            seen[1] || (seen[0] && seen[2])
        };
        if polymorphic {
            tested.push(v);
        } else {
            skipped.push(v);
        }
    }
    Ok((tested, skipped))
}

/// The χ² (one degree of freedom) whose two-sided p equals `p`, by bisection on
/// the normal tail (PLINK compares squared z-scores, not p-values).
fn chisq_threshold(p: f64) -> f64 {
    if p >= 1.0 {
        return 0.0;
    }
    let target = p.ln();
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if ln_normal_two_sided(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let z = 0.5 * (lo + hi);
    z * z
}

/// A block of variants on the analysed samples, in the forms the products need.
struct Block {
    /// The variants (indices into the source).
    variants: Vec<usize>,
    /// Allele counts, 0 where missing.
    g: Mat<f32>,
    /// Squared counts.
    g2: Mat<f32>,
    /// Counts in `f64`, and counts × phenotype.
    g64: Mat<f64>,
    gy: Mat<f64>,
    /// 1 where called; present only when some genotype is missing.
    called: Option<Mat<f32>>,
    /// Per variant over its called samples: Σ A, Σ A², Σ A·y.
    sum_a: Vec<f64>,
    sum_aa: Vec<f64>,
    sum_ay: Vec<f64>,
}

impl Block {
    fn len(&self) -> usize {
        self.variants.len()
    }

    fn read<S: GenotypeSource + ?Sized>(
        source: &S,
        samples: &[usize],
        y: &[f64],
        variants: &[usize],
    ) -> Result<Self> {
        let n = samples.len();
        let len = variants.len();
        let mut g = Mat::<f32>::zeros(n, len);
        let mut g2 = Mat::<f32>::zeros(n, len);
        let mut g64 = Mat::<f64>::zeros(n, len);
        let mut gy = Mat::<f64>::zeros(n, len);
        let mut called = Mat::<f32>::zeros(n, len);
        let mut any_missing = false;
        let (mut sum_a, mut sum_aa, mut sum_ay) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let mut buf = vec![0.0f32; n];
        for (j, &v) in variants.iter().enumerate() {
            source.read_variant_subset_into(v, samples, &mut buf)?;
            for (i, &d) in buf.iter().enumerate() {
                if d.is_nan() {
                    any_missing = true;
                    continue;
                }
                // Fractional dosages are rounded to hard calls, as PLINK 1.9
                // reads them.
                let a = d.round().clamp(0.0, 2.0);
                g[(i, j)] = a;
                g2[(i, j)] = a * a;
                g64[(i, j)] = a as f64;
                gy[(i, j)] = a as f64 * y[i];
                called[(i, j)] = 1.0;
                sum_a[j] += a as f64;
                sum_aa[j] += (a * a) as f64;
                sum_ay[j] += a as f64 * y[i];
            }
        }
        Ok(Self {
            variants: variants.to_vec(),
            g,
            g2,
            g64,
            gy,
            called: any_missing.then_some(called),
            sum_a,
            sum_aa,
            sum_ay,
        })
    }
}

/// `lhsᵀ · rhs` (in `f32`, integer counts below 2²⁴ are exact).
fn cross<T: faer::traits::ComplexField + From<f32>>(
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) -> Mat<T> {
    let mut out = Mat::<T>::zeros(lhs.ncols(), rhs.ncols());
    matmul(
        out.as_mut(),
        Accum::Replace,
        lhs.transpose(),
        rhs,
        T::from(1.0),
        Par::Seq,
    );
    out
}

/// Sums over the samples where both variants of each pair are called, for
/// blocks with missing genotypes.
struct SharedSums {
    n: Mat<f32>,
    sum_a: Mat<f32>,
    sum_aa: Mat<f32>,
    sum_b: Mat<f32>,
    sum_bb: Mat<f32>,
    sum_ay: Mat<f64>,
    sum_by: Mat<f64>,
    sum_y: Mat<f64>,
    sum_yy: Mat<f64>,
}

struct Context<'a> {
    y: &'a [f64],
    sum: f64,
    ssq: f64,
    vif: f64,
    report: f64,
    count: f64,
    report_all: bool,
}

#[derive(Default)]
struct BlockResult {
    n_tests: u64,
    n_failed: u64,
    pairs: Vec<InteractionTest>,
    updates: Vec<(usize, VariantEpistasis)>,
}

impl Context<'_> {
    /// The pairs between block `a` and block `b` (`None`: `a` with itself).
    fn block_pair(&self, a: &Block, other: Option<&Block>) -> BlockResult {
        let same = other.is_none();
        let b = other.unwrap_or(a);
        let ab = cross(a.g.as_ref(), b.g.as_ref());
        let aab = cross(a.g2.as_ref(), b.g.as_ref());
        let abb = cross(a.g.as_ref(), b.g2.as_ref());
        let aabb = cross(a.g2.as_ref(), b.g2.as_ref());
        let aby = cross(a.gy.as_ref(), b.g64.as_ref());
        // Missing genotypes: every per-variant sum becomes a per-pair sum over
        // the samples both variants call, again a product of blocks.
        let shared = (a.called.is_some() || b.called.is_some()).then(|| {
            let n = a.g.nrows();
            let called = |block: &Block| {
                block
                    .called
                    .clone()
                    .unwrap_or_else(|| Mat::from_fn(n, block.len(), |_, _| 1.0))
            };
            let (ca, cb) = (called(a), called(b));
            let ca64 = Mat::<f64>::from_fn(n, a.len(), |i, j| f64::from(ca[(i, j)]));
            let cb64 = Mat::<f64>::from_fn(n, b.len(), |i, j| f64::from(cb[(i, j)]));
            let ca_y = Mat::<f64>::from_fn(n, a.len(), |i, j| ca64[(i, j)] * self.y[i]);
            let ca_yy =
                Mat::<f64>::from_fn(n, a.len(), |i, j| ca64[(i, j)] * self.y[i] * self.y[i]);
            SharedSums {
                n: cross(ca.as_ref(), cb.as_ref()),
                sum_a: cross(a.g.as_ref(), cb.as_ref()),
                sum_aa: cross(a.g2.as_ref(), cb.as_ref()),
                sum_b: cross(ca.as_ref(), b.g.as_ref()),
                sum_bb: cross(ca.as_ref(), b.g2.as_ref()),
                sum_ay: cross(a.gy.as_ref(), cb64.as_ref()),
                sum_by: cross(ca64.as_ref(), b.gy.as_ref()),
                sum_y: cross(ca_y.as_ref(), cb64.as_ref()),
                sum_yy: cross(ca_yy.as_ref(), cb64.as_ref()),
            }
        });
        let n_all = self.y.len() as f64;
        let mut out = BlockResult::default();
        let mut row = vec![VariantEpistasis::default(); a.len()];
        let mut col = vec![VariantEpistasis::default(); b.len()];
        // Column-major products: the inner loop walks down a column.
        for j in 0..b.len() {
            let i_end = if same { j } else { a.len() };
            for i in 0..i_end {
                let sums = match &shared {
                    None => PairSums {
                        n: n_all,
                        a: a.sum_a[i],
                        aa: a.sum_aa[i],
                        b: b.sum_a[j],
                        bb: b.sum_aa[j],
                        y: self.sum,
                        yy: self.ssq,
                        ay: a.sum_ay[i],
                        by: b.sum_ay[j],
                        ab: ab[(i, j)] as f64,
                        aab: aab[(i, j)] as f64,
                        abb: abb[(i, j)] as f64,
                        aabb: aabb[(i, j)] as f64,
                        aby: aby[(i, j)],
                    },
                    Some(s) => PairSums {
                        n: s.n[(i, j)] as f64,
                        a: s.sum_a[(i, j)] as f64,
                        aa: s.sum_aa[(i, j)] as f64,
                        b: s.sum_b[(i, j)] as f64,
                        bb: s.sum_bb[(i, j)] as f64,
                        y: s.sum_y[(i, j)],
                        yy: s.sum_yy[(i, j)],
                        ay: s.sum_ay[(i, j)],
                        by: s.sum_by[(i, j)],
                        ab: ab[(i, j)] as f64,
                        aab: aab[(i, j)] as f64,
                        abb: abb[(i, j)] as f64,
                        aabb: aabb[(i, j)] as f64,
                        aby: aby[(i, j)],
                    },
                };
                let (first, second) = (a.variants[i], b.variants[j]);
                match interaction_test(&sums, self.vif) {
                    None => {
                        out.n_failed += 1;
                        if self.report_all {
                            out.pairs.push(InteractionTest {
                                first,
                                second,
                                beta: f64::NAN,
                                chisq: f64::NAN,
                            });
                        }
                    }
                    Some((beta, chisq)) => {
                        out.n_tests += 1;
                        if chisq >= self.report {
                            out.pairs.push(InteractionTest {
                                first,
                                second,
                                beta,
                                chisq,
                            });
                        }
                        let significant = u64::from(chisq >= self.count);
                        for (s, partner) in [(&mut row[i], second), (&mut col[j], first)] {
                            s.n_tests += 1;
                            s.n_significant += significant;
                            if chisq > s.best_chisq || s.best_partner.is_none() {
                                s.best_chisq = chisq;
                                s.best_partner = Some(partner);
                            }
                        }
                    }
                }
            }
        }
        out.updates
            .extend(row.into_iter().enumerate().map(|(i, s)| (a.variants[i], s)));
        out.updates
            .extend(col.into_iter().enumerate().map(|(j, s)| (b.variants[j], s)));
        out
    }
}

/// The sufficient statistics of one pair over the samples it uses.
#[derive(Debug, Clone, Copy)]
struct PairSums {
    n: f64,
    a: f64,
    aa: f64,
    b: f64,
    bb: f64,
    y: f64,
    yy: f64,
    ay: f64,
    by: f64,
    ab: f64,
    aab: f64,
    abb: f64,
    aabb: f64,
    aby: f64,
}

/// The interaction coefficient and its Wald χ², or `None` where PLINK 1.9's
/// checks reject the pair.
///
/// PLINK inverts the 4 × 4 `XᵀX` and expands the residual sum of squares from
/// raw sums. Centring first gives the same quantities from a 3 × 3 inverse
/// (the intercept row follows from the means) with less cancellation, and is
/// ~4× cheaper; every check is PLINK's, on the same quantities.
fn interaction_test(s: &PairSums, vif: f64) -> Option<(f64, f64)> {
    let n = s.n;
    if n <= 4.0 {
        return None;
    }
    // Centred cross-products of A, B, P = A·B and y.
    let s_aa = s.aa - s.a * s.a / n;
    let s_bb = s.bb - s.b * s.b / n;
    let s_pp = s.aabb - s.ab * s.ab / n;
    if s_aa <= 0.0 || s_bb <= 0.0 || s_pp <= 0.0 {
        return None;
    }
    let s_ab = s.ab - s.a * s.b / n;
    let s_ap = s.aab - s.a * s.ab / n;
    let s_bp = s.abb - s.b * s.ab / n;
    // Squared correlations from one reciprocal (no square roots: this runs
    // for every pair). PLINK rejects a correlation above 0.999, positive only.
    let inv_all = 1.0 / (s_aa * s_bb * s_pp);
    let q1 = s_ab * s_ab * s_pp * inv_all;
    let q2 = s_ap * s_ap * s_bb * inv_all;
    let q3 = s_bp * s_bp * s_aa * inv_all;
    const R_MAX_SQ: f64 = 0.999 * 0.999;
    if (s_ab > 0.0 && q1 > R_MAX_SQ)
        || (s_ap > 0.0 && q2 > R_MAX_SQ)
        || (s_bp > 0.0 && q3 > R_MAX_SQ)
    {
        return None;
    }
    // r_ab · r_ap · r_bp = s_ab s_ap s_bp / (s_aa s_bb s_pp).
    let det = 1.0 + 2.0 * s_ab * s_ap * s_bp * inv_all - q1 - q2 - q3;
    if det.abs() < EPSILON {
        return None;
    }
    // VIF_k = (1 − r² of the other two) / det must not exceed the threshold.
    let limit = 1.0 - vif * det;
    if (det > 0.0 && (limit > q1 || limit > q2 || limit > q3))
        || (det < 0.0 && (limit < q1 || limit < q2 || limit < q3))
    {
        return None;
    }
    // The centred 3 × 3 inverse by cofactors; det(XᵀX) = n · det(S).
    let c11 = s_bb * s_pp - s_bp * s_bp;
    let c12 = s_bp * s_ap - s_ab * s_pp;
    let c13 = s_ab * s_bp - s_bb * s_ap;
    let c22 = s_aa * s_pp - s_ap * s_ap;
    let c23 = s_ab * s_ap - s_aa * s_bp;
    let c33 = s_aa * s_bb - s_ab * s_ab;
    let det_s = s_aa * c11 + s_ab * c12 + s_ap * c13;
    if (n * det_s).abs() < EPSILON {
        return None;
    }
    let d = 1.0 / det_s;
    let inv = [
        [c11 * d, c12 * d, c13 * d],
        [c12 * d, c22 * d, c23 * d],
        [c13 * d, c23 * d, c33 * d],
    ];
    let mean = [s.a / n, s.b / n, s.ab / n];
    // The intercept's row of (XᵀX)⁻¹.
    let mut inv0 = [0.0; 3];
    for (k, v) in inv0.iter_mut().enumerate() {
        *v = -(inv[k][0] * mean[0] + inv[k][1] * mean[1] + inv[k][2] * mean[2]);
    }
    let inv00 = 1.0 / n - (inv0[0] * mean[0] + inv0[1] * mean[1] + inv0[2] * mean[2]);
    // PLINK's check on the inverse: no two estimates correlated above 0.99999
    // (compared squared, positive covariances only).
    const COR_MAX_SQ: f64 = 0.99999 * 0.99999;
    let diag = [inv00, inv[0][0], inv[1][1], inv[2][2]];
    let too_close = |v: f64, a: f64, b: f64| v > 0.0 && v * v > COR_MAX_SQ * a * b;
    for k in 0..3 {
        if too_close(inv0[k], diag[k + 1], diag[0]) {
            return None;
        }
        for l in 0..k {
            if too_close(inv[k][l], diag[k + 1], diag[l + 1]) {
                return None;
            }
        }
    }
    let max_diag = inv[0][0].max(inv[1][1]).max(inv[2][2]);
    let xy = [
        s.ay - s.a * s.y / n,
        s.by - s.b * s.y / n,
        s.aby - s.ab * s.y / n,
    ];
    let mut c = [0.0; 3];
    for (k, ck) in c.iter_mut().enumerate() {
        *ck = inv[k][0] * xy[0] + inv[k][1] * xy[1] + inv[k][2] * xy[2];
    }
    let s_yy = s.yy - s.y * s.y / n;
    let rss = s_yy - (c[0] * xy[0] + c[1] * xy[1] + c[2] * xy[2]);
    // σ² = rss / (n − 4) below PLINK's floor 1e-20 / max diagonal: degenerate.
    if rss * max_diag < 1e-20 * (n - 4.0) {
        return None;
    }
    let beta = c[2];
    Some((beta, beta * beta * (n - 4.0) / (inv[2][2] * rss)))
}

/// The inverse of a symmetric 4 × 4 matrix by cofactors, or `None` when its
/// determinant is below PLINK's tolerance (the tests' direct route).
#[cfg(test)]
fn invert_symmetric_4x4(m: &[[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    // The three rows (or columns) left when one is struck out.
    const REST: [[usize; 3]; 4] = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];
    let minor = |skip_r: usize, skip_c: usize| -> f64 {
        let (r, c) = (REST[skip_r], REST[skip_c]);
        let e = |i: usize, j: usize| m[r[i]][c[j]];
        e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1))
            - e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0))
            + e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0))
    };
    let mut cof = [[0.0; 4]; 4];
    for (r, row) in cof.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let sign = if (r + c) % 2 == 0 { 1.0 } else { -1.0 };
            *v = sign * minor(r, c);
        }
    }
    let det: f64 = (0..4).map(|c| m[0][c] * cof[0][c]).sum();
    if det.abs() < EPSILON {
        return None;
    }
    let mut inv = [[0.0; 4]; 4];
    for (r, row) in inv.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            // adj = cofᵀ; symmetric input keeps it symmetric.
            *v = cof[c][r] / det;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct least squares on the rows, for checking the sums route.
    fn direct(a: &[f64], b: &[f64], y: &[f64]) -> (f64, f64) {
        let n = y.len() as f64;
        let rows: Vec<[f64; 4]> = a.iter().zip(b).map(|(&a, &b)| [1.0, a, b, a * b]).collect();
        let mut xtx = [[0.0; 4]; 4];
        let mut xty = [0.0; 4];
        for (r, &yv) in rows.iter().zip(y) {
            for p in 0..4 {
                xty[p] += r[p] * yv;
                for q in 0..4 {
                    xtx[p][q] += r[p] * r[q];
                }
            }
        }
        let inv = invert_symmetric_4x4(&xtx).expect("invertible");
        let c: Vec<f64> = (0..4)
            .map(|p| (0..4).map(|q| inv[p][q] * xty[q]).sum())
            .collect();
        let rss: f64 = rows
            .iter()
            .zip(y)
            .map(|(r, &yv)| {
                let fit: f64 = (0..4).map(|p| r[p] * c[p]).sum();
                (yv - fit).powi(2)
            })
            .sum();
        let sigma = rss / (n - 4.0);
        (c[3], c[3] * c[3] / (inv[3][3] * sigma))
    }

    #[test]
    fn sums_route_equals_direct_least_squares() {
        let a: Vec<f64> = (0..40).map(|i| ((i * 7) % 3) as f64).collect();
        let b: Vec<f64> = (0..40).map(|i| ((i * 5 + i / 3) % 3) as f64).collect();
        let y: Vec<f64> = (0..40)
            .map(|i| (i as f64 * 0.37).sin() + 0.5 * a[i] * b[i])
            .collect();
        let s = PairSums {
            n: 40.0,
            a: a.iter().sum(),
            aa: a.iter().map(|v| v * v).sum(),
            b: b.iter().sum(),
            bb: b.iter().map(|v| v * v).sum(),
            y: y.iter().sum(),
            yy: y.iter().map(|v| v * v).sum(),
            ay: a.iter().zip(&y).map(|(a, y)| a * y).sum(),
            by: b.iter().zip(&y).map(|(b, y)| b * y).sum(),
            ab: a.iter().zip(&b).map(|(a, b)| a * b).sum(),
            aab: a.iter().zip(&b).map(|(a, b)| a * a * b).sum(),
            abb: a.iter().zip(&b).map(|(a, b)| a * b * b).sum(),
            aabb: a.iter().zip(&b).map(|(a, b)| a * a * b * b).sum(),
            aby: (0..40).map(|i| a[i] * b[i] * y[i]).sum(),
        };
        let (beta, chisq) = interaction_test(&s, 50.0).expect("valid pair");
        let (beta_d, chisq_d) = direct(&a, &b, &y);
        assert!((beta - beta_d).abs() < 1e-9 * beta_d.abs().max(1.0));
        assert!((chisq - chisq_d).abs() < 1e-7 * chisq_d.max(1.0));
        assert!(chisq > 3.0, "a planted interaction is detected: {chisq}");
    }

    #[test]
    fn collinear_pair_fails() {
        // B = A: A·B = A², the design is (nearly) collinear.
        let a: Vec<f64> = (0..30).map(|i| (i % 3) as f64).collect();
        let y: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let s = PairSums {
            n: 30.0,
            a: a.iter().sum(),
            aa: a.iter().map(|v| v * v).sum(),
            b: a.iter().sum(),
            bb: a.iter().map(|v| v * v).sum(),
            y: y.iter().sum(),
            yy: y.iter().map(|v| v * v).sum(),
            ay: a.iter().zip(&y).map(|(a, y)| a * y).sum(),
            by: a.iter().zip(&y).map(|(a, y)| a * y).sum(),
            ab: a.iter().map(|v| v * v).sum(),
            aab: a.iter().map(|v| v * v * v).sum(),
            abb: a.iter().map(|v| v * v * v).sum(),
            aabb: a.iter().map(|v| v.powi(4)).sum(),
            aby: a.iter().zip(&y).map(|(a, y)| a * a * y).sum(),
        };
        assert!(interaction_test(&s, 50.0).is_none());
    }

    #[test]
    fn thresholds_invert_the_normal_tail() {
        let t = chisq_threshold(0.05);
        assert!((t - 3.841_458_820_694_124).abs() < 1e-9, "{t}");
        assert_eq!(chisq_threshold(1.0), 0.0);
    }
}
