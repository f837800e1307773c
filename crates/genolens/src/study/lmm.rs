//! The exact mixed-model branch of the GWAS step (`genolens gwas --lmm`):
//! per trait, the samples with a phenotype and every covariate, their
//! centred relationship matrix (GEMMA's `-gk 1`) or a GCTA GRM read from
//! disk, one eigendecomposition, the null model, and every variant tested as
//! `gemma -lmm 1..4`. Results go back to the GWAS step as `.glm.lmm` rows;
//! GEMMA's own `.assoc.txt` layout is written beside them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::assoc::lmm::{
    lmm_scan, lmm_scan_loco, KinshipEigen, LambdaSearch, LmmTests, LmmVariant, NullModel,
};
use crate::features::qc::{count_calls, DEFAULT_BLOCK_SIZE};
use crate::features::relate::{grm, GrmOptions};
use crate::io::relatedness::{read_grm_bin, GrmPaths};
use crate::io::sumstats::{write_gemma_assoc as write_gemma_assoc_file, GemmaAssocRow};
use crate::io::{GenotypeSource, Subset};
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, RunLog};
use crate::{Error, Result};

/// How `gwas --lmm` models relatedness.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LmmRequest {
    /// The tests (`gemma -lmm 1`, `2`, `3` or `4`).
    pub tests: LmmTests,
    /// A relationship matrix in GCTA's binary layout (`PREFIX.grm.bin`,
    /// `.grm.id`) instead of the centred GRM genolens computes; its IDs must
    /// cover every analysed sample.
    pub grm: Option<PathBuf>,
    /// Variants kept for the computed GRM: minor allele frequency at least
    /// this among the analysed samples (GEMMA's `-maf`, 0.01).
    pub grm_min_maf: f64,
    /// Leave one chromosome out: each chromosome's variants are tested with
    /// a matrix of the others (GEMMA's `-loco`, BOLT-LMM's default), which
    /// keeps the tested variant out of the matrix. Not with `grm`.
    pub loco: bool,
    /// ... and missing calls at most this fraction (GEMMA's `-miss`, 0.05);
    /// variants with a single genotype class are left out too, as GEMMA does.
    pub grm_max_missing: f64,
}

impl LmmRequest {
    /// GEMMA's defaults: the Wald test, the centred GRM of variants with MAF
    /// ≥ 0.01 and ≤ 5 % missing calls.
    pub fn new(tests: LmmTests) -> Self {
        Self {
            tests,
            grm: None,
            loco: false,
            grm_min_maf: 0.01,
            grm_max_missing: 0.05,
        }
    }
}

/// One trait's mixed-model scan.
pub(crate) struct LmmTrait {
    /// The analysed samples (indices into the genotype source).
    pub samples: Vec<usize>,
    /// Per variant of the source.
    pub variants: Vec<LmmVariant>,
    /// The null model.
    pub null: NullModel,
}

/// Runs the mixed model for one trait: `y` and `covariates` (`n × c`, NaN
/// for missing) over every sample of `source`.
pub(crate) fn scan_trait(
    source: &dyn GenotypeSource,
    name: &str,
    y: &[f64],
    covariates: &ndarray::ArrayView2<'_, f64>,
    request: &LmmRequest,
    progress: &dyn Progress,
    log: &mut RunLog,
) -> Result<LmmTrait> {
    let samples: Vec<usize> = (0..source.n_samples())
        .filter(|&i| !y[i].is_nan() && covariates.row(i).iter().all(|v| !v.is_nan()))
        .collect();
    let n = samples.len();
    let c = covariates.ncols() + 1;
    if n <= c + 1 {
        return Err(Error::Invalid(format!(
            "--lmm {name}: {n} samples with the phenotype and every covariate cannot fit \
             {c} covariates (intercept included) and a variant"
        )));
    }
    let analysed = Subset::new(source, Some(samples.clone()), None)?;
    let y_an: Vec<f64> = samples.iter().map(|&i| y[i]).collect();
    let mut w = vec![vec![1.0; n]];
    for j in 0..covariates.ncols() {
        w.push(samples.iter().map(|&i| covariates[(i, j)]).collect());
    }
    let search = LambdaSearch::default();
    if request.loco {
        if request.grm.is_some() {
            return Err(Error::Invalid(
                "--loco computes a relationship matrix per chromosome; it cannot use --grm".into(),
            ));
        }
        let keep = kinship_variants(&analysed, name, request)?;
        let m = keep.len();
        let scan = stage(
            progress,
            &format!("mixed model {name}, leave one chromosome out"),
            analysed.n_variants(),
            "variants",
            |p| lmm_scan_loco(&analysed, &keep, &w, &y_an, request.tests, &search, 256, p),
        )?;
        let lambdas: Vec<f64> = scan.nulls.iter().map(|(_, m)| m.lambda_remle).collect();
        let (lo, hi) = lambdas
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let null = scan.whole;
        let _ = writeln!(
            log,
            "--lmm {name} --loco: {n} samples, {c} covariates (intercept included), centred \
             relationship matrices of {m} variants minus each of {} chromosomes; REML lambda \
             {lo:.6} to {hi:.6} across them; on all chromosomes: REML lambda {:.6}, PVE (SNP \
             heritability) {:.4} (SE {:.4}); Vg {:.6}, Ve {:.6}",
            scan.nulls.len(),
            null.lambda_remle,
            null.pve,
            null.pve_se,
            null.vg,
            null.ve
        );
        return Ok(LmmTrait {
            samples,
            variants: scan.variants,
            null,
        });
    }
    let k = match &request.grm {
        Some(prefix) => grm_from_file(prefix, &analysed)?,
        None => {
            let keep = kinship_variants(&analysed, name, request)?;
            let used = Subset::new(&analysed, None, Some(keep))?;
            let g = stage(
                progress,
                "relationship matrix",
                used.n_variants(),
                "variants",
                |p| {
                    grm(
                        &used,
                        &GrmOptions {
                            standardize: false,
                            pairwise_missing: false,
                            ..GrmOptions::default()
                        },
                        p,
                    )
                },
            )?;
            let _ = writeln!(
                log,
                "--lmm {name}: centred relationship matrix (GEMMA -gk 1) of {n} samples x {} \
                 variants (MAF >= {}, missing <= {})",
                g.variants, request.grm_min_maf, request.grm_max_missing
            );
            g.to_dense()
        }
    };
    let eigen = KinshipEigen::new(&k, n)?;
    let null = NullModel::fit(&eigen, &w, &y_an, &search)?;
    let _ = writeln!(
        log,
        "--lmm {name}: {n} samples, {c} covariates (intercept included); REML lambda {:.6}, \
         logL {:.3}; ML lambda {:.6}, logL {:.3}; PVE (SNP heritability) {:.4} (SE {:.4}); \
         Vg {:.6}, Ve {:.6}",
        null.lambda_remle,
        null.logl_remle,
        null.lambda_mle,
        null.logl_mle,
        null.pve,
        null.pve_se,
        null.vg,
        null.ve
    );
    let variants = stage(
        progress,
        &format!("mixed model {name}"),
        analysed.n_variants(),
        "variants",
        |p| lmm_scan(&analysed, &eigen, &null, request.tests, &search, 256, p),
    )?;
    Ok(LmmTrait {
        samples,
        variants,
        null,
    })
}

/// The variants of the computed relationship matrix: GEMMA's filters on
/// the analysed samples.
fn kinship_variants(
    analysed: &dyn GenotypeSource,
    name: &str,
    request: &LmmRequest,
) -> Result<Vec<usize>> {
    let keep = common_variants(analysed, request.grm_min_maf, request.grm_max_missing)?;
    if keep.is_empty() {
        return Err(Error::Invalid(format!(
            "--lmm {name}: no variant passes MAF >= {} and missingness <= {} for the \
             relationship matrix",
            request.grm_min_maf, request.grm_max_missing
        )));
    }
    Ok(keep)
}

/// The variants of `source` with minor allele frequency at least `min_maf`,
/// missing calls at most `max_missing` and more than one genotype class (GEMMA
/// also drops variants that are all heterozygous, say, which MAF lets
/// through): the variants a relationship matrix or a whole-genome regression
/// uses.
pub(crate) fn common_variants(
    source: &dyn GenotypeSource,
    min_maf: f64,
    max_missing: f64,
) -> Result<Vec<usize>> {
    let calls = count_calls(source, DEFAULT_BLOCK_SIZE, &|_| {})?;
    Ok(calls
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            let p = v.allele1_freq();
            let maf = p.min(1.0 - p);
            let missing = f64::from(v.missing()) / f64::from(v.samples().max(1));
            let d = &v.diploid;
            let classes = [d.hom_allele1, d.het, d.hom_allele2]
                .iter()
                .filter(|&&c| c > 0)
                .count();
            maf >= min_maf && missing <= max_missing && classes > 1
        })
        .map(|(j, _)| j)
        .collect())
}

/// The analysed samples' block of a GCTA GRM, matched by FID and IID.
fn grm_from_file(prefix: &Path, analysed: &dyn GenotypeSource) -> Result<Vec<f64>> {
    let paths = GrmPaths::new(prefix);
    let file = read_grm_bin(&paths)?;
    let index: HashMap<(&str, &str), usize> = file
        .ids
        .iter()
        .enumerate()
        .map(|(k, id)| ((id.fid.as_str(), id.iid.as_str()), k))
        .collect();
    let mut rows = Vec::with_capacity(analysed.n_samples());
    let mut missing = Vec::new();
    for s in analysed.samples() {
        match index.get(&(s.id.fid.as_str(), s.id.iid.as_str())) {
            Some(&k) => rows.push(k),
            None => missing.push(format!("{} {}", s.id.fid, s.id.iid)),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: {} of the {} analysed samples are not in the relationship matrix (first: {})",
            paths.id.display(),
            missing.len(),
            analysed.n_samples(),
            missing[..missing.len().min(3)].join(", ")
        )));
    }
    let n = rows.len();
    let mut k = vec![0.0; n * n];
    for (a, &ra) in rows.iter().enumerate() {
        for (b, &rb) in rows.iter().enumerate() {
            k[a * n + b] = f64::from(file.get(ra, rb));
        }
    }
    Ok(k)
}

/// Writes GEMMA's `.assoc.txt` for one trait, with the columns `gemma -lmm N`
/// prints for the tests run.
pub(crate) fn write_gemma_assoc(
    path: &Path,
    source: &dyn GenotypeSource,
    scan: &LmmTrait,
    tests: LmmTests,
) -> Result<()> {
    let columns: &[&str] = match tests {
        LmmTests::Wald => &["beta", "se", "logl_H1", "l_remle", "p_wald"],
        LmmTests::Lrt => &["l_mle", "p_lrt"],
        LmmTests::Score => &["beta", "se", "p_score"],
        LmmTests::All => &[
            "beta", "se", "logl_H1", "l_remle", "l_mle", "p_wald", "p_lrt", "p_score",
        ],
    };
    let values: Vec<Vec<f64>> = scan
        .variants
        .iter()
        .map(|r| {
            let t = &r.test;
            match tests {
                LmmTests::Wald => vec![t.beta, t.se, t.logl_h1, t.lambda_remle, t.p_wald],
                LmmTests::Lrt => vec![t.lambda_mle, t.p_lrt],
                LmmTests::Score => vec![t.beta, t.se, t.p_score],
                LmmTests::All => vec![
                    t.beta,
                    t.se,
                    t.logl_h1,
                    t.lambda_remle,
                    t.lambda_mle,
                    t.p_wald,
                    t.p_lrt,
                    t.p_score,
                ],
            }
        })
        .collect();
    let rows = source
        .variants()
        .iter()
        .zip(&scan.variants)
        .zip(&values)
        .map(|((variant, r), values)| GemmaAssocRow {
            variant,
            n_miss: r.n_miss,
            af: r.af,
            values,
        });
    write_gemma_assoc_file(path, columns, rows)?;
    Ok(())
}

/// `OUT.NAME.lmm.assoc.txt`.
pub(crate) fn gemma_path(out: &Path, name: &str) -> PathBuf {
    with_suffix(out, &format!("{name}.lmm.assoc.txt"))
}
