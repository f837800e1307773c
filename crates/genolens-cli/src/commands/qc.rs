//! `genolens qc`: PLINK 2's QC reports and filters, and LD pruning, in one pass
//! structure: `--mind`, then the reports, then `--geno`, `--hwe`, `--maf`, then
//! `--indep-pairwise` and `--make-bed` on what is left.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::features::ld::{indep_pairwise, IndepPairwise};
use genolens::features::qc::{
    allele_frequencies, count_calls, filter_variants, hardy_rows, heterozygosity,
    samples_over_missing, CallTally, QcThresholds, VariantRemoval, DEFAULT_BLOCK_SIZE,
};
use genolens::io::plink::write_bed_fileset;
use genolens::io::report::{
    write_afreq, write_hardy, write_het, write_id_list, write_sample_ids, write_smiss, write_vmiss,
    AlleleFreqRow, HardyReportRow, HetReportRow, MissingRow, SampleIdColumns,
};
use genolens::io::{AtomicFile, GenotypeSource, Subset};

use crate::commands::freq::with_suffix;
use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens qc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Remove variants with minor-allele frequency below this.
    #[arg(long, value_name = "FREQ")]
    maf: Option<f64>,
    /// Remove variants with a missing-call rate above this.
    #[arg(long, value_name = "RATE")]
    geno: Option<f64>,
    /// Remove samples with a missing-call rate above this (applied first).
    #[arg(long, value_name = "RATE")]
    mind: Option<f64>,
    /// Remove autosomal variants with a Hardy–Weinberg exact-test p-value below this.
    #[arg(long, value_name = "P")]
    hwe: Option<f64>,
    /// Use mid-p for the Hardy–Weinberg test (`--hwe` and `--hardy`), as PLINK 2's
    /// `midp` modifier.
    #[arg(long)]
    midp: bool,
    /// Write OUT.afreq.
    #[arg(long)]
    freq: bool,
    /// Write OUT.hardy (autosomes).
    #[arg(long)]
    hardy: bool,
    /// Write OUT.smiss and OUT.vmiss.
    #[arg(long)]
    missing: bool,
    /// Write OUT.het (autosomal heterozygosity and F per sample).
    #[arg(long)]
    het: bool,
    /// LD-prune with a window of W variants, step S and r² threshold R2, writing
    /// OUT.prune.in and OUT.prune.out.
    #[arg(long, num_args = 3, value_names = ["W", "S", "R2"])]
    indep_pairwise: Option<Vec<String>>,
    /// Write the filtered fileset to OUT.bed/.bim/.fam.
    #[arg(long)]
    make_bed: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

fn parse_pairwise(v: &[String]) -> Result<IndepPairwise, CliError> {
    let bad = |what: &str, s: &str| CliError::Usage(format!("--indep-pairwise: bad {what} {s:?}"));
    let window = v[0]
        .parse::<usize>()
        .map_err(|_| bad("window size", &v[0]))?;
    let step = v[1].parse::<usize>().map_err(|_| bad("step", &v[1]))?;
    let r2 = v[2]
        .parse::<f64>()
        .map_err(|_| bad("r² threshold", &v[2]))?;
    Ok(IndepPairwise { window, step, r2 })
}

/// Runs the QC steps the flags ask for.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let thresholds = QcThresholds {
        mind: args.mind,
        geno: args.geno,
        hwe: args.hwe,
        hwe_midp: args.midp,
        maf: args.maf,
    };
    thresholds.validate()?;
    let pairwise = args
        .indep_pairwise
        .as_deref()
        .map(parse_pairwise)
        .transpose()?;
    if let Some(p) = &pairwise {
        p.validate()?;
    }
    let wants_any = args.freq
        || args.hardy
        || args.missing
        || args.het
        || args.make_bed
        || pairwise.is_some()
        || args.mind.is_some()
        || args.geno.is_some()
        || args.hwe.is_some()
        || args.maf.is_some();
    if !wants_any {
        return Err(CliError::Usage(
            "nothing to do: ask for --freq, --hardy, --missing, --het, --indep-pairwise, \
             --make-bed or a filter"
                .into(),
        ));
    }
    let ids = if args.input.is_vcf() {
        SampleIdColumns::Iid
    } else {
        SampleIdColumns::FidIid
    };
    let source = args.input.open()?;
    let mut log = log_header("qc", source.as_ref());

    // --mind first, as PLINK 2 does: everything after sees the kept samples only.
    let tally = progress::over_variants(source.n_variants(), "counting calls", |p| {
        count_calls(source.as_ref(), DEFAULT_BLOCK_SIZE, p)
    })?;
    let all_missing: Vec<&str> = tally
        .samples
        .iter()
        .zip(source.samples())
        .filter(|(s, _)| s.total > 0 && s.missing == s.total)
        .map(|(_, s)| s.id.iid.as_str())
        .collect();
    if !all_missing.is_empty() {
        let msg = format!(
            "warning: {} sample(s) have no called genotype (first: {})",
            all_missing.len(),
            all_missing[..all_missing.len().min(5)].join(", ")
        );
        eprintln!("genolens: {msg}");
        let _ = writeln!(log, "{msg}");
    }

    let mut written = Vec::new();
    let (data, tally): (Box<dyn GenotypeSource + '_>, CallTally) = match args.mind {
        Some(mind) => {
            let removed = samples_over_missing(&tally.samples, mind);
            let _ = writeln!(
                log,
                "--mind {mind}: {} sample(s) removed for missing calls",
                removed.len()
            );
            if removed.is_empty() {
                (Box::new(source.as_ref()), tally)
            } else {
                let path = with_suffix(&args.out, "mindrem.id");
                write_sample_ids(&path, removed.iter().map(|&i| &source.samples()[i]), ids)?;
                written.push(path);
                let keep: Vec<usize> = (0..source.n_samples())
                    .filter(|i| removed.binary_search(i).is_err())
                    .collect();
                if keep.is_empty() {
                    return Err(CliError::Usage(format!(
                        "--mind {mind} removed all {} samples",
                        source.n_samples()
                    )));
                }
                let subset = Subset::new(source.as_ref(), Some(keep), None)?;
                let tally = progress::over_variants(subset.n_variants(), "recounting", |p| {
                    count_calls(&subset, DEFAULT_BLOCK_SIZE, p)
                })?;
                (Box::new(subset), tally)
            }
        }
        None => (Box::new(source.as_ref()), tally),
    };
    let variants = data.variants();
    // Allele-1 frequencies for --het's expected homozygosity.
    let afreq: Vec<f64> = if !args.het {
        Vec::new()
    } else if data.hardcalls_exact() {
        tally.variants.iter().map(|c| c.allele1_freq()).collect()
    } else {
        progress::over_variants(variants.len(), "dosage frequencies", |p| {
            allele_frequencies(data.as_ref(), DEFAULT_BLOCK_SIZE, p)
        })?
        .iter()
        .map(|c| c.alt_freq())
        .collect()
    };
    // The reports are independent: write them in parallel.
    type Report<'a> = Box<dyn FnOnce() -> Result<Vec<PathBuf>, CliError> + Send + 'a>;
    let mut reports: Vec<Report<'_>> = Vec::new();
    let tally_ref = &tally;
    let data_ref = data.as_ref();
    let out = &args.out;
    if args.freq {
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
    if args.hardy {
        let midp = args.midp;
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
        let skipped = variants
            .iter()
            .filter(|v| v.chrom_kind() != genolens::io::ChromKind::Autosome)
            .count();
        if skipped > 0 {
            let _ = writeln!(
                log,
                "--hardy: {skipped} variant(s) on X, Y or MT not tested (autosomes only)"
            );
        }
    }
    if args.missing {
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
    if args.het {
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
            .collect::<Result<_, CliError>>()?;
        written.extend(paths.into_iter().flatten());
    }

    // Variant filters, in PLINK 2's order.
    let filter = filter_variants(variants, &tally.variants, &thresholds)?;
    for (flag, value, reason) in [
        ("--geno", args.geno, VariantRemoval::Geno),
        ("--hwe", args.hwe, VariantRemoval::Hwe),
        ("--maf", args.maf, VariantRemoval::Maf),
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
        let path = with_suffix(&args.out, "varrem.tsv");
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
    if filter.kept.is_empty() && (args.make_bed || pairwise.is_some()) {
        return Err(CliError::Usage(
            "no variants remain after the filters".into(),
        ));
    }
    if !args.make_bed && pairwise.is_none() {
        return finish(log, written, &args.out, started);
    }
    let filtered = Subset::new(data.as_ref(), None, Some(filter.kept.clone()))?;

    if let Some(params) = pairwise {
        // PLINK computes LD over founders only.
        let founders: Vec<usize> = filtered
            .samples()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.father == "0" && s.mother == "0")
            .map(|(i, _)| i)
            .collect();
        let pruned = if founders.len() == filtered.n_samples() {
            progress::over_variants(filtered.n_variants(), "LD pruning", |p| {
                indep_pairwise(&filtered, params, p)
            })?
        } else {
            let f = Subset::new(&filtered, Some(founders), None)?;
            progress::over_variants(f.n_variants(), "LD pruning", |p| {
                indep_pairwise(&f, params, p)
            })?
        };
        let fv = filtered.variants();
        if pruned.kept.is_empty() && pruned.pruned.is_empty() {
            // As PLINK 2: chromosome-0 variants only, so no pair to test.
            let msg = format!(
                "warning: --indep-pairwise skipped: all {} variants are on chromosome 0",
                pruned.ignored.len()
            );
            eprintln!("genolens: {msg}");
            let _ = writeln!(log, "{msg}");
        } else {
            let inp = with_suffix(&args.out, "prune.in");
            let outp = with_suffix(&args.out, "prune.out");
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
            written.push(inp);
            written.push(outp);
        }
    }
    if args.make_bed {
        progress::over_variants(filtered.n_variants(), "writing .bed", |_| {
            write_bed_fileset(&filtered, &args.out, DEFAULT_BLOCK_SIZE)
        })?;
        written.push(with_suffix(&args.out, "bed"));
    }
    finish(log, written, &args.out, started)
}

/// PLINK 2's `PHENO1` column of `.smiss`: present when any `.fam` phenotype is set,
/// `true` where a sample's is missing.
fn pheno1_missing(samples: &[genolens::io::Sample]) -> Option<Vec<bool>> {
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
