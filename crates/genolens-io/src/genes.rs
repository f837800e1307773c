//! genes
