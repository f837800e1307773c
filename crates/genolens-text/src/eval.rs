//! Evaluation: mention precision, recall and F1 against gold annotations, and
//! the area under the ROC curve of a ranking.

use std::collections::HashSet;

use genolens_io::corpus::{Corpus, EntityType};

use crate::mention::{gold_mentions, MentionExtractor, MentionKind};
use crate::preprocess::Span;

/// Counts of a span-level comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpanScores {
    /// Predicted spans equal to a gold span.
    pub true_positives: usize,
    /// Predicted spans equal to no gold span.
    pub false_positives: usize,
    /// Gold spans no prediction equals.
    pub false_negatives: usize,
}

impl SpanScores {
    /// Compares one text's predicted spans with its gold spans (exact bounds;
    /// duplicates count once).
    pub fn compare(predicted: &[Span], gold: &[Span]) -> Self {
        let p: HashSet<Span> = predicted.iter().copied().collect();
        let g: HashSet<Span> = gold.iter().copied().collect();
        let tp = p.intersection(&g).count();
        Self {
            true_positives: tp,
            false_positives: p.len() - tp,
            false_negatives: g.len() - tp,
        }
    }

    /// Adds another comparison's counts.
    pub fn add(&mut self, other: SpanScores) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.false_negatives += other.false_negatives;
    }

    /// TP / (TP + FP); 0 without predictions.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// TP / (TP + FN); 0 without gold spans.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// The harmonic mean of precision and recall; 0 when both are 0.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Scores an extractor's mentions of `kind` against the gold annotations whose
/// type passes `gold_type`, over every document of `corpus` (strict span match).
pub fn evaluate_mentions(
    corpus: &Corpus,
    extractor: &MentionExtractor,
    kind: MentionKind,
    gold_type: impl Fn(EntityType) -> bool,
) -> SpanScores {
    let mut scores = SpanScores::default();
    for doc in corpus {
        let text = doc.text();
        let predicted: Vec<Span> = extractor
            .extract(&text)
            .into_iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.span)
            .collect();
        let gold: Vec<Span> = gold_mentions(doc, &text, &gold_type)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        scores.add(SpanScores::compare(&predicted, &gold));
    }
    scores
}

/// The area under the ROC curve of `scores` for telling `positives` (true)
/// from negatives, ties counting ½ (the same Mann–Whitney statistic the
/// classical predictors report). `None` without both classes or with a NaN
/// score; −∞ is a valid score (no evidence).
pub fn auc(scores: &[f64], positives: &[bool]) -> Option<f64> {
    if scores.len() != positives.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let a = genolens_features::metrics::auc(positives, scores);
    (!a.is_nan()).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_scores() {
        let s = |a, b| Span::new(a, b);
        let c = SpanScores::compare(&[s(0, 3), s(5, 8), s(5, 8), s(10, 12)], &[s(0, 3), s(5, 9)]);
        assert_eq!(
            (c.true_positives, c.false_positives, c.false_negatives),
            (1, 2, 1)
        );
        assert!((c.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 0.5).abs() < 1e-12);
        assert!((c.f1() - 0.4).abs() < 1e-12);
        assert_eq!(SpanScores::default().f1(), 0.0);
    }

    #[test]
    fn auc_counts_pairs_and_ties() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[1.0, 1.0], &[true, false]), Some(0.5));
        assert_eq!(auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(auc(&[f64::NAN, 2.0], &[true, false]), None);
        assert_eq!(
            auc(
                &[f64::NEG_INFINITY, f64::NEG_INFINITY, 1.0],
                &[true, false, false]
            ),
            Some(0.25)
        );
    }
}
