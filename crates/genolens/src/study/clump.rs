//! Clumping a set of p-values into lead variants by LD (PLINK 1.9's
//! `--clump`), shared by `genolens clump` and the association step.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::assoc::clump::{clump, founders, ClumpOptions};
use crate::io::clumped::{clumped_id_width, write_clumped, ClumpedRow};
use crate::io::GenotypeSource;
use crate::Result;

/// A clump's index variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadVariant {
    /// Variant ID.
    pub id: String,
    /// Chromosome, as PLINK prints it.
    pub chrom: String,
    /// Base-pair position.
    pub pos: u64,
    /// Its p-value.
    pub p: f64,
    /// Variants it tags (PLINK's TOTAL: the clump's members besides the index).
    pub members: usize,
}

/// What clumping found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClumpSummary {
    /// The clumps' index variants, by ascending p.
    pub leads: Vec<LeadVariant>,
    /// Variants with `p ≤ p1`, index or not.
    pub top_variants: usize,
}

impl ClumpSummary {
    /// The log line PLINK 1.9 prints (`N clumps formed from M top variants`).
    pub fn log_line(&self) -> String {
        format!(
            "--clump: {} clumps formed from {} top variants",
            self.leads.len(),
            self.top_variants
        )
    }
}

/// Clumps `p_values` (one per variant, `NaN` where absent) over the source's
/// founders and writes the `.clumped` report to `path`.
pub fn clump_to_file(
    source: &dyn GenotypeSource,
    p_values: &[f64],
    options: &ClumpOptions,
    path: &Path,
) -> Result<ClumpSummary> {
    let keep = founders(source.samples());
    let report = clump(source, p_values, &keep, options)?;
    let variants = source.variants();
    let rows: Vec<ClumpedRow<'_>> = report
        .clumps
        .iter()
        .map(|c| ClumpedRow {
            variant: &variants[c.index],
            p: c.p,
            bins: c.bins,
            listed: c.listed.iter().map(|&v| variants[v].id.as_str()).collect(),
        })
        .collect();
    write_clumped(path, clumped_id_width(variants), &rows)?;
    Ok(ClumpSummary {
        leads: report
            .clumps
            .iter()
            .map(|c| {
                let v = &variants[c.index];
                LeadVariant {
                    id: v.id.clone(),
                    chrom: v.plink_chrom().to_string(),
                    pos: v.pos,
                    p: c.p,
                    members: c.members.len(),
                }
            })
            .collect(),
        top_variants: report.top_variants,
    })
}
