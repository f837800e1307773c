//! The association step: phenotypes and covariates aligned to the genotypes,
//! optional principal components as covariates, `plink2 --glm`'s scans and
//! files, λGC, Manhattan and QQ plots, clumping, and prior-weighted tests.
//! `genolens gwas` and the pipeline's `gwas` step are this one call.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::assoc::clump::ClumpOptions;
use crate::assoc::linear::{linear_scan, Covariates, Phenotype};
use crate::assoc::lmm::LmmTests;
use crate::assoc::logistic::{logistic_scan, FirthMode, LogisticMethod};
use crate::assoc::stats::neg_log10;
use crate::assoc::summary::{
    benjamini_hochberg, bonferroni_threshold, genomic_control, genomic_control_by_maf,
    manhattan_layout, qq_band, qq_points,
};
use crate::features::pca::{pca, PcaMethod, PcaOptions};
use crate::features::qc::{allele_frequencies, count_calls, DEFAULT_BLOCK_SIZE};
use crate::io::genes::GeneMap;
use crate::io::sumstats::{write_glm, write_glm_parquet, AssocRecord, GlmKind, PColumn};
use crate::io::table::{AlignedTable, ColumnKind, SampleTable, TableOptions};
use crate::io::{ChromKind, GenotypeSource, SampleId, Sex, Subset};
use crate::plot::{LineStyle, ScatterPlot};
use crate::study::clump::{clump_to_file, ClumpSummary, LeadVariant};
use crate::study::lmm::{gemma_path, scan_trait, write_gemma_assoc, LmmRequest};
use crate::study::prior::{prior_weighted, PriorInput, WeightedCounts, WeightingOptions};
use crate::study::progress::{stage, Progress};
use crate::study::wgr::{run_wgr, WgrInput, WgrRequest};
use crate::study::{with_suffix, GenotypeInput, RunLog};
use crate::{Error, Result};

/// Options of the association step.
#[derive(Debug, Clone, PartialEq)]
pub struct GwasOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Phenotype table (`FID IID` or `IID` columns, then one column per trait).
    pub pheno: PathBuf,
    /// Phenotypes to test (empty: every column).
    pub pheno_names: Vec<String>,
    /// Covariate table; categorical columns become indicator columns.
    pub covar: Option<PathBuf>,
    /// Covariates to use (empty: every column).
    pub covar_names: Vec<String>,
    /// K principal components of the genotypes added as covariates PC1..PCK
    /// (exact up to 5,000 samples, randomized beyond).
    pub pca: Option<usize>,
    /// Or the first K components of an `.eigenvec` (as `plink2 --covar
    /// X.eigenvec`), e.g. the PCA step's on LD-pruned variants.
    pub pc_file: Option<(PathBuf, usize)>,
    /// Case/control coded 0/1 instead of 1/2 (PLINK 2's `--1`).
    pub case_control_01: bool,
    /// The test for case/control traits (default: Wald with Firth fallback).
    pub logistic: LogisticMethod,
    /// How `--glm` codes chrX (PLINK 2's `--xchr-model`; males 0/2 by default).
    pub xchr_model: XchrModel,
    /// Do not add sex as a covariate on chrX (PLINK 2's `no-x-sex`).
    pub no_x_sex: bool,
    /// Clump each phenotype's results (PLINK 1.9's `--clump`).
    pub clump: Option<ClumpOptions>,
    /// Also write the results as Parquet.
    pub parquet: bool,
    /// Gene coordinates: lead loci are named by their nearest gene on the
    /// Manhattan plot.
    pub gene_map: Option<PathBuf>,
    /// A gene prior for weighted multiple testing (`OUT.NAME.prior.tsv`).
    pub prior: Option<PriorInput>,
    /// How the prior's weights enter the tests.
    pub weighting: WeightingOptions,
    /// Test every trait with GEMMA's exact mixed model instead of `--glm`
    /// (case/control traits as quantitative 0/1, as GEMMA does).
    pub lmm: Option<LmmRequest>,
    /// Test every trait with REGENIE's two steps instead of `--glm`: LOCO
    /// predictions from whole-genome ridge regression as offsets.
    pub wgr: Option<WgrRequest>,
    /// Output prefix.
    pub out: PathBuf,
}

impl GwasOptions {
    /// Every trait of `pheno` on `input`, no covariates, Firth fallback, no
    /// clumping or prior, output prefix `out`.
    pub fn new(input: GenotypeInput, pheno: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            input,
            pheno: pheno.into(),
            pheno_names: Vec::new(),
            covar: None,
            covar_names: Vec::new(),
            pca: None,
            pc_file: None,
            case_control_01: false,
            logistic: LogisticMethod::Wald(FirthMode::Fallback),
            xchr_model: XchrModel::default(),
            no_x_sex: false,
            clump: None,
            parquet: false,
            gene_map: None,
            prior: None,
            weighting: WeightingOptions::default(),
            lmm: None,
            wgr: None,
            out: out.into(),
        }
    }
}

/// How `--glm` treats chrX outside the pseudo-autosomal region (PLINK 2's
/// `--xchr-model`). On chrX PLINK 2 also adds sex as a covariate (`SEX`:
/// male 1, female 2) and drops samples of unknown sex, when both sexes are
/// present; on chrY it tests males only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum XchrModel {
    /// `0`: chrX is not tested.
    Skip,
    /// `1`: male genotypes coded 0/1.
    MalesHalf,
    /// `2` (PLINK 2's default): male genotypes coded 0/2, as stored.
    #[default]
    MalesFull,
}

/// Variants that `--glm` scans with their own samples or covariates: PLINK
/// 2's chrX and chrY rules.
struct ScanGroup {
    /// Variants (indices into the source), ascending.
    variants: Vec<usize>,
    /// The samples used (indices into the source); `None`: every sample.
    samples: Option<Vec<usize>>,
    /// PLINK 2's `SEX` covariate for the samples used, when added.
    sex: Option<Vec<f64>>,
    /// Male dosages halved (`--xchr-model 1`).
    halve_males: bool,
}

/// The variants `--glm` tests (chrX left out with `--xchr-model 0`, chrY
/// without males, as PLINK 2 skips them).
fn glm_variants(
    source: Box<dyn GenotypeSource>,
    model: XchrModel,
    log: &mut RunLog,
) -> Result<Box<dyn GenotypeSource>> {
    let males = source
        .samples()
        .iter()
        .filter(|s| s.sex == Sex::Male)
        .count();
    let kinds: Vec<ChromKind> = source.variants().iter().map(|v| v.chrom_kind()).collect();
    let drop = |k: ChromKind| {
        (k == ChromKind::X && model == XchrModel::Skip) || (k == ChromKind::Y && males == 0)
    };
    let n_x = kinds
        .iter()
        .filter(|&&k| k == ChromKind::X && drop(k))
        .count();
    let n_y = kinds
        .iter()
        .filter(|&&k| k == ChromKind::Y && drop(k))
        .count();
    if n_x + n_y == 0 {
        return Ok(source);
    }
    if n_x > 0 {
        let _ = writeln!(log, "--glm: skipping {n_x} chrX variants (--xchr-model 0)");
    }
    if n_y > 0 {
        let _ = writeln!(
            log,
            "--glm: skipping {n_y} chrY variants since there are no males"
        );
    }
    let keep: Vec<usize> = (0..kinds.len()).filter(|&v| !drop(kinds[v])).collect();
    if keep.is_empty() {
        return Err(Error::Invalid(
            "--glm: no variants remain after skipping chrX/chrY".into(),
        ));
    }
    Ok(Box::new(Subset::new(source, None, Some(keep))?))
}

/// PLINK 2's groups: the autosomes (and everything else) on every sample;
/// chrX on the samples of known sex with `SEX` added (when both sexes are
/// present and not `no_x_sex`); chrY on males (when there are females too).
fn glm_groups(source: &dyn GenotypeSource, model: XchrModel, no_x_sex: bool) -> Vec<ScanGroup> {
    let samples = source.samples();
    let male: Vec<bool> = samples.iter().map(|s| s.sex == Sex::Male).collect();
    let sexed: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].sex != Sex::Unknown)
        .collect();
    let n_male = male.iter().filter(|&&m| m).count();
    let mut main = Vec::new();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (v, variant) in source.variants().iter().enumerate() {
        match variant.chrom_kind() {
            ChromKind::X => x.push(v),
            ChromKind::Y => y.push(v),
            _ => main.push(v),
        }
    }
    let mut groups = Vec::new();
    if !main.is_empty() {
        groups.push(ScanGroup {
            variants: main,
            samples: None,
            sex: None,
            halve_males: false,
        });
    }
    if !x.is_empty() {
        let add_sex = !no_x_sex && n_male > 0 && n_male < sexed.len();
        groups.push(ScanGroup {
            variants: x,
            samples: add_sex.then(|| sexed.clone()),
            sex: add_sex.then(|| {
                sexed
                    .iter()
                    .map(|&i| if male[i] { 1.0 } else { 2.0 })
                    .collect()
            }),
            halve_males: model == XchrModel::MalesHalf && n_male > 0,
        });
    }
    if !y.is_empty() {
        groups.push(ScanGroup {
            variants: y,
            samples: (n_male < samples.len())
                .then(|| (0..samples.len()).filter(|&i| male[i]).collect()),
            sex: None,
            halve_males: false,
        });
    }
    groups
}

/// A view whose male dosages are halved (`--xchr-model 1`); dosages only,
/// so scans take their dosage path.
struct HalvedMales<'a> {
    inner: &'a dyn GenotypeSource,
    male: Vec<bool>,
}

impl GenotypeSource for HalvedMales<'_> {
    fn samples(&self) -> &[crate::io::Sample] {
        self.inner.samples()
    }
    fn variants(&self) -> &[crate::io::Variant] {
        self.inner.variants()
    }
    fn origin(&self) -> &std::path::Path {
        self.inner.origin()
    }
    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> crate::io::Result<()> {
        self.inner.read_variant_into(variant, out)?;
        for (d, &m) in out.iter_mut().zip(&self.male) {
            if m {
                *d *= 0.5;
            }
        }
        Ok(())
    }
}

/// Runs `scan` on each group (its source view, its rows of `phenotypes` and
/// of `covariates`, with `SEX` appended where the group adds it) and puts the
/// per-phenotype results back in source order. Returns the results and each
/// group's extra output (`scan`'s second value).
fn scan_groups<T, E>(
    source: &dyn GenotypeSource,
    groups: &[ScanGroup],
    phenotypes: &[Phenotype<'_>],
    covariates: &Covariates<'_>,
    progress: &(dyn Fn(usize) + Sync),
    mut scan: impl FnMut(
        &dyn GenotypeSource,
        &[Phenotype<'_>],
        &Covariates<'_>,
        &(dyn Fn(usize) + Sync),
    ) -> Result<(Vec<Vec<T>>, E)>,
) -> Result<(Vec<Vec<T>>, Vec<E>)> {
    let n_variants = source.n_variants();
    let mut slots: Vec<Vec<Option<T>>> = Vec::new();
    let mut extras = Vec::new();
    let mut done = 0;
    for group in groups {
        let whole = group.samples.is_none() && group.variants.len() == n_variants;
        let halved;
        let base: &dyn GenotypeSource = if group.halve_males {
            halved = HalvedMales {
                inner: source,
                male: source
                    .samples()
                    .iter()
                    .map(|s| s.sex == Sex::Male)
                    .collect(),
            };
            &halved
        } else {
            source
        };
        let view;
        let src: &dyn GenotypeSource = if whole {
            base
        } else {
            view = Subset::new(base, group.samples.clone(), Some(group.variants.clone()))?;
            &view
        };
        let (names, values) = match (&group.samples, &group.sex) {
            (None, None) => (covariates.names.to_vec(), covariates.values.to_owned()),
            (rows, sex) => {
                let rows: Vec<usize> = rows
                    .clone()
                    .unwrap_or_else(|| (0..source.n_samples()).collect());
                let extra = usize::from(sex.is_some());
                let c = covariates.values.ncols();
                let values = Array2::from_shape_fn((rows.len(), c + extra), |(r, j)| {
                    if j < c {
                        covariates.values[(rows[r], j)]
                    } else {
                        sex.as_ref().map_or(f64::NAN, |s| s[r])
                    }
                });
                let mut names = covariates.names.to_vec();
                if sex.is_some() {
                    names.push("SEX".to_string());
                }
                (names, values)
            }
        };
        let group_covariates = Covariates {
            names: &names,
            values: values.view(),
        };
        let values: Vec<Vec<f64>> = phenotypes
            .iter()
            .map(|ph| rows_of(ph.values, group.samples.as_deref()))
            .collect();
        let group_phenotypes: Vec<Phenotype<'_>> = phenotypes
            .iter()
            .zip(&values)
            .map(|(ph, v)| Phenotype {
                name: ph.name,
                values: v,
            })
            .collect();
        let offset = done;
        let (tests, extra) = scan(src, &group_phenotypes, &group_covariates, &|k| {
            progress(offset + k)
        })?;
        if slots.is_empty() {
            slots = (0..tests.len())
                .map(|_| (0..n_variants).map(|_| None).collect())
                .collect();
        }
        for (slot, per_variant) in slots.iter_mut().zip(tests) {
            for (&v, t) in group.variants.iter().zip(per_variant) {
                slot[v] = Some(t);
            }
        }
        extras.push(extra);
        done += group.variants.len();
    }
    let tests = slots
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|t| t.expect("every variant is in a group"))
                .collect()
        })
        .collect();
    Ok((tests, extras))
}

/// `values` at the rows `samples` (all rows for `None`).
fn rows_of(values: &[f64], samples: Option<&[usize]>) -> Vec<f64> {
    match samples {
        None => values.to_vec(),
        Some(rows) => rows.iter().map(|&i| values[i]).collect(),
    }
}

/// One phenotype's scan, as the report reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhenotypeScan {
    /// The phenotype.
    pub name: String,
    /// The results file (`OUT.NAME.glm.linear`, ...).
    pub results: PathBuf,
    /// Variants tested (no ERRCODE).
    pub tested: usize,
    /// Variants in the scan.
    pub variants: usize,
    /// Genomic control λ (median χ² / 0.4549), if any p-value.
    pub lambda_gc: Option<f64>,
    /// Variants below the Bonferroni threshold at 0.05.
    pub bonferroni: usize,
    /// Variants with Benjamini–Hochberg q < 0.05.
    pub bh: usize,
    /// Cases and controls, for case/control traits.
    pub cases_controls: Option<(usize, usize)>,
    /// Clumping's lead variants, if clumped.
    pub clumps: Option<ClumpSummary>,
    /// The Manhattan plot.
    pub manhattan: PathBuf,
    /// The QQ plot.
    pub qq: PathBuf,
    /// The prior-weighted tests, if a prior was given.
    pub prior_table: Option<PathBuf>,
    /// Discoveries with and without the prior's weights (at the weighting's
    /// level), if a prior was given.
    pub weighted: Option<WeightedCounts>,
    /// The mixed model's proportion of variance explained by the relationship
    /// matrix and its standard error (`gwas --lmm` only).
    #[serde(default)]
    pub pve: Option<(f64, f64)>,
}

/// What the association step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GwasOutcome {
    /// Samples in the genotypes.
    pub samples: usize,
    /// Variants in the genotypes.
    pub variants: usize,
    /// Genotype samples with a phenotype row.
    pub pheno_matched: usize,
    /// The covariates used, principal components included.
    pub covariates: Vec<String>,
    /// One entry per phenotype, in the table's order (quantitative first).
    pub phenotypes: Vec<PhenotypeScan>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Runs the scans and writes one results file per phenotype, with plots,
/// clumps and prior-weighted tests as asked, and `OUT.log`.
pub fn run_gwas(options: &GwasOptions, progress: &dyn Progress) -> Result<GwasOutcome> {
    let started = Instant::now();
    let (source, mut log) = options.input.open_logged("gwas")?;
    // PLINK 2's chrX/chrY skips apply to --glm only.
    let source = if options.lmm.is_none() && options.wgr.is_none() {
        glm_variants(source, options.xchr_model, &mut log)?
    } else {
        source
    };
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let table_options = |names: &[String]| TableOptions {
        case_control_01: options.case_control_01,
        columns: (!names.is_empty()).then(|| names.to_vec()),
        ..TableOptions::default()
    };
    // The gene map names lead loci on the Manhattan plot.
    let genes = match &options.gene_map {
        Some(path) => Some(GeneMap::read(path)?),
        None => None,
    };
    // The prior is read before the scan, so that a bad prior fails fast.
    let prior = match &options.prior {
        Some(p) => Some(p.load(None, &mut log)?),
        None => None,
    };

    let table = SampleTable::read_phenotypes(&options.pheno, &table_options(&options.pheno_names))?;
    let (phenos, report) = table.align(&ids)?;
    let pheno_matched = report.matched;
    let _ = writeln!(
        log,
        "--pheno {}: {} of {} genotype samples matched, {} table rows not in the genotypes",
        options.pheno.display(),
        report.matched,
        ids.len(),
        report.table_only.len()
    );
    let (cov_names, cov_values) = match &options.covar {
        None => (Vec::new(), Array2::<f64>::zeros((ids.len(), 0))),
        Some(path) => {
            let table = SampleTable::read_covariates(path, &table_options(&options.covar_names))?;
            let (aligned, report): (AlignedTable, _) = table.align(&ids)?;
            let _ = writeln!(
                log,
                "--covar {}: {} of {} genotype samples matched, {} table rows not in the \
                 genotypes, {} columns ({})",
                path.display(),
                report.matched,
                ids.len(),
                report.table_only.len(),
                aligned.names.len(),
                aligned.names.join(", ")
            );
            (aligned.names, aligned.values)
        }
    };
    if options.pca.is_some() && options.pc_file.is_some() {
        return Err(Error::Invalid(
            "principal components either computed (--pca) or read from a file, not both".into(),
        ));
    }
    let (cov_names, cov_values) = match &options.pc_file {
        None => (cov_names, cov_values),
        Some((path, k)) => {
            let wanted: Vec<String> = (1..=*k).map(|pc| format!("PC{pc}")).collect();
            let table = SampleTable::read_covariates(
                path,
                &TableOptions {
                    columns: Some(wanted.clone()),
                    ..TableOptions::default()
                },
            )?;
            let (pcs, report) = table.align(&ids)?;
            let _ = writeln!(
                log,
                "principal components {} from {}: {} of {} genotype samples matched",
                wanted.join(" "),
                path.display(),
                report.matched,
                ids.len()
            );
            let mut names = cov_names;
            names.extend(pcs.names.iter().cloned());
            let values =
                ndarray::concatenate(ndarray::Axis(1), &[cov_values.view(), pcs.values.view()])
                    .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            (names, values)
        }
    };
    let (cov_names, cov_values) = match options.pca {
        None => (cov_names, cov_values),
        Some(k) => with_principal_components(
            source.as_ref(),
            k,
            cov_names,
            &cov_values,
            progress,
            &mut log,
        )?,
    };
    let covariates = Covariates {
        names: &cov_names,
        values: cov_values.view(),
    };
    // Quantitative traits go to the linear scan, case/control ones (0/1) to the
    // logistic scan; each decodes the genotypes once for all its traits.
    let columns: Vec<Vec<f64>> = (0..phenos.names.len())
        .map(|k| phenos.values.column(k).to_vec())
        .collect();
    let pick = |binary: bool| -> Vec<Phenotype<'_>> {
        phenos
            .names
            .iter()
            .zip(&columns)
            .zip(&phenos.kinds)
            .filter(|(_, kind)| (**kind == ColumnKind::CaseControl) == binary)
            .map(|((name, values), _)| Phenotype { name, values })
            .collect()
    };
    if options.lmm.is_some() && options.wgr.is_some() {
        return Err(Error::Invalid(
            "--lmm and --wgr are two ways to model relatedness; choose one".into(),
        ));
    }
    let (quantitative, binary) = match options.lmm {
        // The mixed model takes every trait as quantitative.
        Some(_) => (
            pick(false).into_iter().chain(pick(true)).collect(),
            Vec::new(),
        ),
        None => (pick(false), pick(true)),
    };
    let mut results: Vec<Scanned> = Vec::new();
    let mut dropped_all: Vec<(String, Vec<String>)> = Vec::new();
    // Files the LMM and WGR branches write beside the `.glm.*` ones.
    let mut branch_files = Vec::new();
    let n_variants = source.n_variants();
    let groups = glm_groups(source.as_ref(), options.xchr_model, options.no_x_sex);
    if options.lmm.is_none() && options.wgr.is_none() {
        for group in &groups {
            let kind = source.variants()[group.variants[0]].chrom_kind();
            if !matches!(kind, ChromKind::X | ChromKind::Y) {
                continue;
            }
            let samples = group.samples.as_ref().map_or(source.n_samples(), Vec::len);
            let _ = writeln!(
                log,
                "--glm: {} {} variants on {samples} samples{}",
                if kind == ChromKind::X { "chrX" } else { "chrY" },
                group.variants.len(),
                if kind == ChromKind::Y {
                    " (males)".to_string()
                } else {
                    format!(
                        "{}, male genotypes coded 0/{} (--xchr-model {})",
                        if group.sex.is_some() {
                            " of known sex, SEX added as a covariate"
                        } else {
                            ""
                        },
                        if group.halve_males { 1 } else { 2 },
                        // Skip never reaches here: glm_variants dropped chrX.
                        if options.xchr_model == XchrModel::MalesHalf {
                            1
                        } else {
                            2
                        }
                    )
                }
            );
        }
    }
    if let Some(request) = &options.wgr {
        let inputs: Vec<WgrInput<'_>> = quantitative
            .iter()
            .map(|p| (p, false))
            .chain(binary.iter().map(|p| (p, true)))
            .map(|(p, binary)| WgrInput {
                name: p.name,
                values: p.values,
                binary,
            })
            .collect();
        let scans = run_wgr(
            source.as_ref(),
            &inputs,
            covariates.values,
            request,
            &options.out,
            progress,
            &mut log,
            &mut branch_files,
        )?;
        for scan in scans {
            let rows = scan
                .tests
                .iter()
                .map(|t| Row {
                    obs_ct: t.n,
                    beta: t.beta,
                    se: t.se,
                    stat: t.chisq.sqrt().copysign(t.beta),
                    ln_p: t.ln_p,
                    firth: None,
                    error: t.skip.map(|s| s.code()),
                    test: Some(match (scan.binary, t.firth) {
                        (false, _) => "WGR",
                        (true, false) => "WGR_SCORE",
                        (true, true) => "WGR_FIRTH",
                    }),
                })
                .collect();
            let cases_controls = scan.binary.then(|| {
                let v = phenos
                    .names
                    .iter()
                    .position(|n| *n == scan.name)
                    .map(|k| &columns[k]);
                let cases = v.map_or(0, |v| v.iter().filter(|&&x| x == 1.0).count());
                let controls = v.map_or(0, |v| v.iter().filter(|&&x| x == 0.0).count());
                (cases, controls)
            });
            results.push(Scanned {
                name: scan.name,
                kind: GlmKind::Wgr,
                rows,
                cases_controls,
                pve: None,
            });
        }
    } else if let Some(request) = &options.lmm {
        for ph in &quantitative {
            let scan = scan_trait(
                source.as_ref(),
                ph.name,
                ph.values,
                &covariates.values,
                request,
                progress,
                &mut log,
            )?;
            let gemma = gemma_path(&options.out, ph.name);
            write_gemma_assoc(&gemma, source.as_ref(), &scan, request.tests)?;
            branch_files.push(gemma);
            let obs_ct = scan.samples.len() as u32;
            let rows = scan
                .variants
                .iter()
                .map(|v| {
                    let t = &v.test;
                    // The p-value of the first test asked for: Wald, else LRT, else score.
                    let p = [t.p_wald, t.p_lrt, t.p_score]
                        .into_iter()
                        .find(|p| !p.is_nan())
                        .unwrap_or(f64::NAN);
                    Row {
                        obs_ct,
                        beta: t.beta,
                        se: t.se,
                        stat: t.beta / t.se,
                        ln_p: p.ln(),
                        firth: None,
                        error: p.is_nan().then_some("CONST_OMITTED_ALLELE"),
                        test: None,
                    }
                })
                .collect();
            results.push(Scanned {
                name: ph.name.to_string(),
                kind: GlmKind::Lmm,
                rows,
                cases_controls: None,
                pve: Some((scan.null.pve, scan.null.pve_se)),
            });
        }
    } else if !quantitative.is_empty() {
        let (tests, dropped) = stage(progress, "linear scan", n_variants, "variants", |p| {
            scan_groups(
                source.as_ref(),
                &groups,
                &quantitative,
                &covariates,
                p,
                |src, phs, cov, p| {
                    let scan = linear_scan(src, phs, cov, 256, p)?;
                    Ok((scan.tests, scan.dropped_covariates))
                },
            )
        })?;
        let dropped = dropped.into_iter().next().unwrap_or_default();
        for ((ph, tests), dropped) in quantitative.iter().zip(tests).zip(dropped) {
            dropped_all.push((ph.name.to_string(), dropped));
            let rows = tests
                .iter()
                .map(|t| Row {
                    obs_ct: t.obs_ct,
                    beta: t.beta,
                    se: t.se,
                    stat: t.t,
                    ln_p: t.ln_p,
                    firth: None,
                    error: t.error.map(|e| e.code()),
                    test: None,
                })
                .collect();
            results.push(Scanned {
                name: ph.name.to_string(),
                kind: GlmKind::Linear,
                rows,
                cases_controls: None,
                pve: None,
            });
        }
    }
    if !binary.is_empty() && options.wgr.is_none() {
        let method = options.logistic;
        let (tests, extras) = stage(progress, "logistic scan", n_variants, "variants", |p| {
            scan_groups(
                source.as_ref(),
                &groups,
                &binary,
                &covariates,
                p,
                |src, phs, cov, p| {
                    let scan = logistic_scan(src, phs, cov, method, 128, p)?;
                    Ok((scan.tests, (scan.dropped_covariates, scan.case_control)))
                },
            )
        })?;
        let (dropped, case_control) = extras.into_iter().next().unwrap_or_default();
        for (((ph, tests), dropped), (cases, controls)) in
            binary.iter().zip(tests).zip(dropped).zip(case_control)
        {
            let _ = writeln!(log, "{}: {cases} cases, {controls} controls", ph.name);
            // PLINK 2's warning: estimates are unstable with few cases per
            // predictor (intercept, covariates, genotype).
            let predictors = 2 + cov_names.len() - dropped.len();
            if cases.min(controls) < 10 * predictors {
                log.warn(format!(
                    "{}: {} {} for {predictors} predictors (fewer than 10 per predictor); \
                     estimates may be unstable",
                    ph.name,
                    cases.min(controls),
                    if cases <= controls {
                        "cases"
                    } else {
                        "controls"
                    }
                ));
            }
            dropped_all.push((ph.name.to_string(), dropped));
            let rows = tests
                .iter()
                .map(|t| Row {
                    obs_ct: t.obs_ct,
                    beta: t.beta,
                    se: t.se,
                    stat: t.z,
                    ln_p: t.ln_p,
                    firth: matches!(
                        method,
                        LogisticMethod::Wald(FirthMode::Always | FirthMode::Fallback)
                    )
                    .then_some(t.firth),
                    // An unfinished fit keeps its statistics, as in PLINK 2.
                    error: t
                        .error
                        .map(|e| e.code())
                        .or(t.unfinished.then_some("UNFINISHED")),
                    test: None,
                })
                .collect();
            let kind = match method {
                LogisticMethod::Score => GlmKind::LogisticScore,
                LogisticMethod::Wald(FirthMode::Never) => GlmKind::Logistic,
                LogisticMethod::Wald(_) => GlmKind::LogisticHybrid,
            };
            results.push(Scanned {
                name: ph.name.to_string(),
                kind,
                rows,
                cases_controls: Some((cases, controls)),
                pve: None,
            });
        }
    }
    for (name, dropped) in &dropped_all {
        if !dropped.is_empty() {
            log.warn(format!(
                "{name}: constant covariate(s) left out: {}",
                dropped.join(", ")
            ));
        }
    }

    // Allele-1 (ALT) frequencies: PLINK 2 tests the minor allele (A1 is REF where
    // ALT is the major allele), and λGC is reported by MAF bin.
    let alt_freq: Vec<f64> = if source.hardcalls_exact() {
        count_calls(source.as_ref(), DEFAULT_BLOCK_SIZE, &|_| {})?
            .variants
            .iter()
            .map(|c| c.allele1_freq())
            .collect::<Vec<_>>()
    } else {
        allele_frequencies(source.as_ref(), DEFAULT_BLOCK_SIZE, &|_| {})?
            .iter()
            .map(|c| c.alt_freq())
            .collect::<Vec<_>>()
    };
    let maf: Vec<f64> = alt_freq.iter().map(|p| p.min(1.0 - p)).collect();

    let mut written = branch_files;
    let mut scans = Vec::new();
    for scanned in &results {
        let (name, kind, tests) = (&scanned.name, scanned.kind, &scanned.rows);
        let records: Vec<AssocRecord> = source
            .variants()
            .iter()
            .zip(tests)
            .zip(&alt_freq)
            .map(|((v, t), &f)| {
                // Counting REF instead of ALT flips the effect's sign only.
                let (a1, sign) = if f > 0.5 {
                    (&v.allele2, -1.0)
                } else {
                    (&v.allele1, 1.0)
                };
                let beta = sign * t.beta;
                AssocRecord {
                    chrom: v.plink_chrom().to_string(),
                    pos: v.pos,
                    id: v.id.clone(),
                    ref_allele: v.allele2.clone(),
                    alt: v.allele1.clone(),
                    a1: a1.clone(),
                    firth: t.firth,
                    test: t
                        .test
                        .unwrap_or(match (kind, options.lmm.as_ref().map(|r| r.tests)) {
                            (GlmKind::Lmm, Some(LmmTests::Lrt)) => "LMM_LRT",
                            (GlmKind::Lmm, Some(LmmTests::Score)) => "LMM_SCORE",
                            (GlmKind::Lmm, _) => "LMM_WALD",
                            _ => "ADD",
                        })
                        .into(),
                    obs_ct: u64::from(t.obs_ct),
                    // Logistic files print the odds ratio.
                    effect: if matches!(kind, GlmKind::Linear | GlmKind::Lmm | GlmKind::Wgr) {
                        beta
                    } else {
                        beta.exp()
                    },
                    se: t.se,
                    stat: sign * t.stat,
                    p: t.ln_p.exp(),
                    log10_p: neg_log10(t.ln_p),
                    errcode: t.error.unwrap_or(".").to_string(),
                }
            })
            .collect();
        let path = with_suffix(&options.out, &format!("{name}.{}", kind.suffix()));
        write_glm(&path, kind, PColumn::P, &records)?;
        written.push(path.clone());
        if options.parquet {
            let pq = with_suffix(&path, "parquet");
            write_glm_parquet(&pq, kind, &records)?;
            written.push(pq);
        }
        let tested = tests.iter().filter(|t| t.error.is_none()).count();
        let _ = writeln!(
            log,
            "{name}: {tested} of {} variants tested, {} with an ERRCODE",
            tests.len(),
            tests.len() - tested
        );
        if let Some(firth) = tests
            .first()
            .and_then(|t| t.firth)
            .map(|_| tests.iter().filter(|t| t.firth == Some(true)).count())
        {
            let _ = writeln!(log, "{name}: Firth regression used for {firth} variant(s)");
        }
        let ln_p: Vec<f64> = tests.iter().map(|t| t.ln_p).collect();
        let counts = summarize(&mut log, name, &ln_p, &maf, tested);
        let clumps = match &options.clump {
            None => None,
            Some(thresholds) => {
                let path = with_suffix(&options.out, &format!("{name}.clumped"));
                let p: Vec<f64> = ln_p.iter().map(|l| l.exp()).collect();
                let summary = clump_to_file(source.as_ref(), &p, thresholds, &path)?;
                let _ = writeln!(log, "{name}: {}", summary.log_line());
                written.push(path);
                Some(summary)
            }
        };
        let chrom_pos: Vec<(&str, u64)> = source
            .variants()
            .iter()
            .map(|v| (v.plink_chrom(), v.pos))
            .collect();
        let ids: Vec<&str> = source.variants().iter().map(|v| v.id.as_str()).collect();
        let (manhattan, qq) = draw_plots(
            &chrom_pos,
            &ids,
            &options.out,
            &PlotInput {
                name,
                ln_p: &ln_p,
                tested,
                leads: clumps.as_ref().map_or(&[], |c| c.leads.as_slice()),
                genes: genes.as_ref(),
            },
        )?;
        let _ = writeln!(
            log,
            "{name}: Bonferroni line at -log10 p = {:.2} (0.05 / {tested})",
            -bonferroni_threshold(0.05, tested.max(1)).log10()
        );
        written.push(manhattan.clone());
        written.push(qq.clone());
        let (prior_table, weighted) = match &prior {
            None => (None, None),
            Some(prior) => {
                let p: Vec<f64> = tests
                    .iter()
                    .map(|t| {
                        if t.error.is_none() {
                            t.ln_p.exp()
                        } else {
                            f64::NAN
                        }
                    })
                    .collect();
                let path = with_suffix(&options.out, &format!("{name}.prior.tsv"));
                let (line, counts) = prior_weighted(
                    source.variants(),
                    &p,
                    prior,
                    &options.weighting,
                    &path,
                    &mut log,
                )?;
                let _ = writeln!(log, "{name}: {line}");
                written.push(path.clone());
                (Some(path), Some(counts))
            }
        };
        scans.push(PhenotypeScan {
            name: name.clone(),
            results: path,
            tested,
            variants: tests.len(),
            lambda_gc: counts.lambda_gc,
            bonferroni: counts.bonferroni,
            bh: counts.bh,
            cases_controls: scanned.cases_controls,
            clumps,
            manhattan,
            qq,
            prior_table,
            weighted,
            pve: scanned.pve,
        });
    }
    let warnings = log.warnings().to_vec();
    let log_path = log.write(&options.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(GwasOutcome {
        samples: source.n_samples(),
        variants: source.n_variants(),
        pheno_matched,
        covariates: cov_names,
        phenotypes: scans,
        written,
        warnings,
    })
}

/// Appends K principal components to the covariates and logs their eigenvalues.
fn with_principal_components(
    source: &dyn GenotypeSource,
    k: usize,
    names: Vec<String>,
    values: &Array2<f64>,
    progress: &dyn Progress,
    log: &mut RunLog,
) -> Result<(Vec<String>, Array2<f64>)> {
    let method = if source.n_samples() <= 5000 {
        PcaMethod::Exact
    } else {
        PcaMethod::randomized(1)
    };
    let fit = stage(progress, "PCA", source.n_variants(), "variants", |p| {
        pca(source, &PcaOptions::new(k, method), p)
    })?;
    let n = source.n_samples();
    let c = names.len();
    let mut out = Array2::<f64>::zeros((n, c + k));
    for i in 0..n {
        for j in 0..c {
            out[[i, j]] = values[[i, j]];
        }
        for pc in 0..k {
            out[[i, c + pc]] = fit.eigenvectors[(i, pc)];
        }
    }
    let mut names = names;
    names.extend((1..=k).map(|pc| format!("PC{pc}")));
    let _ = writeln!(
        log,
        "--pca {k}: eigenvalues {} added as covariates",
        fit.eigenvalues
            .iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok((names, out))
}

/// The Manhattan and QQ plots of one phenotype, as geneticists draw them:
/// chromosomes side by side and named, the genome-wide (5e-8) and Bonferroni
/// lines, lead loci named by their nearest gene; the QQ diagonal with its
/// 95 % band and λGC in the title.
pub(crate) fn draw_plots(
    chrom_pos: &[(&str, u64)],
    ids: &[&str],
    out: &std::path::Path,
    scan: &PlotInput<'_>,
) -> Result<(PathBuf, PathBuf)> {
    let (name, ln_p, tested) = (scan.name, scan.ln_p, scan.tested);
    let layout = manhattan_layout(chrom_pos, ln_p, 1600, 600, 4.0);
    let manhattan = with_suffix(out, &format!("{name}.manhattan.png"));
    let bonferroni = -bonferroni_threshold(0.05, tested.max(1)).log10();
    let mut plot = ScatterPlot::new()
        .title(format!("{name}: Manhattan plot ({tested} variants)"))
        .x_label("chromosome")
        .y_label("-log10 p")
        .size(1600, 600)
        .legend(false)
        .points(layout.points.iter().map(|&(x, y, k)| {
            // Alternate two colours by chromosome order.
            (x, y, if k % 2 == 0 { "even" } else { "odd" })
        }))
        .x_ticks(
            layout
                .chromosomes
                .iter()
                .map(|c| (c.middle(), c.name.clone()))
                .collect(),
        )
        .hline(
            -(5e-8f64).log10(),
            "genome-wide 5e-8",
            LineStyle {
                colour: 3,
                dashed: true,
            },
        )
        .hline(
            bonferroni,
            format!("Bonferroni 0.05/{tested}"),
            LineStyle {
                colour: 7,
                dashed: true,
            },
        );
    let by_id: HashMap<&str, usize> = ids.iter().enumerate().map(|(k, &id)| (id, k)).collect();
    for lead in scan.leads.iter().take(10) {
        let Some(&k) = by_id.get(lead.id.as_str()) else {
            continue;
        };
        let text = scan
            .genes
            .and_then(|m| nearest_gene(m, &lead.chrom, lead.pos))
            .unwrap_or_else(|| lead.id.clone());
        plot = plot.label(layout.x[k], neg_log10(ln_p[k]), text);
    }
    plot.write_png(&manhattan)?;

    let qq = with_suffix(out, &format!("{name}.qq.png"));
    let qq_pts = qq_points(ln_p, 800, 3.0);
    let finite = ln_p.iter().filter(|l| l.is_finite()).count();
    let top = qq_pts.first().map_or(1.0, |p| p.0);
    let lambda = genomic_control(ln_p).map_or("NA".into(), |l| format!("{l:.4}"));
    ScatterPlot::new()
        .title(format!("{name}: QQ plot (lambda GC {lambda})"))
        .x_label("expected -log10 p")
        .y_label("observed -log10 p")
        .size(800, 800)
        .band("95% band under the null", qq_band(finite, 0.95, 200))
        .points(qq_pts.iter().map(|&(e, o)| (e, o, "variants")))
        .line(
            "y = x",
            [(0.0, 0.0), (top, top)],
            LineStyle {
                colour: 3,
                dashed: false,
            },
        )
        .write_png(&qq)?;
    Ok((manhattan, qq))
}

/// What a phenotype's plots show.
pub(crate) struct PlotInput<'a> {
    pub(crate) name: &'a str,
    pub(crate) ln_p: &'a [f64],
    pub(crate) tested: usize,
    /// Lead loci by ascending p, to be named on the Manhattan plot.
    pub(crate) leads: &'a [LeadVariant],
    pub(crate) genes: Option<&'a GeneMap>,
}

/// The gene nearest a position within 250 kb (0 inside a gene).
fn nearest_gene(map: &GeneMap, chrom: &str, pos: u64) -> Option<String> {
    map.genes_near(chrom, pos, 250_000)
        .into_iter()
        .min_by_key(|g| {
            if pos < g.start {
                g.start - pos
            } else {
                pos.saturating_sub(g.end)
            }
        })
        .map(|g| g.symbol.clone())
}

/// A phenotype's λGC and multiple-testing counts.
pub(crate) struct Counts {
    pub(crate) lambda_gc: Option<f64>,
    pub(crate) bonferroni: usize,
    pub(crate) bh: usize,
}

/// λGC overall and by MAF bin (none when `maf` is empty), and the
/// multiple-testing counts, into the log.
pub(crate) fn summarize(
    log: &mut RunLog,
    name: &str,
    ln_p: &[f64],
    maf: &[f64],
    tested: usize,
) -> Counts {
    let lambda_gc = genomic_control(ln_p);
    match lambda_gc {
        Some(l) => {
            let _ = writeln!(log, "{name}: lambda GC {l:.4}");
        }
        None => {
            let _ = writeln!(log, "{name}: lambda GC NA (no p-value)");
        }
    }
    let bins = if maf.is_empty() {
        Vec::new()
    } else {
        genomic_control_by_maf(ln_p, maf, &[0.0, 0.01, 0.05, 0.2, 0.5])
    };
    for (lo, hi, n, l) in bins {
        let l = l.map_or("NA".to_string(), |l| format!("{l:.4}"));
        let _ = writeln!(
            log,
            "{name}: lambda GC for MAF in [{lo}, {hi}): {l} ({n} variants)"
        );
    }
    let p: Vec<f64> = ln_p.iter().map(|l| l.exp()).collect();
    let threshold = bonferroni_threshold(0.05, tested.max(1));
    let bonferroni = p.iter().filter(|&&x| x < threshold).count();
    let bh = benjamini_hochberg(&p).iter().filter(|&&q| q < 0.05).count();
    let _ = writeln!(
        log,
        "{name}: {bonferroni} variant(s) below the Bonferroni threshold {threshold:.3e}; {bh} \
         with Benjamini-Hochberg q < 0.05"
    );
    Counts {
        lambda_gc,
        bonferroni,
        bh,
    }
}

/// One phenotype's scan before it is written.
struct Scanned {
    name: String,
    kind: GlmKind,
    rows: Vec<Row>,
    cases_controls: Option<(usize, usize)>,
    pve: Option<(f64, f64)>,
}

/// One variant's result, whichever model produced it.
struct Row {
    obs_ct: u32,
    beta: f64,
    se: f64,
    stat: f64,
    ln_p: f64,
    firth: Option<bool>,
    error: Option<&'static str>,
    /// The TEST column, where the kind does not set it (`ADD`).
    test: Option<&'static str>,
}
