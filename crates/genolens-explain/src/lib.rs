//! Literature–genotype fusion and explanations for genolens.
//!
//! | module | what |
//! |---|---|
//! | [`prior`] | [`GenePriors`](prior::GenePriors): a score in [0, 1] per gene with its evidence sentences and literature embedding, from literature profiles or a user table |
//! | [`mapping`] | variants to genes (window, nearest), variant weights from gene scores (floor, mean 1) |
//! | [`aggregate`] | variant → gene sums (absolute and signed), the variants and genes that move one person's prediction |
//! | [`attribution`] | exact SHAP of linear models, integrated gradients / saliency / gradient × input / SmoothGrad of the transformer, permutation importance of any model |
//! | [`benchmark`] | the semi-synthetic fusion benchmark: real genotypes and literature, simulated traits, arms with true, shuffled and inverted priors |
//! | [`fdr`] | prior-weighted multiple testing: weighted Benjamini–Hochberg and Bonferroni, cross-fitted adaptive weights |
//! | [`fusion`] | the prior in a genotype analysis: a weighted scan, penalty weights for prediction, per-variant inputs of the transformer |
//! | [`report`] | the explanation and weighted-scan tables as text, the attribution plot |
//!
//! The crate takes typed values (scores, priors, models, genotype sources)
//! and opens no file: `genolens-io` reads and writes the tables.

pub mod aggregate;
pub mod attribution;
pub mod benchmark;
pub mod fdr;
pub mod fusion;
pub mod mapping;
pub mod prior;
pub mod report;

mod error;

pub use error::{Error, Result};
