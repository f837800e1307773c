//! `genolens epistasis`: every pair of variants tested for an interaction effect
//! on a quantitative trait, as `plink1.9 --epistasis`, writing `OUT.epi.qt`,
//! `OUT.epi.qt.summary` and `OUT.log`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::epistasis::{epistasis_scan, EpistasisOptions};
use genolens::io::epistasis::{write_epi_reports, EpiPairRow, EpiSummaryRow};
use genolens::io::table::{ColumnKind, SampleTable, TableOptions};
use genolens::io::{GenotypeSource, SampleId};

use crate::commands::freq::with_suffix;
use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens epistasis`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table (`FID IID` or `IID` columns, then one column per trait).
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// The quantitative trait to test (default: the table's first column).
    #[arg(long, value_name = "NAME")]
    pheno_name: Option<String>,
    /// Report pairs with p at or below this (PLINK 1.9's `--epi1`; 1 reports
    /// every pair, failed ones as nan).
    #[arg(long, value_name = "P", default_value_t = 1e-4)]
    epi1: f64,
    /// Count pairs with p at or below this in the summary's N_SIG (`--epi2`).
    #[arg(long, value_name = "P", default_value_t = 0.01)]
    epi2: f64,
    /// Largest variance inflation factor among A, B and A·B (`--vif`).
    #[arg(long, value_name = "VIF", default_value_t = 50.0)]
    vif: f64,
    /// Output prefix: writes `OUT.epi.qt`, `OUT.epi.qt.summary`, `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Runs the scan and writes the reports.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let source = args.input.open()?;
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let mut log = log_header("epistasis", source.as_ref());
    let options = TableOptions {
        columns: args.pheno_name.clone().map(|n| vec![n]),
        ..TableOptions::default()
    };
    let table = SampleTable::read_phenotypes(&args.pheno, &options)?;
    let (phenos, report) = table.align(&ids)?;
    let name = phenos.names.first().cloned().unwrap_or_default();
    if phenos.kinds.first() == Some(&ColumnKind::CaseControl) {
        return Err(CliError::Usage(format!(
            "{}: {name} is case/control; genolens epistasis tests quantitative traits \
             (PLINK 1.9's linear --epistasis)",
            args.pheno.display()
        )));
    }
    let y = phenos.values.column(0).to_vec();
    let with_value = y.iter().filter(|v| v.is_finite()).count();
    let _ = writeln!(
        log,
        "--pheno {} ({name}): {} of {} genotype samples matched, {with_value} with a value",
        args.pheno.display(),
        report.matched,
        ids.len()
    );
    let epi = EpistasisOptions {
        report_p: args.epi1,
        count_p: args.epi2,
        vif_threshold: args.vif,
        ..EpistasisOptions::default()
    };
    let blocks = source.n_variants().div_ceil(epi.block_size.max(1));
    let bar = progress::counted(blocks, "epistasis", "blocks");
    let scan = epistasis_scan(source.as_ref(), &y, &epi, &|k| bar.set_position(k as u64));
    bar.finish_and_clear();
    let scan = scan?;
    let variants = source.variants();
    if !scan.skipped.is_empty() {
        let _ = writeln!(
            log,
            "skipping {} monomorphic/non-autosomal variants (as plink1.9)",
            scan.skipped.len()
        );
    }
    let _ = writeln!(
        log,
        "{} valid tests on {} samples, {} pairs failed a check (too few samples, \
         collinear terms, VIF above {}), {} pairs with p <= {} reported",
        scan.n_tests,
        scan.n_samples,
        scan.n_failed,
        args.vif,
        scan.pairs.len(),
        args.epi1
    );
    let pair_rows: Vec<EpiPairRow<'_>> = scan
        .pairs
        .iter()
        .map(|t| EpiPairRow {
            first: &variants[t.first],
            second: &variants[t.second],
            beta: t.beta,
            chisq: t.chisq,
            p: t.p_value(),
        })
        .collect();
    let skipped: std::collections::HashSet<usize> = scan.skipped.iter().copied().collect();
    let summary_rows: Vec<EpiSummaryRow<'_>> = variants
        .iter()
        .zip(&scan.variants)
        .enumerate()
        .filter(|(v, _)| !skipped.contains(v))
        .map(|(_, (v, s))| EpiSummaryRow {
            variant: v,
            n_significant: s.n_significant,
            n_tests: s.n_tests,
            best: s.best_partner.map(|p| (s.best_chisq, &variants[p])),
        })
        .collect();
    let qt = with_suffix(&args.out, "epi.qt");
    let summary = with_suffix(&args.out, "epi.qt.summary");
    write_epi_reports(&qt, &summary, variants, &pair_rows, &summary_rows)?;
    finish(log, vec![qt, summary], &args.out, started)
}
