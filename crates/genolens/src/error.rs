//! The facade's error type: a study step's failure, from any layer, or options
//! that do not make sense together.

use std::path::PathBuf;

use crate::{assoc, explain, features, io, plot, text, transformer};

/// Why a study step or the pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A computation on genotypes failed.
    #[error(transparent)]
    Features(#[from] features::Error),
    /// An association scan or a predictor could not run.
    #[error(transparent)]
    Assoc(#[from] assoc::Error),
    /// A literature step failed.
    #[error(transparent)]
    Text(#[from] text::Error),
    /// A fusion or explanation step failed.
    #[error(transparent)]
    Explain(#[from] explain::Error),
    /// The transformer could not run.
    #[error(transparent)]
    Transformer(#[from] transformer::Error),
    /// A chart could not be drawn.
    #[error(transparent)]
    Plot(#[from] plot::Error),
    /// Options that do not make sense together, or that do not match the
    /// data (the message names the option).
    #[error("{0}")]
    Invalid(String),
    /// A pipeline configuration that cannot run: an unknown key, a missing
    /// file, a step without an input it needs.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, naming the key or the file.
        reason: String,
    },
    /// An output directory's files could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A study step's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
