//! Feature engineering for genolens.
//!
//! Everything here streams genotype blocks from a
//! [`GenotypeSource`](genolens_io::GenotypeSource) and never parses files
//! itself, nor knows anything of deep-learning frameworks.
//!
//! Present now: [`qc`], the per-variant allele counts behind `genolens freq`
//! (PLINK 2's `--freq`) and the dataset summary behind `genolens info`.
//!
//! Still to come (see the project's issues): missing-rate and Hardy–Weinberg QC
//! filters, imputation and scaling with fit/transform semantics, LD pruning, PCA,
//! model encodings and seeded sample splits.

pub mod qc;

mod error;

pub use error::{Error, Result};
