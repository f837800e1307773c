//! The one error type of `genolens-io`.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading or writing a file.
///
/// Every variant names the file; parse errors also name the 1-based line (or, for
/// binary files, the record) where the problem was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused an operation on the file (missing file,
    /// permission, full disk, ...).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A text file has a malformed line.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A file is malformed as a whole, or in a place that has no line number
    /// (a binary file, or a mismatch between companion files).
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record of a file whose records are not lines (a VCF record after the
    /// header, a binary record) is malformed.
    #[error("{path}: record {record}: {reason}")]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based record number (for a VCF, the data line after the header).
        record: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file holds no records where at least one is required.
    #[error("{path}: file is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The caller asked for something that the data cannot give (an index out of
    /// range, a column that does not exist, ...).
    #[error("{path}: {reason}")]
    Request {
        /// The file the request was about.
        path: PathBuf,
        /// What was asked and why it cannot be given.
        reason: String,
    },
}

impl Error {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::Parse { path, .. }
            | Error::Invalid { path, .. }
            | Error::Record { path, .. }
            | Error::Empty { path }
            | Error::Request { path, .. } => path,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn record(
        path: impl Into<PathBuf>,
        record: usize,
        reason: impl Into<String>,
    ) -> Self {
        Error::Record {
            path: path.into(),
            record,
            reason: reason.into(),
        }
    }

    pub(crate) fn request(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Request {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
