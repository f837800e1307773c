//! The exact linear mixed model of GEMMA (Zhou & Stephens 2012):
//! `y = Wα + xβ + u + ε`, `u ~ N(0, λτ⁻¹K)`, `ε ~ N(0, τ⁻¹I)`.
//!
//! One eigendecomposition `K = U D Uᵀ` turns every likelihood into sums over
//! samples weighted by `1/(λ d_i + 1)`. The variance ratio λ is found as GEMMA
//! finds it: the sign of the likelihood's derivative is scanned over ten
//! log-spaced regions of `[1e-5, 1e5]`, every sign change is solved (Brent's
//! method here, to full precision; GEMMA polishes with Newton to 1e-5), and the
//! best of those roots and the two ends wins. The quadratic forms after
//! projecting out the covariates come from GEMMA's recursion (`Pab`, `PPab`,
//! `PPPab`), so each likelihood or derivative costs `O(n · c²)`.
//!
//! Per variant, as `gemma -lmm 1..4`: the Wald test re-estimates λ by REML
//! with the variant in the model, the likelihood-ratio test by ML, and the
//! score test uses the null model's ML λ.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Side};

use crate::error::{Error, Result};
use crate::stats::{ln_normal_two_sided, ln_t_two_sided};

/// GEMMA's floor on `yᵀPy` against round-off.
const P_YY_MIN: f64 = 1e-8;

/// Which per-variant tests to run (`gemma -lmm 1`, `2`, `3`, `4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LmmTests {
    /// The Wald test with λ re-estimated by REML (`-lmm 1`).
    #[default]
    Wald,
    /// The likelihood-ratio test with λ by ML (`-lmm 2`).
    Lrt,
    /// The score test at the null model's λ (`-lmm 3`).
    Score,
    /// All three (`-lmm 4`).
    All,
}

impl LmmTests {
    fn wald(self) -> bool {
        matches!(self, Self::Wald | Self::All)
    }
    fn lrt(self) -> bool {
        matches!(self, Self::Lrt | Self::All)
    }
    fn score(self) -> bool {
        matches!(self, Self::Score | Self::All)
    }
}

/// The search range of λ, GEMMA's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaSearch {
    /// Lower end (GEMMA `-lmin`, 1e-5).
    pub min: f64,
    /// Upper end (GEMMA `-lmax`, 1e5).
    pub max: f64,
    /// Log-spaced regions scanned for sign changes (GEMMA `-region`, 10).
    pub regions: usize,
}

impl Default for LambdaSearch {
    fn default() -> Self {
        Self {
            min: 1e-5,
            max: 1e5,
            regions: 10,
        }
    }
}

/// The eigendecomposition of a relationship matrix, `K = U diag(d) Uᵀ`, with
/// eigenvalues below 1e-10 set to zero as GEMMA sets them.
#[derive(Debug, Clone)]
pub struct KinshipEigen {
    values: Vec<f64>,
    vectors: Mat<f64>,
}

impl KinshipEigen {
    /// Decomposes the symmetric `n × n` matrix `k` (row-major). A matrix with
    /// a clearly negative eigenvalue (below −1e-5 × the largest) is not a
    /// relationship matrix and is refused.
    pub fn new(k: &[f64], n: usize) -> Result<Self> {
        if n == 0 || k.len() != n * n {
            return Err(Error::Invalid(format!(
                "relationship matrix: {} entries for {n} samples",
                k.len()
            )));
        }
        if k.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid(
                "relationship matrix has entries that are not finite".into(),
            ));
        }
        let m = Mat::from_fn(n, n, |i, j| k[i * n + j]);
        let evd = m.self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Invalid(format!(
                "relationship matrix: eigendecomposition failed: {e:?}"
            ))
        })?;
        let s = evd.S();
        let largest = (0..n).map(|i| s[i]).fold(0.0f64, f64::max);
        let most_negative = (0..n).map(|i| s[i]).fold(0.0f64, f64::min);
        if largest <= 0.0 || most_negative < -1e-5 * largest {
            return Err(Error::Invalid(format!(
                "relationship matrix is not positive semi-definite (eigenvalues from {most_negative:.3e} to {largest:.3e})"
            )));
        }
        let values = (0..n)
            .map(|i| if s[i] < 1e-10 { 0.0 } else { s[i] })
            .collect();
        Ok(Self {
            values,
            vectors: evd.U().to_owned(),
        })
    }

    /// Samples.
    pub fn n(&self) -> usize {
        self.values.len()
    }

    /// The eigenvalues (ascending).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// `Uᵀ X` for the `n × k` column-major block `x` (`k` columns of `n`).
    pub fn rotate(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        self.vectors.transpose() * x
    }
}

/// The fitted null model (covariates only) of one trait.
#[derive(Debug, Clone)]
pub struct NullModel {
    d: Vec<f64>,
    /// `Uᵀw_j` for each covariate, then `Uᵀy`.
    rotated: Vec<Vec<f64>>,
    /// Products of the rotated columns, pair `(a, b)` with `a ≤ b` over
    /// covariates and y (x's pairs are added per variant).
    n_cvt: usize,
    /// REML estimate of λ = σ²g/σ²e.
    pub lambda_remle: f64,
    /// Restricted log-likelihood at `lambda_remle`.
    pub logl_remle: f64,
    /// ML estimate of λ.
    pub lambda_mle: f64,
    /// Log-likelihood at `lambda_mle`.
    pub logl_mle: f64,
    /// Proportion of variance explained by K (GEMMA's PVE, the SNP
    /// heritability when K is the GRM).
    pub pve: f64,
    /// Its standard error (delta method on the REML curvature).
    pub pve_se: f64,
    /// Genetic variance component.
    pub vg: f64,
    /// Residual variance component.
    pub ve: f64,
    /// Covariate effects at `lambda_remle`.
    pub beta: Vec<f64>,
    /// Their standard errors.
    pub beta_se: Vec<f64>,
}

/// One variant's tests; fields a test did not run hold `NaN`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmmTest {
    /// Effect of one more copy of the counted allele.
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// Log-likelihood under the alternative (ML when the LRT ran, REML
    /// otherwise), as GEMMA prints `logl_H1`.
    pub logl_h1: f64,
    /// REML λ with the variant in the model (Wald).
    pub lambda_remle: f64,
    /// ML λ with the variant in the model (LRT).
    pub lambda_mle: f64,
    /// Wald p-value (F with 1 and `n − c − 1` degrees of freedom).
    pub p_wald: f64,
    /// Likelihood-ratio p-value (χ²₁).
    pub p_lrt: f64,
    /// Score p-value.
    pub p_score: f64,
}

/// A set of rotated columns (covariates, optionally x, then y) and their
/// pairwise products, the input of every likelihood evaluation.
struct Problem<'a> {
    d: &'a [f64],
    /// Products of columns `a ≤ b`, in `pair(a, b)` order, sample by sample
    /// (`products[i · pairs + pair(a, b)]`), so the sums over samples run
    /// across pairs in SIMD lanes.
    products: Vec<f64>,
    /// Pairs per sample.
    pairs: usize,
    /// Pairs per sample padded to a multiple of [`LANES`] (zeros).
    stride: usize,
    /// Columns projected out before y: `n_cvt` (null) or `n_cvt + 1`.
    projected: usize,
    /// Columns including y.
    cols: usize,
    /// The quadratic forms with unit weights (`WᵀW` projected), fixed per
    /// problem: the REML likelihood's `ln|WᵀW|` and the collinearity checks.
    unit: Levels,
}

fn pair(a: usize, b: usize, cols: usize) -> usize {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    // Row-major upper triangle.
    a * cols - a * (a + 1) / 2 + b
}

/// Quadratic forms after projecting out columns `0..level`, for every level.
type Levels = Vec<Vec<f64>>;

/// Pairs are padded to a multiple of this, so the sums over samples keep
/// fixed-size accumulators in registers.
const LANES: usize = 8;

/// The weighted sums over samples of every pair's product, compiled for the
/// CPU's vector width: the inner loop of every likelihood evaluation.
struct WeightedSums<'a> {
    products: &'a [f64],
    stride: usize,
    h: &'a [f64],
    one: &'a mut [f64],
    two: Option<&'a mut [f64]>,
}

impl pulp::WithSimd for WeightedSums<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(mut self, _simd: S) {
        for start in (0..self.stride).step_by(LANES) {
            let mut a = [0.0f64; LANES];
            let mut b = [0.0f64; LANES];
            for (row, &w) in self.products.chunks_exact(self.stride).zip(self.h) {
                let lanes = &row[start..start + LANES];
                let w2 = w * w;
                for l in 0..LANES {
                    a[l] += lanes[l] * w;
                    b[l] += lanes[l] * w2;
                }
            }
            self.one[start..start + LANES].copy_from_slice(&a);
            if let Some(two) = self.two.as_deref_mut() {
                two[start..start + LANES].copy_from_slice(&b);
            }
        }
    }
}

impl Problem<'_> {
    fn n(&self) -> usize {
        self.d.len()
    }

    /// `h_i = 1 / (λ d_i + 1)`, the weights of every quadratic form.
    fn weights(&self, lambda: f64) -> Vec<f64> {
        self.d.iter().map(|&d| 1.0 / (lambda * d + 1.0)).collect()
    }

    /// Level 0: `Σ h_i a_i b_i` for every pair.
    fn level0(&self, h: &[f64]) -> Vec<f64> {
        let mut one = vec![0.0; self.stride];
        pulp::Arch::new().dispatch(WeightedSums {
            products: &self.products,
            stride: self.stride,
            h,
            one: &mut one,
            two: None,
        });
        one.truncate(self.pairs);
        one
    }

    /// `Σ h_i a_i b_i` and `Σ h_i² a_i b_i` for every pair, in one pass.
    fn level0_both(&self, h: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let mut one = vec![0.0; self.stride];
        let mut two = vec![0.0; self.stride];
        pulp::Arch::new().dispatch(WeightedSums {
            products: &self.products,
            stride: self.stride,
            h,
            one: &mut one,
            two: Some(&mut two),
        });
        one.truncate(self.pairs);
        two.truncate(self.pairs);
        (one, two)
    }

    /// GEMMA's `CalcPab`.
    fn p(&self, h: &[f64]) -> Levels {
        self.p_from(self.level0(h))
    }

    fn p_from(&self, level0: Vec<f64>) -> Levels {
        let c = self.cols;
        let mut levels = vec![level0];
        for p in 0..self.projected {
            let prev = &levels[p];
            let ww = prev[pair(p, p, c)];
            let mut next = prev.clone();
            for a in p + 1..c {
                for b in a..c {
                    if ww != 0.0 {
                        next[pair(a, b, c)] =
                            prev[pair(a, b, c)] - prev[pair(a, p, c)] * prev[pair(b, p, c)] / ww;
                    }
                }
            }
            levels.push(next);
        }
        levels
    }

    /// GEMMA's `CalcPPab`, from `Σ h_i² a_i b_i`.
    fn pp_from(&self, level0: Vec<f64>, p: &Levels) -> Levels {
        let c = self.cols;
        let mut levels = vec![level0];
        for q in 0..self.projected {
            let prev = &levels[q];
            let ps = &p[q];
            let ww = ps[pair(q, q, c)];
            let mut next = prev.clone();
            for a in q + 1..c {
                for b in a..c {
                    if ww != 0.0 {
                        let (aw, bw) = (ps[pair(a, q, c)], ps[pair(b, q, c)]);
                        let (aw2, bw2, ww2) = (
                            prev[pair(a, q, c)],
                            prev[pair(b, q, c)],
                            prev[pair(q, q, c)],
                        );
                        next[pair(a, b, c)] = prev[pair(a, b, c)] + aw * bw * ww2 / (ww * ww)
                            - (aw * bw2 + bw * aw2) / ww;
                    }
                }
            }
            levels.push(next);
        }
        levels
    }

    /// GEMMA's `CalcPPPab`.
    fn ppp(&self, hhh: &[f64], p: &Levels, pp: &Levels) -> Levels {
        let c = self.cols;
        let mut levels = vec![self.level0(hhh)];
        for q in 0..self.projected {
            let prev = &levels[q];
            let (ps, ps2) = (&p[q], &pp[q]);
            let ww = ps[pair(q, q, c)];
            let mut next = prev.clone();
            for a in q + 1..c {
                for b in a..c {
                    if ww != 0.0 {
                        let (aw, bw) = (ps[pair(a, q, c)], ps[pair(b, q, c)]);
                        let (aw2, bw2, ww2) =
                            (ps2[pair(a, q, c)], ps2[pair(b, q, c)], ps2[pair(q, q, c)]);
                        let (aw3, bw3, ww3) = (
                            prev[pair(a, q, c)],
                            prev[pair(b, q, c)],
                            prev[pair(q, q, c)],
                        );
                        let mut v = prev[pair(a, b, c)] - aw * bw * ww2 * ww2 / (ww * ww * ww);
                        v -= (aw * bw3 + bw * aw3 + aw2 * bw2) / ww;
                        v += (aw * bw2 * ww2 + bw * aw2 * ww2 + aw * bw * ww3) / (ww * ww);
                        next[pair(a, b, c)] = v;
                    }
                }
            }
            levels.push(next);
        }
        levels
    }

    fn yy(&self) -> usize {
        pair(self.cols - 1, self.cols - 1, self.cols)
    }

    fn p_yy(&self, p: &Levels) -> f64 {
        let v = p[self.projected][self.yy()];
        if (0.0..P_YY_MIN).contains(&v) {
            P_YY_MIN
        } else {
            v
        }
    }

    fn df(&self) -> f64 {
        (self.n() - self.projected) as f64
    }

    /// Log-likelihood (`reml = false`) or restricted log-likelihood.
    fn logl(&self, lambda: f64, reml: bool) -> f64 {
        let n = self.n() as f64;
        let logdet_h: f64 = self.d.iter().map(|&d| (lambda * d + 1.0).abs().ln()).sum();
        let h = self.weights(lambda);
        let p = self.p(&h);
        let p_yy = self.p_yy(&p);
        if !reml {
            let c = 0.5 * n * (n.ln() - (2.0 * std::f64::consts::PI).ln() - 1.0);
            return c - 0.5 * logdet_h - 0.5 * n * p_yy.ln();
        }
        let logdet_hiw: f64 = p
            .iter()
            .zip(&self.unit)
            .take(self.projected)
            .enumerate()
            .map(|(i, (level, unit))| {
                let k = pair(i, i, self.cols);
                level[k].ln() - unit[k].ln()
            })
            .sum();
        let df = self.df();
        let c = 0.5 * df * (df.ln() - (2.0 * std::f64::consts::PI).ln() - 1.0);
        c - 0.5 * logdet_h - 0.5 * logdet_hiw - 0.5 * df * p_yy.ln()
    }

    /// First and second derivatives in λ of [`logl`](Self::logl).
    fn derivatives(&self, lambda: f64, reml: bool, second: bool) -> (f64, f64) {
        let n = self.n() as f64;
        let h = self.weights(lambda);
        let hh: Vec<f64> = h.iter().map(|x| x * x).collect();
        let trace_hi: f64 = h.iter().sum();
        let trace_hihi: f64 = hh.iter().sum();
        let (l1, l2) = self.level0_both(&h);
        let p = self.p_from(l1);
        let pp = self.pp_from(l2, &p);
        let ppp = if second {
            let hhh: Vec<f64> = hh.iter().zip(&h).map(|(a, b)| a * b).collect();
            Some(self.ppp(&hhh, &p, &pp))
        } else {
            None
        };
        let yy = self.yy();
        let level = self.projected;
        let p_yy = p[level][yy];
        let pp_yy = pp[level][yy];
        let ypkpy = (p_yy - pp_yy) / lambda;
        let (df, trace_pk, trace_pkpk) = if reml {
            let df = self.df();
            let mut trace_p = trace_hi;
            let mut trace_pp = trace_hihi;
            for i in 0..self.projected {
                let k = pair(i, i, self.cols);
                let (ps, ps2) = (p[i][k], pp[i][k]);
                trace_p -= ps2 / ps;
                if let Some(ppp) = &ppp {
                    trace_pp += ps2 * ps2 / (ps * ps) - 2.0 * ppp[i][k] / ps;
                }
            }
            (
                df,
                (df - trace_p) / lambda,
                (df + trace_pp - 2.0 * trace_p) / (lambda * lambda),
            )
        } else {
            (
                n,
                (n - trace_hi) / lambda,
                (n + trace_hihi - 2.0 * trace_hi) / (lambda * lambda),
            )
        };
        let dev1 = -0.5 * trace_pk + 0.5 * df * ypkpy / p_yy;
        let dev2 = match &ppp {
            Some(ppp) => {
                let ppp_yy = ppp[level][yy];
                let ypkpkpy = (p_yy + ppp_yy - 2.0 * pp_yy) / (lambda * lambda);
                0.5 * trace_pkpk - 0.5 * df * (2.0 * ypkpkpy * p_yy - ypkpy * ypkpy) / (p_yy * p_yy)
            }
            None => f64::NAN,
        };
        (dev1, dev2)
    }

    fn dev1(&self, lambda: f64, reml: bool) -> f64 {
        self.derivatives(lambda, reml, false).0
    }

    /// GEMMA's `CalcLambda`: the λ maximising the (restricted) likelihood.
    /// The derivative is evaluated once per grid point (GEMMA evaluates
    /// each region's two ends separately; the values are the same).
    fn lambda(&self, reml: bool, search: &LambdaSearch) -> (f64, f64) {
        let (lo, hi) = (search.min, search.max);
        let step = (hi / lo).ln() / search.regions as f64;
        let grid: Vec<f64> = (0..=search.regions)
            .map(|i| lo * (step * i as f64).exp())
            .collect();
        let dev: Vec<f64> = grid.iter().map(|&l| self.dev1(l, reml)).collect();
        let mut best: Option<(f64, f64)> = None;
        for i in 0..search.regions {
            if dev[i] * dev[i + 1] <= 0.0 {
                let root = brent(
                    |l| self.dev1(l, reml),
                    grid[i],
                    grid[i + 1],
                    dev[i],
                    dev[i + 1],
                )
                .clamp(lo, hi);
                let f = self.logl(root, reml);
                if best.is_none_or(|(_, bf)| bf < f) {
                    best = Some((root, f));
                }
            }
        }
        let (f_lo, f_hi) = (self.logl(lo, reml), self.logl(hi, reml));
        let mut out = best.unwrap_or(if f_lo >= f_hi { (lo, f_lo) } else { (hi, f_hi) });
        if best.is_some() {
            if f_lo > out.1 {
                out = (lo, f_lo);
            }
            if f_hi > out.1 {
                out = (hi, f_hi);
            }
        }
        out
    }

    /// The variant's `(β, SE, p)` at λ: Wald (`score = false`) or score.
    fn test_at(&self, lambda: f64, score: bool) -> (f64, f64, f64) {
        let c = self.cols;
        let n_cvt = self.projected - 1;
        let (x, y) = (n_cvt, c - 1);
        let h = self.weights(lambda);
        let p = self.p(&h);
        let p_yy = p[n_cvt][pair(y, y, c)];
        let p_xx = p[n_cvt][pair(x, x, c)];
        let p_xy = p[n_cvt][pair(x, y, c)];
        let px_yy = p[n_cvt + 1][pair(y, y, c)];
        let df = self.n() as f64 - n_cvt as f64 - 1.0;
        let beta = p_xy / p_xx;
        let tau = df / px_yy;
        let se = (1.0 / (tau * p_xx)).sqrt();
        let f = if score {
            self.n() as f64 * p_xy * p_xy / (p_yy * p_xx)
        } else {
            (p_yy - px_yy) * tau
        };
        (beta, se, ln_t_two_sided(f.max(0.0).sqrt(), df).exp())
    }
}

/// Brent's root finder on a bracket with `f(a)·f(b) ≤ 0`, to machine precision.
fn brent(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, mut fa: f64, mut fb: f64) -> f64 {
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 1e-300;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return b;
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qa = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    b
}

impl NullModel {
    /// Fits the null model of `y` on the covariates `w` (columns of `n`
    /// values, an intercept included by the caller) under `eigen`.
    pub fn fit(
        eigen: &KinshipEigen,
        w: &[Vec<f64>],
        y: &[f64],
        search: &LambdaSearch,
    ) -> Result<Self> {
        let n = eigen.n();
        if y.len() != n || w.iter().any(|c| c.len() != n) {
            return Err(Error::Invalid(format!(
                "mixed model: {} phenotype values and covariates of {:?} values for {n} samples",
                y.len(),
                w.iter().map(Vec::len).collect::<Vec<_>>()
            )));
        }
        if n <= w.len() + 1 {
            return Err(Error::Invalid(format!(
                "mixed model: {n} samples cannot fit {} covariates and a variant",
                w.len()
            )));
        }
        let mean = y.iter().sum::<f64>() / n as f64;
        if y.iter()
            .all(|v| (v - mean).abs() < 1e-12 * (1.0 + mean.abs()))
        {
            return Err(Error::Invalid(
                "mixed model: the trait has no variance".into(),
            ));
        }
        let mut cols = Mat::<f64>::zeros(n, w.len() + 1);
        for (j, c) in w.iter().chain(std::iter::once(&y.to_vec())).enumerate() {
            for (i, v) in c.iter().enumerate() {
                cols[(i, j)] = *v;
            }
        }
        let rotated_mat = eigen.rotate(cols.as_ref());
        let rotated: Vec<Vec<f64>> = (0..w.len() + 1)
            .map(|j| (0..n).map(|i| rotated_mat[(i, j)]).collect())
            .collect();
        let mut model = Self {
            d: eigen.values.clone(),
            rotated,
            n_cvt: w.len(),
            lambda_remle: f64::NAN,
            logl_remle: f64::NAN,
            lambda_mle: f64::NAN,
            logl_mle: f64::NAN,
            pve: f64::NAN,
            pve_se: f64::NAN,
            vg: f64::NAN,
            ve: f64::NAN,
            beta: Vec::new(),
            beta_se: Vec::new(),
        };
        let problem = model.problem(None);
        // Covariates that add nothing after the earlier ones make W'W singular.
        for i in 0..problem.projected {
            let k = pair(i, i, problem.cols);
            if problem.unit[i][k] <= 1e-10 * problem.unit[0][k].max(1e-300) {
                return Err(Error::Invalid(format!(
                    "mixed model: covariate {} is a combination of the others",
                    i + 1
                )));
            }
        }
        let (l_mle, f_mle) = problem.lambda(false, search);
        let (l_remle, f_remle) = problem.lambda(true, search);
        let trace_g = model.d.iter().sum::<f64>() / n as f64;
        let (_, dev2) = problem.derivatives(l_remle, true, true);
        let se_lambda = (-1.0 / dev2).sqrt();
        let pve = trace_g * l_remle / (trace_g * l_remle + 1.0);
        let pve_se = trace_g / ((trace_g * l_remle + 1.0).powi(2)) * se_lambda;
        // Covariate effects and variance components at the REML λ.
        let h = problem.weights(l_remle);
        let c = w.len();
        let whiw = Mat::from_fn(c, c, |a, b| {
            (0..n)
                .map(|i| model.rotated[a][i] * model.rotated[b][i] * h[i])
                .sum::<f64>()
        });
        let whiy: Vec<f64> = (0..c)
            .map(|a| {
                (0..n)
                    .map(|i| model.rotated[a][i] * model.rotated[c][i] * h[i])
                    .sum()
            })
            .collect();
        let inv = whiw.as_ref().partial_piv_lu().inverse();
        let beta: Vec<f64> = (0..c)
            .map(|a| (0..c).map(|b| inv[(a, b)] * whiy[b]).sum())
            .collect();
        let p = problem.p(&h);
        let ve = p[c][problem.yy()] / (n - c) as f64;
        let beta_se = (0..c).map(|a| (inv[(a, a)] * ve).sqrt()).collect();
        model.lambda_mle = l_mle;
        model.logl_mle = f_mle;
        model.lambda_remle = l_remle;
        model.logl_remle = f_remle;
        model.pve = pve;
        model.pve_se = pve_se;
        model.ve = ve;
        model.vg = ve * l_remle;
        model.beta = beta;
        model.beta_se = beta_se;
        Ok(model)
    }

    /// Samples.
    pub fn n(&self) -> usize {
        self.d.len()
    }

    /// The products of the rotated columns; with `x`, it is placed between
    /// the covariates and y.
    fn problem(&self, x: Option<&[f64]>) -> Problem<'_> {
        let mut cols: Vec<&[f64]> = self.rotated[..self.n_cvt]
            .iter()
            .map(Vec::as_slice)
            .collect();
        if let Some(x) = x {
            cols.push(x);
        }
        cols.push(&self.rotated[self.n_cvt]);
        let k = cols.len();
        let pairs = k * (k + 1) / 2;
        let stride = pairs.div_ceil(LANES) * LANES;
        let n = self.n();
        let mut products = Vec::with_capacity(n * stride);
        let mut row = vec![0.0; k];
        for i in 0..n {
            for (r, col) in row.iter_mut().zip(&cols) {
                *r = col[i];
            }
            for a in 0..k {
                for b in a..k {
                    products.push(row[a] * row[b]);
                }
            }
            products.resize(products.len() + stride - pairs, 0.0);
        }
        let mut problem = Problem {
            d: &self.d,
            products,
            pairs,
            stride,
            projected: k - 1,
            cols: k,
            unit: Vec::new(),
        };
        let ones = vec![1.0; n];
        let unit = problem.level0(&ones);
        problem.unit = problem.p_from(unit);
        problem
    }

    /// Tests one variant given `Uᵀx` (its mean-imputed dosages rotated by
    /// [`KinshipEigen::rotate`]).
    pub fn test(&self, utx: &[f64], tests: LmmTests, search: &LambdaSearch) -> LmmTest {
        let problem = self.problem(Some(utx));
        let mut out = LmmTest {
            beta: f64::NAN,
            se: f64::NAN,
            logl_h1: f64::NAN,
            lambda_remle: f64::NAN,
            lambda_mle: f64::NAN,
            p_wald: f64::NAN,
            p_lrt: f64::NAN,
            p_score: f64::NAN,
        };
        // A variant without variance after the covariates has no test.
        let k = pair(self.n_cvt, self.n_cvt, problem.cols);
        if problem.unit[self.n_cvt][k] <= 1e-8 * problem.unit[0][k].max(1e-300) {
            return out;
        }
        if tests.score() {
            let (beta, se, p) = problem.test_at(self.lambda_mle, true);
            (out.beta, out.se, out.p_score) = (beta, se, p);
        }
        if tests.wald() {
            let (l, f) = problem.lambda(true, search);
            let (beta, se, p) = problem.test_at(l, false);
            (out.beta, out.se, out.p_wald) = (beta, se, p);
            out.lambda_remle = l;
            out.logl_h1 = f;
        }
        if tests.lrt() {
            let (l, f) = problem.lambda(false, search);
            out.lambda_mle = l;
            out.logl_h1 = f;
            let stat = 2.0 * (f - self.logl_mle);
            out.p_lrt = if stat <= 0.0 {
                1.0
            } else {
                ln_normal_two_sided(stat.sqrt()).exp()
            };
            if !tests.wald() && !tests.score() {
                let (beta, se, _) = problem.test_at(l, false);
                (out.beta, out.se) = (beta, se);
            }
        }
        out
    }
}

/// One variant of an [`lmm_scan`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmmVariant {
    /// Samples with a missing call (mean-imputed, as GEMMA does).
    pub n_miss: u32,
    /// Frequency of the counted allele among the called samples.
    pub af: f64,
    /// The tests.
    pub test: LmmTest,
}

/// Tests every variant of `source` (whose samples are the model's, in
/// order) against the fitted null model, `block_size` variants per rotation
/// (one GEMM `Uᵀ X`), variants of a block in parallel.
pub fn lmm_scan<S: genolens_io::GenotypeSource + ?Sized>(
    source: &S,
    eigen: &KinshipEigen,
    null: &NullModel,
    tests: LmmTests,
    search: &LambdaSearch,
    block_size: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<LmmVariant>> {
    use rayon::prelude::*;

    let n = source.n_samples();
    if n != eigen.n() || n != null.n() {
        return Err(Error::Invalid(format!(
            "mixed model: {n} genotype samples, {} in the relationship matrix, {} in the null model",
            eigen.n(),
            null.n()
        )));
    }
    let step = block_size.max(1);
    let mut out = Vec::with_capacity(source.n_variants());
    for lo in (0..source.n_variants()).step_by(step) {
        let hi = (lo + step).min(source.n_variants());
        let (x, counts) = crate::wgr::read_imputed(source, lo..hi)?;
        let stats: Vec<(u32, f64)> = counts
            .iter()
            .map(|&(called, sum)| {
                let mean = if called > 0 {
                    sum / f64::from(called)
                } else {
                    0.0
                };
                (n as u32 - called, mean / 2.0)
            })
            .collect();
        let utx = eigen.rotate(x.as_ref());
        let results: Vec<LmmVariant> = (0..hi - lo)
            .into_par_iter()
            .map(|j| {
                let col: Vec<f64> = (0..n).map(|i| utx[(i, j)]).collect();
                LmmVariant {
                    n_miss: stats[j].0,
                    af: stats[j].1,
                    test: null.test(&col, tests, search),
                }
            })
            .collect();
        out.extend(results);
        progress(hi);
    }
    Ok(out)
}

/// A leave-one-chromosome-out scan: per chromosome, the null model and the
/// tests of its variants use a relationship matrix without it.
#[derive(Debug, Clone)]
pub struct LocoScan {
    /// Per variant of the source, in order.
    pub variants: Vec<LmmVariant>,
    /// The null model of each chromosome tested, in order of appearance.
    pub nulls: Vec<(String, NullModel)>,
    /// The null model on the matrix of every chromosome (for PVE).
    pub whole: NullModel,
}

/// Tests every variant of `source` with a centred relationship matrix (GEMMA's
/// `-gk 1`) of `kinship_variants` minus the tested variant's chromosome, as
/// `gemma -loco` and BOLT-LMM do: the tested variant and the polygenic
/// signal near it are not in the matrix, which removes the deflation of
/// proximal contamination. One eigendecomposition and null model per
/// chromosome; the per-chromosome cross-products are summed once.
#[allow(clippy::too_many_arguments)]
pub fn lmm_scan_loco<S: genolens_io::GenotypeSource + ?Sized>(
    source: &S,
    kinship_variants: &[usize],
    w: &[Vec<f64>],
    y: &[f64],
    tests: LmmTests,
    search: &LambdaSearch,
    block_size: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<LocoScan> {
    use genolens_features::relate::{grm, GrmOptions};
    use genolens_io::Subset;

    let n = source.n_samples();
    let chrom = |v: usize| source.variants()[v].chrom.clone();
    // Chromosomes in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    for v in 0..source.n_variants() {
        let c = chrom(v);
        if order.last() != Some(&c) && !order.contains(&c) {
            order.push(c);
        }
    }
    let options = GrmOptions {
        standardize: false,
        pairwise_missing: false,
        ..GrmOptions::default()
    };
    // Σ z zᵀ and the variant count of each chromosome's kinship variants.
    let mut parts: Vec<(String, Vec<f64>, usize)> = Vec::new();
    for c in &order {
        let vs: Vec<usize> = kinship_variants
            .iter()
            .copied()
            .filter(|&v| &chrom(v) == c)
            .collect();
        if vs.is_empty() {
            continue;
        }
        let sub = Subset::new(source, None, Some(vs))?;
        let g = match grm(&sub, &options, &|_| {}) {
            Ok(g) => g,
            // A chromosome with no autosomal variant adds nothing.
            Err(genolens_features::Error::Invalid(_)) => continue,
            Err(e) => return Err(Error::Invalid(e.to_string())),
        };
        let m = g.variants;
        let dense: Vec<f64> = g.to_dense().iter().map(|x| x * m as f64).collect();
        parts.push((c.clone(), dense, m));
    }
    let total_m: usize = parts.iter().map(|p| p.2).sum();
    if total_m == 0 {
        return Err(Error::Invalid(
            "mixed model: no autosomal variant for the relationship matrix".into(),
        ));
    }
    let mut total = vec![0.0; n * n];
    for (_, part, _) in &parts {
        for (t, x) in total.iter_mut().zip(part) {
            *t += x;
        }
    }
    let whole_k: Vec<f64> = total.iter().map(|x| x / total_m as f64).collect();
    let whole = NullModel::fit(&KinshipEigen::new(&whole_k, n)?, w, y, search)?;
    let mut variants = vec![None; source.n_variants()];
    let mut nulls = Vec::new();
    let mut done = 0;
    for c in &order {
        let (part, m_c) = parts
            .iter()
            .find(|p| &p.0 == c)
            .map_or((None, 0), |p| (Some(&p.1), p.2));
        let m = total_m - m_c;
        if m == 0 {
            return Err(Error::Invalid(format!(
                "mixed model: leaving out chromosome {c} leaves no variant for the \
                 relationship matrix"
            )));
        }
        let k: Vec<f64> = match part {
            Some(part) => total
                .iter()
                .zip(part)
                .map(|(t, p)| (t - p) / m as f64)
                .collect(),
            None => total.iter().map(|t| t / m as f64).collect(),
        };
        let eigen = KinshipEigen::new(&k, n)?;
        let null = NullModel::fit(&eigen, w, y, search)?;
        let tested: Vec<usize> = (0..source.n_variants())
            .filter(|&v| &chrom(v) == c)
            .collect();
        let sub = Subset::new(source, None, Some(tested.clone()))?;
        let scan = lmm_scan(&sub, &eigen, &null, tests, search, block_size, &|_| {})?;
        for (v, r) in tested.iter().zip(scan) {
            variants[*v] = Some(r);
        }
        done += tested.len();
        progress(done);
        nulls.push((c.clone(), null));
    }
    let variants = variants
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::Invalid("mixed model: a variant was left untested".into()))?;
    Ok(LocoScan {
        variants,
        nulls,
        whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_indexes_the_upper_triangle() {
        let mut seen = Vec::new();
        for a in 0..4 {
            for b in a..4 {
                seen.push(pair(a, b, 4));
                assert_eq!(pair(a, b, 4), pair(b, a, 4));
            }
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn brent_finds_roots_to_machine_precision() {
        let f = |x: f64| x.ln() - 1.0;
        let r = brent(f, 1.0, 10.0, f(1.0), f(10.0));
        assert!((r - std::f64::consts::E).abs() < 1e-14);
    }

    #[test]
    fn identity_kinship_gives_the_linear_model_when_lambda_is_zero() {
        // K = I: the LMM at the lower bound of λ is ordinary least squares.
        let n = 40;
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            k[i * n + i] = 1.0;
        }
        let eigen = KinshipEigen::new(&k, n).unwrap();
        let x: Vec<f64> = (0..n).map(|i| f64::from((i % 3) as u8)).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 0.5 * x[i] + ((i * 7919) % 13) as f64 / 13.0)
            .collect();
        let w = vec![vec![1.0; n]];
        let null = NullModel::fit(&eigen, &w, &y, &LambdaSearch::default()).unwrap();
        let xm = Mat::from_fn(n, 1, |i, _| x[i]);
        let utx = eigen.rotate(xm.as_ref());
        let utx: Vec<f64> = (0..n).map(|i| utx[(i, 0)]).collect();
        let t = null.test(&utx, LmmTests::All, &LambdaSearch::default());
        // OLS slope and its standard error.
        let (mx, my) = (
            x.iter().sum::<f64>() / n as f64,
            y.iter().sum::<f64>() / n as f64,
        );
        let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let slope = sxy / sxx;
        let rss: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (b - my - slope * (a - mx)).powi(2))
            .sum();
        let se = (rss / (n as f64 - 2.0) / sxx).sqrt();
        // With K = I, λ only rescales the residual variance: any λ gives OLS.
        assert!((t.beta - slope).abs() < 1e-10, "{} {slope}", t.beta);
        assert!((t.se - se).abs() < 1e-10, "{} {se}", t.se);
        assert!(t.p_wald < 1e-3 && t.p_lrt < 1e-3 && t.p_score < 1e-3);
    }

    /// The calibration and power the issue asks of a mixed model, on a cohort
    /// with families (400 founders of 2 populations, 200 sibships of 3; 12,000
    /// variants, 300 causal, h² = 0.8): the linear scan's null statistics are
    /// inflated, with or without 10 PCs; the mixed model's are not, and after
    /// genomic control of each it finds at least as many causal variants.
    ///
    /// With the relationship matrix of every variant (GEMMA's `-gk 1`) the
    /// tested variant is in it: with 12 variants per sample the null
    /// statistics deflate slightly (λGC ≈ 0.95; 0.74 with 3,000 variants for
    /// 1,800 samples), the proximal contamination that the
    /// leave-one-chromosome-out scan avoids (λGC ≈ 1.015). Leaving out half the
    /// genome instead (odd chromosomes for the matrix, even ones tested) left
    /// λGC at 1.07–1.10: the matrix then misses half the polygenic signal.
    #[test]
    fn families_inflate_linear_scans_but_not_the_mixed_model() {
        use crate::linear::{linear_scan, Covariates, Phenotype};
        use crate::summary::genomic_control;
        use genolens_features::pca::{pca, PcaMethod, PcaOptions};
        use genolens_features::relate::{grm, GrmOptions};
        use genolens_io::GenotypeSource;

        let (_dir, cohort, causal, y) = crate::testing::families_with_trait(400, 200, 3);
        let n = cohort.n_samples();
        let is_causal = |v: usize| v % 40 == 0;

        // Linear regression, without and with 10 principal components.
        let none = Covariates::none(n);
        let lin = linear_scan(
            &cohort,
            &[Phenotype {
                name: "y",
                values: &y,
            }],
            &none,
            256,
            &|_| {},
        )
        .unwrap();
        let null_ln_p = |ln_p: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..cohort.n_variants())
                .filter(|&v| !is_causal(v))
                .map(ln_p)
                .collect()
        };
        let lambda_linear = genomic_control(&null_ln_p(&|v| lin.tests[0][v].ln_p)).unwrap();
        let pcs = pca(&cohort, &PcaOptions::new(10, PcaMethod::Exact), &|_| {}).unwrap();
        let pc_values = ndarray::Array2::from_shape_fn((n, 10), |(i, k)| pcs.sample_scores(i)[k]);
        let names: Vec<String> = (1..=10).map(|k| format!("PC{k}")).collect();
        let with_pcs = linear_scan(
            &cohort,
            &[Phenotype {
                name: "y",
                values: &y,
            }],
            &Covariates {
                names: &names,
                values: pc_values.view(),
            },
            256,
            &|_| {},
        )
        .unwrap();
        let lambda_pcs = genomic_control(&null_ln_p(&|v| with_pcs.tests[0][v].ln_p)).unwrap();

        // The mixed model on the centred GRM of every variant (GEMMA's -gk 1).
        let k = grm(
            &cohort,
            &GrmOptions {
                standardize: false,
                pairwise_missing: false,
                ..GrmOptions::default()
            },
            &|_| {},
        )
        .unwrap();
        let eigen = KinshipEigen::new(&k.to_dense(), n).unwrap();
        let search = LambdaSearch::default();
        let null = NullModel::fit(&eigen, &[vec![1.0; n]], &y, &search).unwrap();
        let scan = lmm_scan(
            &cohort,
            &eigen,
            &null,
            LmmTests::Wald,
            &search,
            256,
            &|_| {},
        )
        .unwrap();
        let lambda_lmm = genomic_control(&null_ln_p(&|v| scan[v].test.p_wald.ln())).unwrap();

        // Causal variants past p < 1e-3 (χ²₁ > 10.828) after dividing each
        // scan's χ² = (β/SE)² by its own λGC.
        let hits = |z: &dyn Fn(usize) -> f64, lambda: f64| {
            causal
                .iter()
                .filter(|&&v| z(v).powi(2) / lambda > 10.828)
                .count()
        };
        let hits_lmm = hits(
            &|v| scan[v].test.beta / scan[v].test.se,
            lambda_lmm.max(1.0),
        );
        let all: Vec<usize> = (0..cohort.n_variants()).collect();
        let loco = lmm_scan_loco(
            &cohort,
            &all,
            &[vec![1.0; n]],
            &y,
            LmmTests::Wald,
            &search,
            256,
            &|_| {},
        )
        .unwrap();
        let lambda_loco =
            genomic_control(&null_ln_p(&|v| loco.variants[v].test.p_wald.ln())).unwrap();
        let hits_loco = hits(
            &|v| loco.variants[v].test.beta / loco.variants[v].test.se,
            lambda_loco.max(1.0),
        );
        eprintln!("LOCO: lambda {lambda_loco:.3}, causal found {hits_loco}");
        // REGENIE's two steps on the same cohort.
        let step1 = crate::wgr::wgr_step1(
            &cohort,
            &[crate::wgr::WgrTrait {
                name: "y",
                values: &y,
                binary: false,
            }],
            ndarray::Array2::<f64>::zeros((n, 0)).view(),
            &crate::wgr::WgrOptions::default(),
            &|_| {},
        )
        .unwrap();
        let wgr = crate::wgr::wgr_scan_quantitative(
            &cohort,
            &y,
            ndarray::Array2::<f64>::zeros((n, 0)).view(),
            step1.traits[0].loco.as_slice(),
            &crate::wgr::Step2Options::default(),
            &|_| {},
        )
        .unwrap();
        let lambda_wgr = genomic_control(&null_ln_p(&|v| wgr[v].ln_p)).unwrap();
        let hits_wgr = hits(&|v| wgr[v].beta / wgr[v].se, lambda_wgr.max(1.0));
        eprintln!(
            "WGR: lambda {lambda_wgr:.3}, causal found {hits_wgr}, level-1 h2 {}",
            step1.traits[0].level1_h2
        );
        let hits_pcs = hits(&|v| with_pcs.tests[0][v].t, lambda_pcs);
        eprintln!(
            "lambda GC: linear {lambda_linear:.3}, linear + 10 PCs {lambda_pcs:.3}, LMM \
             {lambda_lmm:.3}; causal past p < 1e-3 after genomic control: LMM {hits_lmm}, \
             linear + PCs {hits_pcs} of {}; PVE {:.3}",
            causal.len(),
            null.pve
        );
        assert!(lambda_linear > 1.5, "linear lambda {lambda_linear}");
        assert!(lambda_pcs > 1.3, "PCs do not model families: {lambda_pcs}");
        assert!(
            (0.93..1.05).contains(&lambda_lmm),
            "LMM lambda {lambda_lmm}"
        );
        assert!(
            hits_lmm >= hits_pcs,
            "LMM {hits_lmm} vs linear + PCs {hits_pcs}"
        );
        assert!((0.7..0.9).contains(&null.pve), "PVE {}", null.pve);
        // WGR removes most of the families' inflation, but its out-of-fold
        // LOCO predictions carry the relatives' phenotypes, so in a cohort
        // made only of close relatives it is deflated (λ 0.85) and finds
        // fewer causal variants than the LMM (docs/benchmarks.md).
        assert!(
            (0.75..1.15).contains(&lambda_wgr),
            "WGR lambda {lambda_wgr}"
        );
        assert!(hits_wgr >= 3, "WGR found {hits_wgr}");
    }
}
