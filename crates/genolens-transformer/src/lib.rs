//! Genotype transformer for genolens (not yet implemented).
//!
//! This crate will own a backend-agnostic burn transformer over genotype tokens:
//! masked-genotype pretraining, full and LoRA fine-tuning, and the fusion of
//! per-variant prior embeddings (for example gene embeddings from literature).
//! Backends will be cargo features. It takes arrays and tokens; it knows nothing of
//! files or polars.
