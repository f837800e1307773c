//! Sentence and document embeddings behind one trait.
//!
//! [`TextEmbedder`] is what the rest of genolens calls. [`TfIdfEmbedder`]
//! (hashed TF-IDF, L2-normalised) works in every build;
//! `BertSentenceEmbedder` (feature `rust-bert`) runs a sentence-transformers
//! model through rust-bert and libtorch.

#[cfg(feature = "rust-bert")]
mod bert;
mod tfidf;

use ndarray::{Array2, ArrayView1};

#[cfg(feature = "rust-bert")]
pub use bert::{set_torch_threads, BertSentenceEmbedder};
pub use tfidf::TfIdfEmbedder;

use crate::error::Result;

/// Turns texts into fixed-length vectors, one row per text.
///
/// Implementations need not be `Sync` (libtorch models are not); share one
/// behind a mutex or make one per thread.
pub trait TextEmbedder {
    /// The length of each vector.
    fn dim(&self) -> usize;

    /// Embeds `texts` into a `texts.len() × dim()` matrix. An empty slice gives
    /// an empty matrix.
    fn embed(&self, texts: &[&str]) -> Result<Array2<f32>>;

    /// A short description for logs and reports (`tfidf-hashed-4096`,
    /// `rust-bert:all-MiniLM-L6-v2`).
    fn describe(&self) -> String;
}

/// Cosine similarity of two vectors; 0 when either is all zeros.
pub fn cosine(a: ArrayView1<'_, f32>, b: ArrayView1<'_, f32>) -> f32 {
    let dot = a.dot(&b);
    let na = a.dot(&a).sqrt();
    let nb = b.dot(&b).sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        let a = array![1.0f32, 2.0, 0.0];
        assert!((cosine(a.view(), (a.clone() * 3.0).view()) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(a.view(), array![0.0f32, 0.0, 5.0].view()), 0.0);
        assert_eq!(cosine(a.view(), array![0.0f32, 0.0, 0.0].view()), 0.0);
    }
}
