//! Study steps: each command's work as one library call with typed options
//! and a typed outcome, over the layer crates.
//!
//! `genolens gwas` parses its flags into [`gwas::GwasOptions`] and calls
//! [`gwas::run_gwas`]; the pipeline's `gwas` step and a Rust user make the
//! same call. A step reads its inputs, writes its files and `OUT.log`
//! (atomically, no partial output) and returns what a report needs; it never
//! prints, and reports progress through the [`Progress`] it is given.

mod additive;
pub mod clump;
pub mod epistasis;
pub mod explain;
pub mod gwas;
pub mod input;
pub mod literature;
pub mod lmm;
pub mod log;
pub mod merge;
pub mod pca;
pub mod predict;
pub mod prior;
pub mod progress;
pub mod qc;
pub mod relatedness;
pub mod score;
pub mod text_relations;
pub mod text_train;
pub mod train;
pub mod wgr;

use std::path::{Path, PathBuf};

pub use input::{GenotypeFiles, GenotypeInput, VariantRange};
pub use log::RunLog;
pub use progress::{NoProgress, Progress};

/// `PREFIX.suffix`: PLINK's output naming (the prefix may contain dots).
pub fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_os_string();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}
