//! Retrieval: BM25 over terms, and dense retrieval over embeddings.

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, Axis};

use crate::error::{Error, Result};
use crate::preprocess::terms;

/// One retrieved item: its index in the indexed collection and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the item in the collection given to the index.
    pub index: usize,
    /// Relevance score (higher is better).
    pub score: f64,
}

/// Okapi BM25 over the retrieval [`terms`] of a collection of texts.
///
/// `idf = ln(1 + (N − df + 0.5) / (df + 0.5))` (never negative), term
/// saturation `k1` and length normalisation `b`.
#[derive(Debug, Clone)]
pub struct Bm25Index {
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<u32>,
    avg_len: f64,
    k1: f64,
    b: f64,
}

impl Bm25Index {
    /// Indexes `texts` with the usual parameters `k1 = 1.2`, `b = 0.75`.
    pub fn build<S: AsRef<str>>(texts: &[S]) -> Self {
        Self::with_params(texts, 1.2, 0.75)
    }

    /// Indexes `texts` with chosen `k1` and `b`.
    pub fn with_params<S: AsRef<str>>(texts: &[S], k1: f64, b: f64) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(texts.len());
        for (i, t) in texts.iter().enumerate() {
            let ts = terms(t.as_ref());
            doc_len.push(ts.len() as u32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for term in ts {
                *tf.entry(term).or_default() += 1;
            }
            for (term, c) in tf {
                postings.entry(term).or_default().push((i as u32, c));
            }
        }
        let total: u64 = doc_len.iter().map(|&l| u64::from(l)).sum();
        let avg_len = if doc_len.is_empty() {
            0.0
        } else {
            total as f64 / doc_len.len() as f64
        };
        Self {
            postings,
            doc_len,
            avg_len,
            k1,
            b,
        }
    }

    /// Number of indexed texts.
    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// The BM25 score of every indexed text for `query` (0 for texts sharing
    /// no term with it).
    pub fn scores(&self, query: &str) -> Vec<f64> {
        let mut out = vec![0.0; self.doc_len.len()];
        let n = self.doc_len.len() as f64;
        let mut q = terms(query);
        q.sort_unstable();
        q.dedup();
        for term in q {
            let Some(list) = self.postings.get(&term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(d, tf) in list {
                let tf = f64::from(tf);
                let len_norm = 1.0 - self.b
                    + self.b * f64::from(self.doc_len[d as usize]) / self.avg_len.max(1e-12);
                out[d as usize] += idf * tf * (self.k1 + 1.0) / (tf + self.k1 * len_norm);
            }
        }
        out
    }

    /// The `k` best texts for `query` with a positive score, best first (ties
    /// by index). Errors when the query has no searchable term.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        if terms(query).is_empty() {
            return Err(Error::invalid(format!(
                "query {query:?} has no searchable word (only stopwords or punctuation)"
            )));
        }
        Ok(top_k(&self.scores(query), k))
    }
}

/// The `k` largest positive scores, best first, ties by index.
pub fn top_k(scores: &[f64], k: usize) -> Vec<Hit> {
    let mut hits: Vec<Hit> = scores
        .iter()
        .enumerate()
        .filter(|(_, &s)| s > 0.0)
        .map(|(index, &score)| Hit { index, score })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits.truncate(k);
    hits
}

/// Dense retrieval: cosine similarity between a query vector and the rows of
/// an embedding matrix.
#[derive(Debug, Clone)]
pub struct DenseIndex {
    /// Rows scaled to unit length (zero rows stay zero).
    unit: Array2<f32>,
}

impl DenseIndex {
    /// Indexes the rows of `embeddings` (one per text).
    pub fn new(embeddings: &Array2<f32>) -> Self {
        let mut unit = embeddings.clone();
        for mut r in unit.axis_iter_mut(Axis(0)) {
            let n = r.dot(&r).sqrt();
            if n > 0.0 {
                r /= n;
            }
        }
        Self { unit }
    }

    /// Number of indexed rows.
    pub fn len(&self) -> usize {
        self.unit.nrows()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.unit.nrows() == 0
    }

    /// Cosine similarity of every row with `query`.
    pub fn scores(&self, query: ArrayView1<'_, f32>) -> Result<Array1<f32>> {
        if query.len() != self.unit.ncols() {
            return Err(Error::invalid(format!(
                "query vector has {} dimensions, the index {}",
                query.len(),
                self.unit.ncols()
            )));
        }
        let n = query.dot(&query).sqrt();
        let s = self.unit.dot(&query);
        Ok(if n > 0.0 { s / n } else { s })
    }

    /// The `k` most similar rows with a positive similarity, best first.
    pub fn search(&self, query: ArrayView1<'_, f32>, k: usize) -> Result<Vec<Hit>> {
        let s: Vec<f64> = self.scores(query)?.iter().map(|&x| f64::from(x)).collect();
        Ok(top_k(&s, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    const DOCS: [&str; 4] = [
        "Type 2 diabetes and TCF7L2 variants.",
        "TCF7L2 in colorectal cancer.",
        "Insulin resistance precedes type 2 diabetes; diabetes risk rises with obesity.",
        "Breast cancer and BRCA1.",
    ];

    #[test]
    fn bm25_ranks_matching_documents_and_matches_the_formula() {
        let idx = Bm25Index::build(&DOCS);
        let hits = idx.search("type 2 diabetes", 10).unwrap();
        let order: Vec<usize> = hits.iter().map(|h| h.index).collect();
        assert_eq!(order.len(), 2);
        assert!(order.contains(&0) && order.contains(&2));
        // By hand for doc 0 and the single term "tcf7l2" (df 2 of 4).
        let s = idx.scores("TCF7L2");
        let len0 = terms(DOCS[0]).len() as f64;
        let avg = DOCS.iter().map(|d| terms(d).len() as f64).sum::<f64>() / 4.0;
        let idf = (1.0f64 + (4.0 - 2.0 + 0.5) / 2.5).ln();
        let want = idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * len0 / avg));
        assert!((s[0] - want).abs() < 1e-12, "{} vs {want}", s[0]);
        assert_eq!(s[3], 0.0);
        assert!(idx.search("the of", 3).is_err());
    }

    #[test]
    fn dense_search_uses_cosine() {
        let e = array![[1.0f32, 0.0], [0.6, 0.8], [0.0, 2.0], [-1.0, 0.0]];
        let idx = DenseIndex::new(&e);
        let hits = idx.search(array![0.0f32, 1.0].view(), 5).unwrap();
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), vec![2, 1]);
        assert!((hits[1].score - 0.8).abs() < 1e-6);
        assert!(idx.scores(array![1.0f32].view()).is_err());
    }
}
