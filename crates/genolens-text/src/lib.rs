//! Literature mining for genolens (not yet implemented).
//!
//! This crate will own biomedical sentence splitting and tokenization, gene, disease
//! and variant mention extraction, BM25 and dense retrieval, sentence embeddings
//! behind a `TextEmbedder` trait (rust-bert as an optional feature), and gene-level
//! literature profiles. It produces plain data (mentions, scores, ndarray
//! embeddings) and depends on neither burn nor the transformer crate.
