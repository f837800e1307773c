//! One variant's fit at a time: PLINK 2.00a3's Newton–Raphson from a given start
//! and Firth's penalised likelihood. The tile path ([`super::tile`]) handles the
//! common case faster; these fits take the variants it hands back (and every
//! variant when Firth is asked for throughout).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

use crate::linear::{cholesky_by, forward};

/// A fitted model: coefficients, the inverse information's diagonal entry for the
/// genotype (the last coefficient), and whether the iteration limit was hit.
pub(super) struct Fit {
    pub(super) beta: Vec<f64>,
    pub(super) var_last: f64,
    pub(super) unfinished: bool,
}

/// One variant's regression: the design of the samples used (`n × k`,
/// column-major, genotype last) and their outcomes.
pub(super) struct Problem {
    z: Mat<f64>,
    y: Vec<f64>,
    pub(super) k: usize,
}

/// Probabilities, log-likelihood and information `Zᵀ V Z` (row-major `k × k`) at
/// some coefficients.
struct Evaluation {
    mu: Vec<f64>,
    loglik: f64,
    info: Vec<f64>,
}

impl Problem {
    /// The regression of `y` on `x` (column-major `n × p`) plus the genotype column `g`
    /// (genotype last), leaving out the rows listed in `missing` (ascending).
    pub(super) fn new(x: &[f64], p: usize, y: &[f64], g: Option<&[f64]>, missing: &[u32]) -> Self {
        let n = y.len();
        let k = p + usize::from(g.is_some());
        let rows: Vec<usize> = if missing.is_empty() {
            (0..n).collect()
        } else {
            let mut skip = missing.iter().peekable();
            (0..n)
                .filter(|&i| {
                    if skip.peek().is_some_and(|&&m| m as usize == i) {
                        skip.next();
                        false
                    } else {
                        true
                    }
                })
                .collect()
        };
        let mut z = Mat::<f64>::zeros(rows.len(), k);
        for a in 0..p {
            let col = &x[a * n..(a + 1) * n];
            for (r, &i) in rows.iter().enumerate() {
                z[(r, a)] = col[i];
            }
        }
        if let Some(g) = g {
            for (r, &i) in rows.iter().enumerate() {
                z[(r, p)] = g[i];
            }
        }
        Self {
            z,
            y: rows.iter().map(|&i| y[i]).collect(),
            k,
        }
    }

    /// The fit's pieces at `beta`; the log-likelihood (only Firth needs it) when
    /// `with_loglik`.
    fn evaluate(&self, beta: &[f64], with_loglik: bool) -> Evaluation {
        let (n, k) = (self.y.len(), self.k);
        let mut eta = vec![0.0f64; n];
        for (a, &b) in beta.iter().enumerate() {
            for (e, z) in eta.iter_mut().zip(self.z.col(a).iter()) {
                *e += b * z;
            }
        }
        let mut loglik = 0.0f64;
        let mut root_w = vec![0.0f64; n];
        let mu: Vec<f64> = eta
            .iter()
            .zip(&self.y)
            .zip(root_w.iter_mut())
            .map(|((&e, &y), rw)| {
                let m = 1.0 / (1.0 + (-e).exp());
                if with_loglik {
                    loglik += if y > 0.5 { m.ln() } else { (1.0 - m).ln() };
                }
                *rw = (m * (1.0 - m)).sqrt();
                m
            })
            .collect();
        // Zᵀ V Z as one GEMM on the rows scaled by √w.
        let mut scaled = Mat::<f64>::zeros(n, k);
        for a in 0..k {
            for ((s, z), rw) in scaled
                .col_mut(a)
                .iter_mut()
                .zip(self.z.col(a).iter())
                .zip(&root_w)
            {
                *s = z * rw;
            }
        }
        let mut info_m = Mat::<f64>::zeros(k, k);
        matmul(
            info_m.as_mut(),
            Accum::Replace,
            scaled.transpose(),
            scaled.as_ref(),
            1.0,
            Par::Seq,
        );
        let info = (0..k * k).map(|x| info_m[(x / k, x % k)]).collect();
        Evaluation { mu, loglik, info }
    }

    /// `Zᵀ r` for per-row values `r`.
    fn score(&self, r: &[f64]) -> Vec<f64> {
        (0..self.k)
            .map(|a| self.z.col(a).iter().zip(r).map(|(z, r)| z * r).sum())
            .collect()
    }

    /// Row `i` of the design.
    fn row(&self, i: usize) -> Vec<f64> {
        (0..self.k).map(|a| self.z[(i, a)]).collect()
    }
}

/// Inverse (row-major) of a symmetric positive-definite `k × k` matrix through its
/// Cholesky factor.
fn inverse(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let l = cholesky_by(k, |i, j| a[i * k + j])?;
    let mut inv = vec![0.0f64; k * k];
    for j in 0..k {
        let mut e = vec![0.0f64; k];
        e[j] = 1.0;
        forward(&l, k, &mut e);
        backward(&l, k, &mut e);
        for (i, x) in e.iter().enumerate() {
            inv[i * k + j] = *x;
        }
    }
    Some(inv)
}

fn mat_vec(m: &[f64], k: usize, v: &[f64]) -> Vec<f64> {
    m.chunks_exact(k)
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

/// Newton–Raphson from `start` with PLINK 2.00a3's stopping and failure rules: stop
/// when the L1 norm of a step is below 1e-4; fail on a NaN step, on steps that
/// grow (beyond 20 and twice the smallest so far) or stall near 1 after the
/// 4th/7th iteration, or on coefficients beyond 6e4 (8e3 when the 15-iteration
/// limit is hit, which otherwise returns the estimate as unfinished). The standard
/// error comes from the information at the estimate.
pub(super) fn logistic_fit(problem: &Problem, start: &[f64]) -> Option<Fit> {
    let k = problem.k;
    let mut beta = start.to_vec();
    let mut min_delta = f64::INFINITY;
    for iteration in 0..15 {
        let ev = problem.evaluate(&beta, false);
        let r: Vec<f64> = problem.y.iter().zip(&ev.mu).map(|(y, m)| m - y).collect();
        let g = problem.score(&r);
        let inv = inverse(&ev.info, k)?;
        let d = mat_vec(&inv, k, &g);
        for (b, di) in beta.iter_mut().zip(&d) {
            *b -= di;
        }
        let delta: f64 = d.iter().map(|x| x.abs()).sum();
        if delta.is_nan() {
            return None;
        }
        if iteration > 3 {
            if (delta > 20.0 && delta > 2.0 * min_delta)
                || (iteration > 6 && (1.0 - delta).abs() < 1e-3)
            {
                return None;
            }
            if iteration > 13 {
                if beta.iter().any(|b| b.abs() > 8e3) {
                    return None;
                }
                // Unfinished: PLINK 2 reports the last iteration's information.
                return Some(Fit {
                    beta,
                    var_last: inv[k * k - 1],
                    unfinished: true,
                });
            }
        }
        if delta < 1e-4 {
            if beta.iter().any(|b| b.abs() > 6e4) {
                return None;
            }
            // The information at the estimate itself: PLINK 2 uses the previous
            // iterate's, which a different start would move; at the estimate the
            // two agree to well under 1e-5.
            let at_estimate = inverse(&problem.evaluate(&beta, false).info, k)?;
            return Some(Fit {
                var_last: at_estimate[k * k - 1],
                beta,
                unfinished: false,
            });
        }
        min_delta = min_delta.min(delta);
    }
    None
}

/// Firth's penalised likelihood (Jeffreys prior) as PLINK 2 ports it from
/// logistf: modified score `Zᵀ(y − μ + h(½ − μ))`, steps capped at 5, step
/// halving on the penalised log-likelihood, convergence at 1e-4, at most 25
/// iterations (then unfinished). The standard error comes from the unpenalised
/// information at the estimate.
pub(super) fn firth_fit(problem: &Problem) -> Option<Fit> {
    let k = problem.k;
    let penalised = |ev: &Evaluation| -> Option<f64> {
        let l = cholesky_by(k, |i, j| ev.info[i * k + j])?;
        Some(ev.loglik + (0..k).map(|a| l[a * k + a].ln()).sum::<f64>())
    };
    let mut beta = vec![0.0f64; k];
    let mut ev = problem.evaluate(&beta, true);
    let mut loglik = penalised(&ev)?;
    let mut last = false;
    let mut unfinished = false;
    for iteration in 0..=25 {
        let inv = inverse(&ev.info, k)?;
        if last {
            return Some(Fit {
                beta,
                var_last: inv[k * k - 1],
                unfinished,
            });
        }
        let w: Vec<f64> = (0..problem.y.len())
            .map(|i| {
                let zi = problem.row(i);
                let m = ev.mu[i];
                let hz = mat_vec(&inv, k, &zi);
                let hat = m * (1.0 - m) * zi.iter().zip(&hz).map(|(a, b)| a * b).sum::<f64>();
                (problem.y[i] - m) + hat * (0.5 - m)
            })
            .collect();
        let u = problem.score(&w);
        let gmax = u.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let mut d = mat_vec(&inv, k, &u);
        let mut dmax = d.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if dmax > 5.0 {
            d.iter_mut().for_each(|x| *x *= 5.0 / dmax);
            dmax = 5.0;
        }
        for (b, di) in beta.iter_mut().zip(&d) {
            *b += di;
        }
        let converged = dmax <= 1e-4 && gmax < 1e-4;
        let old = loglik;
        let threshold = old - if converged { 0.999_999e-4 } else { 0.0 };
        let (mut max_halvings, mut halvings) = (5i32, 1i32);
        let mut bailed = false;
        loop {
            ev = problem.evaluate(&beta, true);
            loglik = penalised(&ev)?;
            if halvings > max_halvings {
                break;
            }
            if loglik >= threshold {
                if loglik >= old {
                    break;
                }
                max_halvings = halvings;
            } else if halvings == max_halvings && dmax < 1e-3 && gmax < 0.05 && loglik >= old - 1e-4
            {
                // Undo the whole step.
                halvings -= 1;
                max_halvings -= 1;
                bailed = true;
            }
            let scale = 0.5f64.powi(halvings);
            for (b, di) in beta.iter_mut().zip(&d) {
                *b -= di * scale;
            }
            halvings += 1;
        }
        if (loglik - old).abs() <= 1e-4 && (converged || bailed) {
            last = true;
        } else if iteration == 24 {
            last = true;
            unfinished = true;
        }
    }
    None
}

/// Solves `Lᵀ x = b` in place for the lower-triangular `l` (p × p, row-major).
pub(super) fn backward(l: &[f64], p: usize, b: &mut [f64]) {
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}
