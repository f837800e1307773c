//! Prior-weighted multiple testing.
//!
//! - [`weighted_bh`]: Genovese, Roeder & Wasserman's (2006) weighted
//!   Benjamini–Hochberg: BH on `p_j / w_j` with weights of mean 1, which keeps
//!   the FDR at α for independent (and positively dependent) tests whatever
//!   the weights, as long as they do not depend on the p-values.
//! - [`weighted_bonferroni`]: reject `p_j ≤ α w_j / m` (family-wise error ≤ α).
//! - [`adaptive_weights`]: weights learned from the data with cross-fitting,
//!   as IHW (Ignatiadis et al. 2016) does. Fixed weights lose power when the
//!   prior is wrong (up-weighting a quarter of the genome 3× costs about 17 %
//!   of the discoveries when the signals lie elsewhere); here the variants are
//!   split into contiguous genomic folds, and each fold's weights are the
//!   prior weights raised to the strength `κ` (0 = unweighted, 1 = as given,
//!   2 = sharper) that gave the most weighted-BH rejections on the *other*
//!   folds. A fold's own p-values never choose its weights, so the FDR
//!   guarantee of weighted BH carries over; a useless prior gets `κ` near 0
//!   and costs little. Folds are contiguous so that variants in LD with a
//!   held-out variant do not choose its weight.

use crate::error::{Error, Result};
use crate::mapping::normalise_mean_one;

/// Weighted Benjamini–Hochberg q-values, in input order: the smallest FDR
/// level at which each test is rejected. Tests with a `NaN` p-value are not
/// tests: their q is `NaN`, and the weights are renormalised to mean 1 over
/// the others. Errors when the lengths differ or a weight is not positive
/// and finite.
pub fn weighted_bh(p: &[f64], w: &[f64]) -> Result<Vec<f64>> {
    let w = tested_weights(p, w)?;
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let ratio = |i: usize| p[i] / w[i];
    order.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(a.cmp(&b)));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(ratio(i) * m / (rank as f64 + 1.0));
        q[i] = running;
    }
    Ok(q)
}

/// Weighted Bonferroni: which tests have `p_j ≤ α w_j / m` (weights
/// renormalised over the tests with a p-value, as in [`weighted_bh`]).
pub fn weighted_bonferroni(p: &[f64], w: &[f64], alpha: f64) -> Result<Vec<bool>> {
    let w = tested_weights(p, w)?;
    let m = p.iter().filter(|x| !x.is_nan()).count().max(1) as f64;
    Ok(p.iter()
        .zip(&w)
        .map(|(&p, &w)| !p.is_nan() && p <= alpha * w / m)
        .collect())
}

/// The weights renormalised to mean 1 over the tests with a p-value.
fn tested_weights(p: &[f64], w: &[f64]) -> Result<Vec<f64>> {
    if p.len() != w.len() {
        return Err(Error::invalid(format!(
            "{} p-values and {} weights",
            p.len(),
            w.len()
        )));
    }
    if let Some(bad) = w.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        return Err(Error::invalid(format!(
            "weight {bad} is not a positive number"
        )));
    }
    if let Some(bad) = p.iter().find(|x| !x.is_nan() && !(0.0..=1.0).contains(*x)) {
        return Err(Error::invalid(format!("p-value {bad} is outside [0, 1]")));
    }
    let tested: Vec<f64> = p
        .iter()
        .zip(w)
        .filter(|(p, _)| !p.is_nan())
        .map(|(_, &w)| w)
        .collect();
    let mean = tested.iter().sum::<f64>() / tested.len().max(1) as f64;
    Ok(w.iter().map(|x| x / mean).collect())
}

/// Options of [`adaptive_weights`].
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveOptions {
    /// Contiguous genomic folds.
    pub folds: usize,
    /// Strengths `κ` tried (`w^κ`); 0, the unweighted analysis, should be
    /// among them.
    pub strengths: Vec<f64>,
    /// The FDR level whose rejections are counted.
    pub alpha: f64,
}

impl Default for AdaptiveOptions {
    fn default() -> Self {
        Self {
            folds: 5,
            strengths: vec![0.0, 0.25, 0.5, 1.0, 1.5, 2.0],
            alpha: 0.05,
        }
    }
}

/// Weights learned by [`adaptive_weights`].
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveWeights {
    /// One weight per test (mean 1 within each fold, so overall).
    pub weights: Vec<f64>,
    /// Each test's fold.
    pub fold: Vec<usize>,
    /// The strength chosen for each fold (on the other folds).
    pub strength: Vec<f64>,
}

/// Contiguous folds over `n` tests in genomic order: `k` blocks of (nearly)
/// equal size.
pub fn genomic_folds(n: usize, k: usize) -> Vec<usize> {
    let k = k.max(1).min(n.max(1));
    (0..n).map(|i| i * k / n.max(1)).collect()
}

/// Cross-fitted data-adaptive weights from prior weights `base` (each > 0):
/// see the [module documentation](self). `fold` gives each test's fold
/// (e.g. [`genomic_folds`]).
pub fn adaptive_weights(
    p: &[f64],
    base: &[f64],
    fold: &[usize],
    options: &AdaptiveOptions,
) -> Result<AdaptiveWeights> {
    if p.len() != base.len() || p.len() != fold.len() {
        return Err(Error::invalid(format!(
            "{} p-values, {} weights and {} fold labels",
            p.len(),
            base.len(),
            fold.len()
        )));
    }
    if options.strengths.is_empty() || options.strengths.iter().any(|s| !s.is_finite()) {
        return Err(Error::invalid("adaptive weights need finite strengths"));
    }
    if !(options.alpha > 0.0 && options.alpha < 1.0) {
        return Err(Error::invalid(format!(
            "FDR level {} is not in (0, 1)",
            options.alpha
        )));
    }
    if let Some(bad) = base.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        return Err(Error::invalid(format!(
            "weight {bad} is not a positive number"
        )));
    }
    let n_folds = fold.iter().copied().max().map_or(0, |f| f + 1);
    let mut weights = vec![1.0; p.len()];
    let mut strength = Vec::with_capacity(n_folds);
    for k in 0..n_folds {
        let (inside, outside): (Vec<usize>, Vec<usize>) = (0..p.len()).partition(|&i| fold[i] == k);
        let out_p: Vec<f64> = outside.iter().map(|&i| p[i]).collect();
        let mut best = (0usize, options.strengths[0]);
        for (t, &kappa) in options.strengths.iter().enumerate() {
            let w: Vec<f64> = outside.iter().map(|&i| base[i].powf(kappa)).collect();
            let q = weighted_bh(&out_p, &w)?;
            let hits = q.iter().filter(|&&x| x <= options.alpha).count();
            // Strict: on ties the earlier (weaker) strength stays.
            if t == 0 || hits > best.0 {
                best = (hits, kappa);
            }
        }
        let kappa = best.1;
        strength.push(kappa);
        let raw: Vec<f64> = inside.iter().map(|&i| base[i].powf(kappa)).collect();
        for (&i, w) in inside.iter().zip(normalise_mean_one(&raw)) {
            weights[i] = w;
        }
    }
    Ok(AdaptiveWeights {
        weights,
        fold: fold.to_vec(),
        strength,
    })
}

/// How the prior weights enter.
#[derive(Debug, Clone, PartialEq)]
pub enum Weighting {
    /// The prior weights as they are.
    Fixed,
    /// Cross-fitted strengths ([`adaptive_weights`]).
    Adaptive(AdaptiveOptions),
}

impl Weighting {
    /// The CLI name (`fixed`, `adaptive`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Adaptive(_) => "adaptive",
        }
    }
}

/// The tests of one trait with and without the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedTests {
    /// The weight each test got (mean 1 over the tests).
    pub weights: Vec<f64>,
    /// `p / weight`.
    pub p_weighted: Vec<f64>,
    /// Unweighted Benjamini–Hochberg q-values.
    pub q: Vec<f64>,
    /// Weighted Benjamini–Hochberg q-values.
    pub q_weighted: Vec<f64>,
    /// Per fold, the chosen strength (adaptive weighting only).
    pub strengths: Vec<f64>,
    /// The level the counts below are at.
    pub alpha: f64,
    /// Tests with a p-value.
    pub tests: usize,
    /// Rejections of unweighted BH at `alpha`.
    pub bh: usize,
    /// Rejections of weighted BH at `alpha`.
    pub bh_weighted: usize,
    /// Rejections of Bonferroni at `alpha`.
    pub bonferroni: usize,
    /// Rejections of weighted Bonferroni at `alpha`.
    pub bonferroni_weighted: usize,
}

/// Weighted and unweighted tests of p-values `p` (in genomic order; `NaN` =
/// not tested) with prior weights `prior` (each > 0), at FDR / FWER `alpha`.
pub fn prior_weighted_tests(
    p: &[f64],
    prior: &[f64],
    weighting: &Weighting,
    alpha: f64,
) -> Result<WeightedTests> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::invalid(format!("level {alpha} is not in (0, 1)")));
    }
    let tested: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    if tested.is_empty() {
        return Err(Error::invalid("no test has a p-value"));
    }
    let (weights, strengths) = match weighting {
        Weighting::Fixed => (tested_weights(p, prior)?, Vec::new()),
        Weighting::Adaptive(options) => {
            // Folds over the tested variants only, in order.
            let tp: Vec<f64> = tested.iter().map(|&i| p[i]).collect();
            let tw: Vec<f64> = tested.iter().map(|&i| prior[i]).collect();
            let folds = genomic_folds(tested.len(), options.folds);
            let a = adaptive_weights(
                &tp,
                &tw,
                &folds,
                &AdaptiveOptions {
                    alpha,
                    ..options.clone()
                },
            )?;
            let mut w = vec![1.0; p.len()];
            for (&i, &x) in tested.iter().zip(&a.weights) {
                w[i] = x;
            }
            (w, a.strength)
        }
    };
    let ones = vec![1.0; p.len()];
    let q = weighted_bh(p, &ones)?;
    let q_weighted = weighted_bh(p, &weights)?;
    let count = |v: &[f64]| v.iter().filter(|&&x| x <= alpha).count();
    let bonf = weighted_bonferroni(p, &ones, alpha)?;
    let bonf_w = weighted_bonferroni(p, &weights, alpha)?;
    Ok(WeightedTests {
        p_weighted: p
            .iter()
            .zip(&weights)
            .map(|(p, w)| {
                if p.is_nan() {
                    f64::NAN
                } else {
                    (p / w).min(1.0)
                }
            })
            .collect(),
        bh: count(&q),
        bh_weighted: count(&q_weighted),
        bonferroni: bonf.iter().filter(|&&x| x).count(),
        bonferroni_weighted: bonf_w.iter().filter(|&&x| x).count(),
        tests: tested.len(),
        weights,
        q,
        q_weighted,
        strengths,
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use genolens_assoc::summary::benjamini_hochberg;

    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn equal_weights_give_plain_bh() {
        let p = [0.01, 0.04, 0.03, 0.005, f64::NAN];
        let q = weighted_bh(&p, &[2.0; 5]).unwrap();
        let plain = benjamini_hochberg(&p);
        for (a, b) in q.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-15 || (a.is_nan() && b.is_nan()));
        }
    }

    #[test]
    fn weights_move_discoveries_and_bonferroni_scales() {
        // Two signals; the weight on the weaker one makes it a discovery.
        let mut p = uniform(1000, 3);
        p[0] = 1e-6;
        p[1] = 2e-4;
        let mut w = vec![1.0; 1000];
        w[1] = 10.0;
        let plain = weighted_bh(&p, &vec![1.0; 1000]).unwrap();
        let weighted = weighted_bh(&p, &w).unwrap();
        assert!(
            plain[1] > 0.05 && weighted[1] <= 0.05,
            "{} {}",
            plain[1],
            weighted[1]
        );
        assert!(weighted[0] <= 0.05);
        // Weighted Bonferroni: threshold α·w/m with w renormalised to mean 1.
        let mean = (999.0 + 10.0) / 1000.0;
        let r = weighted_bonferroni(&p, &w, 0.05).unwrap();
        assert!(r[0] && (r[1] == (2e-4 <= 0.05 * 10.0 / mean / 1000.0)));
        assert!(weighted_bh(&p, &vec![0.0; 1000]).is_err());
        assert!(weighted_bh(&p, &[1.0]).is_err());
    }

    #[test]
    fn adaptive_weights_follow_an_informative_prior_and_ignore_a_useless_one() {
        let n = 20_000;
        let mut p = uniform(n, 11);
        let strength = uniform(n, 12);
        // Signals of graded strength (p from 1e-7 to 1e-2) at every 100th
        // variant, all prior-supported.
        let mut base = vec![0.5; n];
        for i in (0..n).step_by(100) {
            base[i] = 5.0;
            p[i] = 10f64.powf(-2.0 - 5.0 * strength[i]);
        }
        let base = normalise_mean_one(&base);
        let folds = genomic_folds(n, 5);
        assert_eq!(folds[0], 0);
        assert_eq!(folds[n - 1], 4);
        let good = adaptive_weights(&p, &base, &folds, &AdaptiveOptions::default()).unwrap();
        assert!(
            good.strength.iter().all(|&k| k >= 1.0),
            "{:?}",
            good.strength
        );
        let t = prior_weighted_tests(
            &p,
            &base,
            &Weighting::Adaptive(AdaptiveOptions::default()),
            0.05,
        )
        .unwrap();
        assert!(t.bh_weighted > t.bh, "{} vs {}", t.bh_weighted, t.bh);
        // The same signals with a prior that points elsewhere: strengths stay low.
        let mut wrong = vec![0.5; n];
        for i in (50..n).step_by(100) {
            wrong[i] = 5.0;
        }
        let wrong = normalise_mean_one(&wrong);
        let bad = adaptive_weights(&p, &wrong, &folds, &AdaptiveOptions::default()).unwrap();
        assert!(
            bad.strength.iter().all(|&k| k <= 0.25),
            "{:?}",
            bad.strength
        );
        let t = prior_weighted_tests(
            &p,
            &wrong,
            &Weighting::Adaptive(AdaptiveOptions::default()),
            0.05,
        )
        .unwrap();
        let fixed = prior_weighted_tests(&p, &wrong, &Weighting::Fixed, 0.05).unwrap();
        assert!(
            t.bh_weighted as f64 >= 0.97 * t.bh as f64,
            "{} vs {}",
            t.bh_weighted,
            t.bh
        );
        assert!(
            fixed.bh_weighted < t.bh_weighted,
            "{} vs {}",
            fixed.bh_weighted,
            t.bh_weighted
        );
        let mean = t.weights.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 1e-9);
    }
}
