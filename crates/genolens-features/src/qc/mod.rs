//! Quality-control statistics, computed as PLINK 2 computes them.

mod freq;
mod summary;

pub use freq::{allele_frequencies, AlleleCount};
pub use summary::{summarize, GenotypeSummary};

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
