//! The crate's one error type.

/// Why a fusion or explanation step could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading genotypes failed.
    #[error(transparent)]
    Io(#[from] genolens_io::Error),
    /// A genotype computation failed.
    #[error(transparent)]
    Features(#[from] genolens_features::Error),
    /// A model could not score the genotypes.
    #[error(transparent)]
    Assoc(#[from] genolens_assoc::Error),
    /// A literature step failed.
    #[error(transparent)]
    Text(#[from] genolens_text::Error),
    /// The transformer could not run.
    #[error(transparent)]
    Transformer(#[from] genolens_transformer::Error),
    /// The inputs cannot give a result; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The model cannot be explained by the method asked for.
    #[error("{model} models do not support attribution method {method}; they support {}", supported.join(", "))]
    Unsupported {
        /// The kind of model.
        model: String,
        /// The method asked for.
        method: String,
        /// The methods this model supports.
        supported: Vec<&'static str>,
    },
}

impl Error {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
