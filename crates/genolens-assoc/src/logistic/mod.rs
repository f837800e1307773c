//! Per-variant logistic regression for case/control traits, as `plink2 --glm`
//! (2.00a3) runs it: a Wald test after Newton–Raphson with PLINK 2's stopping
//! rules, and Firth's penalised likelihood (PLINK 2's port of logistf) as a
//! fallback (`firth-fallback`: when an allele is absent from the cases or the
//! controls, when the ordinary fit fails, or for every variant when the
//! covariates alone separate cases from controls) or throughout (`firth`).
//! Rao's score test at the covariates-only fit is there for fast screening.
//!
//! Newton–Raphson starts from the covariates-only fit (fitted once per
//! phenotype) where PLINK 2 starts from zero: fewer iterations, the same
//! estimate. Variants are fitted a tile at a time in lockstep (`tile.rs`), so the
//! information matrices come from GEMMs; a variant whose fit fails PLINK 2's rules
//! there is refitted alone from zero, on PLINK 2's path (`fit.rs`). PLINK 2.00a3
//! computes in single precision; genolens uses double, which changes printed
//! values by about 1e-6 relative.
//!
//! The same semantics as the linear scan: the tested allele's dosage, samples
//! missing the phenotype or a covariate left out everywhere, missing calls left out
//! per variant, PLINK 2's error codes for constant genotypes and too few samples.

mod fit;
mod tile;

use faer::Mat;
use genolens_io::GenotypeSource;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::linear::{decode_block, Covariates, NullModel, Phenotype, Progress};
use crate::stats::{ln_normal_two_sided, neg_log10};
use fit::{firth_fit, logistic_fit, Fit, Problem};
use tile::{newton_tile, NullFit, TileBuffers, TileFit, TILE};

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

/// Which test the scan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogisticMethod {
    /// Wald test after Newton–Raphson (PLINK 2's `--glm`), with Firth as set.
    Wald(FirthMode),
    /// Rao's score test at the covariates-only fit: one step, no iteration, for
    /// screening. The reported coefficient is the one-step estimate from that fit
    /// and the standard error its information's; the statistic is exactly the
    /// score statistic when the variant has no missing calls (with missing calls
    /// the covariates-only fit is not refitted without those samples).
    Score,
}

impl Default for LogisticMethod {
    fn default() -> Self {
        Self::Wald(FirthMode::Fallback)
    }
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

    fn from_estimate(obs_ct: u32, beta: f64, var: f64, firth: bool, unfinished: bool) -> Self {
        let se = var.sqrt();
        let z = beta / se;
        Self {
            obs_ct,
            beta,
            se,
            z,
            ln_p: ln_normal_two_sided(z),
            firth,
            unfinished,
            error: None,
        }
    }

    /// A finished fit's test, or Firth's failure.
    fn from_fit(obs_ct: u32, fit: Option<Fit>, firth: bool) -> Self {
        match fit {
            Some(f) => Self::from_estimate(
                obs_ct,
                f.beta[f.beta.len() - 1],
                f.var_last,
                firth,
                f.unfinished,
            ),
            None if firth => Self::failed(obs_ct, true, LogisticError::FirthConvergeFail),
            None => Self::failed(obs_ct, false, LogisticError::LogisticConvergeFail),
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

/// Scans every variant of `source` against each case/control phenotype (values
/// 0 = control, 1 = case, `NaN` missing) with the same covariates, decoding each
/// block once for all phenotypes, blocks in parallel on the current rayon pool.
///
/// Errors name the phenotype: one that is not 0/1, constant, or has collinear
/// covariates; and covariates that separate cases from controls when Firth is
/// not allowed (PLINK 2's `no-firth`) or for the score test.
pub fn logistic_scan<S: GenotypeSource + ?Sized>(
    source: &S,
    phenotypes: &[Phenotype<'_>],
    covariates: &Covariates<'_>,
    method: LogisticMethod,
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
    let fits = models
        .iter()
        .zip(phenotypes)
        .map(|(m, ph)| PhenotypeFit::new(m, ph.name, method))
        .collect::<Result<Vec<_>>>()?;
    let n_var = source.n_variants();
    let step = block_size.max(1);
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    let done = AtomicUsize::new(0);
    let per_block: Vec<Vec<Vec<LogisticTest>>> = starts
        .par_iter()
        .map_init(
            || None,
            |recycled, &start| -> Result<_> {
                let end = (start + step).min(n_var);
                let block = decode_block(source, start..end, recycled.take())?;
                let out = fits
                    .iter()
                    .map(|f| f.test_block(&block.g, &block.missing, method))
                    .collect();
                *recycled = Some(block.g);
                progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
                Ok(out)
            },
        )
        .collect::<Result<_>>()?;
    let mut tests: Vec<Vec<LogisticTest>> = vec![Vec::with_capacity(n_var); phenotypes.len()];
    for block in per_block {
        for (t, b) in tests.iter_mut().zip(block) {
            t.extend(b);
        }
    }
    Ok(LogisticScan {
        tests,
        case_control: fits.iter().map(|f| (f.cases, f.null.n - f.cases)).collect(),
        dropped_covariates: models.into_iter().map(|m| m.dropped).collect(),
    })
}

/// One phenotype, ready to test variants: its samples and covariates-only fit.
struct PhenotypeFit {
    /// For each source sample, its row among the samples used, or `u32::MAX`.
    slot: Vec<u32>,
    /// Source index of each row.
    rows: Vec<usize>,
    null: NullFit,
    /// Whether the covariates-only model converged; when it does not, the
    /// covariates separate cases from controls and, as in PLINK 2, every variant
    /// gets Firth.
    null_converged: bool,
    cases: usize,
}

impl PhenotypeFit {
    fn new(m: &NullModel, name: &str, method: LogisticMethod) -> Result<Self> {
        let n = m.valid.len();
        let p = m.predictors;
        let rows: Vec<usize> = (0..n).filter(|&i| m.valid[i]).collect();
        let mut slot = vec![u32::MAX; n];
        for (r, &i) in rows.iter().enumerate() {
            slot[i] = r as u32;
        }
        let mut x = Vec::with_capacity(rows.len() * p);
        for a in 0..p {
            x.extend(rows.iter().map(|&i| m.xy[(i, a)]));
        }
        let y: Vec<f64> = rows.iter().map(|&i| m.xy[(i, p)]).collect();
        let cases = y.iter().filter(|&&v| v > 0.5).count();
        let problem = Problem::new(&x, p, &y, None, &[]);
        // Separation drives coefficients off to infinity: Newton–Raphson fails or
        // runs out of iterations, and either way there is no null fit to start
        // from.
        let fitted = logistic_fit(&problem, &vec![0.0; p]).filter(|f| !f.unfinished);
        let null_converged = fitted.is_some();
        if !null_converged
            && !matches!(
                method,
                LogisticMethod::Wald(FirthMode::Fallback | FirthMode::Always)
            )
        {
            return Err(Error::Invalid(format!(
                "phenotype {name}: the covariates-only logistic model does not converge: \
                 (quasi-)separated covariates; remove them or use Firth regression"
            )));
        }
        let beta = fitted.map_or_else(|| vec![0.0; p], |f| f.beta);
        Ok(Self {
            slot,
            rows,
            null: NullFit::new(x, y, beta),
            null_converged,
            cases,
        })
    }

    /// Tests every column of a decoded block (`n_samples × b`, missing calls 0
    /// and listed in `missing`).
    fn test_block(
        &self,
        g: &Mat<f64>,
        missing: &[Vec<usize>],
        method: LogisticMethod,
    ) -> Vec<LogisticTest> {
        let nv = self.null.n;
        let p = self.null.p;
        let b = g.ncols();
        // The block over this phenotype's samples, and their missing rows.
        let mut gv = vec![0.0f64; nv * b];
        let mut miss: Vec<Vec<u32>> = Vec::with_capacity(b);
        for j in 0..b {
            let col = g.col_as_slice(j);
            for (o, &i) in gv[j * nv..(j + 1) * nv].iter_mut().zip(&self.rows) {
                *o = col[i];
            }
            miss.push(
                missing[j]
                    .iter()
                    .map(|&i| self.slot[i])
                    .filter(|&s| s != u32::MAX)
                    .collect(),
            );
        }
        let column = |j: usize| &gv[j * nv..(j + 1) * nv];
        let mut out: Vec<Option<LogisticTest>> = vec![None; b];
        let mut newton: Vec<usize> = Vec::new();
        for j in 0..b {
            let (col, m) = (column(j), &miss[j]);
            let obs = nv - m.len();
            let obs_ct = obs as u32;
            if obs <= p + 1 {
                out[j] = Some(LogisticTest::failed(
                    obs_ct,
                    false,
                    LogisticError::SampleCtLePredictorCt,
                ));
                continue;
            }
            if is_constant(col, m) {
                out[j] = Some(LogisticTest::failed(
                    obs_ct,
                    false,
                    LogisticError::ConstOmittedAllele,
                ));
                continue;
            }
            // An allele absent from the cases or from the controls separates
            // them: the ordinary MLE is at infinity, so PLINK 2 goes straight to
            // Firth. (Missing calls are 0 in `col`, so the sums skip them.)
            let (mut case_alt, mut all_alt) = (0.0f64, 0.0f64);
            for (&gi, &yi) in col.iter().zip(&self.null.y) {
                all_alt += gi;
                case_alt += gi * yi;
            }
            let cases = self.cases - m.iter().filter(|&&i| self.null.y[i as usize] > 0.5).count();
            let case_ref = 2.0 * cases as f64 - case_alt;
            let all_ref = 2.0 * obs as f64 - all_alt;
            let separated =
                case_alt == 0.0 || case_alt == all_alt || case_ref == 0.0 || case_ref == all_ref;
            out[j] = match method {
                LogisticMethod::Score => None,
                LogisticMethod::Wald(FirthMode::Always) => Some(self.firth(col, m, obs_ct)),
                LogisticMethod::Wald(FirthMode::Fallback) if separated || !self.null_converged => {
                    Some(self.firth(col, m, obs_ct))
                }
                LogisticMethod::Wald(FirthMode::Never) if separated => Some(LogisticTest::failed(
                    obs_ct,
                    false,
                    LogisticError::Separation,
                )),
                LogisticMethod::Wald(_) => None,
            };
            if out[j].is_none() {
                newton.push(j);
            }
        }
        let score_only = method == LogisticMethod::Score;
        let mut buf = TileBuffers::new(&self.null);
        for chunk in newton.chunks(TILE) {
            let cols: Vec<&[f64]> = chunk.iter().map(|&j| column(j)).collect();
            let ms: Vec<&[u32]> = chunk.iter().map(|&j| miss[j].as_slice()).collect();
            let fits = newton_tile(&self.null, &cols, &ms, score_only, &mut buf);
            for (&j, f) in chunk.iter().zip(fits) {
                let obs_ct = (nv - miss[j].len()) as u32;
                out[j] = Some(match f {
                    TileFit::Done { beta, var } => {
                        LogisticTest::from_estimate(obs_ct, beta, var, false, false)
                    }
                    TileFit::Retry if score_only => {
                        LogisticTest::failed(obs_ct, false, LogisticError::LogisticConvergeFail)
                    }
                    TileFit::Retry => self.one_at_a_time(column(j), &miss[j], obs_ct, method),
                });
            }
        }
        out.into_iter()
            .map(|t| t.expect("every variant is tested"))
            .collect()
    }

    fn problem(&self, col: &[f64], missing: &[u32]) -> Problem {
        Problem::new(&self.null.x, self.null.p, &self.null.y, Some(col), missing)
    }

    fn firth(&self, col: &[f64], missing: &[u32], obs_ct: u32) -> LogisticTest {
        LogisticTest::from_fit(obs_ct, firth_fit(&self.problem(col, missing)), true)
    }

    /// The fit from PLINK 2's start at zero, then Firth if allowed.
    fn one_at_a_time(
        &self,
        col: &[f64],
        missing: &[u32],
        obs_ct: u32,
        method: LogisticMethod,
    ) -> LogisticTest {
        let problem = self.problem(col, missing);
        match logistic_fit(&problem, &vec![0.0; problem.k]) {
            Some(f) => LogisticTest::from_fit(obs_ct, Some(f), false),
            None if method == LogisticMethod::Wald(FirthMode::Never) => {
                LogisticTest::failed(obs_ct, false, LogisticError::LogisticConvergeFail)
            }
            None => LogisticTest::from_fit(obs_ct, firth_fit(&problem), true),
        }
    }
}

/// Whether the values of `col` outside the (ascending) `missing` rows are all
/// equal.
fn is_constant(col: &[f64], missing: &[u32]) -> bool {
    let mut skip = missing.iter().peekable();
    let mut first: Option<f64> = None;
    for (i, &v) in col.iter().enumerate() {
        if skip.peek().is_some_and(|&&m| m as usize == i) {
            skip.next();
            continue;
        }
        match first {
            None => first = Some(v),
            Some(f) if f != v => return false,
            Some(_) => {}
        }
    }
    true
}
