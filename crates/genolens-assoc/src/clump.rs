//! LD clumping of association results into lead variants, as PLINK 1.9's
//! `--clump` does it (PLINK 2.00a3 has no `--clump`):
//!
//! - index candidates are the variants with `p ≤ p1`, taken by ascending p (ties
//!   in source order);
//! - a candidate already in a clump is skipped; otherwise every variant with a
//!   p-value on the same chromosome within the window (`|Δbp| < kb·1000`) that is
//!   not yet in a clump joins this one when its phased r² with the index exceeds
//!   `r2` in absolute value (two-locus EM over the founders called at both, see
//!   [`genolens_features::haplotype`]; a monomorphic pair never joins);
//! - members are tallied by p (`≥ 0.05`, `[0.01, 0.05)`, `[0.001, 0.01)`,
//!   `[1e-4, 0.001)`, `< 1e-4`) and listed when `p < p2`.
//!
//! Sex chromosomes are treated as diploid, where PLINK 1.9 counts males as
//! haploid on X and Y.

use std::collections::{HashMap, HashSet};

use genolens_features::haplotype::{phased_r2, CallClasses};
use genolens_io::{GenotypeSource, Sample};

use crate::error::{Error, Result};

/// `--clump` thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClumpOptions {
    /// Index variants need `p ≤ p1` (PLINK's default 1e-4).
    pub p1: f64,
    /// Members are listed when `p < p2` (default 0.01).
    pub p2: f64,
    /// Members need `|r²| > r2` with the index (default 0.5).
    pub r2: f64,
    /// Window radius in kb (default 250): members within `kb·1000 − 1` bp.
    pub kb: f64,
}

impl Default for ClumpOptions {
    fn default() -> Self {
        Self {
            p1: 1e-4,
            p2: 0.01,
            r2: 0.5,
            kb: 250.0,
        }
    }
}

impl ClumpOptions {
    /// Checks the thresholds as PLINK 1.9 does.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Invalid(format!("--clump: {what}")));
        if self.p1.is_nan() || self.p1 <= 0.0 || self.p1 > 1.0 {
            return bad("p1 must be in (0, 1]");
        }
        if self.p2.is_nan() || self.p2 < self.p1 || self.p2 > 1.0 {
            return bad("p2 must be in [p1, 1]");
        }
        if self.r2.is_nan() || self.r2 >= 1.0 {
            return bad("r2 must be below 1");
        }
        if self.kb.is_nan() || self.kb * 1000.0 < 1.0 {
            return bad("the kb radius must be at least 0.001");
        }
        Ok(())
    }

    /// The largest base-pair distance inside the window.
    fn radius_bp(&self) -> u64 {
        ((self.kb * 1000.0).floor() as u64).saturating_sub(1)
    }
}

/// One clump: its index variant and the variants it absorbed.
#[derive(Debug, Clone, PartialEq)]
pub struct Clump {
    /// Source index of the lead variant.
    pub index: usize,
    /// Its p-value.
    pub p: f64,
    /// Every member (source indices, in source order), whatever its p.
    pub members: Vec<usize>,
    /// Members by p: `≥ 0.05`, `[0.01, 0.05)`, `[0.001, 0.01)`, `[1e-4, 0.001)`,
    /// `< 1e-4` (PLINK's NSIG, S05, S01, S001, S0001).
    pub bins: [usize; 5],
    /// Members with `p < p2`, in source order (PLINK's SP2).
    pub listed: Vec<usize>,
}

/// The outcome of [`clump`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClumpReport {
    /// Clumps in the order formed: by ascending p of the index.
    pub clumps: Vec<Clump>,
    /// Variants with `p ≤ p1`, index or not.
    pub top_variants: usize,
}

/// Samples that are founders as PLINK counts them: neither parent among the
/// samples (same family).
pub fn founders(samples: &[Sample]) -> Vec<bool> {
    let present: HashSet<(&str, &str)> = samples
        .iter()
        .map(|s| (s.id.fid.as_str(), s.id.iid.as_str()))
        .collect();
    samples
        .iter()
        .map(|s| {
            let fid = s.id.fid.as_str();
            !present.contains(&(fid, s.father.as_str()))
                && !present.contains(&(fid, s.mother.as_str()))
        })
        .collect()
}

/// Clumps `p_values` (one per variant of `source`, `NaN` where the report has
/// none) by LD among the samples where `keep` is true (usually [`founders`]).
pub fn clump<S: GenotypeSource + ?Sized>(
    source: &S,
    p_values: &[f64],
    keep: &[bool],
    options: &ClumpOptions,
) -> Result<ClumpReport> {
    options.validate()?;
    let variants = source.variants();
    if p_values.len() != variants.len() || keep.len() != source.n_samples() {
        return Err(Error::Invalid(format!(
            "clump: {} p-values for {} variants, {} sample flags for {} samples",
            p_values.len(),
            variants.len(),
            keep.len(),
            source.n_samples()
        )));
    }
    let mut candidates: Vec<usize> = (0..p_values.len())
        .filter(|&v| p_values[v] <= options.p1)
        .collect();
    candidates.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let top_variants = candidates.len();
    let radius = options.radius_bp();
    let mask = CallClasses::keep_mask(keep);
    // Each chromosome's variants by position, for window look-ups.
    let mut by_chrom: HashMap<&str, Vec<(u64, usize)>> = HashMap::new();
    for (v, variant) in variants.iter().enumerate() {
        by_chrom
            .entry(&variant.chrom)
            .or_default()
            .push((variant.pos, v));
    }
    for list in by_chrom.values_mut() {
        list.sort_unstable();
    }
    let mut clumped = vec![false; variants.len()];
    let mut clumps = Vec::new();
    for &index in &candidates {
        if clumped[index] {
            continue;
        }
        clumped[index] = true;
        let lead = &variants[index];
        // Window members not yet clumped, with a p-value, on the same chromosome,
        // in source order.
        let on_chrom = &by_chrom[lead.chrom.as_str()];
        let from = on_chrom.partition_point(|&(pos, _)| pos < lead.pos.saturating_sub(radius));
        let to = on_chrom.partition_point(|&(pos, _)| pos <= lead.pos.saturating_add(radius));
        let mut window: Vec<usize> = on_chrom[from..to]
            .iter()
            .map(|&(_, v)| v)
            .filter(|&v| v != index && !clumped[v] && !p_values[v].is_nan())
            .collect();
        window.sort_unstable();
        let mut clump = Clump {
            index,
            p: p_values[index],
            members: Vec::new(),
            bins: [0; 5],
            listed: Vec::new(),
        };
        if let (Some(&first), Some(&last)) = (window.first(), window.last()) {
            let lo = first.min(index);
            let calls = source.read_hardcalls(lo..last.max(index) + 1)?;
            let lead_calls = CallClasses::from_packed(calls.variant(index - lo), &mask);
            for v in window {
                let table =
                    lead_calls.table(&CallClasses::from_packed(calls.variant(v - lo), &mask));
                let Some(r2) = phased_r2(&table) else {
                    continue;
                };
                if r2.abs() <= options.r2 {
                    continue;
                }
                clumped[v] = true;
                clump.members.push(v);
                let p = p_values[v];
                let bin = match p {
                    p if p >= 0.05 => 0,
                    p if p >= 0.01 => 1,
                    p if p >= 0.001 => 2,
                    p if p >= 1e-4 => 3,
                    _ => 4,
                };
                clump.bins[bin] += 1;
                if p < options.p2 {
                    clump.listed.push(v);
                }
            }
        }
        clumps.push(clump);
    }
    Ok(ClumpReport {
        clumps,
        top_variants,
    })
}
