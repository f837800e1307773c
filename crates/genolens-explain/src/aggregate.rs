//! From variants to genes, and from a cohort to one person.
//!
//! A gene's attribution is the sum of the absolute attributions of its
//! variants (how much of the prediction runs through it), and its signed
//! attribution the plain sum (which way it pushes). A variant in several
//! genes' windows counts for each of them: gene attributions answer "how much
//! flows through variants near this gene", not a partition of the total.

use std::collections::HashMap;

use genolens_io::genes::GeneMap;

use crate::attribution::{explain, Attributions, ExplainInput, ExplainOptions, Explainable};
use crate::error::Result;
use crate::mapping::{map_variants, MappedGene, MappingOptions, VariantGenes};
use crate::prior::GenePriors;

/// One gene's share of an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneAttribution {
    /// Entrez id (or symbol where the gene map has no ids).
    pub gene_id: String,
    /// Symbol.
    pub symbol: String,
    /// Sum of |attribution| over the gene's variants.
    pub attribution: f64,
    /// Sum of signed attributions.
    pub signed: f64,
    /// Variants of the model in the gene's window.
    pub n_variants: usize,
    /// Index of the gene in the prior, when it has one.
    pub prior: Option<usize>,
}

/// Sums per-variant values into genes: `magnitude` (non-negative) and
/// `signed`, one per model variant, and each model variant's genes. Genes are
/// returned by decreasing attribution (then symbol).
pub fn aggregate_genes(
    magnitude: &[f64],
    signed: &[f64],
    genes: &[Vec<MappedGene>],
) -> Vec<GeneAttribution> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<GeneAttribution> = Vec::new();
    for ((&a, &s), gs) in magnitude.iter().zip(signed).zip(genes) {
        for g in gs {
            let k = *index.entry(g.gene_id.as_str()).or_insert_with(|| {
                out.push(GeneAttribution {
                    gene_id: g.gene_id.clone(),
                    symbol: g.symbol.clone(),
                    attribution: 0.0,
                    signed: 0.0,
                    n_variants: 0,
                    prior: g.prior,
                });
                out.len() - 1
            });
            out[k].attribution += a;
            out[k].signed += s;
            out[k].n_variants += 1;
        }
    }
    out.sort_by(|a, b| {
        b.attribution
            .total_cmp(&a.attribution)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    out
}

/// The variants and genes that move one person's prediction most.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonExplanation {
    /// Row of the person in [`Attributions::samples`].
    pub row: usize,
    /// Source index of the person.
    pub sample: usize,
    /// The model output.
    pub output: f64,
    /// The reference output.
    pub baseline: f64,
    /// Model-variant indices and values, most positive first.
    pub raising: Vec<(usize, f64)>,
    /// Model-variant indices and values, most negative first.
    pub lowering: Vec<(usize, f64)>,
    /// Genes by signed attribution, most positive first (up to `top`).
    pub genes_raising: Vec<GeneAttribution>,
    /// Genes by signed attribution, most negative first (up to `top`).
    pub genes_lowering: Vec<GeneAttribution>,
}

/// The `top` variants and genes raising and lowering the prediction of the
/// person in row `row` of a local explanation; `None` for cohort-level
/// methods. Unsigned methods (saliency) only fill the "raising" lists.
pub fn explain_person(
    attributions: &Attributions,
    row: usize,
    genes: Option<&[Vec<MappedGene>]>,
    top: usize,
) -> Option<PersonExplanation> {
    let local = attributions.local.as_ref()?;
    if row >= local.nrows() {
        return None;
    }
    let values: Vec<f64> = local.row(row).to_vec();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let raising: Vec<(usize, f64)> = order
        .iter()
        .filter(|&&j| values[j] > 0.0)
        .take(top)
        .map(|&j| (j, values[j]))
        .collect();
    let lowering: Vec<(usize, f64)> = order
        .iter()
        .rev()
        .filter(|&&j| values[j] < 0.0)
        .take(top)
        .map(|&j| (j, values[j]))
        .collect();
    let (genes_raising, genes_lowering) = match genes {
        None => (Vec::new(), Vec::new()),
        Some(g) => {
            let magnitude: Vec<f64> = values.iter().map(|v| v.abs()).collect();
            let mut all = aggregate_genes(&magnitude, &values, g);
            all.sort_by(|a, b| {
                b.signed
                    .total_cmp(&a.signed)
                    .then_with(|| a.symbol.cmp(&b.symbol))
            });
            let up: Vec<GeneAttribution> = all
                .iter()
                .filter(|g| g.signed > 0.0)
                .take(top)
                .cloned()
                .collect();
            let down: Vec<GeneAttribution> = all
                .iter()
                .rev()
                .filter(|g| g.signed < 0.0)
                .take(top)
                .cloned()
                .collect();
            (up, down)
        }
    };
    Some(PersonExplanation {
        row,
        sample: attributions.samples[row],
        output: attributions.output[row],
        baseline: attributions.baseline[row],
        raising,
        lowering,
        genes_raising,
        genes_lowering,
    })
}

/// A whole explanation: per-variant attributions, their genes, gene sums
/// and the people asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The attributions.
    pub attributions: Attributions,
    /// Each model variant's genes (with a gene map).
    pub variant_genes: Option<VariantGenes>,
    /// Genes by decreasing attribution (with a gene map).
    pub genes: Vec<GeneAttribution>,
    /// One entry per person asked about (local methods only).
    pub people: Vec<PersonExplanation>,
}

/// What [`explain_study`] needs besides the model and samples.
#[derive(Clone, Copy, Default)]
pub struct ExplainContext<'a> {
    /// Genes for the variants, and how variants meet them.
    pub genes: Option<(&'a GeneMap, &'a MappingOptions)>,
    /// The gene prior, whose evidence sentences back each gene.
    pub priors: Option<&'a GenePriors>,
    /// Rows of `input.samples` to explain person by person.
    pub people: &'a [usize],
    /// Variants and genes listed per person and direction.
    pub top: usize,
}

/// Explains `model` ([`explain`]), maps its variants to genes, sums them per
/// gene and lists what moves each person's prediction: the one call behind
/// `genolens explain`.
pub fn explain_study(
    model: &Explainable,
    input: &ExplainInput<'_>,
    options: &ExplainOptions,
    context: &ExplainContext<'_>,
) -> Result<Explanation> {
    let attributions = explain(model, input, options)?;
    let variant_genes = match context.genes {
        None => None,
        Some((map, mapping)) => {
            let variants: Vec<genolens_io::Variant> = attributions
                .variants
                .iter()
                .map(|&v| input.source.variants()[v].clone())
                .collect();
            Some(map_variants(&variants, map, context.priors, mapping)?)
        }
    };
    let genes = match &variant_genes {
        None => Vec::new(),
        Some(vg) => aggregate_genes(
            &attributions
                .importance
                .iter()
                .map(|v| v.abs())
                .collect::<Vec<_>>(),
            &attributions.mean_signed(),
            &vg.genes,
        ),
    };
    let people = context
        .people
        .iter()
        .filter_map(|&row| {
            explain_person(
                &attributions,
                row,
                variant_genes.as_ref().map(|v| v.genes.as_slice()),
                context.top,
            )
        })
        .collect();
    Ok(Explanation {
        attributions,
        variant_genes,
        genes,
        people,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Method;
    use ndarray::array;

    fn mg(id: &str) -> MappedGene {
        MappedGene {
            gene_id: id.into(),
            symbol: format!("S{id}"),
            prior: None,
        }
    }

    #[test]
    fn genes_sum_their_variants_and_people_get_their_own_lists() {
        let genes = vec![vec![mg("1")], vec![mg("1"), mg("2")], vec![], vec![mg("3")]];
        let g = aggregate_genes(&[1.0, 2.0, 5.0, 0.5], &[1.0, -2.0, 5.0, 0.5], &genes);
        assert_eq!(g[0].gene_id, "1");
        assert!((g[0].attribution - 3.0).abs() < 1e-12);
        assert!((g[0].signed + 1.0).abs() < 1e-12);
        assert_eq!(g[0].n_variants, 2);
        assert_eq!(g[1].gene_id, "2");
        let a = Attributions {
            method: Method::Shap,
            variants: vec![10, 11, 12, 13],
            samples: vec![4, 7],
            local: Some(array![[0.5, -1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]]),
            importance: vec![0.25, 0.5, 0.0, 1.0],
            importance_sd: None,
            output: vec![1.5, 0.0],
            baseline: vec![0.0, 0.0],
            scale: "trait units".into(),
        };
        let p = explain_person(&a, 0, Some(&genes), 2).unwrap();
        assert_eq!(p.sample, 4);
        assert_eq!(p.raising, vec![(3, 2.0), (0, 0.5)]);
        assert_eq!(p.lowering, vec![(1, -1.0)]);
        assert_eq!(p.genes_raising[0].gene_id, "3");
        assert_eq!(p.genes_lowering[0].gene_id, "2");
        assert!(explain_person(&a, 5, None, 2).is_none());
    }
}
