//! The seed's teaching model: linear regression trained by mini-batch gradient
//! descent on standardised inputs.
//!
//! Each epoch visits the samples in a seeded random order, in batches; each
//! batch moves the weights against the gradient of the batch's mean squared
//! error, `∇ = −(2/B) Xᵦᵀ(yᵦ − Xᵦw − b)`. With inputs standardised (mean 0, sd 1
//! on the training samples) one learning rate suits every predictor, and with a
//! learning rate that decays as `rate / (1 + epoch · decay)` the iterates settle
//! on the least-squares solution. It is here to be read and compared, not to
//! beat the closed forms.

use genolens_features::split::permutation;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientDescent {
    /// Initial learning rate, divided by the number of predictors: with
    /// standardised inputs the loss's curvature grows with their number, and
    /// `rate / m` keeps the first steps stable whatever `m` is.
    pub rate: f64,
    /// Learning-rate decay per epoch.
    pub decay: f64,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Seed of the sample order.
    pub seed: u64,
}

impl Default for GradientDescent {
    fn default() -> Self {
        Self {
            rate: 0.5,
            decay: 0.05,
            epochs: 200,
            batch: 32,
            seed: 1,
        }
    }
}

/// A linear model fitted by [`GradientDescent::fit`], in the original units.
#[derive(Debug, Clone, PartialEq)]
pub struct GdFit {
    /// One weight per predictor.
    pub weights: Array1<f64>,
    /// The intercept.
    pub intercept: f64,
    /// The training mean squared error after each epoch.
    pub losses: Vec<f64>,
}

impl GdFit {
    /// Predictions for the rows of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.dot(&self.weights) + self.intercept
    }
}

impl GradientDescent {
    /// Fits `y` on `x` (`n × m`).
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<GdFit> {
        let (n, m) = x.dim();
        if n == 0 || y.len() != n {
            return Err(Error::Invalid(format!(
                "gradient descent: {n} samples and {} outcomes",
                y.len()
            )));
        }
        if self.batch == 0 || self.epochs == 0 || self.rate.is_nan() || self.rate <= 0.0 {
            return Err(Error::Invalid(
                "gradient descent: batch, epochs and rate must be positive".into(),
            ));
        }
        // Standardise on the training samples; constant predictors stay 0.
        let mean = x.mean_axis(Axis(0)).expect("n > 0");
        let sd = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 0.0 { s } else { 1.0 });
        let z = (&x - &mean) / &sd;
        let mut w = Array1::<f64>::zeros(m);
        let mut b = 0.0f64;
        let mut losses = Vec::with_capacity(self.epochs);
        for epoch in 0..self.epochs {
            let rate = self.rate / m.max(1) as f64 / (1.0 + epoch as f64 * self.decay);
            let order = permutation(n, self.seed.wrapping_add(epoch as u64));
            for batch in order.chunks(self.batch) {
                let mut grad_w = Array1::<f64>::zeros(m);
                let mut grad_b = 0.0;
                for &i in batch {
                    let row = z.row(i);
                    let resid = y[i] - row.dot(&w) - b;
                    grad_w.scaled_add(-2.0 * resid, &row);
                    grad_b -= 2.0 * resid;
                }
                let scale = rate / batch.len() as f64;
                w.scaled_add(-scale, &grad_w);
                b -= scale * grad_b;
            }
            let fitted = z.dot(&w) + b;
            losses.push((&y - &fitted).mapv(|r| r * r).mean().unwrap_or(f64::NAN));
        }
        if losses.last().is_some_and(|l| !l.is_finite()) {
            return Err(Error::Invalid(format!(
                "gradient descent diverged (learning rate {} too large)",
                self.rate
            )));
        }
        // Back to the original units.
        let weights = &w / &sd;
        let intercept = b - weights.dot(&mean);
        Ok(GdFit {
            weights,
            intercept,
            losses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::ridge::ridge;
    use ndarray::Array2;

    #[test]
    fn converges_to_least_squares_and_is_seeded() {
        // 200 samples, 3 predictors on different scales, a little noise.
        let n = 200;
        let mut state = 11u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let x = Array2::from_shape_fn((n, 3), |(_, j)| uniform() * [1.0, 10.0, 0.1][j]);
        let y: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|r| 1.5 + 2.0 * r[0] - 0.3 * r[1] + 7.0 * r[2] + 0.1 * (uniform() - 0.5))
            .collect();
        // Least squares (ridge with a vanishing penalty).
        let ols = ridge(x.view(), y.view(), 1e-9).unwrap();
        // Full batches and a constant rate: plain gradient descent, which
        // converges to the least-squares solution itself.
        let full = GradientDescent {
            batch: n,
            epochs: 3000,
            decay: 0.0,
            rate: 1.0,
            seed: 1,
        }
        .fit(x.view(), y.view())
        .unwrap();
        for (a, b) in full.weights.iter().zip(&ols.weights) {
            assert!(
                (a - b).abs() < 1e-6 * (1.0 + b.abs()),
                "{} vs {}",
                full.weights,
                ols.weights
            );
        }
        assert!((full.intercept - ols.intercept).abs() < 1e-6);
        // Mini-batches: the decaying rate damps the batch noise to within 1 %.
        let gd = GradientDescent::default().fit(x.view(), y.view()).unwrap();
        for (a, b) in gd.weights.iter().zip(&ols.weights) {
            assert!(
                (a - b).abs() < 1e-2 * (1.0 + b.abs()),
                "{} vs {}",
                gd.weights,
                ols.weights
            );
        }
        assert!((gd.intercept - ols.intercept).abs() < 1e-2);
        assert!(gd.losses.first() > gd.losses.last(), "the loss falls");
        let again = GradientDescent::default().fit(x.view(), y.view()).unwrap();
        assert_eq!(gd, again, "same seed, same fit");
        let other = GradientDescent {
            seed: 2,
            ..GradientDescent::default()
        }
        .fit(x.view(), y.view())
        .unwrap();
        assert_ne!(
            gd.weights, other.weights,
            "another seed visits another order"
        );
    }
}
