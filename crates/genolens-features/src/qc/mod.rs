//! Quality-control statistics, computed as PLINK 2 computes them.
//!
//! - [`count_calls`]: one pass over packed hard calls giving per-variant genotype
//!   counts (`--freq`, `--hardy`, `--missing`'s `.vmiss`) and per-sample missing
//!   counts (`.smiss`);
//! - [`hwe_exact`] / [`HardyRow`]: the Hardy–Weinberg exact test;
//! - [`heterozygosity`]: `--het`'s observed/expected homozygosity and F;
//! - [`samples_over_missing`] and [`filter_variants`]: `--mind`, `--geno`, `--hwe`,
//!   `--maf`;
//! - [`allele_frequencies`]: dosage-based allele counts for sources with
//!   fractional dosages (VCF `DS`).

mod counts;
mod filter;
mod freq;
mod hardy;
mod het;
mod summary;

pub use counts::{count_calls, CallCounts, CallTally, SampleCalls, VariantCalls};
pub use filter::{
    filter_variants, filter_variants_sexed, samples_over_missing, QcThresholds, VariantFilter,
    VariantRemoval,
};
pub use freq::{allele_frequencies, AlleleCount};
pub use hardy::{hardy_rows, hwe_exact, hwe_exact_ln, hwe_x_exact, HardyRow, HardyXRow};
pub use het::{heterozygosity, HetRow};
pub use summary::{summarize, GenotypeSummary};

use genolens_io::{ChromKind, Sex};

/// Ploidy of one sample on one chromosome class, as PLINK 2 counts alleles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ploidy {
    Diploid,
    /// One allele per call; a heterozygous call is treated as missing.
    Haploid,
    /// Not counted (females on Y).
    Absent,
}

pub(crate) fn ploidy(kind: ChromKind, sex: Sex) -> Ploidy {
    match (kind, sex) {
        (ChromKind::Autosome, _) => Ploidy::Diploid,
        (ChromKind::X, Sex::Male) => Ploidy::Haploid,
        (ChromKind::X, _) => Ploidy::Diploid,
        (ChromKind::Y, Sex::Male) => Ploidy::Haploid,
        (ChromKind::Y, _) => Ploidy::Absent,
        (ChromKind::Mt, _) => Ploidy::Haploid,
    }
}

/// Variants decoded per block when a caller does not choose: about 1 MiB of
/// dosages per 1,000 samples.
pub const DEFAULT_BLOCK_SIZE: usize = 256;

/// Called with the number of variants processed so far; libraries report progress
/// through this and let the caller draw it.
pub type Progress<'a> = &'a (dyn Fn(usize) + Sync);

/// Reads `source` in consecutive blocks of at most `block_size` variants, in
/// parallel on the current rayon pool, applies `per_block` to each and returns the
/// results in block order, reporting variants done through `progress`.
pub(crate) fn map_blocks<S, T, F>(
    source: &S,
    block_size: usize,
    progress: Progress<'_>,
    per_block: F,
) -> crate::Result<Vec<T>>
where
    S: genolens_io::GenotypeSource + ?Sized,
    T: Send,
    F: Fn(&genolens_io::GenotypeBlock) -> T + Sync,
{
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n_var = source.n_variants();
    let step = block_size.max(1);
    let done = AtomicUsize::new(0);
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    starts
        .par_iter()
        .map(|&start| {
            let end = (start + step).min(n_var);
            let block = source.read_block(start..end)?;
            let out = per_block(&block);
            progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
            Ok(out)
        })
        .collect()
}
