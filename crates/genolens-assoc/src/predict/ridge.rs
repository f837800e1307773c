//! Ridge regression in closed form, for a whole path of penalties at once.
//!
//! Minimises `‖y − b − Xw‖² + λ‖w‖²` (summed squares; the intercept `b` is not
//! penalised), scikit-learn's `Ridge(alpha = λ)` objective. With more predictors
//! than samples (the genomic case) it works in the dual: the centred kernel
//! `K = X_c X_cᵀ` (n × n) is decomposed once, `K = U S Uᵀ`, and every λ costs
//! one `U (S + λ)⁻¹ Uᵀ y` — this is GBLUP with the genomic relationship matrix
//! `K / m` and `λ = m σ²_e / σ²_g`. Otherwise the primal `X_cᵀ X_c` is used the
//! same way.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::{Error, Result};

/// A fitted ridge model.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeFit {
    /// The penalty.
    pub lambda: f64,
    /// One weight per predictor.
    pub weights: Array1<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl RidgeFit {
    /// Predictions for the rows of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.dot(&self.weights) + self.intercept
    }
}

/// Fits ridge regression of `y` on `x` (`n × m`) for every penalty in
/// `lambdas` (each > 0), sharing one eigendecomposition.
pub fn ridge_path(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    lambdas: &[f64],
) -> Result<Vec<RidgeFit>> {
    let (n, m) = x.dim();
    if y.len() != n {
        return Err(Error::Invalid(format!(
            "ridge: {} outcomes for {n} samples",
            y.len()
        )));
    }
    if n < 2 || m == 0 {
        return Err(Error::Invalid(format!(
            "ridge: {n} samples and {m} predictors; need at least 2 and 1"
        )));
    }
    if let Some(bad) = lambdas.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(Error::Invalid(format!(
            "ridge: penalty {bad} is not positive"
        )));
    }
    if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "ridge: inputs contain NaN or infinity".into(),
        ));
    }
    let x_mean = x.mean_axis(ndarray::Axis(0)).expect("n ≥ 2");
    let y_mean = y.mean().expect("n ≥ 2");
    // X itself (no copy when row-major); centring enters as rank-one terms, so
    // a 2,000 × 50,000 matrix is never duplicated.
    let xs = x.as_standard_layout();
    let xr = MatRef::from_row_major_slice(xs.as_slice().expect("standard layout"), n, m);
    let mu = x_mean.as_slice().expect("contiguous");
    let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
    let yc_mat = MatRef::from_column_major_slice(&yc, n, 1);
    let par = Par::rayon(0);
    let dual = m > n;
    // Gram matrix of the smaller side of X_c.
    let size = if dual { n } else { m };
    let mut gram = Mat::<f64>::zeros(size, size);
    if dual {
        // X_c X_cᵀ = X Xᵀ − v 1ᵀ − 1 vᵀ + (μᵀμ) 1 1ᵀ with v = X μ.
        // Only the lower triangle: the factorisations below read no more.
        triangular::matmul(
            gram.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            xr,
            BlockStructure::Rectangular,
            xr.transpose(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        let mut v = Mat::<f64>::zeros(n, 1);
        let mu_mat = MatRef::from_column_major_slice(mu, m, 1);
        matmul(v.as_mut(), Accum::Replace, xr, mu_mat, 1.0, par);
        let mm: f64 = mu.iter().map(|u| u * u).sum();
        for j in 0..n {
            for i in 0..n {
                gram[(i, j)] += mm - v[(i, 0)] - v[(j, 0)];
            }
        }
    } else {
        // X_cᵀ X_c = Xᵀ X − n μ μᵀ.
        triangular::matmul(
            gram.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            xr.transpose(),
            BlockStructure::Rectangular,
            xr,
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        for j in 0..m {
            for i in 0..m {
                gram[(i, j)] -= n as f64 * mu[i] * mu[j];
            }
        }
    }
    // The right-hand side: y_c (dual) or X_cᵀ y_c = Xᵀ y_c (Σ y_c = 0).
    let rhs = || {
        if dual {
            yc_mat.to_owned()
        } else {
            let mut r = Mat::<f64>::zeros(m, 1);
            matmul(r.as_mut(), Accum::Replace, xr.transpose(), yc_mat, 1.0, par);
            r
        }
    };
    if let [lambda] = lambdas {
        // One penalty: a Cholesky solve of (G + λI) beats an eigendecomposition.
        let mut shifted = gram.clone();
        for k in 0..size {
            shifted[(k, k)] += lambda;
        }
        let llt = shifted
            .llt(Side::Lower)
            .map_err(|e| Error::Invalid(format!("ridge: Cholesky factorisation failed: {e:?}")))?;
        let mut coef = rhs();
        llt.solve_in_place(coef.as_mut());
        let weights = finish_weights(xr, mu, &coef, dual, par);
        let intercept = y_mean - weights.dot(&x_mean);
        return Ok(vec![RidgeFit {
            lambda: *lambda,
            weights,
            intercept,
        }]);
    }
    let evd = gram
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::Invalid(format!("ridge: eigendecomposition failed: {e:?}")))?;
    let (u, s) = (evd.U(), evd.S());
    // Uᵀ r where r = y (dual) or Xᵀ y (primal).
    let rhs = rhs();
    let mut ut_r = Mat::<f64>::zeros(size, 1);
    matmul(
        ut_r.as_mut(),
        Accum::Replace,
        u.transpose(),
        rhs.as_ref(),
        1.0,
        par,
    );
    lambdas
        .iter()
        .map(|&lambda| {
            let mut scaled = Mat::<f64>::zeros(size, 1);
            for k in 0..size {
                // Eigenvalues of a Gram matrix are ≥ 0; clip rounding below.
                scaled[(k, 0)] = ut_r[(k, 0)] / (s[k].max(0.0) + lambda);
            }
            let mut coef = Mat::<f64>::zeros(size, 1);
            matmul(coef.as_mut(), Accum::Replace, u, scaled.as_ref(), 1.0, par);
            let weights = finish_weights(xr, mu, &coef, dual, par);
            let intercept = y_mean - weights.dot(&x_mean);
            Ok(RidgeFit {
                lambda,
                weights,
                intercept,
            })
        })
        .collect()
}

/// The weights from the solved coefficients: `w = X_cᵀ α` in the dual.
fn finish_weights(
    x: MatRef<'_, f64>,
    mu: &[f64],
    coef: &Mat<f64>,
    dual: bool,
    par: Par,
) -> Array1<f64> {
    let m = x.ncols();
    if dual {
        // X_cᵀ α = Xᵀ α − μ (1ᵀ α).
        let mut w = Mat::<f64>::zeros(m, 1);
        matmul(
            w.as_mut(),
            Accum::Replace,
            x.transpose(),
            coef.as_ref(),
            1.0,
            par,
        );
        let total: f64 = (0..coef.nrows()).map(|i| coef[(i, 0)]).sum();
        (0..m).map(|j| w[(j, 0)] - mu[j] * total).collect()
    } else {
        (0..m).map(|j| coef[(j, 0)]).collect()
    }
}

/// [`ridge_path`] for one penalty.
pub fn ridge(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, lambda: f64) -> Result<RidgeFit> {
    Ok(ridge_path(x, y, &[lambda])?.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    /// The normal equations hold at the fit: Xcᵀ(yc − Xc w) = λ w.
    fn assert_stationary(x: &Array2<f64>, y: &Array1<f64>, fit: &RidgeFit) {
        let xm = x.mean_axis(ndarray::Axis(0)).unwrap();
        let xc = x - &xm;
        let resid = y - &fit.predict(x.view());
        let grad = xc.t().dot(&resid) - &(fit.weights.clone() * fit.lambda);
        assert!(grad.iter().all(|g| g.abs() < 1e-8), "gradient {grad}");
        assert!(resid.sum().abs() < 1e-8, "intercept: residuals sum to 0");
    }

    #[test]
    fn primal_and_dual_solve_the_normal_equations() {
        let tall = array![[1.0, 2.0], [2.0, 0.5], [3.0, 1.0], [4.0, 3.0], [0.0, 1.0]];
        let y_tall = array![1.0, 2.0, 2.5, 4.0, 0.3];
        for fit in ridge_path(tall.view(), y_tall.view(), &[0.1, 1.0, 10.0]).unwrap() {
            assert_stationary(&tall, &y_tall, &fit);
        }
        let wide = array![
            [1.0, 0.0, 2.0, 1.0],
            [0.0, 1.0, 1.0, 2.0],
            [2.0, 1.0, 0.0, 0.0]
        ];
        let y_wide = array![1.0, -1.0, 0.5];
        for fit in ridge_path(wide.view(), y_wide.view(), &[0.01, 1.0, 100.0]).unwrap() {
            assert_stationary(&wide, &y_wide, &fit);
        }
        // Larger penalties shrink.
        let path = ridge_path(wide.view(), y_wide.view(), &[0.01, 100.0]).unwrap();
        assert!(path[1].weights.dot(&path[1].weights) < path[0].weights.dot(&path[0].weights));
    }

    #[test]
    fn one_penalty_by_cholesky_equals_the_path() {
        let wide = array![
            [1.0, 0.0, 2.0, 1.0],
            [0.0, 1.0, 1.0, 2.0],
            [2.0, 1.0, 0.0, 0.0]
        ];
        let y = array![1.0, -1.0, 0.5];
        let single = ridge(wide.view(), y.view(), 0.7).unwrap();
        let path = ridge_path(wide.view(), y.view(), &[0.7, 2.0]).unwrap();
        for (a, b) in single.weights.iter().zip(&path[0].weights) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_stationary(&wide, &y, &single);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = array![[1.0], [2.0]];
        assert!(ridge(x.view(), array![1.0].view(), 1.0).is_err());
        assert!(ridge(x.view(), array![1.0, 2.0].view(), 0.0).is_err());
        assert!(ridge(x.view(), array![1.0, f64::NAN].view(), 1.0).is_err());
    }
}
