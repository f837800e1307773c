//! `genolens gwas`: per-variant association as `plink2 --glm` runs it, writing
//! `OUT.NAME.glm.linear` per phenotype with PLINK 2's columns.
//!
//! Quantitative traits only for now; case/control traits (logistic regression
//! with Firth fallback) are the next step of the association issue.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::linear::{linear_scan, Covariates, Phenotype};
use genolens::io::sumstats::{write_glm, write_glm_parquet, AssocRecord, GlmKind, PColumn};
use genolens::io::table::{AlignedTable, ColumnKind, SampleTable, TableOptions};
use genolens::io::{AtomicFile, GenotypeSource, SampleId};
use ndarray::Array2;

use crate::commands::freq::with_suffix;
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
    /// Case/control coded 0/1 instead of 1/2 (PLINK 2's `--1`).
    #[arg(long = "1")]
    case_control_01: bool,
    /// Also write the results as Parquet (`OUT.NAME.glm.linear.parquet`).
    #[arg(long)]
    parquet: bool,
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
    let mut log = String::new();
    let _ = writeln!(
        log,
        "genolens gwas: {} samples, {} variants from {}",
        source.n_samples(),
        source.n_variants(),
        source.origin().display()
    );

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
    if let Some((k, _)) = phenos
        .kinds
        .iter()
        .enumerate()
        .find(|(_, k)| **k == ColumnKind::CaseControl)
    {
        return Err(CliError::Usage(format!(
            "phenotype {} is case/control: logistic regression is not available yet; \
             only quantitative traits can be scanned",
            phenos.names[k]
        )));
    }

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
    let covariates = Covariates {
        names: &cov_names,
        values: cov_values.view(),
    };
    let columns: Vec<Vec<f64>> = (0..phenos.names.len())
        .map(|k| phenos.values.column(k).to_vec())
        .collect();
    let phenotypes: Vec<Phenotype<'_>> = phenos
        .names
        .iter()
        .zip(&columns)
        .map(|(name, values)| Phenotype { name, values })
        .collect();
    let scan = progress::over_variants(source.n_variants(), "linear scan", |p| {
        linear_scan(source.as_ref(), &phenotypes, &covariates, 512, p)
    })?;
    for (name, dropped) in phenos.names.iter().zip(&scan.dropped_covariates) {
        if !dropped.is_empty() {
            let msg = format!(
                "warning: {name}: constant covariate(s) left out: {}",
                dropped.join(", ")
            );
            eprintln!("genolens: {msg}");
            let _ = writeln!(log, "{msg}");
        }
    }

    let mut written = Vec::new();
    for (name, tests) in phenos.names.iter().zip(&scan.tests) {
        let records: Vec<AssocRecord> = source
            .variants()
            .iter()
            .zip(tests)
            .map(|(v, t)| AssocRecord {
                chrom: v.plink_chrom().to_string(),
                pos: v.pos,
                id: v.id.clone(),
                ref_allele: v.allele2.clone(),
                alt: v.allele1.clone(),
                a1: v.allele1.clone(),
                firth: None,
                test: "ADD".into(),
                obs_ct: u64::from(t.obs_ct),
                effect: t.beta,
                se: t.se,
                stat: t.t,
                p: t.p(),
                log10_p: t.log10_p(),
                errcode: t.error.map_or(".".to_string(), |e| e.code().to_string()),
            })
            .collect();
        let path = with_suffix(&args.out, &format!("{name}.{}", GlmKind::Linear.suffix()));
        write_glm(&path, GlmKind::Linear, PColumn::P, &records)?;
        written.push(path.clone());
        if args.parquet {
            let pq = with_suffix(&path, "parquet");
            write_glm_parquet(&pq, GlmKind::Linear, &records)?;
            written.push(pq);
        }
        let tested = tests.iter().filter(|t| t.error.is_none()).count();
        let _ = writeln!(
            log,
            "{name}: {tested} of {} variants tested, {} with an ERRCODE",
            tests.len(),
            tests.len() - tested
        );
    }
    let _ = writeln!(log, "time: {:.3} s", started.elapsed().as_secs_f64());
    let log_path = with_suffix(&args.out, "log");
    let mut f = AtomicFile::create(&log_path)?;
    f.write_all(log.as_bytes())?;
    f.commit()?;
    for p in written.iter().chain(std::iter::once(&log_path)) {
        eprintln!("genolens: wrote {}", p.display());
    }
    Ok(())
}
