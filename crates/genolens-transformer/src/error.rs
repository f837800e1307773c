//! The crate's one error type.

/// Why a transformer step could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The inputs cannot give a model (shapes, empty data, bad options); the
    /// message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The requested compute device is not compiled in or not usable here.
    #[error("device {device}: {reason}")]
    Device {
        /// The device as asked for (`cpu`, `wgpu`, `cuda`).
        device: String,
        /// Why it cannot be used.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
