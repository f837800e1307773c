//! The REGENIE-style branch of the GWAS step (`genolens gwas --wgr`): step 1
//! (whole-genome ridge regression giving LOCO predictions of every trait at
//! once, or LOCO predictions read from a `pred.list`, regenie's own
//! included), then step 2 per trait with the prediction of the tested
//! variant's chromosome as offset. Results go back to the GWAS step as
//! `.glm.wgr` rows; regenie's own `.regenie` layout is written beside them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};

use crate::assoc::wgr::{
    wgr_scan_binary, wgr_scan_quantitative, wgr_step1, Step2Options, WgrOptions, WgrSkip, WgrTest,
    WgrTrait,
};
use crate::io::loco::{read_loco, read_pred_list, write_loco, write_pred_list};
use crate::io::sumstats::{write_regenie, RegenieRow};
use crate::io::{GenotypeSource, SampleId, Subset};
use crate::study::lmm::common_variants;
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, RunLog};
use crate::{Error, Result};

/// One trait's LOCO predictions: per chromosome number, a value per sample.
type LocoRows = Vec<(u32, Vec<f64>)>;

/// How `gwas --wgr` runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WgrRequest {
    /// Step 1's blocks, folds and heritability grid.
    pub step1: WgrOptions,
    /// Step 2's Firth threshold, minimum minor allele count and blocks.
    pub step2: Step2Options,
    /// Variants of step 1: minor allele frequency at least this among the
    /// step-1 samples (regenie's documentation filters step 1 at 0.01), and
    /// more than one genotype class.
    pub step1_min_maf: f64,
    /// ... and missing calls at most this fraction (0.1, as regenie's
    /// documentation recommends).
    pub step1_max_missing: f64,
    /// Write the LOCO predictions in regenie's layout: `OUT.NAME.loco` per
    /// trait and `OUT.pred.list` (regenie's `_pred.list`).
    pub loco_out: bool,
    /// Skip step 1 and read the predictions from this `pred.list` (genolens'
    /// or regenie's step 1).
    pub loco_in: Option<PathBuf>,
}

impl Default for WgrRequest {
    fn default() -> Self {
        Self {
            step1: WgrOptions::default(),
            step2: Step2Options::default(),
            step1_min_maf: 0.01,
            step1_max_missing: 0.1,
            loco_out: false,
            loco_in: None,
        }
    }
}

/// One trait for the WGR branch.
pub(crate) struct WgrInput<'a> {
    pub name: &'a str,
    /// One value per genotype sample, NaN where missing; 0/1 when binary.
    pub values: &'a [f64],
    pub binary: bool,
}

/// One trait's step-2 results: a test per variant of the source.
pub(crate) struct WgrScan {
    pub name: String,
    pub binary: bool,
    pub tests: Vec<WgrTest>,
}

/// Runs both steps for `traits` on `source` with `covariates` (`n × c`, NaN
/// for missing) and writes `OUT.NAME.regenie` (and the LOCO files when
/// asked) into `written`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_wgr(
    source: &dyn GenotypeSource,
    traits: &[WgrInput<'_>],
    covariates: ArrayView2<'_, f64>,
    request: &WgrRequest,
    out: &Path,
    progress: &dyn Progress,
    log: &mut RunLog,
    written: &mut Vec<PathBuf>,
) -> Result<Vec<WgrScan>> {
    let n_all = source.n_samples();
    let complete = |i: usize| covariates.row(i).iter().all(|v| !v.is_nan());
    // Step-1 samples: every covariate and at least one trait (regenie's rule).
    let samples: Vec<usize> = (0..n_all)
        .filter(|&i| complete(i) && traits.iter().any(|t| !t.values[i].is_nan()))
        .collect();
    let ids: Vec<SampleId> = samples
        .iter()
        .map(|&i| source.samples()[i].id.clone())
        .collect();
    // Per trait, the LOCO rows over the step-1 samples.
    let predictions: Vec<LocoRows> = match &request.loco_in {
        Some(list) => read_predictions(list, traits, &ids, &samples, log)?,
        None => step1(
            source,
            traits,
            &covariates,
            &samples,
            request,
            progress,
            log,
        )?,
    };

    let mut scans = Vec::with_capacity(traits.len());
    for (t, tr) in traits.iter().enumerate() {
        // Step 2 on the trait's samples.
        let keep: Vec<usize> = (0..samples.len())
            .filter(|&k| !tr.values[samples[k]].is_nan())
            .collect();
        let rows: Vec<usize> = keep.iter().map(|&k| samples[k]).collect();
        let sub = Subset::new(source, Some(rows.clone()), None)?;
        let y: Vec<f64> = rows.iter().map(|&i| tr.values[i]).collect();
        let cov = Array2::from_shape_fn((rows.len(), covariates.ncols()), |(r, j)| {
            covariates[(rows[r], j)]
        });
        let loco: Vec<(u32, Vec<f64>)> = predictions[t]
            .iter()
            .map(|(code, v)| (*code, keep.iter().map(|&k| v[k]).collect()))
            .collect();
        let label = format!("--wgr step 2, {}", tr.name);
        let tests = stage(progress, &label, sub.n_variants(), "variants", |p| {
            if tr.binary {
                wgr_scan_binary(&sub, &y, cov.view(), loco.as_slice(), &request.step2, p)
            } else {
                wgr_scan_quantitative(&sub, &y, cov.view(), loco.as_slice(), &request.step2, p)
            }
        })?;
        let count = |skip: WgrSkip| tests.iter().filter(|x| x.skip == Some(skip)).count();
        let firth = tests.iter().filter(|x| x.firth).count();
        let _ = write!(
            log,
            "--wgr {}: step 2 on {} samples ({}), offset = LOCO prediction; {} variants with \
             MAC < {} not tested",
            tr.name,
            rows.len(),
            if tr.binary {
                "score test of a logistic null model with the offset"
            } else {
                "score test of the residual after the offset"
            },
            count(WgrSkip::LowMac),
            request.step2.min_mac
        );
        if tr.binary {
            let _ = write!(
                log,
                "; approximate Firth test for {firth} variants with score p < {} ({} did not \
                 converge)",
                request.step2.firth_threshold,
                count(WgrSkip::FirthFailed)
            );
        }
        let _ = writeln!(log);
        scans.push(WgrScan {
            name: tr.name.to_string(),
            binary: tr.binary,
            tests,
        });
    }

    // Files only once every trait has its tests: a failure leaves none.
    if request.loco_out && request.loco_in.is_none() {
        let mut entries = Vec::new();
        for (tr, rows) in traits.iter().zip(&predictions) {
            let path = with_suffix(out, &format!("{}.loco", tr.name));
            write_loco(&path, &ids, rows)?;
            // Absolute, as regenie writes them: the list works from any
            // directory.
            let listed = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
            entries.push((tr.name.to_string(), listed));
            written.push(path);
        }
        let list = with_suffix(out, "pred.list");
        write_pred_list(&list, &entries)?;
        written.push(list);
    }
    for scan in &scans {
        let path = with_suffix(out, &format!("{}.regenie", scan.name));
        write_regenie(
            &path,
            source
                .variants()
                .iter()
                .zip(&scan.tests)
                .filter(|(_, x)| x.skip != Some(WgrSkip::LowMac))
                .map(|(variant, x)| RegenieRow {
                    variant,
                    a1_freq: x.a1_freq,
                    n: x.n,
                    beta: x.beta,
                    se: x.se,
                    chisq: x.chisq,
                    log10_p: -x.ln_p / std::f64::consts::LN_10,
                    extra: x.skip.map(WgrSkip::code),
                }),
        )?;
        written.push(path);
    }
    Ok(scans)
}

/// Step 1 on `samples` (indices into `source`): the filtered variants, the
/// ridge regression, and per trait its name and LOCO rows.
fn step1(
    source: &dyn GenotypeSource,
    traits: &[WgrInput<'_>],
    covariates: &ArrayView2<'_, f64>,
    samples: &[usize],
    request: &WgrRequest,
    progress: &dyn Progress,
    log: &mut RunLog,
) -> Result<Vec<LocoRows>> {
    let analysed = Subset::new(source, Some(samples.to_vec()), None)?;
    let keep = common_variants(&analysed, request.step1_min_maf, request.step1_max_missing)?;
    if keep.is_empty() {
        return Err(Error::Invalid(format!(
            "--wgr: no variant has MAF >= {} and missingness <= {} for step 1",
            request.step1_min_maf, request.step1_max_missing
        )));
    }
    let used = Subset::new(&analysed, None, Some(keep))?;
    let values: Vec<Vec<f64>> = traits
        .iter()
        .map(|t| samples.iter().map(|&i| t.values[i]).collect())
        .collect();
    let wgr_traits: Vec<WgrTrait<'_>> = traits
        .iter()
        .zip(&values)
        .map(|(t, v)| WgrTrait {
            name: t.name,
            values: v,
            binary: t.binary,
        })
        .collect();
    let cov = Array2::from_shape_fn((samples.len(), covariates.ncols()), |(r, j)| {
        covariates[(samples[r], j)]
    });
    let fit = stage(
        progress,
        "--wgr step 1, ridge regression in blocks",
        used.n_variants(),
        "variants",
        |p| wgr_step1(&used, &wgr_traits, cov.view(), &request.step1, p),
    )?;
    let _ = writeln!(
        log,
        "--wgr step 1: {} samples, {} covariates (intercept included), {} variants (MAF >= {}, \
         missing <= {}; {} constant after the covariates) in {} blocks of up to {}, {} folds \
         of consecutive samples, heritability grid {:?}",
        samples.len(),
        covariates.ncols() + 1,
        fit.variants,
        request.step1_min_maf,
        request.step1_max_missing,
        fit.constant,
        fit.blocks,
        request.step1.block_size,
        request.step1.folds,
        request.step1.h2_grid
    );
    let mut out = Vec::with_capacity(fit.traits.len());
    for t in fit.traits {
        let losses: Vec<String> = t.cv_loss.iter().map(|l| format!("{l:.5}")).collect();
        let _ = writeln!(
            log,
            "--wgr {}: level 1 {} picked h2 {} (out-of-fold {} per grid value: {})",
            t.name,
            if t.binary { "logistic ridge" } else { "ridge" },
            t.level1_h2,
            if t.binary {
                "-log-likelihood"
            } else {
                "mean squared error"
            },
            losses.join(" ")
        );
        // regenie's rows: every chromosome number up to 23 (or the largest
        // seen), the whole-genome prediction where step 1 had no variant.
        let top = t.loco.iter().map(|(c, _)| *c).max().unwrap_or(0).max(23);
        let rows: Vec<(u32, Vec<f64>)> = (1..=top)
            .map(|code| (code, t.offset(code).to_vec()))
            .collect();
        out.push(rows);
    }
    Ok(out)
}

/// The LOCO rows of every trait from a `pred.list`, over `ids`.
fn read_predictions(
    list: &Path,
    traits: &[WgrInput<'_>],
    ids: &[SampleId],
    samples: &[usize],
    log: &mut RunLog,
) -> Result<Vec<LocoRows>> {
    let entries = read_pred_list(list)?;
    let mut out = Vec::with_capacity(traits.len());
    for tr in traits {
        let file = entries
            .iter()
            .find(|(name, _)| name == tr.name)
            .map(|(_, f)| f)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no LOCO predictions for trait {} (it lists {})",
                    list.display(),
                    tr.name,
                    entries
                        .iter()
                        .map(|e| e.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let table = read_loco(file)?;
        // Samples without the trait may be NA in the file.
        let with_trait: Vec<usize> = (0..samples.len())
            .filter(|&k| !tr.values[samples[k]].is_nan())
            .collect();
        let picked: Vec<SampleId> = with_trait.iter().map(|&k| ids[k].clone()).collect();
        let aligned = table.align(file, &picked)?;
        let rows = aligned
            .into_iter()
            .map(|(code, v)| {
                let mut full = vec![f64::NAN; samples.len()];
                for (&k, x) in with_trait.iter().zip(v) {
                    full[k] = x;
                }
                (code, full)
            })
            .collect();
        let _ = writeln!(
            log,
            "--wgr {}: LOCO predictions read from {}",
            tr.name,
            file.display()
        );
        out.push(rows);
    }
    Ok(out)
}
