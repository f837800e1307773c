use genolens_io::GenotypeSource;

use super::{map_blocks, Progress};
use crate::error::Result;

/// What `genolens info` reports about a genotype source.
#[derive(Debug, Clone, PartialEq)]
pub struct GenotypeSummary {
    /// Number of samples.
    pub n_samples: usize,
    /// Number of variants.
    pub n_variants: usize,
    /// Chromosomes (as PLINK 2 prints them) with their variant counts, in order of
    /// first appearance.
    pub chromosomes: Vec<(String, usize)>,
    /// Missing calls over all samples and variants.
    pub missing_calls: u64,
}

impl GenotypeSummary {
    /// Missing calls / (samples × variants).
    pub fn missing_rate(&self) -> f64 {
        let total = self.n_samples as f64 * self.n_variants as f64;
        if total == 0.0 {
            f64::NAN
        } else {
            self.missing_calls as f64 / total
        }
    }
}

/// Streams the source once and summarizes it.
pub fn summarize<S: GenotypeSource + ?Sized>(
    source: &S,
    block_size: usize,
    progress: Progress<'_>,
) -> Result<GenotypeSummary> {
    let mut chromosomes: Vec<(String, usize)> = Vec::new();
    for v in source.variants() {
        let c = v.plink_chrom();
        match chromosomes.last_mut() {
            Some((last, n)) if last == c => *n += 1,
            _ => match chromosomes.iter_mut().find(|(name, _)| name == c) {
                Some((_, n)) => *n += 1,
                None => chromosomes.push((c.to_string(), 1)),
            },
        }
    }
    let missing_calls = map_blocks(source, block_size, progress, |block| {
        block.dosages().iter().filter(|d| d.is_nan()).count() as u64
    })?
    .into_iter()
    .sum();
    Ok(GenotypeSummary {
        n_samples: source.n_samples(),
        n_variants: source.n_variants(),
        chromosomes,
        missing_calls,
    })
}
