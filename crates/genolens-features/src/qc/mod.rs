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
