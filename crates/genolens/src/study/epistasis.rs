//! The epistasis step: every pair of variants tested for an interaction
//! effect on a quantitative trait, as `plink1.9 --epistasis`, writing
//! `OUT.epi.qt`, `OUT.epi.qt.summary` and `OUT.log`. `genolens epistasis` is
//! this one call.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::assoc::epistasis::{epistasis_scan, EpistasisOptions};
use crate::io::epistasis::{write_epi_reports, EpiPairRow, EpiSummaryRow};
use crate::io::table::{ColumnKind, SampleTable, TableOptions};
use crate::io::SampleId;
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, GenotypeInput};
use crate::{Error, Result};

/// Options of the epistasis step.
#[derive(Debug, Clone, PartialEq)]
pub struct EpistasisStepOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Phenotype table.
    pub pheno: PathBuf,
    /// The quantitative trait (default: the table's first column).
    pub pheno_name: Option<String>,
    /// Report pairs with p at or below this (PLINK 1.9's `--epi1`).
    pub epi1: f64,
    /// Count pairs with p at or below this in the summary (`--epi2`).
    pub epi2: f64,
    /// Largest variance inflation factor among A, B and A·B (`--vif`).
    pub vif: f64,
    /// Output prefix.
    pub out: PathBuf,
}

/// What the epistasis step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpistasisOutcome {
    /// Valid pair tests.
    pub tests: u64,
    /// Pairs that failed a check.
    pub failed: u64,
    /// Pairs reported (p at or below `epi1`).
    pub reported: usize,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Runs the scan and writes the reports.
pub fn run_epistasis(
    args: &EpistasisStepOptions,
    progress: &dyn Progress,
) -> Result<EpistasisOutcome> {
    let started = Instant::now();
    let (source, mut log) = args.input.open_logged("epistasis")?;
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let options = TableOptions {
        columns: args.pheno_name.clone().map(|n| vec![n]),
        ..TableOptions::default()
    };
    let table = SampleTable::read_phenotypes(&args.pheno, &options)?;
    let (phenos, report) = table.align(&ids)?;
    let name = phenos.names.first().cloned().unwrap_or_default();
    if phenos.kinds.first() == Some(&ColumnKind::CaseControl) {
        return Err(Error::Invalid(format!(
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
    let scan = stage(progress, "epistasis", blocks, "blocks", |p| {
        epistasis_scan(source.as_ref(), &y, &epi, p)
    })?;
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
    let mut written = vec![qt, summary];
    let warnings = log.warnings().to_vec();
    let log_path = log.write(&args.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(EpistasisOutcome {
        tests: scan.n_tests,
        failed: scan.n_failed,
        reported: scan.pairs.len(),
        written,
        warnings,
    })
}
