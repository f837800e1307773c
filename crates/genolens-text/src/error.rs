//! The crate's one error type.

use std::path::PathBuf;

/// Why a text-mining step could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a corpus, gene table or other file failed.
    #[error(transparent)]
    Io(#[from] genolens_io::Error),
    /// The inputs cannot give a result (an empty corpus, a query without
    /// words, mismatched lengths, ...); the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// A training checkpoint does not fit the run asked to resume from it
    /// (other settings, data or encoder) or its contents are inconsistent.
    #[error("cannot resume from the checkpoint: {0}")]
    Checkpoint(String),
    /// A language model could not be loaded or run.
    #[error("{path}: {reason}")]
    Model {
        /// The model directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
