//! Elastic net and lasso by cyclic coordinate descent, along a path of
//! penalties with warm starts.
//!
//! Minimises scikit-learn's `ElasticNet(alpha, l1_ratio)` objective,
//! `1/(2n)‖y − b − Xw‖² + α ρ ‖w‖₁ + α (1 − ρ)/2 ‖w‖²`, or with per-predictor
//! penalty factors `f_j` (glmnet's `penalty.factor`: both terms of predictor
//! `j` multiplied by `f_j`, factors rescaled to mean 1, 0 = unpenalised)
//! `1/(2n)‖y − b − Xw‖² + α Σ f_j (ρ |w_j| + (1 − ρ)/2 w_j²)`, with the intercept
//! unpenalised (columns centred), stopping on the duality gap as scikit-learn
//! does (`gap < tol · ‖y_c‖²`). linfa-elasticnet minimises the same objective,
//! but inverts `XᵀX` after every fit to report z-scores — O(p³), hopeless for
//! tens of thousands of markers — so the solver is ours.

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// A fitted elastic net.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticNetFit {
    /// The penalty α.
    pub alpha: f64,
    /// The L1 share ρ.
    pub l1_ratio: f64,
    /// One weight per predictor.
    pub weights: Array1<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Coordinate sweeps used.
    pub sweeps: usize,
}

impl ElasticNetFit {
    /// Predictions for the rows of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.dot(&self.weights) + self.intercept
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoordinateDescent {
    /// Duality-gap tolerance, relative to `‖y_c‖²` (scikit-learn's `tol`).
    pub tolerance: f64,
    /// Most sweeps per penalty.
    pub max_sweeps: usize,
}

impl Default for CoordinateDescent {
    fn default() -> Self {
        Self {
            tolerance: 1e-4,
            max_sweeps: 1000,
        }
    }
}

/// The smallest α at which every weight is zero, for L1 share `l1_ratio`.
pub fn alpha_max(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, l1_ratio: f64) -> f64 {
    alpha_max_weighted(x, y, l1_ratio, None)
}

/// [`alpha_max`] with penalty factors (see [`normalise_penalty_factors`]);
/// unpenalised predictors do not count.
pub fn alpha_max_weighted(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    l1_ratio: f64,
    factors: Option<&[f64]>,
) -> f64 {
    let n = x.nrows() as f64;
    let xm = x.mean_axis(Axis(0)).unwrap_or_default();
    let ym = y.mean().unwrap_or(0.0);
    let yc = &y - ym;
    let grad = (&x - &xm).t().dot(&yc);
    let top = grad
        .iter()
        .enumerate()
        .map(|(j, g)| match factors {
            None => g.abs(),
            Some(f) if f[j] > 0.0 => g.abs() / f[j],
            Some(_) => 0.0,
        })
        .fold(0.0f64, f64::max);
    top / (n * l1_ratio.max(1e-3))
}

/// Penalty factors as glmnet uses them: each ≥ 0 and finite, not all 0,
/// rescaled to mean 1 (glmnet rescales them to sum to the number of
/// predictors).
pub fn normalise_penalty_factors(factors: &[f64]) -> Result<Vec<f64>> {
    if let Some(bad) = factors.iter().find(|f| !(f.is_finite() && **f >= 0.0)) {
        return Err(Error::Invalid(format!(
            "elastic net: penalty factor {bad} is not a non-negative number"
        )));
    }
    let mean = factors.iter().sum::<f64>() / factors.len().max(1) as f64;
    if mean <= 0.0 {
        return Err(Error::Invalid(
            "elastic net: every penalty factor is 0".into(),
        ));
    }
    Ok(factors.iter().map(|f| f / mean).collect())
}

/// Fits the elastic net for each α in `alphas` (largest first is fastest: each
/// fit starts from the previous one).
pub fn elastic_net_path(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    alphas: &[f64],
    l1_ratio: f64,
    solver: &CoordinateDescent,
) -> Result<Vec<ElasticNetFit>> {
    elastic_net_path_weighted(x, y, alphas, l1_ratio, None, solver)
}

/// [`elastic_net_path`] with per-predictor penalty factors (one per column,
/// rescaled to mean 1 by [`normalise_penalty_factors`]).
pub fn elastic_net_path_weighted(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    alphas: &[f64],
    l1_ratio: f64,
    factors: Option<&[f64]>,
    solver: &CoordinateDescent,
) -> Result<Vec<ElasticNetFit>> {
    let (n, m) = x.dim();
    if y.len() != n || n < 2 || m == 0 {
        return Err(Error::Invalid(format!(
            "elastic net: {n} samples, {m} predictors, {} outcomes",
            y.len()
        )));
    }
    let factors = match factors {
        Some(f) if f.len() != m => {
            return Err(Error::Invalid(format!(
                "elastic net: {} penalty factors for {m} predictors",
                f.len()
            )))
        }
        Some(f) => normalise_penalty_factors(f)?,
        None => vec![1.0; m],
    };
    if !(0.0..=1.0).contains(&l1_ratio) {
        return Err(Error::Invalid(format!(
            "elastic net: l1_ratio {l1_ratio} outside [0, 1]"
        )));
    }
    if let Some(bad) = alphas.iter().find(|a| !(a.is_finite() && **a > 0.0)) {
        return Err(Error::Invalid(format!(
            "elastic net: penalty {bad} is not positive"
        )));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "elastic net: outcomes contain NaN or infinity".into(),
        ));
    }
    let nf = n as f64;
    let ym = y.mean().expect("n ≥ 2");
    let Some((xc, col_sq, xm)) = centred_columns(x) else {
        return Err(Error::Invalid(
            "elastic net: predictors contain NaN or infinity".into(),
        ));
    };
    let col = |j: usize| &xc[j * n..(j + 1) * n];
    let yc = &y - ym;
    let y_sq = yc.dot(&yc);
    let mut w = Array1::<f64>::zeros(m);
    let mut resid = yc.clone();
    let mut out = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        let l1 = alpha * l1_ratio * nf;
        let l2 = alpha * (1.0 - l1_ratio) * nf;
        let mut sweeps = 0;
        // Active-set cycling (glmnet's): after a sweep over every predictor,
        // sweep only the nonzero ones until they settle, then check the rest
        // with one more full sweep. With p ≫ n most predictors stay at zero,
        // so most sweeps touch a few hundred columns instead of all.
        let mut full = true;
        let mut active: Vec<usize> = Vec::new();
        loop {
            sweeps += 1;
            let (mut w_max, mut d_w_max) = (0.0f64, 0.0f64);
            let all: Vec<usize>;
            let order: &[usize] = if full {
                all = (0..m).collect();
                &all
            } else {
                &active
            };
            for &j in order {
                if col_sq[j] == 0.0 {
                    continue;
                }
                let cj = col(j);
                let old = w[j];
                let rho = dot(cj, resid.as_slice().expect("contiguous")) + col_sq[j] * old;
                let (l1j, l2j) = (l1 * factors[j], l2 * factors[j]);
                let new = rho.signum() * (rho.abs() - l1j).max(0.0) / (col_sq[j] + l2j);
                if new != old {
                    axpy(resid.as_slice_mut().expect("contiguous"), old - new, cj);
                    w[j] = new;
                }
                d_w_max = d_w_max.max((new - old).abs());
                w_max = w_max.max(new.abs());
            }
            // As scikit-learn: the gap (a full Xᵀr) only once the updates are
            // small relative to the weights, or at the sweep limit.
            let small = w_max == 0.0 || d_w_max / w_max < solver.tolerance;
            if sweeps < solver.max_sweeps {
                if !small {
                    if full {
                        active = (0..m).filter(|&j| w[j] != 0.0).collect();
                        full = active.is_empty();
                    }
                    continue;
                }
                if !full {
                    // Settled on the active set: check every predictor.
                    full = true;
                    continue;
                }
            }
            // Duality gap (scikit-learn's enet_coordinate_descent).
            let r = resid.as_slice().expect("contiguous");
            let grad: Vec<f64> = {
                use rayon::prelude::*;
                (0..m).into_par_iter().map(|j| dot(col(j), r)).collect() // Xᵀr
            };
            // With factors: the dual norm divides by f_j (unpenalised
            // predictors are at their optimum and do not count), and the
            // penalty terms carry f_j.
            let w_sq: f64 = w.iter().zip(&factors).map(|(v, f)| f * v * v).sum();
            let dual_norm = grad
                .iter()
                .zip(w.iter())
                .zip(&factors)
                .filter(|(_, &f)| f > 0.0)
                .map(|((g, wj), f)| (g - l2 * f * wj).abs() / f)
                .fold(0.0f64, f64::max);
            let r_sq = resid.dot(&resid);
            let (scale, gap_base) = if l1 > 0.0 && dual_norm > l1 {
                let c = l1 / dual_norm;
                (c, 0.5 * r_sq * (1.0 + c * c))
            } else {
                (1.0, r_sq)
            };
            let l1_norm: f64 = w.iter().zip(&factors).map(|(v, f)| f * v.abs()).sum();
            let gap = gap_base + l1 * l1_norm - scale * resid.dot(&yc)
                + 0.5 * l2 * (1.0 + scale * scale) * w_sq;
            if gap < solver.tolerance * y_sq || sweeps >= solver.max_sweeps {
                break;
            }
            active = (0..m).filter(|&j| w[j] != 0.0).collect();
            full = active.is_empty();
        }
        out.push(ElasticNetFit {
            alpha,
            l1_ratio,
            intercept: ym - w.iter().zip(&xm).map(|(a, b)| a * b).sum::<f64>(),
            weights: w.clone(),
            sweeps,
        });
    }
    Ok(out)
}

/// The columns of `x` minus their means, each contiguous (`m × n`, column `j`
/// at `j·n`), with their sums of squares and the means; `None` if a value is
/// not finite.
/// Column tiles run in parallel, and each reads its rows' 64-value segments
/// contiguously, so neither side is walked with a large stride.
fn centred_columns(x: ArrayView2<'_, f64>) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    use rayon::prelude::*;
    const TILE: usize = 64;
    let (n, m) = x.dim();
    let xs = x.as_standard_layout();
    let rows = xs.as_slice().expect("standard layout");
    let mut out = vec![0.0f64; n * m];
    let mut col_sq = vec![0.0f64; m];
    let mut means = vec![0.0f64; m];
    let finite = out
        .par_chunks_mut(TILE * n)
        .zip(col_sq.par_chunks_mut(TILE))
        .zip(means.par_chunks_mut(TILE))
        .enumerate()
        .map(|(t, ((chunk, sq), mean))| {
            let j0 = t * TILE;
            let width = sq.len();
            for i in 0..n {
                for (acc, v) in mean.iter_mut().zip(&rows[i * m + j0..i * m + j0 + width]) {
                    *acc += v;
                }
            }
            mean.iter_mut().for_each(|v| *v /= n as f64);
            let mut ok = true;
            for i in 0..n {
                let row = &rows[i * m + j0..i * m + j0 + width];
                for (k, &v) in row.iter().enumerate() {
                    let c = v - mean[k];
                    ok &= c.is_finite();
                    chunk[k * n + i] = c;
                    sq[k] += c * c;
                }
            }
            ok
        })
        .reduce(|| true, |a, b| a && b);
    finite.then_some((out, col_sq, means))
}

/// `aᵀb`, four accumulators, compiled for the CPU's widest SIMD.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    struct Dot<'a>(&'a [f64], &'a [f64]);
    impl pulp::WithSimd for Dot<'_> {
        type Output = f64;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) -> f64 {
            let (a, b) = (self.0, self.1);
            let mut acc = [0.0f64; 8];
            let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
            let (ra, rb) = (ca.remainder(), cb.remainder());
            for (x, y) in ca.zip(cb) {
                for k in 0..8 {
                    acc[k] += x[k] * y[k];
                }
            }
            let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
            acc.iter().sum::<f64>() + tail
        }
    }
    pulp::Arch::new().dispatch(Dot(a, b))
}

/// `y += a·x`, compiled for the CPU's widest SIMD.
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    struct Axpy<'a>(&'a mut [f64], f64, &'a [f64]);
    impl pulp::WithSimd for Axpy<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) {
            let a = self.1;
            for (y, x) in self.0.iter_mut().zip(self.2) {
                *y += a * x;
            }
        }
    }
    pulp::Arch::new().dispatch(Axpy(y, a, x));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn data() -> (Array2<f64>, Array1<f64>) {
        let mut state = 5u64;
        let mut u = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let x = Array2::from_shape_fn((80, 30), |_| u() * 2.0 - 1.0);
        let y: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|r| 3.0 * r[0] - 2.0 * r[5] + r[9] + 0.1 * (u() - 0.5) + 4.0)
            .collect();
        (x, y)
    }

    /// The subgradient optimality conditions of the objective hold.
    #[test]
    fn solutions_satisfy_the_kkt_conditions() {
        let (x, y) = data();
        let n = x.nrows() as f64;
        let amax = alpha_max(x.view(), y.view(), 0.5);
        let alphas = [amax * 0.5, amax * 0.1, amax * 0.01];
        let solver = CoordinateDescent {
            tolerance: 1e-10,
            max_sweeps: 10_000,
        };
        for fit in elastic_net_path(x.view(), y.view(), &alphas, 0.5, &solver).unwrap() {
            let resid = &y - &fit.predict(x.view());
            assert!(resid.sum().abs() < 1e-8);
            let xc = &x - &x.mean_axis(Axis(0)).unwrap();
            let grad = xc.t().dot(&resid) / n; // −∂(loss)/∂w
            let (l1, l2) = (fit.alpha * 0.5, fit.alpha * 0.5);
            for (j, (&g, &w)) in grad.iter().zip(&fit.weights).enumerate() {
                if w != 0.0 {
                    assert!((g - l2 * w - l1 * w.signum()).abs() < 1e-6, "active {j}");
                } else {
                    assert!(g.abs() <= l1 + 1e-6, "inactive {j}");
                }
            }
        }
        // At α_max nothing is selected; the lasso picks the true predictors first.
        let at_max = elastic_net_path(x.view(), y.view(), &[amax * 1.0001], 0.5, &solver).unwrap();
        assert!(at_max[0].weights.iter().all(|&w| w == 0.0));
        let lasso_max = alpha_max(x.view(), y.view(), 1.0);
        let sparse =
            elastic_net_path(x.view(), y.view(), &[lasso_max * 0.3], 1.0, &solver).unwrap();
        let chosen: Vec<usize> = (0..30).filter(|&j| sparse[0].weights[j] != 0.0).collect();
        assert!(chosen.contains(&0) && chosen.contains(&5), "{chosen:?}");
        assert!(chosen.len() <= 5, "{chosen:?}");
    }

    /// Penalty factors: the KKT conditions hold with each predictor's own
    /// penalty, a factor of 0 leaves a predictor unpenalised, and factors all
    /// equal give the unweighted fit.
    #[test]
    fn penalty_factors_scale_each_predictors_penalty() {
        let (x, y) = data();
        let n = x.nrows() as f64;
        let solver = CoordinateDescent {
            tolerance: 1e-10,
            max_sweeps: 10_000,
        };
        let mut f = vec![1.0; 30];
        f[9] = 0.0; // unpenalised
        f[5] = 4.0; // penalised hard
        f[0] = 0.25;
        let norm = normalise_penalty_factors(&f).unwrap();
        let amax = alpha_max_weighted(x.view(), y.view(), 0.5, Some(&norm));
        let fit =
            elastic_net_path_weighted(x.view(), y.view(), &[amax * 0.2], 0.5, Some(&f), &solver)
                .unwrap()
                .remove(0);
        let resid = &y - &fit.predict(x.view());
        let xc = &x - &x.mean_axis(Axis(0)).unwrap();
        let grad = xc.t().dot(&resid) / n;
        for (j, (&g, &w)) in grad.iter().zip(&fit.weights).enumerate() {
            let (l1, l2) = (fit.alpha * 0.5 * norm[j], fit.alpha * 0.5 * norm[j]);
            if w != 0.0 {
                assert!((g - l2 * w - l1 * w.signum()).abs() < 1e-6, "active {j}");
            } else {
                assert!(g.abs() <= l1 + 1e-6, "inactive {j}");
            }
        }
        assert!(
            grad[9].abs() < 1e-6,
            "unpenalised predictor at its least-squares optimum"
        );
        // Equal factors: the unweighted solution.
        let plain = elastic_net_path(x.view(), y.view(), &[0.05], 0.5, &solver).unwrap();
        let equal =
            elastic_net_path_weighted(x.view(), y.view(), &[0.05], 0.5, Some(&[3.0; 30]), &solver)
                .unwrap();
        for (a, b) in plain[0].weights.iter().zip(&equal[0].weights) {
            assert!((a - b).abs() < 1e-9);
        }
        assert!(normalise_penalty_factors(&[0.0, 0.0]).is_err());
        assert!(normalise_penalty_factors(&[-1.0, 2.0]).is_err());
    }
}
