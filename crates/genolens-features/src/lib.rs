//! Feature engineering for genolens (not yet implemented).
//!
//! This crate will own quality control (allele frequency, missingness, Hardy–Weinberg
//! filters as PLINK 2 defines them), missing-genotype imputation and scaling with
//! fit/transform semantics, LD pruning (`--indep-pairwise`), exact and randomized PCA,
//! model encodings (additive, dominant/recessive, one-hot, transformer tokens) and
//! seeded sample splits. It streams genotype blocks from `genolens-io` and never
//! parses files itself, nor knows anything of deep-learning frameworks.
