//! The one error type of `genolens-features`.

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
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
