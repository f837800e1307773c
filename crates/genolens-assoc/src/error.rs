//! The crate's one error type.

/// Why an association scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading genotypes failed.
    #[error(transparent)]
    Io(#[from] genolens_io::Error),
    /// The inputs cannot give a model (constant phenotype, collinear covariates,
    /// mismatched lengths, ...); the message says which and why.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
