//! The one error type of `genolens-features`.

use std::path::PathBuf;

use genolens_io::SampleId;

/// What can go wrong while computing features.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the genotypes failed.
    #[error(transparent)]
    Io(#[from] genolens_io::Error),
    /// The input cannot give what was asked (no variants, too many components, ...).
    #[error("{0}")]
    Invalid(String),
    /// Samples that a per-sample assignment read from a file (folds, ...) does not
    /// cover.
    #[error(
        "{path}: {count} of {total} samples have no entry (first: {})",
        list_ids(.first)
    )]
    UnmatchedSamples {
        /// The file that lacks them.
        path: PathBuf,
        /// How many samples have no entry.
        count: usize,
        /// How many samples were looked up.
        total: usize,
        /// The first few of them (at most 5), in sample order.
        first: Vec<SampleId>,
    },
}

fn list_ids(ids: &[SampleId]) -> String {
    ids.iter()
        .map(|id| format!("{:?} {:?}", id.fid, id.iid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
