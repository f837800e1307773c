//! PLINK 1.9's `--epistasis` reports for a quantitative trait: `.epi.qt` (one
//! line per reported pair: `CHR1 SNP1 CHR2 SNP2 BETA_INT STAT P`) and
//! `.epi.qt.summary` (one line per variant: `CHR SNP N_SIG N_TOT PROP
//! BEST_CHISQ BEST_CHR BEST_SNP`), in PLINK's fixed-width layout and precision
//! (BETA_INT and STAT with 6 significant digits, P, PROP and BEST_CHISQ with 4).

use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::{commit_all, AtomicFile};
use crate::clumped::{chrom_code, clumped_id_width};
use crate::error::Result;
use crate::record::Variant;
use crate::report::push_g;

/// One reported pair.
#[derive(Debug, Clone, Copy)]
pub struct EpiPairRow<'a> {
    /// The first variant.
    pub first: &'a Variant,
    /// The second variant.
    pub second: &'a Variant,
    /// The interaction coefficient (NaN for a failed pair).
    pub beta: f64,
    /// Its χ² (NaN for a failed pair).
    pub chisq: f64,
    /// Its p-value (NaN for a failed pair).
    pub p: f64,
}

/// One variant's summary line.
#[derive(Debug, Clone, Copy)]
pub struct EpiSummaryRow<'a> {
    /// The variant.
    pub variant: &'a Variant,
    /// Pairs at or below the counting threshold.
    pub n_significant: u64,
    /// Valid tests.
    pub n_tests: u64,
    /// The best χ² and its partner (`None` when no test was valid).
    pub best: Option<(f64, &'a Variant)>,
}

/// Writes `.epi.qt` (`pairs`) and `.epi.qt.summary` (`summary`, one line
/// per row in the order given) together: both appear, or neither does.
/// `variants` (all of the source's) set the ID column width as PLINK 1.9
/// sets it.
pub fn write_epi_reports(
    qt_path: impl AsRef<Path>,
    summary_path: impl AsRef<Path>,
    variants: &[Variant],
    pairs: &[EpiPairRow<'_>],
    summary: &[EpiSummaryRow<'_>],
) -> Result<()> {
    let mut qt = AtomicFile::create(qt_path.as_ref())?;
    qt.write_all(epi_qt_text(variants, pairs).as_bytes())?;
    let mut sum = AtomicFile::create(summary_path.as_ref())?;
    sum.write_all(epi_summary_text(variants, summary).as_bytes())?;
    commit_all(vec![qt, sum])
}

/// The `.epi.qt` text.
fn epi_qt_text(variants: &[Variant], rows: &[EpiPairRow<'_>]) -> String {
    let w = clumped_id_width(variants);
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    let _ = writeln!(
        s,
        "CHR1 {:>w$} CHR2 {:>w$}     BETA_INT         STAT            P ",
        "SNP1", "SNP2"
    );
    let mut num = String::new();
    for r in rows {
        let _ = write!(
            s,
            "{:>4} {:>w$} {:>4} {:>w$} ",
            chrom_code(&r.first.chrom),
            r.first.id,
            chrom_code(&r.second.chrom),
            r.second.id
        );
        for (x, sig) in [(r.beta, 6), (r.chisq, 6), (r.p, 4)] {
            num.clear();
            push_g(&mut num, x, sig);
            let _ = write!(s, "{num:>12} ");
        }
        s.push('\n');
    }
    s
}

/// The `.epi.qt.summary` text.
fn epi_summary_text(variants: &[Variant], rows: &[EpiSummaryRow<'_>]) -> String {
    let w = clumped_id_width(variants);
    let mut s = String::with_capacity(80 * (rows.len() + 1));
    let _ = writeln!(
        s,
        " CHR {:>w$}        N_SIG        N_TOT         PROP   BEST_CHISQ BEST_CHR {:>w$} ",
        "SNP", "BEST_SNP"
    );
    let mut num = String::new();
    for r in rows {
        let _ = write!(
            s,
            "{:>4} {:>w$}   {:>10}   {:>10} ",
            chrom_code(&r.variant.chrom),
            r.variant.id,
            r.n_significant,
            r.n_tests
        );
        num.clear();
        push_g(&mut num, r.n_significant as f64 / r.n_tests as f64, 4);
        let _ = write!(s, "{num:>12} ");
        match r.best {
            Some((chisq, partner)) => {
                num.clear();
                push_g(&mut num, chisq, 4);
                let _ = write!(
                    s,
                    "{num:>12} {:>4} {:>w$} ",
                    chrom_code(&partner.chrom),
                    partner.id
                );
            }
            None => {
                let _ = write!(s, "{:>12} {:>4} {:>w$} ", "NA", "NA", "NA");
            }
        }
        s.push('\n');
    }
    s
}
