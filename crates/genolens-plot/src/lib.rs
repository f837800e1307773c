//! PNG charts for genolens, drawn from plain typed values.
//!
//! This crate renders the charts genolens users look at: [`ScatterPlot`] (PC1
//! against PC2 coloured by population) and [`LinePlot`] (loss curves). It takes
//! slices of `f64` and labels and knows nothing of genotypes, nor of any file
//! but the PNG it writes.
//!
//! - Text is drawn with a bundled copy of DejaVu Sans (its license is in
//!   `assets/DejaVuSans-LICENSE.txt`), so no system font library is needed. It
//!   is registered once, on first use, as plotters' `"sans-serif"` family.
//! - Points with a NaN or infinite coordinate are skipped and counted in the
//!   returned [`PlotSummary`]; data with no drawable point is an error.
//! - A PNG is written to a temporary file next to its destination and renamed
//!   into place, so a failure leaves no partial file.
//! - The same input gives the same PNG bytes.
//!
//! ```
//! use genolens_plot::{LinePlot, ScatterPlot};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let pca = dir.path().join("pca.png");
//! let summary = ScatterPlot::new()
//!     .title("Principal components")
//!     .x_label("PC1")
//!     .y_label("PC2")
//!     .points([
//!         (0.12, 0.02, "EUR"),
//!         (0.10, -0.01, "EUR"),
//!         (-0.08, 0.09, "AFR"),
//!         (f64::NAN, 0.0, "AFR"),
//!     ])
//!     .write_png(&pca)?;
//! assert_eq!((summary.drawn, summary.skipped), (3, 1));
//!
//! let losses = dir.path().join("loss.png");
//! LinePlot::new()
//!     .x_label("epoch")
//!     .y_label("loss")
//!     .log_y(true)
//!     .series("train", [(1.0, 0.9), (2.0, 0.5), (3.0, 0.4)])
//!     .write_png(&losses)?;
//! # Ok::<(), genolens_plot::Error>(())
//! ```

mod atomic;
mod axis;
mod error;
mod font;
mod line;
mod render;
mod scatter;

pub use error::{Error, Result};
pub use line::{LinePlot, LineStyle};
pub use scatter::ScatterPlot;

/// The image size, `(width, height)` in pixels, of a plot whose size is not set.
pub const DEFAULT_SIZE: (u32, u32) = (900, 700);

/// The smallest width or height, in pixels, a plot may have.
pub const MIN_SIDE: u32 = render::MIN_SIDE;

/// The largest width or height, in pixels, a plot may have.
pub const MAX_SIDE: u32 = render::MAX_SIDE;

/// What a `write_png` call drew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlotSummary {
    /// Points drawn.
    pub drawn: usize,
    /// Points skipped because a coordinate was NaN or infinite (or, on a
    /// logarithmic axis, not positive).
    pub skipped: usize,
}
