//! The QC step: PLINK 2's reports and filters and LD pruning, in PLINK 2's
//! order: `--mind`, then the reports, then `--geno`, `--hwe`, `--maf`, then
//! `--indep-pairwise` and `--make-bed` on what is left. `genolens qc` and the
//! pipeline's `qc` step are this one call.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::features::ld::{indep_pairwise, IndepPairwise};
use crate::features::qc::{
    allele_frequencies, count_calls, filter_variants_sexed, hardy_rows, heterozygosity,
    samples_over_missing, CallTally, HardyXRow, QcThresholds, VariantCalls, VariantRemoval,
    DEFAULT_BLOCK_SIZE,
};
use crate::io::plink::write_bed_fileset;
use crate::io::report::{
    write_afreq, write_hardy, write_hardy_x, write_het, write_id_list, write_sample_ids,
    write_smiss, write_vmiss, AlleleFreqRow, HardyReportRow, HardyXReportRow, HetReportRow,
    MissingRow, SampleIdColumns,
};
use crate::io::{AtomicFile, ChromKind, GenotypeSource, Sample, Sex, Subset};
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, GenotypeInput};
use crate::{Error, Result};

/// Options of the QC step.
#[derive(Debug, Clone, PartialEq)]
pub struct QcOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// The filters (`--mind`, `--geno`, `--hwe` with or without mid-p,
    /// `--maf`); `None` skips one.
    pub thresholds: QcThresholds,
    /// Write `OUT.afreq`.
    pub freq: bool,
    /// Write `OUT.hardy` (autosomes) and, with sexes, `OUT.hardy.x`.
    pub hardy: bool,
    /// Write `OUT.smiss` and `OUT.vmiss`.
    pub missing: bool,
    /// Write `OUT.het`.
    pub het: bool,
    /// LD pruning (`OUT.prune.in`, `OUT.prune.out`).
    pub indep_pairwise: Option<IndepPairwise>,
    /// Write the filtered fileset to `OUT.bed/.bim/.fam`.
    pub make_bed: bool,
    /// Output prefix.
    pub out: PathBuf,
}

impl QcOptions {
    /// Nothing asked yet: no report, filter, pruning or fileset.
    pub fn new(input: GenotypeInput, out: impl Into<PathBuf>) -> Self {
        Self {
            input,
            thresholds: QcThresholds::default(),
            freq: false,
            hardy: false,
            missing: false,
            het: false,
            indep_pairwise: None,
            make_bed: false,
            out: out.into(),
        }
    }

    /// `true` when the options ask for any output.
    pub fn wants_any(&self) -> bool {
        let t = &self.thresholds;
        self.freq
            || self.hardy
            || self.missing
            || self.het
            || self.make_bed
            || self.indep_pairwise.is_some()
            || t.mind.is_some()
            || t.geno.is_some()
            || t.hwe.is_some()
            || t.maf.is_some()
    }
}

/// What the QC step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcOutcome {
    /// Samples read.
    pub samples_in: usize,
    /// Variants read.
    pub variants_in: usize,
    /// Samples removed by `--mind`.
    pub removed_mind: usize,
    /// Variants removed by `--geno`, `--hwe` and `--maf`.
    pub removed_geno: usize,
    /// Variants removed by `--hwe`.
    pub removed_hwe: usize,
    /// Variants removed by `--maf`.
    pub removed_maf: usize,
    /// Samples left.
    pub samples_out: usize,
    /// Variants left.
    pub variants_out: usize,
    /// LD pruning: variants kept (in `OUT.prune.in`) and pruned.
    pub pruned: Option<(usize, usize)>,
    /// The filtered fileset's prefix, if written.
    pub fileset: Option<PathBuf>,
    /// `OUT.prune.in`, if written.
    pub prune_in: Option<PathBuf>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Runs the QC steps the options ask for.
pub fn run_qc(options: &QcOptions, progress: &dyn Progress) -> Result<QcOutcome> {
    let started = Instant::now();
    let thresholds = options.thresholds;
    thresholds.validate()?;
    if let Some(p) = &options.indep_pairwise {
        p.validate()?;
    }
    if !options.wants_any() {
        return Err(Error::Invalid(
            "nothing to do: ask for --freq, --hardy, --missing, --het, --indep-pairwise, \
             --make-bed or a filter"
                .into(),
        ));
    }
    let ids = if options.input.is_vcf() {
        SampleIdColumns::Iid
    } else {
        SampleIdColumns::FidIid
    };
    let (source, mut log) = options.input.open_logged("qc")?;
    let out = &options.out;

    // --mind first, as PLINK 2 does: everything after sees the kept samples only.
    let tally = stage(
        progress,
        "counting calls",
        source.n_variants(),
        "variants",
        |p| count_calls(source.as_ref(), DEFAULT_BLOCK_SIZE, p),
    )?;
    let all_missing: Vec<&str> = tally
        .samples
        .iter()
        .zip(source.samples())
        .filter(|(s, _)| s.total > 0 && s.missing == s.total)
        .map(|(_, s)| s.id.iid.as_str())
        .collect();
    if !all_missing.is_empty() {
        log.warn(format!(
            "{} sample(s) have no called genotype (first: {})",
            all_missing.len(),
            all_missing[..all_missing.len().min(5)].join(", ")
        ));
    }

    let mut written = Vec::new();
    let mut removed_mind = 0;
    let (data, tally): (Box<dyn GenotypeSource + '_>, CallTally) = match thresholds.mind {
        Some(mind) => {
            let removed = samples_over_missing(&tally.samples, mind);
            removed_mind = removed.len();
            let _ = writeln!(
                log,
                "--mind {mind}: {} sample(s) removed for missing calls",
                removed.len()
            );
            if removed.is_empty() {
                (Box::new(source.as_ref()), tally)
            } else {
                let path = with_suffix(out, "mindrem.id");
                write_sample_ids(&path, removed.iter().map(|&i| &source.samples()[i]), ids)?;
                written.push(path);
                let keep: Vec<usize> = (0..source.n_samples())
                    .filter(|i| removed.binary_search(i).is_err())
                    .collect();
                if keep.is_empty() {
                    return Err(Error::Invalid(format!(
                        "--mind {mind} removed all {} samples",
                        source.n_samples()
                    )));
                }
                let subset = Subset::new(source.as_ref(), Some(keep), None)?;
                let tally = stage(
                    progress,
                    "recounting",
                    subset.n_variants(),
                    "variants",
                    |p| count_calls(&subset, DEFAULT_BLOCK_SIZE, p),
                )?;
                (Box::new(subset), tally)
            }
        }
        None => (Box::new(source.as_ref()), tally),
    };
    let variants = data.variants();
    // Allele-1 frequencies for --het's expected homozygosity.
    let afreq: Vec<f64> = if !options.het {
        Vec::new()
    } else if data.hardcalls_exact() {
        tally.variants.iter().map(|c| c.allele1_freq()).collect()
    } else {
        stage(
            progress,
            "dosage frequencies",
            variants.len(),
            "variants",
            |p| allele_frequencies(data.as_ref(), DEFAULT_BLOCK_SIZE, p),
        )?
        .iter()
        .map(|c| c.alt_freq())
        .collect()
    };
    // chrX counts over the samples of known sex (females' genotypes, males'
    // alleles), as plink2 tests chrX: for `.hardy.x` and for `--hwe`.
    let (x_calls, n_sexed) = if options.hardy || thresholds.hwe.is_some() {
        sexed_chrx_calls(data.as_ref())?
    } else {
        (Vec::new(), 0)
    };
    let x_calls_ref = &x_calls;
    // The reports are independent: write them in parallel.
    type Report<'a> = Box<dyn FnOnce() -> Result<Vec<PathBuf>> + Send + 'a>;
    let mut reports: Vec<Report<'_>> = Vec::new();
    let tally_ref = &tally;
    let data_ref = data.as_ref();
    if options.freq {
        reports.push(Box::new(move || {
            let rows: Vec<AlleleFreqRow> = if data_ref.hardcalls_exact() {
                tally_ref.variants.iter().map(|c| c.afreq_row()).collect()
            } else {
                allele_frequencies(data_ref, DEFAULT_BLOCK_SIZE, &|_| {})?
                    .iter()
                    .map(|c| c.afreq_row())
                    .collect()
            };
            let path = with_suffix(out, "afreq");
            write_afreq(&path, variants, &rows)?;
            Ok(vec![path])
        }));
    }
    if options.hardy {
        let midp = thresholds.hwe_midp;
        reports.push(Box::new(move || {
            let (vs, rows): (Vec<_>, Vec<_>) = hardy_rows(variants, &tally_ref.variants, midp)
                .into_iter()
                .map(|(i, r)| {
                    (
                        &variants[i],
                        HardyReportRow {
                            hom_alt: r.hom_allele1,
                            het: r.het,
                            hom_ref: r.hom_allele2,
                            observed_het: r.observed_het,
                            expected_het: r.expected_het,
                            p: r.p,
                        },
                    )
                })
                .unzip();
            let path = with_suffix(out, "hardy");
            write_hardy(&path, &vs, &rows, midp)?;
            Ok(vec![path])
        }));
        // OUT.hardy.x, as plink2 writes it when sexes are known.
        let hardy_x = !x_calls.is_empty();
        if hardy_x {
            reports.push(Box::new(move || {
                let (vs, rows): (Vec<_>, Vec<_>) = x_calls_ref
                    .iter()
                    .map(|(v, c)| {
                        let r = HardyXRow::from_counts(&c.diploid, &c.haploid, midp);
                        (
                            &variants[*v],
                            // The report's A1 is REF (allele 2).
                            HardyXReportRow {
                                female_hom_ref: r.female_hom_allele2,
                                female_het: r.female_het,
                                female_hom_alt: r.female_hom_allele1,
                                male_ref: r.male_allele2,
                                male_alt: r.male_allele1,
                                observed_het: r.observed_het,
                                expected_het: r.expected_het,
                                female_ref_freq: 1.0 - r.female_allele1_freq,
                                male_ref_freq: 1.0 - r.male_allele1_freq,
                                p: r.p,
                            },
                        )
                    })
                    .unzip();
                let path = with_suffix(out, "hardy.x");
                write_hardy_x(&path, &vs, &rows, midp)?;
                Ok(vec![path])
            }));
        }
        let skipped = variants
            .iter()
            .filter(|v| v.chrom_kind() != ChromKind::Autosome)
            .count()
            - x_calls.len();
        if hardy_x {
            let _ = writeln!(
                log,
                "--hardy: {} chrX variant(s) tested on {n_sexed} samples of known sex \
                 (OUT.hardy.x)",
                x_calls.len()
            );
        }
        if skipped > 0 {
            let _ = writeln!(
                log,
                "--hardy: {skipped} variant(s) on X (no sexes), Y or MT not tested"
            );
        }
    }
    if options.missing {
        reports.push(Box::new(move || {
            let rows: Vec<MissingRow> = tally_ref
                .samples
                .iter()
                .map(|s| MissingRow {
                    missing: s.missing,
                    total: s.total,
                })
                .collect();
            let pheno_missing = pheno1_missing(data_ref.samples());
            let path = with_suffix(out, "smiss");
            write_smiss(
                &path,
                data_ref.samples(),
                &rows,
                ids,
                pheno_missing.as_deref(),
            )?;
            Ok(vec![path])
        }));
        reports.push(Box::new(move || {
            let rows: Vec<MissingRow> = tally_ref
                .variants
                .iter()
                .map(|c| MissingRow {
                    missing: c.missing(),
                    total: c.samples(),
                })
                .collect();
            let path = with_suffix(out, "vmiss");
            write_vmiss(&path, variants, &rows)?;
            Ok(vec![path])
        }));
    }
    if options.het {
        let afreq = &afreq;
        reports.push(Box::new(move || {
            let rows = heterozygosity(data_ref, afreq, DEFAULT_BLOCK_SIZE, &|_| {})?;
            let rows: Vec<HetReportRow> = rows
                .iter()
                .map(|r| HetReportRow {
                    observed_hom: r.observed_hom,
                    expected_hom: r.expected_hom,
                    observed: r.observed,
                    f: r.f,
                })
                .collect();
            let path = with_suffix(out, "het");
            write_het(&path, data_ref.samples(), &rows, ids)?;
            Ok(vec![path])
        }));
    }
    {
        use rayon::prelude::*;
        let paths: Vec<Vec<PathBuf>> = reports
            .into_par_iter()
            .map(|report| report())
            .collect::<Result<_>>()?;
        written.extend(paths.into_iter().flatten());
    }

    // Variant filters, in PLINK 2's order.
    let filter = filter_variants_sexed(variants, &tally.variants, &x_calls, &thresholds)?;
    for (flag, value, reason) in [
        ("--geno", thresholds.geno, VariantRemoval::Geno),
        ("--hwe", thresholds.hwe, VariantRemoval::Hwe),
        ("--maf", thresholds.maf, VariantRemoval::Maf),
    ] {
        if let Some(v) = value {
            let _ = writeln!(
                log,
                "{flag} {v}: {} variant(s) removed",
                filter.removed_by(reason)
            );
        }
    }
    if !filter.removed.is_empty() {
        let path = with_suffix(out, "varrem.tsv");
        let mut f = AtomicFile::create(&path)?;
        let mut text = String::from("#ID\tREMOVED_BY\n");
        for (i, r) in &filter.removed {
            let _ = writeln!(text, "{}\t{}", variants[*i].id, r.flag());
        }
        f.write_all(text.as_bytes())?;
        f.commit()?;
        written.push(path);
    }
    let _ = writeln!(
        log,
        "{} samples and {} variants remain after the filters",
        data.n_samples(),
        filter.kept.len()
    );
    let mut outcome = QcOutcome {
        samples_in: source.n_samples(),
        variants_in: source.n_variants(),
        removed_mind,
        removed_geno: filter.removed_by(VariantRemoval::Geno),
        removed_hwe: filter.removed_by(VariantRemoval::Hwe),
        removed_maf: filter.removed_by(VariantRemoval::Maf),
        samples_out: data.n_samples(),
        variants_out: filter.kept.len(),
        pruned: None,
        fileset: None,
        prune_in: None,
        written: Vec::new(),
        warnings: Vec::new(),
    };
    if filter.kept.is_empty() && (options.make_bed || options.indep_pairwise.is_some()) {
        return Err(Error::Invalid(
            "no variants remain after the filters".into(),
        ));
    }
    if options.make_bed || options.indep_pairwise.is_some() {
        let filtered = Subset::new(data.as_ref(), None, Some(filter.kept.clone()))?;
        if let Some(params) = options.indep_pairwise {
            // PLINK computes LD over founders only.
            let founders: Vec<usize> = filtered
                .samples()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.father == "0" && s.mother == "0")
                .map(|(i, _)| i)
                .collect();
            let pruned = if founders.len() == filtered.n_samples() {
                stage(
                    progress,
                    "LD pruning",
                    filtered.n_variants(),
                    "variants",
                    |p| indep_pairwise(&filtered, params, p),
                )?
            } else {
                let f = Subset::new(&filtered, Some(founders), None)?;
                stage(progress, "LD pruning", f.n_variants(), "variants", |p| {
                    indep_pairwise(&f, params, p)
                })?
            };
            let fv = filtered.variants();
            if pruned.kept.is_empty() && pruned.pruned.is_empty() {
                // As PLINK 2: chromosome-0 variants only, so no pair to test.
                log.warn(format!(
                    "--indep-pairwise skipped: all {} variants are on chromosome 0",
                    pruned.ignored.len()
                ));
            } else {
                let inp = with_suffix(out, "prune.in");
                let outp = with_suffix(out, "prune.out");
                write_id_list(&inp, pruned.kept.iter().map(|&i| fv[i].id.as_str()))?;
                write_id_list(&outp, pruned.pruned.iter().map(|&i| fv[i].id.as_str()))?;
                let _ = writeln!(
                    log,
                    "--indep-pairwise {} {} {}: {} kept, {} pruned, {} on chromosome 0 ignored",
                    params.window,
                    params.step,
                    params.r2,
                    pruned.kept.len(),
                    pruned.pruned.len(),
                    pruned.ignored.len()
                );
                outcome.pruned = Some((pruned.kept.len(), pruned.pruned.len()));
                outcome.prune_in = Some(inp.clone());
                written.push(inp);
                written.push(outp);
            }
        }
        if options.make_bed {
            stage(
                progress,
                "writing .bed",
                filtered.n_variants(),
                "variants",
                |_| write_bed_fileset(&filtered, out, DEFAULT_BLOCK_SIZE),
            )?;
            written.push(with_suffix(out, "bed"));
            outcome.fileset = Some(out.clone());
        }
    }
    outcome.warnings = log.warnings().to_vec();
    let log_path = log.write(out, &written, started.elapsed())?;
    written.push(log_path);
    outcome.written = written;
    Ok(outcome)
}

/// PLINK 2's `PHENO1` column of `.smiss`: present when any `.fam` phenotype is set,
/// `true` where a sample's is missing.
fn pheno1_missing(samples: &[Sample]) -> Option<Vec<bool>> {
    // In a case/control column (1/2, with 0 or -9 missing) 0 is missing; in a
    // quantitative one it is a value.
    let binary = samples
        .iter()
        .all(|s| matches!(s.phenotype.as_str(), "0" | "1" | "2" | "-9"));
    let missing =
        |p: &str| matches!(p, "-9" | "NA" | "na" | "nan" | "NaN" | "") || (binary && p == "0");
    let flags: Vec<bool> = samples.iter().map(|s| missing(&s.phenotype)).collect();
    if flags.iter().all(|&m| m) {
        None
    } else {
        Some(flags)
    }
}

/// The chrX variants of `data` with their counts over its samples of known
/// sex (females diploid, males haploid), and how many such samples there
/// are; none without chrX variants or sexes.
fn sexed_chrx_calls(data: &dyn GenotypeSource) -> Result<(Vec<(usize, VariantCalls)>, usize)> {
    let x_variants: Vec<usize> = (0..data.n_variants())
        .filter(|&v| data.variants()[v].chrom_kind() == ChromKind::X)
        .collect();
    let sexed: Vec<usize> = (0..data.n_samples())
        .filter(|&i| data.samples()[i].sex != Sex::Unknown)
        .collect();
    if x_variants.is_empty() || sexed.is_empty() {
        return Ok((Vec::new(), sexed.len()));
    }
    let n_sexed = sexed.len();
    let view = Subset::new(data, Some(sexed), Some(x_variants.clone()))?;
    let calls = count_calls(&view, DEFAULT_BLOCK_SIZE, &|_| {})?;
    Ok((
        x_variants.into_iter().zip(calls.variants).collect(),
        n_sexed,
    ))
}
