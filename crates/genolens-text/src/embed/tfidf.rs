//! Hashed TF-IDF vectors: the embedder every build has.

use std::collections::HashMap;

use ndarray::Array2;

use super::TextEmbedder;
use crate::error::{Error, Result};
use crate::preprocess::terms;

/// TF-IDF vectors of retrieval [`terms`], hashed into a fixed number of
/// signed buckets and L2-normalised, so that cosine similarity is a dot
/// product.
///
/// Term weights are `(1 + ln tf) · idf` with the smoothed
/// `idf = ln((1 + n) / (1 + df)) + 1` of the corpus it was fitted on; a term
/// the corpus never had gets the largest idf. Hashing (64-bit FNV-1a, the
/// sign from the top bit) makes the vectors independent of any vocabulary
/// order, so the same text always gives the same bytes.
#[derive(Debug, Clone)]
pub struct TfIdfEmbedder {
    dim: usize,
    idf: HashMap<String, f32>,
    unseen_idf: f32,
}

impl TfIdfEmbedder {
    /// Fits document frequencies on `texts` (each text one document) for
    /// vectors of `dim` buckets. Errors when `texts` is empty or `dim` is 0.
    pub fn fit(texts: &[&str], dim: usize) -> Result<Self> {
        if texts.is_empty() {
            return Err(Error::invalid("TF-IDF needs at least one document to fit"));
        }
        if dim == 0 {
            return Err(Error::invalid("TF-IDF dimension must be at least 1"));
        }
        let mut df: HashMap<String, u32> = HashMap::new();
        for t in texts {
            let mut seen = terms(t);
            seen.sort_unstable();
            seen.dedup();
            for term in seen {
                *df.entry(term).or_default() += 1;
            }
        }
        let n = texts.len() as f32;
        let idf = df
            .into_iter()
            .map(|(t, d)| (t, ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0))
            .collect();
        Ok(Self {
            dim,
            idf,
            unseen_idf: (1.0 + n).ln() + 1.0,
        })
    }

    /// Number of distinct terms seen when fitting.
    pub fn vocabulary_len(&self) -> usize {
        self.idf.len()
    }

    fn embed_one(&self, text: &str, row: &mut [f32]) {
        let mut tf: HashMap<String, u32> = HashMap::new();
        for t in terms(text) {
            *tf.entry(t).or_default() += 1;
        }
        for (t, c) in tf {
            let w = (1.0 + (c as f32).ln()) * self.idf.get(&t).copied().unwrap_or(self.unseen_idf);
            let h = fnv1a(t.as_bytes());
            let bucket = (h % self.dim as u64) as usize;
            row[bucket] += if h >> 63 == 1 { -w } else { w };
        }
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl TextEmbedder for TfIdfEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Array2<f32>> {
        let mut out = Array2::<f32>::zeros((texts.len(), self.dim));
        for (mut row, t) in out.rows_mut().into_iter().zip(texts) {
            self.embed_one(t, row.as_slice_mut().expect("standard layout"));
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("tfidf-hashed-{}", self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::cosine;

    #[test]
    fn related_texts_are_closer_and_vectors_are_unit_length() {
        let docs = [
            "BRCA1 mutations increase breast cancer risk",
            "BRCA2 carriers have higher breast cancer risk",
            "APOE e4 is associated with Alzheimer's disease",
            "The weather is sunny today",
        ];
        let e = TfIdfEmbedder::fit(&docs, 256).unwrap();
        let v = e.embed(&docs).unwrap();
        assert_eq!(v.dim(), (4, 256));
        for r in v.rows() {
            assert!((r.dot(&r) - 1.0).abs() < 1e-5);
        }
        assert!(cosine(v.row(0), v.row(1)) > cosine(v.row(0), v.row(3)));
        // Same text, same bytes; stopword-only text is the zero vector.
        let again = e.embed(&[docs[0], "the of and"]).unwrap();
        assert_eq!(again.row(0), v.row(0));
        assert!(again.row(1).iter().all(|&x| x == 0.0));
        assert!(TfIdfEmbedder::fit(&[], 8).is_err());
        assert!(TfIdfEmbedder::fit(&docs, 0).is_err());
    }
}
