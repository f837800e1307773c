//! The one error type of `genolens-plot`.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while rendering a chart to a PNG file.
///
/// Every variant names the output path. When any error is returned, no file
/// (complete or partial) has been written at that path by this call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data or the settings cannot be drawn: no points, only NaN or
    /// infinite values, columns of different lengths, an unusable image size.
    #[error("{path}: cannot plot: {reason}")]
    InvalidInput {
        /// The output file that was not written.
        path: PathBuf,
        /// What is wrong with the input.
        reason: String,
    },
    /// The drawing library failed to render or encode the image.
    #[error("{path}: drawing failed: {reason}")]
    Draw {
        /// The output file that was not written.
        path: PathBuf,
        /// The drawing library's description of the failure.
        reason: String,
    },
    /// The operating system refused an operation on the output file or its
    /// directory (missing directory, permission, full disk, ...).
    #[error("{path}: {source}")]
    Io {
        /// The output file that was not written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn draw(path: &Path, reason: impl std::fmt::Display) -> Self {
        Error::Draw {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
