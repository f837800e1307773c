//! The CLI's error type: library errors plus usage problems.

use genolens::{assoc, explain, features, io, plot, text, transformer};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A computation failed.
    #[error(transparent)]
    Features(#[from] features::Error),
    /// An association scan could not run.
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
    /// A study step failed.
    #[error(transparent)]
    Study(#[from] genolens::Error),
    /// The flags do not make sense together.
    #[error("{0}")]
    Usage(String),
}
