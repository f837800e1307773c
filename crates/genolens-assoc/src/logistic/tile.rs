//! Newton–Raphson for a tile of variants in lockstep.
//!
//! Each variant's information matrix `ZᵀVZ` has a covariate block `XᵀVX` that
//! changes with the variant's fit, so it cannot be shared; but with the per-sample
//! products `x_a·x_b` laid out once as an `n × p(p+1)/2` matrix, the covariate
//! blocks of a whole tile are one GEMM against the tile's weights, and the
//! genotype row and the scores are another. The first iteration, at the
//! covariates-only fit, shares its weights across variants and needs no `exp` at
//! all: it is Rao's score test, which is why the score-test screen comes free.
//!
//! The stopping rules are PLINK 2.00a3's (as in [`super::fit::logistic_fit`]);
//! a variant that fails them, or hits the iteration limit, is handed back to be
//! refitted one at a time from PLINK 2's start at zero, so that failures and the
//! Firth fallback are decided on PLINK 2's path.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::fit::backward;
use crate::linear::{cholesky_by, forward};

/// Variants fitted together: wide enough for the GEMMs to run near peak, narrow
/// enough that the work matrices (a few `n × TILE`) stay small.
pub(super) const TILE: usize = 64;

/// A converging step (L1 norm) below which the information before the step
/// stands for the information at the estimate.
const SETTLE_STEP: f64 = 1e-7;

/// One phenotype's covariates-only fit, laid out for tiles.
pub(super) struct NullFit {
    /// Predictors (intercept, standardised covariates) of the samples used,
    /// column-major `n × p`.
    pub(super) x: Vec<f64>,
    /// Outcomes, 0 or 1.
    pub(super) y: Vec<f64>,
    pub(super) n: usize,
    pub(super) p: usize,
    /// `x_a·x_b` for `a ≤ b`, column-major `n × p(p+1)/2`.
    outer: Vec<f64>,
    /// The fitted coefficients.
    pub(super) beta: Vec<f64>,
    /// At the fit: weights `μ(1 − μ)`, residuals `y − μ`, the information
    /// (row-major `p × p`) and the score `Xᵀ(y − μ)` (zero up to the tolerance).
    w0: Vec<f64>,
    r0: Vec<f64>,
    info0: Vec<f64>,
    score0: Vec<f64>,
}

/// `e^x` without a libm call, so that loops over it vectorise: Cody–Waite
/// reduction `x = n ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-12 Taylor polynomial
/// for `e^r` (truncation error below 2e-16 relative), and `2^n` added to the
/// exponent bits. Arguments are clamped to ±708, where the logistic function is 0
/// or 1 to double precision anyway.
#[inline(always)]
fn exp_fast(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that n·LN2_HI is exact for |n| < 2¹¹.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    // Adding 1.5·2⁵² rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 708.0);
    let t = x * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Horner form of Σ r^k / k!, k = 0..=12.
    let mut p = 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n sits in the low bits of t (two's complement): shift it into the exponent.
    f64::from_bits(p.to_bits().wrapping_add(t.to_bits() << 52))
}

/// For one variant's linear predictor `eta + bg·g`: weights `μ(1 − μ)`, their
/// product with the genotype, and residuals `y − μ`. Dispatched to the widest SIMD
/// the CPU has; `exp` is the scan's hottest instruction.
fn weights(
    eta: &[f64],
    g: &[f64],
    bg: f64,
    y: &[f64],
    w: &mut [f64],
    wg: &mut [f64],
    r: &mut [f64],
) {
    pulp::Arch::new().dispatch(Weights {
        eta,
        g,
        bg,
        y,
        w,
        wg,
        r,
    });
}

/// [`weights`]' loop, compiled once per instruction set by `pulp`.
struct Weights<'a> {
    eta: &'a [f64],
    g: &'a [f64],
    bg: f64,
    y: &'a [f64],
    w: &'a mut [f64],
    wg: &'a mut [f64],
    r: &'a mut [f64],
}

impl pulp::WithSimd for Weights<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let bg = self.bg;
        for (((((&e, &g), &y), w), wg), r) in self
            .eta
            .iter()
            .zip(self.g)
            .zip(self.y)
            .zip(self.w.iter_mut())
            .zip(self.wg.iter_mut())
            .zip(self.r.iter_mut())
        {
            let m = 1.0 / (1.0 + exp_fast(-(e + bg * g)));
            let wi = m * (1.0 - m);
            *w = wi;
            *wg = wi * g;
            *r = y - m;
        }
    }
}

/// The logistic function, `1 / (1 + e^−x)`.
#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl NullFit {
    /// Lays out the fit `beta` of `y` on `x` (column-major `n × p`).
    pub(super) fn new(x: Vec<f64>, y: Vec<f64>, beta: Vec<f64>) -> Self {
        let n = y.len();
        let p = beta.len();
        let col = |a: usize| &x[a * n..(a + 1) * n];
        let mut outer = Vec::with_capacity(n * p * (p + 1) / 2);
        for a in 0..p {
            for b in a..p {
                outer.extend(col(a).iter().zip(col(b)).map(|(u, v)| u * v));
            }
        }
        let mut eta = vec![0.0f64; n];
        for (a, &b) in beta.iter().enumerate() {
            for (e, v) in eta.iter_mut().zip(col(a)) {
                *e += b * v;
            }
        }
        let mu: Vec<f64> = eta.iter().map(|&e| sigmoid(e)).collect();
        let w0: Vec<f64> = mu.iter().map(|m| m * (1.0 - m)).collect();
        let r0: Vec<f64> = y.iter().zip(&mu).map(|(y, m)| y - m).collect();
        let mut info0 = vec![0.0f64; p * p];
        for a in 0..p {
            for b in 0..=a {
                let s: f64 = (0..n).map(|i| w0[i] * col(a)[i] * col(b)[i]).sum();
                info0[a * p + b] = s;
                info0[b * p + a] = s;
            }
        }
        let score0 = (0..p)
            .map(|a| col(a).iter().zip(&r0).map(|(v, r)| v * r).sum())
            .collect();
        Self {
            x,
            y,
            n,
            p,
            outer,
            beta,
            w0,
            r0,
            info0,
            score0,
        }
    }

    fn x_ref(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.x, self.n, self.p)
    }

    /// Row `i` of the predictors.
    fn x_row(&self, i: usize, out: &mut [f64]) {
        for (a, o) in out.iter_mut().enumerate() {
            *o = self.x[a * self.n + i];
        }
    }
}

/// What the tile made of one variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TileFit {
    /// The genotype's coefficient and its variance (the inverse information's
    /// last diagonal entry), at the estimate — or, for the score test, the
    /// one-step estimate and the variance at the covariates-only fit.
    Done { beta: f64, var: f64 },
    /// Refit one at a time (failed PLINK 2's rules, or hit the iteration limit).
    Retry,
}

/// Where one variant's iteration stands.
#[derive(Clone)]
enum Phase {
    /// Taking Newton steps.
    Stepping,
    /// Converged; the information at the estimate is still to come.
    AtEstimate,
    /// Finished.
    Settled(TileFit),
}

struct Column {
    beta: Vec<f64>,
    min_delta: f64,
    phase: Phase,
}

/// Work buffers for one tile, reused across tiles of a block.
pub(super) struct TileBuffers {
    g: Vec<f64>,
    eta: Vec<f64>,
    w: Vec<f64>,
    wgr: Vec<f64>,
    bx: Vec<f64>,
    xx: Vec<f64>,
    xwgr: Vec<f64>,
}

impl TileBuffers {
    pub(super) fn new(null: &NullFit) -> Self {
        let (n, p) = (null.n, null.p);
        let q = p * (p + 1) / 2;
        Self {
            g: vec![0.0; n * TILE],
            eta: vec![0.0; n * TILE],
            w: vec![0.0; n * TILE],
            wgr: vec![0.0; n * 2 * TILE],
            bx: vec![0.0; p * TILE],
            xx: vec![0.0; q * TILE],
            xwgr: vec![0.0; p * 2 * TILE],
        }
    }
}

/// Fits up to [`TILE`] variants: `genotypes[t]` is variant `t`'s column over the
/// null fit's samples (0 where missing) and `missing[t]` its missing samples,
/// ascending. With `score_only`, stops after the first step (the score test).
pub(super) fn newton_tile(
    null: &NullFit,
    genotypes: &[&[f64]],
    missing: &[&[u32]],
    score_only: bool,
    buf: &mut TileBuffers,
) -> Vec<TileFit> {
    let (n, p) = (null.n, null.p);
    let k = p + 1;
    let c = genotypes.len();
    debug_assert!(c <= TILE);
    let mut columns: Vec<Column> = (0..c)
        .map(|_| {
            let mut beta = null.beta.clone();
            beta.push(0.0);
            Column {
                beta,
                min_delta: f64::INFINITY,
                phase: Phase::Stepping,
            }
        })
        .collect();
    let mut info = vec![0.0f64; k * k];
    let mut score = vec![0.0f64; k];
    let mut row = vec![0.0f64; p];

    // Iteration 0, at the covariates-only fit: the weights are the null fit's
    // for every variant, so only the genotype's row of the information is new.
    {
        let wg = &mut buf.w[..n * c];
        for (t, g) in genotypes.iter().enumerate() {
            for ((o, g), w) in wg[t * n..(t + 1) * n].iter_mut().zip(*g).zip(&null.w0) {
                *o = g * w;
            }
        }
        let xwg = &mut buf.xwgr[..p * c];
        matmul(
            MatMut::from_column_major_slice_mut(xwg, p, c),
            Accum::Replace,
            null.x_ref().transpose(),
            MatRef::from_column_major_slice(wg, n, c),
            1.0,
            Par::Seq,
        );
        for t in 0..c {
            let g = genotypes[t];
            let gg: f64 = wg[t * n..(t + 1) * n]
                .iter()
                .zip(g)
                .map(|(a, b)| a * b)
                .sum();
            let sg: f64 = g.iter().zip(&null.r0).map(|(a, b)| a * b).sum();
            info[..].fill(0.0);
            for a in 0..p {
                info[a * k..a * k + p].copy_from_slice(&null.info0[a * p..(a + 1) * p]);
            }
            score[..p].copy_from_slice(&null.score0);
            // The null fit's sums run over every sample: take out this variant's
            // missing ones.
            for &i in missing[t] {
                let i = i as usize;
                null.x_row(i, &mut row);
                let (w, r) = (null.w0[i], null.r0[i]);
                for a in 0..p {
                    score[a] -= row[a] * r;
                    for b in 0..p {
                        info[a * k + b] -= w * row[a] * row[b];
                    }
                }
            }
            fill_genotype_row(&mut info, k, &xwg[t * p..(t + 1) * p], gg);
            score[p] = sg;
            columns[t].phase = step(&mut columns[t], &info, &score, k, 0, score_only);
        }
    }
    if score_only {
        return settle(columns);
    }

    let q = p * (p + 1) / 2;
    for iteration in 1..16 {
        let active: Vec<usize> = (0..c)
            .filter(|&t| !matches!(columns[t].phase, Phase::Settled(_)))
            .collect();
        let a = active.len();
        if a == 0 {
            break;
        }
        // η = X βₓ + g β_g for the active variants.
        for (s, &t) in active.iter().enumerate() {
            buf.g[s * n..(s + 1) * n].copy_from_slice(genotypes[t]);
            buf.bx[s * p..(s + 1) * p].copy_from_slice(&columns[t].beta[..p]);
        }
        matmul(
            MatMut::from_column_major_slice_mut(&mut buf.eta[..n * a], n, a),
            Accum::Replace,
            null.x_ref(),
            MatRef::from_column_major_slice(&buf.bx[..p * a], p, a),
            1.0,
            Par::Seq,
        );
        let mut gg = vec![0.0f64; a];
        let mut sg = vec![0.0f64; a];
        {
            let (wg_part, r_part) = buf.wgr[..2 * n * a].split_at_mut(n * a);
            for (s, &t) in active.iter().enumerate() {
                let bg = columns[t].beta[p];
                let range = s * n..(s + 1) * n;
                let g = &buf.g[range.clone()];
                let eta = &buf.eta[range.clone()];
                let w = &mut buf.w[range.clone()];
                let wg = &mut wg_part[range.clone()];
                let r = &mut r_part[range];
                weights(eta, g, bg, &null.y, w, wg, r);
                for &i in missing[t] {
                    let i = i as usize;
                    w[i] = 0.0;
                    wg[i] = 0.0;
                    r[i] = 0.0;
                }
                gg[s] = wg.iter().zip(g).map(|(u, v)| u * v).sum();
                sg[s] = r.iter().zip(g).map(|(u, v)| u * v).sum();
            }
        }
        // Covariate blocks (packed), then the genotype rows and the scores.
        matmul(
            MatMut::from_column_major_slice_mut(&mut buf.xx[..q * a], q, a),
            Accum::Replace,
            MatRef::from_column_major_slice(&null.outer, n, q).transpose(),
            MatRef::from_column_major_slice(&buf.w[..n * a], n, a),
            1.0,
            Par::Seq,
        );
        matmul(
            MatMut::from_column_major_slice_mut(&mut buf.xwgr[..p * 2 * a], p, 2 * a),
            Accum::Replace,
            null.x_ref().transpose(),
            MatRef::from_column_major_slice(&buf.wgr[..n * 2 * a], n, 2 * a),
            1.0,
            Par::Seq,
        );
        for (s, &t) in active.iter().enumerate() {
            let packed = &buf.xx[s * q..(s + 1) * q];
            let mut at = 0;
            for u in 0..p {
                for v in u..p {
                    info[u * k + v] = packed[at];
                    info[v * k + u] = packed[at];
                    at += 1;
                }
            }
            fill_genotype_row(&mut info, k, &buf.xwgr[s * p..(s + 1) * p], gg[s]);
            score[..p].copy_from_slice(&buf.xwgr[(a + s) * p..(a + s + 1) * p]);
            score[p] = sg[s];
            columns[t].phase = step(&mut columns[t], &info, &score, k, iteration, false);
        }
    }
    settle(columns)
}

/// The genotype's row and column of the information.
fn fill_genotype_row(info: &mut [f64], k: usize, xg: &[f64], gg: f64) {
    let p = k - 1;
    for (a, &v) in xg.iter().enumerate() {
        info[p * k + a] = v;
        info[a * k + p] = v;
    }
    info[p * k + p] = gg;
}

fn settle(columns: Vec<Column>) -> Vec<TileFit> {
    columns
        .into_iter()
        .map(|c| match c.phase {
            Phase::Settled(f) => f,
            // Ran out of iterations without settling: cannot happen under the
            // rules below, but the one-at-a-time path is always safe.
            _ => TileFit::Retry,
        })
        .collect()
}

/// One Newton step for a variant with its information and score at the current
/// coefficients, under PLINK 2.00a3's rules (see [`super::fit::logistic_fit`]).
fn step(
    column: &mut Column,
    info: &[f64],
    score: &[f64],
    k: usize,
    iteration: usize,
    score_only: bool,
) -> Phase {
    let Some(l) = cholesky_by(k, |i, j| info[i * k + j]) else {
        return Phase::Settled(TileFit::Retry);
    };
    // (I⁻¹)_kk = 1 / L_kk² for the last coordinate.
    let var_last = 1.0 / (l[k * k - 1] * l[k * k - 1]);
    if matches!(column.phase, Phase::AtEstimate) {
        return Phase::Settled(TileFit::Done {
            beta: column.beta[k - 1],
            var: var_last,
        });
    }
    let mut d = score.to_vec();
    forward(&l, k, &mut d);
    backward(&l, k, &mut d);
    if score_only {
        return Phase::Settled(TileFit::Done {
            beta: d[k - 1],
            var: var_last,
        });
    }
    for (b, di) in column.beta.iter_mut().zip(&d) {
        *b += di;
    }
    let delta: f64 = d.iter().map(|x| x.abs()).sum();
    if delta.is_nan() {
        return Phase::Settled(TileFit::Retry);
    }
    // The iteration limit (past 13): PLINK 2 reports such fits as unfinished,
    // and decides that on its own path.
    if iteration > 3
        && ((delta > 20.0 && delta > 2.0 * column.min_delta)
            || (iteration > 6 && (1.0 - delta).abs() < 1e-3)
            || iteration > 13)
    {
        return Phase::Settled(TileFit::Retry);
    }
    if delta < 1e-4 {
        if column.beta.iter().any(|b| b.abs() > 6e4) {
            return Phase::Settled(TileFit::Retry);
        }
        // The variance belongs at the estimate. After a step this small the
        // information just computed is the estimate's to ~1e-7 relative, far
        // below the 6 digits printed; otherwise evaluate once more there.
        if delta < SETTLE_STEP {
            return Phase::Settled(TileFit::Done {
                beta: column.beta[k - 1],
                var: var_last,
            });
        }
        return Phase::AtEstimate;
    }
    column.min_delta = column.min_delta.min(delta);
    Phase::Stepping
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_fast_matches_libm_to_a_few_ulps() {
        let mut worst = 0.0f64;
        let mut x = -700.0f64;
        while x < 700.0 {
            let (a, b) = (exp_fast(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.013_7;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        // Clamped far out: the logistic function is 0 or 1 there.
        assert!(exp_fast(-1000.0) < 1e-300);
        assert!(exp_fast(1000.0) > 1e300 && exp_fast(1000.0).is_finite());
    }

    #[test]
    fn weights_are_the_logistic_pieces() {
        let eta = [-3.0, -0.5, 0.0, 0.7, 12.0];
        let g = [0.0, 1.0, 2.0, 1.0, 2.0];
        let y = [0.0, 1.0, 1.0, 0.0, 1.0];
        let (mut w, mut wg, mut r) = ([0.0; 5], [0.0; 5], [0.0; 5]);
        weights(&eta, &g, 0.25, &y, &mut w, &mut wg, &mut r);
        for i in 0..5 {
            let m = sigmoid(eta[i] + 0.25 * g[i]);
            assert!((w[i] - m * (1.0 - m)).abs() < 1e-16);
            assert!((wg[i] - m * (1.0 - m) * g[i]).abs() < 1e-16);
            assert!((r[i] - (y[i] - m)).abs() < 1e-15);
        }
    }
}

#[cfg(test)]
mod score_and_newton_tests {
    use super::super::fit::{logistic_fit, Problem};
    use super::*;

    /// A small case/control problem from a fixed linear congruential stream:
    /// intercept + 2 covariates, and 5 variants (one with missing calls).
    /// Predictors (column-major), outcomes, genotype columns, missing rows.
    type Fixture = (Vec<f64>, Vec<f64>, Vec<Vec<f64>>, Vec<Vec<u32>>);

    fn problem() -> Fixture {
        let n = 400;
        let mut state = 12345u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = vec![1.0; n];
        let c1: Vec<f64> = (0..n).map(|_| uniform() * 2.0 - 1.0).collect();
        let c2: Vec<f64> = (0..n).map(|_| uniform() * 2.0 - 1.0).collect();
        x.extend(&c1);
        x.extend(&c2);
        let genotypes: Vec<Vec<f64>> = (0..5)
            .map(|v| {
                let f = 0.1 + 0.08 * v as f64;
                (0..n)
                    .map(|_| f64::from(u8::from(uniform() < f) + u8::from(uniform() < f)))
                    .collect()
            })
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let eta = -0.8 + 0.7 * c1[i] - 0.4 * c2[i] + 0.5 * genotypes[2][i];
                f64::from(u8::from(uniform() < 1.0 / (1.0 + (-eta).exp())))
            })
            .collect();
        let mut missing = vec![Vec::new(); 5];
        missing[3] = vec![7, 50, 51, 399];
        let mut genotypes = genotypes;
        for &i in &missing[3] {
            genotypes[3][i as usize] = 0.0;
        }
        (x, y, genotypes, missing)
    }

    fn loglik(x: &[f64], y: &[f64], g: &[f64], missing: &[u32], beta: &[f64]) -> f64 {
        let n = y.len();
        let p = beta.len() - 1;
        (0..n)
            .filter(|i| !missing.contains(&(*i as u32)))
            .map(|i| {
                let eta: f64 = (0..p).map(|a| beta[a] * x[a * n + i]).sum::<f64>() + beta[p] * g[i];
                if y[i] > 0.5 {
                    -(-eta).exp().ln_1p()
                } else {
                    -eta.exp().ln_1p()
                }
            })
            .sum()
    }

    fn null_fit() -> (NullFit, Vec<Vec<f64>>, Vec<Vec<u32>>) {
        let (x, y, genotypes, missing) = problem();
        let fit = logistic_fit(&Problem::new(&x, 3, &y, None, &[]), &[0.0; 3]).expect("null fit");
        (NullFit::new(x, y, fit.beta), genotypes, missing)
    }

    /// The score test against the log-likelihood's own derivatives, taken by
    /// central differences at the covariates-only fit.
    #[test]
    fn score_test_is_the_efficient_score_of_the_likelihood() {
        let (null, genotypes, _) = null_fit();
        let cols: Vec<&[f64]> = genotypes.iter().map(Vec::as_slice).collect();
        let none: Vec<&[u32]> = vec![&[]; 5];
        let mut buf = TileBuffers::new(&null);
        // Variants without missing calls (the score is exact there).
        let fits = newton_tile(&null, &cols, &none, true, &mut buf);
        for (v, fit) in fits.iter().enumerate().filter(|(v, _)| *v != 3) {
            let g = &genotypes[v];
            let mut at = null.beta.clone();
            at.push(0.0);
            let ll = |b: &[f64]| loglik(&null.x, &null.y, g, &[], b);
            let h = 1e-4;
            let k = 4;
            let shifted = |b: &[f64], a: usize, d: f64| {
                let mut c = b.to_vec();
                c[a] += d;
                c
            };
            let score = (ll(&shifted(&at, 3, h)) - ll(&shifted(&at, 3, -h))) / (2.0 * h);
            let mut info = vec![0.0f64; k * k];
            for a in 0..k {
                for b in 0..k {
                    let f = |da: f64, db: f64| ll(&shifted(&shifted(&at, a, da), b, db));
                    info[a * k + b] = -(f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4.0 * h * h);
                }
            }
            // Efficient information: I_gg − I_gX I_XX⁻¹ I_Xg, via the inverse's
            // last diagonal entry.
            let l = cholesky_by(k, |i, j| info[i * k + j]).expect("positive definite");
            let i_eff = l[k * k - 1] * l[k * k - 1];
            let TileFit::Done { beta, var } = *fit else {
                panic!("variant {v} not tested")
            };
            assert!(
                (var * i_eff - 1.0).abs() < 1e-5,
                "variant {v}: var {var} vs 1/{i_eff}"
            );
            assert!(
                (beta - score / i_eff).abs() < 1e-5 * (1.0 + beta.abs()),
                "variant {v}"
            );
        }
        // The causal variant stands out.
        let z = |f: &TileFit| match f {
            TileFit::Done { beta, var } => beta / var.sqrt(),
            TileFit::Retry => f64::NAN,
        };
        assert!(z(&fits[2]).abs() > 3.0, "causal z {}", z(&fits[2]));
    }

    /// The tile's Newton–Raphson lands where the one-at-a-time fit from zero
    /// (PLINK 2's path) does, missing calls included.
    #[test]
    fn tile_fits_equal_single_fits() {
        let (null, genotypes, missing) = null_fit();
        let cols: Vec<&[f64]> = genotypes.iter().map(Vec::as_slice).collect();
        let miss: Vec<&[u32]> = missing.iter().map(Vec::as_slice).collect();
        let mut buf = TileBuffers::new(&null);
        let fits = newton_tile(&null, &cols, &miss, false, &mut buf);
        for (v, fit) in fits.iter().enumerate() {
            let single = logistic_fit(
                &Problem::new(&null.x, 3, &null.y, Some(&genotypes[v]), &missing[v]),
                &[0.0; 4],
            )
            .expect("converges");
            let TileFit::Done { beta, var } = *fit else {
                panic!("variant {v} handed back")
            };
            assert!(
                (beta - single.beta[3]).abs() < 1e-6,
                "variant {v}: {beta} vs {}",
                single.beta[3]
            );
            assert!((var / single.var_last - 1.0).abs() < 1e-5, "variant {v}");
        }
    }
}
