//! Per-variant logistic regression for case/control traits, as `plink2 --glm`
//! (2.00a3) runs it: a Wald test after Newton–Raphson with PLINK 2's stopping
//! rules (warm-started from the covariates-only fit, fitted once per phenotype,
//! where PLINK 2 starts from zero: fewer iterations, the same estimate), and Firth's penalised likelihood (PLINK 2's port of logistf) as
//! a fallback (`firth-fallback`: when an allele is absent from the cases or the
//! controls, or the ordinary fit fails) or throughout (`firth`). PLINK 2.00a3
//! computes these in single precision; genolens uses double, which changes
//! printed values by about 1e-6 relative.
//!
//! The same semantics as the linear scan: the tested allele's dosage, samples
//! missing the phenotype or a covariate left out everywhere, missing calls left out
//! per variant, PLINK 2's error codes for constant genotypes and too few samples.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use genolens_io::GenotypeSource;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::linear::{
    cholesky_by, decode_block, forward, Covariates, NullModel, Phenotype, Progress,
};
use crate::stats::{ln_normal_two_sided, neg_log10};

/// When Firth's penalised likelihood is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirthMode {
    /// Only when the ordinary fit fails (PLINK 2's `firth-fallback`).
    #[default]
    Fallback,
    /// For every variant (PLINK 2's `firth`).
    Always,
    /// Never: a failed fit gets `LOGISTIC_CONVERGE_FAIL`.
    Never,
}

/// PLINK 2's per-variant error codes for the logistic model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogisticError {
    /// The genotype is constant over the samples used.
    ConstOmittedAllele,
    /// No more samples than predictors.
    SampleCtLePredictorCt,
    /// Newton–Raphson did not converge and Firth was not asked for.
    LogisticConvergeFail,
    /// Firth's penalised likelihood did not converge either.
    FirthConvergeFail,
    /// An allele is absent from the cases or from the controls and Firth was not
    /// allowed.
    Separation,
}

impl LogisticError {
    /// The `ERRCODE` PLINK 2 prints.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConstOmittedAllele => "CONST_OMITTED_ALLELE",
            Self::SampleCtLePredictorCt => "SAMPLE_CT<=PREDICTOR_CT",
            Self::LogisticConvergeFail => "LOGISTIC_CONVERGE_FAIL",
            Self::FirthConvergeFail => "FIRTH_CONVERGE_FAIL",
            Self::Separation => "SEPARATION",
        }
    }
}

/// One variant's test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticTest {
    /// Samples in the regression.
    pub obs_ct: u32,
    /// log odds ratio per copy of allele 1; `NaN` when not estimable.
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// `beta / se`.
    pub z: f64,
    /// ln of the two-sided Wald p-value.
    pub ln_p: f64,
    /// Whether Firth's penalised likelihood gave the estimate.
    pub firth: bool,
    /// The fit hit its iteration limit; the estimate is reported anyway, with
    /// PLINK 2's `UNFINISHED` code.
    pub unfinished: bool,
    /// Why the test did not run, if it did not.
    pub error: Option<LogisticError>,
}

impl LogisticTest {
    fn failed(obs_ct: u32, firth: bool, error: LogisticError) -> Self {
        Self {
            obs_ct,
            beta: f64::NAN,
            se: f64::NAN,
            z: f64::NAN,
            ln_p: f64::NAN,
            firth,
            unfinished: false,
            error: Some(error),
        }
    }

    /// The odds ratio `exp(beta)`.
    pub fn odds_ratio(&self) -> f64 {
        self.beta.exp()
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

/// The outcome of [`logistic_scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticScan {
    /// Per phenotype, one test per variant in source order.
    pub tests: Vec<Vec<LogisticTest>>,
    /// Per phenotype, the covariates left out as constant.
    pub dropped_covariates: Vec<Vec<String>>,
    /// Per phenotype, (cases, controls) among the samples with every covariate.
    pub case_control: Vec<(usize, usize)>,
}

/// A fitted model: coefficients, the inverse information's diagonal entry for the
/// genotype (the last coefficient), and whether the iteration limit was hit.
struct Fit {
    beta: Vec<f64>,
    var_last: f64,
    unfinished: bool,
}

/// One variant's regression: the design of the samples used (`n × k`,
/// column-major, genotype last) and their outcomes.
struct Problem {
    z: Mat<f64>,
    y: Vec<f64>,
    k: usize,
}

/// Probabilities, log-likelihood and information `Zᵀ V Z` (row-major `k × k`) at
/// some coefficients.
struct Evaluation {
    mu: Vec<f64>,
    loglik: f64,
    info: Vec<f64>,
}

impl Problem {
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
fn logistic_fit(problem: &Problem, start: &[f64]) -> Option<Fit> {
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
fn firth_fit(problem: &Problem) -> Option<Fit> {
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
fn backward(l: &[f64], p: usize, b: &mut [f64]) {
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// Scans every variant of `source` against each case/control phenotype (values
/// 0 = control, 1 = case, `NaN` missing) with the same covariates, decoding each
/// block once for all phenotypes, blocks in parallel on the current rayon pool.
pub fn logistic_scan<S: GenotypeSource + ?Sized>(
    source: &S,
    phenotypes: &[Phenotype<'_>],
    covariates: &Covariates<'_>,
    firth: FirthMode,
    block_size: usize,
    progress: Progress<'_>,
) -> Result<LogisticScan> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n = source.n_samples();
    for p in phenotypes {
        if p.values.len() != n {
            return Err(Error::Invalid(format!(
                "phenotype {} has {} values for {n} samples",
                p.name,
                p.values.len()
            )));
        }
        if let Some(bad) = p
            .values
            .iter()
            .find(|v| !v.is_nan() && **v != 0.0 && **v != 1.0)
        {
            return Err(Error::Invalid(format!(
                "phenotype {} is not case/control: value {bad} (expected 0 or 1)",
                p.name
            )));
        }
    }
    let models = phenotypes
        .iter()
        .map(|p| NullModel::new(p, covariates))
        .collect::<Result<Vec<_>>>()?;
    // The covariates-only fit, fitted once: every variant's Newton–Raphson starts
    // from it (with a zero genotype effect), which saves iterations over PLINK
    // 2's start at zero and lands on the same estimate.
    let nulls: Vec<Vec<f64>> = models
        .iter()
        .zip(phenotypes)
        .map(|(m, ph)| {
            let rows: Vec<usize> = (0..n).filter(|&i| m.valid[i]).collect();
            let mut z = Mat::<f64>::zeros(rows.len(), m.predictors);
            for (r, &i) in rows.iter().enumerate() {
                for a in 0..m.predictors {
                    z[(r, a)] = m.xy[(i, a)];
                }
            }
            let y = rows.iter().map(|&i| m.xy[(i, m.predictors)]).collect();
            let problem = Problem {
                z,
                y,
                k: m.predictors,
            };
            logistic_fit(&problem, &vec![0.0; m.predictors])
                .map(|f| f.beta)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "phenotype {}: the covariates-only logistic model does not converge; \
                         a covariate may separate cases from controls",
                        ph.name
                    ))
                })
        })
        .collect::<Result<_>>()?;
    let valid_rows: Vec<Vec<usize>> = models
        .iter()
        .map(|m| (0..n).filter(|&i| m.valid[i]).collect())
        .collect();
    let case_control = models
        .iter()
        .map(|m| {
            let cases = (0..n)
                .filter(|&i| m.valid[i] && m.xy[(i, m.predictors)] > 0.5)
                .count();
            (cases, m.n_valid - cases)
        })
        .collect();
    let n_var = source.n_variants();
    let step = block_size.max(1);
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    let done = AtomicUsize::new(0);
    let per_block: Vec<Vec<Vec<LogisticTest>>> = starts
        .par_iter()
        .map(|&start| -> Result<_> {
            let end = (start + step).min(n_var);
            let (g, missing) = decode_block(source, start..end)?;
            let out = models
                .iter()
                .zip(&nulls)
                .zip(&valid_rows)
                .map(|((m, null), valid)| {
                    (0..g.ncols())
                        .map(|j| test_variant(m, null, valid, &g, j, &missing[j], firth))
                        .collect()
                })
                .collect();
            progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut tests: Vec<Vec<LogisticTest>> = vec![Vec::with_capacity(n_var); phenotypes.len()];
    for block in per_block {
        for (t, b) in tests.iter_mut().zip(block) {
            t.extend(b);
        }
    }
    Ok(LogisticScan {
        tests,
        dropped_covariates: models.into_iter().map(|m| m.dropped).collect(),
        case_control,
    })
}

/// The ordinary fit, warm-started; a start that does not converge cleanly is
/// retried from zero, PLINK 2's start, so that unfinished and failed fits (and so
/// the Firth fallback) are decided on PLINK 2's path.
fn plain_fit(problem: &Problem, warm: &[f64]) -> Option<Fit> {
    match logistic_fit(problem, warm) {
        Some(f) if !f.unfinished => Some(f),
        _ => logistic_fit(problem, &vec![0.0; problem.k]),
    }
}

fn test_variant(
    m: &NullModel,
    null: &[f64],
    valid: &[usize],
    g: &Mat<f64>,
    j: usize,
    missing: &[usize],
    firth: FirthMode,
) -> LogisticTest {
    let p = m.predictors;
    let rows: Vec<usize> = if missing.is_empty() {
        valid.to_vec()
    } else {
        valid
            .iter()
            .copied()
            .filter(|i| missing.binary_search(i).is_err())
            .collect()
    };
    let obs_ct = rows.len() as u32;
    if rows.len() <= p + 1 {
        return LogisticTest::failed(obs_ct, false, LogisticError::SampleCtLePredictorCt);
    }
    let first = g[(rows[0], j)];
    if rows.iter().all(|&i| g[(i, j)] == first) {
        return LogisticTest::failed(obs_ct, false, LogisticError::ConstOmittedAllele);
    }
    let k = p + 1;
    let mut z = Mat::<f64>::zeros(rows.len(), k);
    let mut y = Vec::with_capacity(rows.len());
    // An allele absent from the cases or from the controls separates them: the
    // ordinary MLE is at infinity, so PLINK 2 goes straight to Firth.
    let (mut case_alt, mut all_alt, mut cases) = (0.0f64, 0.0f64, 0usize);
    for (r, &i) in rows.iter().enumerate() {
        for a in 0..p {
            z[(r, a)] = m.xy[(i, a)];
        }
        let gi = g[(i, j)];
        z[(r, p)] = gi;
        let yi = m.xy[(i, p)];
        y.push(yi);
        all_alt += gi;
        if yi > 0.5 {
            case_alt += gi;
            cases += 1;
        }
    }
    let problem = Problem { z, y, k };
    let mut start = null.to_vec();
    start.push(0.0);
    let case_ref = 2.0 * cases as f64 - case_alt;
    let all_ref = 2.0 * rows.len() as f64 - all_alt;
    let separated =
        case_alt == 0.0 || case_alt == all_alt || case_ref == 0.0 || case_ref == all_ref;
    let (fit, used_firth) = match firth {
        FirthMode::Always => (firth_fit(&problem), true),
        FirthMode::Fallback if separated => (firth_fit(&problem), true),
        FirthMode::Never if separated => {
            return LogisticTest::failed(obs_ct, false, LogisticError::Separation)
        }
        FirthMode::Fallback => match plain_fit(&problem, &start) {
            Some(f) => (Some(f), false),
            None => (firth_fit(&problem), true),
        },
        FirthMode::Never => match plain_fit(&problem, &start) {
            Some(f) => (Some(f), false),
            None => {
                return LogisticTest::failed(obs_ct, false, LogisticError::LogisticConvergeFail)
            }
        },
    };
    let Some(fit) = fit else {
        return LogisticTest::failed(obs_ct, true, LogisticError::FirthConvergeFail);
    };
    let beta = fit.beta[p];
    let se = fit.var_last.sqrt();
    let zstat = beta / se;
    LogisticTest {
        obs_ct,
        beta,
        se,
        z: zstat,
        ln_p: ln_normal_two_sided(zstat),
        firth: used_firth,
        unfinished: fit.unfinished,
        error: None,
    }
}
