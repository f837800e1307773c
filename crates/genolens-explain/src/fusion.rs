//! The three ways a gene prior enters a genotype analysis, each a single
//! call that the CLI, the pipeline and Rust users share:
//!
//! 1. [`weighted_scan`]: association p-values re-tested with prior weights
//!    (weighted BH and Bonferroni, fixed or cross-fitted adaptive weights).
//! 2. [`prior_penalty_weights`]: per-variant weights for prior-informed
//!    penalties in ridge / elastic net / lasso
//!    ([`genolens_assoc::predict::PriorPenalty`]).
//! 3. [`variant_prior_inputs`]: per-variant inputs of the transformer (the
//!    gene's score and literature embedding), gene-token fusion.

use genolens_io::genes::GeneMap;
use genolens_io::Variant;
use ndarray::Array2;

use crate::error::{Error, Result};
use crate::fdr::{prior_weighted_tests, WeightedTests, Weighting};
use crate::mapping::{
    all_equal, map_variants, map_variants_lenient, variant_weights, MappingOptions, VariantGenes,
};
use crate::prior::GenePriors;

/// Options of [`weighted_scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedScanOptions {
    /// Variant → gene mapping.
    pub mapping: MappingOptions,
    /// The weight floor (see [`variant_weights`]).
    pub floor: f64,
    /// Fixed or adaptive weights.
    pub weighting: Weighting,
    /// FDR / family-wise level of the counts.
    pub alpha: f64,
}

impl Default for WeightedScanOptions {
    fn default() -> Self {
        Self {
            mapping: MappingOptions::default(),
            floor: 0.1,
            weighting: Weighting::Adaptive(crate::fdr::AdaptiveOptions::default()),
            alpha: 0.05,
        }
    }
}

/// A scan re-tested with a prior.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedScan {
    /// Each variant's genes and prior score.
    pub genes: VariantGenes,
    /// The prior weights before any adaptive strength (mean 1 over the
    /// tested variants).
    pub prior_weights: Vec<f64>,
    /// The tests with and without the weights.
    pub tests: WeightedTests,
    /// Every tested variant got the same prior weight: the weighted analysis
    /// is the unweighted one (worth a warning).
    pub equal_weights: bool,
}

/// Re-tests p-values `p` (one per variant, `NaN` = not tested, variants in
/// genomic order) with weights from `priors` through `map`.
pub fn weighted_scan(
    variants: &[Variant],
    p: &[f64],
    priors: &GenePriors,
    map: &GeneMap,
    options: &WeightedScanOptions,
) -> Result<WeightedScan> {
    if p.len() != variants.len() {
        return Err(Error::invalid(format!(
            "{} p-values for {} variants",
            p.len(),
            variants.len()
        )));
    }
    let genes = map_variants(variants, map, Some(priors), &options.mapping)?;
    let tested: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let scores: Vec<f64> = tested.iter().map(|&i| genes.score[i]).collect();
    let w_tested = variant_weights(&scores, options.floor)?;
    let equal_weights = all_equal(&w_tested);
    let mut prior_weights = vec![1.0; p.len()];
    for (&i, &w) in tested.iter().zip(&w_tested) {
        prior_weights[i] = w;
    }
    let tests = prior_weighted_tests(p, &prior_weights, &options.weighting, options.alpha)?;
    Ok(WeightedScan {
        genes,
        prior_weights,
        tests,
        equal_weights,
    })
}

/// Per-variant weights (mean 1, floor `floor`) from the prior, for
/// [`genolens_assoc::predict::PriorPenalty`], with the mapping behind them.
pub fn prior_penalty_weights(
    variants: &[Variant],
    priors: &GenePriors,
    map: &GeneMap,
    mapping: &MappingOptions,
    floor: f64,
) -> Result<(Vec<f64>, VariantGenes)> {
    let genes = map_variants(variants, map, Some(priors), mapping)?;
    let w = variant_weights(&genes.score, floor)?;
    Ok((w, genes))
}

/// The transformer's per-variant prior inputs: column 0 is the variant's
/// prior score; when the prior has gene embeddings, the other columns are the
/// embedding of the variant's best-scoring gene (zeros for a variant near no
/// prior gene). Tokens near no gene are no error (see the returned report).
pub fn variant_prior_inputs(
    variants: &[Variant],
    priors: &GenePriors,
    map: &GeneMap,
    mapping: &MappingOptions,
) -> Result<(Array2<f32>, VariantGenes)> {
    let dim = priors.embedding_dim().unwrap_or(0);
    let genes = map_variants_lenient(variants, map, Some(priors), mapping)?;
    let mut out = Array2::<f32>::zeros((variants.len(), 1 + dim));
    for (k, gs) in genes.genes.iter().enumerate() {
        out[[k, 0]] = genes.score[k] as f32;
        if dim == 0 {
            continue;
        }
        let best = gs
            .iter()
            .filter_map(|g| g.prior)
            .max_by(|&a, &b| priors.genes[a].score.total_cmp(&priors.genes[b].score));
        if let Some(e) = best.and_then(|b| priors.genes[b].embedding.as_ref()) {
            for (j, v) in e.iter().enumerate() {
                out[[k, 1 + j]] = *v;
            }
        }
    }
    Ok((out, genes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::{GenePrior, PriorSource};
    use genolens_io::genes::Gene;

    fn variant(pos: u64) -> Variant {
        Variant {
            chrom: "1".into(),
            pos,
            id: format!("v{pos}"),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "G".into(),
        }
    }

    fn prior(score: f64) -> GenePriors {
        GenePriors {
            genes: vec![GenePrior {
                gene_id: "1".into(),
                symbol: "A".into(),
                score,
                n_docs: 1,
                evidence_pmids: vec![],
                evidence: vec![],
                embedding: Some(vec![0.5, -0.5]),
            }],
            source: PriorSource::Table { rescaled: false },
        }
    }

    #[test]
    fn equal_weights_are_flagged_and_change_nothing() {
        let map = GeneMap::from_genes(vec![Gene {
            symbol: "A".into(),
            entrez_id: Some(1),
            chrom: "1".into(),
            start: 1,
            end: 10_000,
        }]);
        let variants: Vec<Variant> = (1..=50).map(|k| variant(k * 100)).collect();
        let p: Vec<f64> = (1..=50).map(|k| f64::from(k) / 60.0).collect();
        let scan = weighted_scan(
            &variants,
            &p,
            &prior(0.5),
            &map,
            &WeightedScanOptions::default(),
        )
        .unwrap();
        assert!(scan.equal_weights);
        assert_eq!(scan.tests.q, scan.tests.q_weighted);
        // Gene-token inputs: score then embedding, zeros away from genes.
        let far = vec![variant(500), variant(900_000)];
        let (inputs, _) =
            variant_prior_inputs(&far, &prior(0.5), &map, &MappingOptions::default()).unwrap();
        assert_eq!(inputs.row(0).to_vec(), vec![0.5, 0.5, -0.5]);
        assert_eq!(inputs.row(1).to_vec(), vec![0.0, 0.0, 0.0]);
    }
}
