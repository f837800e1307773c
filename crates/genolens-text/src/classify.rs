//! Document classification with a linear model on embeddings, and the
//! gene–disease relation task built from BioRED's relation labels.

use std::collections::{BTreeMap, BTreeSet};

use genolens_io::corpus::{Corpus, EntityType};
use linfa::prelude::*;
use linfa::Dataset;
use ndarray::{Array1, Array2, ArrayView2, Ix1};

use crate::error::{Error, Result};
use crate::mention::{gold_mentions, is_disease_type};
use crate::preprocess::{split_document, Span};

/// L2-penalised logistic regression on embedding rows (linfa-logistic).
#[derive(Debug, Clone)]
pub struct LinearClassifier {
    weights: Array1<f64>,
    intercept: f64,
}

impl LinearClassifier {
    /// Fits `P(label)` from the rows of `x` with L2 penalty `alpha`. Errors
    /// when the lengths differ or one class is missing.
    pub fn fit(x: ArrayView2<'_, f32>, labels: &[bool], alpha: f64) -> Result<Self> {
        if x.nrows() != labels.len() {
            return Err(Error::invalid(format!(
                "{} rows and {} labels",
                x.nrows(),
                labels.len()
            )));
        }
        let positives = labels.iter().filter(|&&l| l).count();
        if positives == 0 || positives == labels.len() {
            return Err(Error::invalid(
                "classification needs examples of both classes",
            ));
        }
        let data: Dataset<f64, bool, Ix1> =
            Dataset::new(x.mapv(f64::from), Array1::from(labels.to_vec()));
        let fit = linfa_logistic::LogisticRegression::default()
            .alpha(alpha)
            .max_iterations(300)
            .fit(&data)
            .map_err(|e| Error::invalid(format!("logistic regression: {e}")))?;
        // linfa models its "positive" class, which need not be `true`.
        let sign = if fit.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Self {
            weights: fit.params().mapv(|w| sign * w),
            intercept: sign * fit.intercept(),
        })
    }

    /// `P(true)` for each row of `x`.
    pub fn probabilities(&self, x: ArrayView2<'_, f32>) -> Result<Vec<f64>> {
        if x.ncols() != self.weights.len() {
            return Err(Error::invalid(format!(
                "{} features given, the model has {}",
                x.ncols(),
                self.weights.len()
            )));
        }
        Ok(x.mapv(f64::from)
            .dot(&self.weights)
            .iter()
            .map(|z| 1.0 / (1.0 + (-(z + self.intercept)).exp()))
            .collect())
    }
}

/// A gene–disease pair co-mentioned in a sentence of a document, with whether
/// the document's relations link them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairExample {
    /// The document.
    pub pmid: String,
    /// The gene's id.
    pub gene_id: String,
    /// The disease's id.
    pub disease_id: String,
    /// The sentences co-mentioning both, joined, with the pair's mentions
    /// replaced by `GENE` and `DISEASE` (so a classifier learns the wording
    /// of relations, not the names).
    pub text: String,
    /// Whether a relation of any type links the two ids.
    pub related: bool,
    /// Sentences co-mentioning the pair.
    pub sentences: usize,
    /// Whether the title co-mentions the pair.
    pub in_title: bool,
    /// Mentions of the gene in the document.
    pub gene_mentions: usize,
    /// Mentions of the disease in the document.
    pub disease_mentions: usize,
}

impl PairExample {
    /// Salience features that do not depend on wording: `ln(1 + co-mention
    /// sentences)`, title co-mention (0/1), `ln(1 + gene mentions)`,
    /// `ln(1 + disease mentions)`. Entities an abstract is about are the ones
    /// its relations link, so these carry much of the signal.
    pub fn salience(&self) -> [f32; 4] {
        let ln1p = |n: usize| (n as f32).ln_1p();
        [
            ln1p(self.sentences),
            f32::from(u8::from(self.in_title)),
            ln1p(self.gene_mentions),
            ln1p(self.disease_mentions),
        ]
    }
}

/// Appends each example's [`PairExample::salience`] features to its row of
/// `embeddings`.
pub fn with_salience(embeddings: &Array2<f32>, examples: &[PairExample]) -> Result<Array2<f32>> {
    if embeddings.nrows() != examples.len() {
        return Err(Error::invalid(format!(
            "{} embedding rows for {} examples",
            embeddings.nrows(),
            examples.len()
        )));
    }
    let mut out = Array2::<f32>::zeros((examples.len(), embeddings.ncols() + 4));
    for (i, ex) in examples.iter().enumerate() {
        out.row_mut(i)
            .slice_mut(ndarray::s![..embeddings.ncols()])
            .assign(&embeddings.row(i));
        for (j, f) in ex.salience().into_iter().enumerate() {
            out[[i, embeddings.ncols() + j]] = f;
        }
    }
    Ok(out)
}

/// The gene–disease pairs of an annotated corpus (BioRED): every pair of a
/// gene id and a disease id whose gold mentions share a sentence, labelled by
/// the document's relations.
pub fn gene_disease_pairs(corpus: &Corpus) -> Vec<PairExample> {
    let mut out = Vec::new();
    for doc in corpus {
        let text = doc.text();
        let genes = gold_mentions(doc, &text, |t| t == EntityType::GeneOrGeneProduct);
        let diseases = gold_mentions(doc, &text, is_disease_type);
        let related: BTreeSet<(&str, &str)> = doc
            .relations
            .iter()
            .flat_map(|r| {
                [
                    (r.id1.as_str(), r.id2.as_str()),
                    (r.id2.as_str(), r.id1.as_str()),
                ]
            })
            .collect();
        let title_end = doc.title.len();
        let sentences = split_document(&text, title_end);
        let mut pairs: BTreeMap<(&str, &str), (Vec<String>, bool)> = BTreeMap::new();
        for s in &sentences {
            let g_in: Vec<&(Span, String)> = genes
                .iter()
                .filter(|(m, id)| s.contains(*m) && !id.is_empty())
                .collect();
            let d_in: Vec<&(Span, String)> = diseases
                .iter()
                .filter(|(m, id)| s.contains(*m) && !id.is_empty())
                .collect();
            let gids: BTreeSet<&str> = g_in.iter().map(|(_, id)| id.as_str()).collect();
            let dids: BTreeSet<&str> = d_in.iter().map(|(_, id)| id.as_str()).collect();
            for &g in &gids {
                for &d in &dids {
                    let mut masks: Vec<(Span, &str)> = g_in
                        .iter()
                        .filter(|(_, id)| id == g)
                        .map(|(m, _)| (*m, "GENE"))
                        .chain(
                            d_in.iter()
                                .filter(|(_, id)| id == d)
                                .map(|(m, _)| (*m, "DISEASE")),
                        )
                        .collect();
                    masks.sort_by_key(|(m, _)| m.start);
                    let mut masked = String::new();
                    let mut at = s.start;
                    for (m, label) in masks {
                        if m.start < at {
                            continue;
                        }
                        masked.push_str(&text[at..m.start]);
                        masked.push_str(label);
                        at = m.end;
                    }
                    masked.push_str(&text[at..s.end]);
                    let entry = pairs.entry((g, d)).or_default();
                    entry.0.push(masked);
                    entry.1 |= s.end <= title_end;
                }
            }
        }
        let count =
            |list: &[(Span, String)], id: &str| list.iter().filter(|(_, i)| i == id).count();
        for ((g, d), (sents, in_title)) in pairs {
            out.push(PairExample {
                pmid: doc.pmid.clone(),
                gene_id: g.to_string(),
                disease_id: d.to_string(),
                text: sents.join(" "),
                related: related.contains(&(g, d)),
                sentences: sents.len(),
                in_title,
                gene_mentions: count(&genes, g),
                disease_mentions: count(&diseases, d),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn classifier_learns_a_separable_rule_whatever_the_majority_class() {
        let x = array![
            [1.0f32, 0.0],
            [0.9, 0.1],
            [0.8, 0.0],
            [0.0, 1.0],
            [0.1, 0.9]
        ];
        for flip in [false, true] {
            let y: Vec<bool> = [true, true, true, false, false]
                .iter()
                .map(|&l| l != flip)
                .collect();
            let c = LinearClassifier::fit(x.view(), &y, 0.01).unwrap();
            let p = c.probabilities(x.view()).unwrap();
            for (pi, yi) in p.iter().zip(&y) {
                assert_eq!(*pi > 0.5, *yi, "{p:?}");
            }
        }
        assert!(LinearClassifier::fit(x.view(), &[true; 5], 0.1).is_err());
        assert!(LinearClassifier::fit(x.view(), &[true, false], 0.1).is_err());
    }
}
