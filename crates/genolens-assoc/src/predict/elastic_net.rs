//! Elastic net and lasso by cyclic coordinate descent, along a path of
//! penalties with warm starts.
//!
//! Minimises scikit-learn's `ElasticNet(alpha, l1_ratio)` objective,
//! `1/(2n)‖y − b − Xw‖² + α ρ ‖w‖₁ + α (1 − ρ)/2 ‖w‖²`, with the intercept
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
    let n = x.nrows() as f64;
    let xm = x.mean_axis(Axis(0)).unwrap_or_default();
    let ym = y.mean().unwrap_or(0.0);
    let yc = &y - ym;
    let grad = (&x - &xm).t().dot(&yc);
    grad.iter().fold(0.0f64, |m, g| m.max(g.abs())) / (n * l1_ratio.max(1e-3))
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
    let (n, m) = x.dim();
    if y.len() != n || n < 2 || m == 0 {
        return Err(Error::Invalid(format!(
            "elastic net: {n} samples, {m} predictors, {} outcomes",
            y.len()
        )));
    }
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
    if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "elastic net: inputs contain NaN or infinity".into(),
        ));
    }
    let nf = n as f64;
    let xm = x.mean_axis(Axis(0)).expect("n ≥ 2");
    let ym = y.mean().expect("n ≥ 2");
    // Centred columns, each contiguous.
    let xc = (&x - &xm).reversed_axes().as_standard_layout().to_owned(); // m × n
    let col_sq: Vec<f64> = xc.rows().into_iter().map(|c| c.dot(&c)).collect();
    let yc = &y - ym;
    let y_sq = yc.dot(&yc);
    let mut w = Array1::<f64>::zeros(m);
    let mut resid = yc.clone();
    let mut out = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        let l1 = alpha * l1_ratio * nf;
        let l2 = alpha * (1.0 - l1_ratio) * nf;
        let mut sweeps = 0;
        loop {
            sweeps += 1;
            for j in 0..m {
                if col_sq[j] == 0.0 {
                    continue;
                }
                let col = xc.row(j);
                let old = w[j];
                let rho = col.dot(&resid) + col_sq[j] * old;
                let new = rho.signum() * (rho.abs() - l1).max(0.0) / (col_sq[j] + l2);
                if new != old {
                    resid.scaled_add(old - new, &col);
                    w[j] = new;
                }
            }
            // Duality gap (scikit-learn's enet_coordinate_descent).
            let grad = xc.dot(&resid); // Xᵀr, m
            let w_sq = w.dot(&w);
            let dual_norm = grad
                .iter()
                .zip(w.iter())
                .map(|(g, wj)| (g - l2 * wj).abs())
                .fold(0.0f64, f64::max);
            let r_sq = resid.dot(&resid);
            let (scale, gap_base) = if l1 > 0.0 && dual_norm > l1 {
                let c = l1 / dual_norm;
                (c, 0.5 * r_sq * (1.0 + c * c))
            } else {
                (1.0, r_sq)
            };
            let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
            let gap = gap_base + l1 * l1_norm - scale * resid.dot(&yc)
                + 0.5 * l2 * (1.0 + scale * scale) * w_sq;
            if gap < solver.tolerance * y_sq || sweeps >= solver.max_sweeps {
                break;
            }
        }
        out.push(ElasticNetFit {
            alpha,
            l1_ratio,
            intercept: ym - w.dot(&xm),
            weights: w.clone(),
            sweeps,
        });
    }
    Ok(out)
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
}
