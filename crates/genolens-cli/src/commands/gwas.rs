//! `genolens gwas`: per-variant association as `plink2 --glm` runs it, writing
//! `OUT.NAME.glm.linear` per phenotype with PLINK 2's columns.
//!
//! Quantitative traits get linear regression (`.glm.linear`), case/control traits
//! logistic regression with Firth fallback (`.glm.logistic.hybrid`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::linear::{linear_scan, Covariates, Phenotype};
use genolens::assoc::logistic::{logistic_scan, FirthMode, LogisticMethod};
use genolens::assoc::stats::neg_log10;
use genolens::assoc::summary::{
    benjamini_hochberg, bonferroni_threshold, genomic_control, genomic_control_by_maf,
    manhattan_points, qq_points,
};
use genolens::features::pca::{pca, PcaMethod, PcaOptions};
use genolens::features::qc::{allele_frequencies, count_calls, DEFAULT_BLOCK_SIZE};
use genolens::io::sumstats::{write_glm, write_glm_parquet, AssocRecord, GlmKind, PColumn};
use genolens::io::table::{AlignedTable, ColumnKind, SampleTable, TableOptions};
use genolens::io::{GenotypeSource, SampleId};
use genolens::plot::ScatterPlot;
use ndarray::Array2;

use crate::commands::clump::{clump_to_file, ClumpArgs};
use crate::commands::fdr::{prior_weighted, WeightingArgs};
use crate::commands::freq::with_suffix;
use crate::commands::prior::PriorArgs;
use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens gwas`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table (`FID IID` or `IID` columns, then one column per trait).
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// Phenotypes to test, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pheno_name: Vec<String>,
    /// Covariate table; categorical columns become indicator columns.
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Covariates to use, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "covar")]
    covar_name: Vec<String>,
    /// Compute K principal components of the genotypes (autosomes; exact up to
    /// 5,000 samples, randomized beyond) and add them as covariates PC1..PCK.
    #[arg(long, value_name = "K")]
    pca: Option<usize>,
    /// Accepted for PLINK 2 compatibility: covariates are always standardised
    /// internally (the results do not depend on their scale).
    #[arg(long)]
    covar_variance_standardize: bool,
    /// Case/control coded 0/1 instead of 1/2 (PLINK 2's `--1`).
    #[arg(long = "1")]
    case_control_01: bool,
    /// Firth regression only where the ordinary fit fails, an allele is absent
    /// from the cases or the controls, or the covariates separate them (PLINK 2's
    /// `firth-fallback`; the default).
    #[arg(long, conflicts_with_all = ["firth", "no_firth", "score_test"])]
    firth_fallback: bool,
    /// Firth regression for every case/control test (PLINK 2's `firth`).
    #[arg(long, conflicts_with_all = ["no_firth", "score_test"])]
    firth: bool,
    /// Never use Firth regression: failed fits get LOGISTIC_CONVERGE_FAIL and the
    /// output is `.glm.logistic` without the `FIRTH?` column.
    #[arg(long, conflicts_with = "score_test")]
    no_firth: bool,
    /// Screen case/control traits with Rao's score test at the covariates-only
    /// fit instead of the Wald test (no iteration; much faster). Writes
    /// `.glm.logistic.score`: the odds ratio is the one-step estimate.
    #[arg(long)]
    score_test: bool,
    /// Clump each phenotype's results into lead variants by LD (PLINK 1.9's
    /// `--clump` on the printed results): writes `OUT.NAME.clumped`.
    #[arg(long)]
    clump: bool,
    #[command(flatten)]
    clump_thresholds: ClumpArgs,
    /// Also write the results as Parquet (`OUT.NAME.glm.linear.parquet`).
    #[arg(long)]
    parquet: bool,
    #[command(flatten)]
    prior: PriorArgs,
    #[command(flatten)]
    weighting: WeightingArgs,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Runs the scan and writes one results file per phenotype.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let source = args.input.open()?;
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let options = |names: &[String]| TableOptions {
        case_control_01: args.case_control_01,
        columns: (!names.is_empty()).then(|| names.to_vec()),
        ..TableOptions::default()
    };
    let mut log = log_header("gwas", source.as_ref());
    // The prior is read before the scan, so that a bad prior fails fast.
    let prior = args.prior.load(None, &mut log)?;

    let table = SampleTable::read_phenotypes(&args.pheno, &options(&args.pheno_name))?;
    let (phenos, report) = table.align(&ids)?;
    let _ = writeln!(
        log,
        "--pheno {}: {} of {} genotype samples matched, {} table rows not in the genotypes",
        args.pheno.display(),
        report.matched,
        ids.len(),
        report.table_only.len()
    );
    let (cov_names, cov_values) = match &args.covar {
        None => (Vec::new(), Array2::<f64>::zeros((ids.len(), 0))),
        Some(path) => {
            let table = SampleTable::read_covariates(path, &options(&args.covar_name))?;
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
    let (cov_names, cov_values) = match args.pca {
        None => (cov_names, cov_values),
        Some(k) => {
            let method = if source.n_samples() <= 5000 {
                PcaMethod::Exact
            } else {
                PcaMethod::randomized(1)
            };
            let fit = progress::over_variants(source.n_variants(), "PCA", |p| {
                pca(source.as_ref(), &PcaOptions::new(k, method), p)
            })?;
            let n = source.n_samples();
            let c = cov_names.len();
            let mut values = Array2::<f64>::zeros((n, c + k));
            for i in 0..n {
                for j in 0..c {
                    values[[i, j]] = cov_values[[i, j]];
                }
                for pc in 0..k {
                    values[[i, c + pc]] = fit.eigenvectors[(i, pc)];
                }
            }
            let mut names = cov_names;
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
            (names, values)
        }
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
    let (quantitative, binary) = (pick(false), pick(true));
    let mut results: Vec<(String, GlmKind, Vec<Row>)> = Vec::new();
    let mut dropped_all: Vec<(String, Vec<String>)> = Vec::new();
    if !quantitative.is_empty() {
        let scan = progress::over_variants(source.n_variants(), "linear scan", |p| {
            linear_scan(source.as_ref(), &quantitative, &covariates, 256, p)
        })?;
        for ((ph, tests), dropped) in quantitative
            .iter()
            .zip(scan.tests)
            .zip(scan.dropped_covariates)
        {
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
                })
                .collect();
            results.push((ph.name.to_string(), GlmKind::Linear, rows));
        }
    }
    if !binary.is_empty() {
        let method = if args.score_test {
            LogisticMethod::Score
        } else if args.firth {
            LogisticMethod::Wald(FirthMode::Always)
        } else if args.no_firth {
            LogisticMethod::Wald(FirthMode::Never)
        } else {
            LogisticMethod::Wald(FirthMode::Fallback)
        };
        let scan = progress::over_variants(source.n_variants(), "logistic scan", |p| {
            logistic_scan(source.as_ref(), &binary, &covariates, method, 128, p)
        })?;
        for (((ph, tests), dropped), (cases, controls)) in binary
            .iter()
            .zip(scan.tests)
            .zip(scan.dropped_covariates)
            .zip(scan.case_control)
        {
            let _ = writeln!(log, "{}: {cases} cases, {controls} controls", ph.name);
            // PLINK 2's warning: estimates are unstable with few cases per
            // predictor (intercept, covariates, genotype).
            let predictors = 2 + cov_names.len() - dropped.len();
            if cases.min(controls) < 10 * predictors {
                let msg = format!(
                    "warning: {}: {} {} for {predictors} predictors (fewer than 10 per \
                     predictor); estimates may be unstable",
                    ph.name,
                    cases.min(controls),
                    if cases <= controls {
                        "cases"
                    } else {
                        "controls"
                    }
                );
                eprintln!("genolens: {msg}");
                let _ = writeln!(log, "{msg}");
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
                })
                .collect();
            let kind = match method {
                LogisticMethod::Score => GlmKind::LogisticScore,
                LogisticMethod::Wald(FirthMode::Never) => GlmKind::Logistic,
                LogisticMethod::Wald(_) => GlmKind::LogisticHybrid,
            };
            results.push((ph.name.to_string(), kind, rows));
        }
    }
    for (name, dropped) in &dropped_all {
        if !dropped.is_empty() {
            let msg = format!(
                "warning: {name}: constant covariate(s) left out: {}",
                dropped.join(", ")
            );
            eprintln!("genolens: {msg}");
            let _ = writeln!(log, "{msg}");
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
    let chrom_pos: Vec<(&str, u64)> = source
        .variants()
        .iter()
        .map(|v| (v.plink_chrom(), v.pos))
        .collect();

    let mut chrom_rank: std::collections::HashMap<&str, usize> = Default::default();
    for (c, _) in &chrom_pos {
        let next = chrom_rank.len();
        chrom_rank.entry(c).or_insert(next);
    }

    let mut written = Vec::new();
    for (name, kind, tests) in &results {
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
                    test: "ADD".into(),
                    obs_ct: u64::from(t.obs_ct),
                    // Logistic files print the odds ratio.
                    effect: if *kind == GlmKind::Linear {
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
        let path = with_suffix(&args.out, &format!("{name}.{}", kind.suffix()));
        write_glm(&path, *kind, PColumn::P, &records)?;
        written.push(path.clone());
        if args.parquet {
            let pq = with_suffix(&path, "parquet");
            write_glm_parquet(&pq, *kind, &records)?;
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
        summarize(&mut log, name, &ln_p, &maf, tested);
        if args.clump {
            let path = with_suffix(&args.out, &format!("{name}.clumped"));
            let p: Vec<f64> = ln_p.iter().map(|l| l.exp()).collect();
            let line = clump_to_file(source.as_ref(), &p, &args.clump_thresholds.options(), &path)?;
            let _ = writeln!(log, "{name}: {line}");
            written.push(path);
        }
        let manhattan = with_suffix(&args.out, &format!("{name}.manhattan.png"));
        let points = manhattan_points(&chrom_pos, &ln_p, 1600, 600, 4.0);
        let bonferroni = -bonferroni_threshold(0.05, tested.max(1)).log10();
        ScatterPlot::new()
            .title(format!("{name}: Manhattan plot ({tested} variants)"))
            .x_label("position (Mb, chromosomes end to end)")
            .y_label("-log10 p")
            .size(1600, 600)
            .legend(false)
            .points(points.iter().map(|(x, y, c)| {
                // Alternate two colours by chromosome order.
                let even = chrom_rank.get(c.as_str()).is_some_and(|r| r % 2 == 0);
                (*x, *y, if even { "even" } else { "odd" })
            }))
            .write_png(&manhattan)?;
        let _ = writeln!(
            log,
            "{name}: Bonferroni line at -log10 p = {bonferroni:.2} (0.05 / {tested})"
        );
        let qq = with_suffix(&args.out, &format!("{name}.qq.png"));
        let qq_pts = qq_points(&ln_p, 800, 3.0);
        let top = qq_pts.first().map_or(1.0, |p| p.0);
        ScatterPlot::new()
            .title(format!("{name}: QQ plot"))
            .x_label("expected -log10 p")
            .y_label("observed -log10 p")
            .size(800, 800)
            .points(qq_pts.iter().map(|&(e, o)| (e, o, "variants")))
            .points((0..=100).map(|i| {
                let x = top * f64::from(i) / 100.0;
                (x, x, "y = x")
            }))
            .write_png(&qq)?;
        written.push(manhattan);
        written.push(qq);
        if let Some(prior) = &prior {
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
            let path = with_suffix(&args.out, &format!("{name}.prior.tsv"));
            let line = prior_weighted(
                source.variants(),
                &p,
                prior,
                &args.weighting,
                args.prior.prior_floor,
                &path,
                &mut log,
            )?;
            let _ = writeln!(log, "{name}: {line}");
            written.push(path);
        }
    }
    finish(log, written, &args.out, started)
}

/// λGC overall and by MAF bin, and the multiple-testing counts, into the log.
fn summarize(log: &mut String, name: &str, ln_p: &[f64], maf: &[f64], tested: usize) {
    match genomic_control(ln_p) {
        Some(l) => {
            let _ = writeln!(log, "{name}: lambda GC {l:.4}");
        }
        None => {
            let _ = writeln!(log, "{name}: lambda GC NA (no p-value)");
        }
    }
    for (lo, hi, n, l) in genomic_control_by_maf(ln_p, maf, &[0.0, 0.01, 0.05, 0.2, 0.5]) {
        let l = l.map_or("NA".to_string(), |l| format!("{l:.4}"));
        let _ = writeln!(
            log,
            "{name}: lambda GC for MAF in [{lo}, {hi}): {l} ({n} variants)"
        );
    }
    let p: Vec<f64> = ln_p.iter().map(|l| l.exp()).collect();
    let threshold = bonferroni_threshold(0.05, tested.max(1));
    let bonf = p.iter().filter(|&&x| x < threshold).count();
    let bh = benjamini_hochberg(&p).iter().filter(|&&q| q < 0.05).count();
    let _ = writeln!(
        log,
        "{name}: {bonf} variant(s) below the Bonferroni threshold {threshold:.3e}; {bh} with \
         Benjamini-Hochberg q < 0.05"
    );
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
}
