//! Explanations for genolens predictions and associations (not yet implemented).
//!
//! This crate will own per-variant attributions, their aggregation from variants to
//! genes, the literature sentences that support each gene, attribution plots and an
//! HTML report that puts them together.
