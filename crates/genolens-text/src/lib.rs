//! Literature mining for genolens.
//!
//! From abstracts to plain data: sentences and tokens ([`preprocess`]), gene,
//! disease and variant mentions normalised to identifiers ([`mention`]),
//! BM25 and dense retrieval ([`retrieval`]), sentence embeddings behind the
//! [`embed::TextEmbedder`] trait (TF-IDF by default, rust-bert with the
//! `rust-bert` feature), document classification ([`classify`]), and
//! gene-level literature profiles for a trait ([`profile`]), the input of
//! fusion with genotypes.
//!
//! The crate knows nothing of burn or of the transformer: it returns
//! mentions, scores and `ndarray` matrices. Corpora are read by
//! [`genolens_io::corpus`].

pub mod classify;
pub mod embed;
pub mod error;
pub mod eval;
pub mod mention;
pub mod preprocess;
pub mod profile;
pub mod report;
pub mod retrieval;
pub mod tagger;

pub use error::{Error, Result};
