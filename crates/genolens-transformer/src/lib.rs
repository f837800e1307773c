//! Genotype transformer for genolens, on burn.
//!
//! Each selected variant is a token: a genotype-class embedding (0/1/2,
//! missing, and a mask class for pretraining) plus a variant-identity
//! embedding, plus an optional per-variant prior (`[n_variants, d_prior]`,
//! e.g. gene embeddings from literature) projected to the model width. A
//! pre-norm encoder reads the tokens ([`model`]). Masked-genotype pretraining
//! ([`pretrain`]) is reported against the allele-frequency baseline.
//!
//! Model code is generic over burn's `Backend`; the CPU backend (ndarray with
//! autodiff) is always built, `wgpu` and `cuda` are cargo features chosen at
//! run time through [`device`]. The crate takes arrays and tokens: it knows
//! nothing of files or polars, and it does not depend on `genolens-text`.

// burn's derive macros name their paths `burn::...`.
extern crate burn_core as burn;

pub mod device;
pub mod error;
pub mod model;
pub mod pretrain;
pub mod tokens;

pub use error::{Error, Result};

/// The CPU training backend: burn's ndarray backend with autodiff.
pub type CpuBackend = burn_autodiff::Autodiff<burn_ndarray::NdArray<f32>>;
