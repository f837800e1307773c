//! Genotype transformer for genolens, on burn.
//!
//! Each selected variant is a token: a genotype-class embedding (0/1/2,
//! missing, and a mask class for pretraining) plus a variant-identity
//! embedding plus the standardised dosage times a per-variant direction,
//! plus an optional per-variant prior (`[n_variants, d_prior]`, e.g. gene
//! embeddings from literature) projected to the model width. A pre-norm
//! encoder reads the tokens and a head with a covariate branch gives one or
//! more regression or binary outputs ([`model`]).
//!
//! Training: masked-genotype pretraining ([`pretrain`], reported against the
//! allele-frequency baseline), full or LoRA fine-tuning ([`finetune`],
//! [`lora`]) with early stopping and resumable [`checkpoint`]s, and
//! hyperparameter [`search`]. Explanations: saliency, gradient × input,
//! integrated gradients and SmoothGrad over the token inputs
//! ([`attribution`]).
//!
//! Model code is generic over burn's `Backend`; the CPU backend (burn-flex with
//! autodiff) is always built, `wgpu` and `cuda` are cargo features chosen at
//! run time through [`device`]. The crate takes arrays and tokens: it knows
//! nothing of files or polars, and it does not depend on `genolens-text`.

// burn's derive macros name their paths `burn::...`; public so that users
// name the same burn (tensors, backends, recorders) as this crate.
pub extern crate burn_core as burn;

pub mod attribution;
pub mod bert;
pub mod checkpoint;
pub mod device;
pub mod error;
pub mod finetune;
pub mod lora;
pub mod model;
pub mod pretrain;
pub mod saved;
pub mod search;
pub mod tokens;

pub use error::{Error, Result};

/// The CPU training backend: burn-flex with autodiff.
pub type CpuBackend = burn_autodiff::Autodiff<burn_flex::Flex>;

/// The CPU inference backend (no autodiff, so no dropout).
pub type CpuInference = burn_flex::Flex;
