//! Variants to genes, and gene scores to variant weights.
//!
//! A variant belongs to the genes whose span, widened by a window on both
//! sides, contains it ([`GeneAssignment::AllInWindow`], the default, with a
//! 25 kb window: most regulatory variants act within tens of kilobases, and a
//! GWAS signal spreads over its LD block), or only to the nearest of them
//! ([`GeneAssignment::Nearest`]). A variant's prior score is the highest score
//! of its genes (0 without one).
//!
//! Variant weights are `w ∝ floor + (1 − floor)·score`, normalised to mean 1
//! over the tested variants: the condition under which weighted
//! Benjamini–Hochberg keeps FDR control (Genovese, Roeder & Wasserman 2006),
//! and the floor keeps every variant testable (no weight is 0). With the
//! default floor 0.1 the best-supported variant weighs at most 10× the least.

use std::collections::HashMap;

use genolens_io::genes::{Gene, GeneMap};
use genolens_io::Variant;

use crate::error::{Error, Result};
use crate::prior::GenePriors;

/// Which genes a variant belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneAssignment {
    /// Every gene within the window.
    AllInWindow,
    /// The nearest gene within the window (distance 0 inside a gene; ties go
    /// to the gene that starts first).
    Nearest,
}

impl GeneAssignment {
    /// The CLI name (`all`, `nearest`).
    pub fn name(self) -> &'static str {
        match self {
            Self::AllInWindow => "all",
            Self::Nearest => "nearest",
        }
    }

    /// The assignment with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AllInWindow, Self::Nearest]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// Options of [`map_variants`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MappingOptions {
    /// The window on both sides of a gene, in kilobases.
    pub window_kb: f64,
    /// All genes in the window, or the nearest.
    pub assignment: GeneAssignment,
}

impl Default for MappingOptions {
    fn default() -> Self {
        Self {
            window_kb: 25.0,
            assignment: GeneAssignment::AllInWindow,
        }
    }
}

/// A gene of the map a variant belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedGene {
    /// The gene's id: its Entrez id when the map has one, else its symbol.
    pub gene_id: String,
    /// Its symbol.
    pub symbol: String,
    /// Its index in the prior, when the prior scores it.
    pub prior: Option<usize>,
}

/// Every variant's genes and prior score.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantGenes {
    /// Per variant, its genes.
    pub genes: Vec<Vec<MappedGene>>,
    /// Per variant, the highest prior score of its genes (0 without one).
    pub score: Vec<f64>,
    /// What the mapping found.
    pub report: MappingReport,
}

/// Counts of a mapping, for the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingReport {
    /// Variants mapped.
    pub variants: usize,
    /// Variants with at least one gene.
    pub variants_with_gene: usize,
    /// Variants with a gene that has a prior score above 0.
    pub variants_supported: usize,
    /// Prior genes found in the gene map.
    pub prior_genes_in_map: usize,
    /// Prior genes (score above 0) absent from the gene map, by symbol.
    pub prior_genes_not_in_map: Vec<String>,
    /// Prior genes (score above 0) with at least one variant.
    pub prior_genes_with_variants: usize,
}

/// Maps `variants` to the genes of `map` and scores them by `priors` (when
/// given). A prior gene meets a map gene by Entrez id where the map has ids
/// (the GRCh38 table), else by symbol (the PLINK glist).
///
/// Errors when no variant lies within the window of any gene (chromosome
/// names or genome builds differ), and, with a prior, when no gene the prior
/// supports has a variant.
pub fn map_variants(
    variants: &[Variant],
    map: &GeneMap,
    priors: Option<&GenePriors>,
    options: &MappingOptions,
) -> Result<VariantGenes> {
    let mapped = map_variants_lenient(variants, map, priors, options)?;
    let report = &mapped.report;
    if report.variants_with_gene == 0 {
        let first = variants.first().map_or(String::new(), |v| {
            format!(
                " (first variant: chromosome {} position {})",
                v.plink_chrom(),
                v.pos
            )
        });
        return Err(Error::invalid(format!(
            "no gene of the gene map ({} genes on chromosomes {}) lies within {} kb of any of \
             the {} variants{first}; do the chromosome names or genome builds differ?",
            map.len(),
            map.chromosomes().join(","),
            options.window_kb,
            variants.len()
        )));
    }
    if let Some(p) = priors {
        if report.prior_genes_with_variants == 0 {
            return Err(Error::invalid(format!(
                "none of the {} genes the prior supports lies within {} kb of a variant \
                 ({} of them are in the gene map); the prior cannot inform these variants",
                p.n_supported(),
                options.window_kb,
                p.n_supported() - report.prior_genes_not_in_map.len()
            )));
        }
    }
    Ok(mapped)
}

/// [`map_variants`] without its two errors: a few variants (a transformer's
/// tokens) may well lie near no gene, or near no gene the prior supports.
pub fn map_variants_lenient(
    variants: &[Variant],
    map: &GeneMap,
    priors: Option<&GenePriors>,
    options: &MappingOptions,
) -> Result<VariantGenes> {
    if !(options.window_kb.is_finite() && options.window_kb >= 0.0) {
        return Err(Error::invalid(format!(
            "gene window {} kb is not a non-negative number",
            options.window_kb
        )));
    }
    let window = (options.window_kb * 1000.0).round() as u64;
    let (by_id, by_symbol): (HashMap<&str, usize>, HashMap<&str, usize>) = match priors {
        Some(p) => (
            p.genes
                .iter()
                .enumerate()
                .map(|(k, g)| (g.gene_id.as_str(), k))
                .collect(),
            p.genes
                .iter()
                .enumerate()
                .map(|(k, g)| (g.symbol.as_str(), k))
                .collect(),
        ),
        None => Default::default(),
    };
    let prior_of = |g: &Gene| -> Option<usize> {
        g.entrez_id
            .and_then(|id| by_id.get(id.to_string().as_str()).copied())
            .or_else(|| by_symbol.get(g.symbol.as_str()).copied())
            .or_else(|| by_id.get(g.symbol.as_str()).copied())
    };
    let mut report = MappingReport {
        variants: variants.len(),
        ..MappingReport::default()
    };
    if let Some(p) = priors {
        let mut in_map = vec![false; p.len()];
        for g in map {
            if let Some(k) = prior_of(g) {
                in_map[k] = true;
            }
        }
        report.prior_genes_in_map = in_map.iter().filter(|&&x| x).count();
        report.prior_genes_not_in_map = p
            .genes
            .iter()
            .zip(&in_map)
            .filter(|(g, &found)| !found && g.score > 0.0)
            .map(|(g, _)| g.symbol.clone())
            .collect();
    }
    let mut with_variants = vec![false; priors.map_or(0, |p| p.len())];
    let mut genes = Vec::with_capacity(variants.len());
    let mut score = Vec::with_capacity(variants.len());
    for v in variants {
        let mut near = map.genes_for_variant(v, window);
        if options.assignment == GeneAssignment::Nearest && near.len() > 1 {
            let distance = |g: &&Gene| {
                if v.pos < g.start {
                    g.start - v.pos
                } else {
                    v.pos.saturating_sub(g.end)
                }
            };
            let best = near
                .iter()
                .enumerate()
                .min_by_key(|(i, g)| (distance(g), *i))
                .map(|(i, _)| i)
                .unwrap_or(0);
            near = vec![near[best]];
        }
        let mapped: Vec<MappedGene> = near
            .into_iter()
            .map(|g| MappedGene {
                gene_id: g
                    .entrez_id
                    .map_or_else(|| g.symbol.clone(), |id| id.to_string()),
                symbol: g.symbol.clone(),
                prior: prior_of(g),
            })
            .collect();
        let s = match priors {
            Some(p) => mapped
                .iter()
                .filter_map(|m| m.prior)
                .map(|k| p.genes[k].score)
                .fold(0.0f64, f64::max),
            None => 0.0,
        };
        for m in &mapped {
            if let Some(k) = m.prior {
                with_variants[k] = true;
            }
        }
        if !mapped.is_empty() {
            report.variants_with_gene += 1;
        }
        if s > 0.0 {
            report.variants_supported += 1;
        }
        genes.push(mapped);
        score.push(s);
    }
    if let Some(p) = priors {
        report.prior_genes_with_variants = p
            .genes
            .iter()
            .zip(&with_variants)
            .filter(|(g, &w)| w && g.score > 0.0)
            .count();
    }
    Ok(VariantGenes {
        genes,
        score,
        report,
    })
}

/// Variant weights from prior scores (each in [0, 1]): `floor + (1 − floor)·s`,
/// normalised to mean 1 over all entries (pass the tested variants only).
/// Errors when `floor` is not in (0, 1] or a score is outside [0, 1].
pub fn variant_weights(scores: &[f64], floor: f64) -> Result<Vec<f64>> {
    if !(floor > 0.0 && floor <= 1.0) {
        return Err(Error::invalid(format!(
            "weight floor {floor} is not in (0, 1]"
        )));
    }
    if let Some(bad) = scores.iter().find(|s| !(0.0..=1.0).contains(*s)) {
        return Err(Error::invalid(format!(
            "prior score {bad} is outside [0, 1]"
        )));
    }
    let raw: Vec<f64> = scores.iter().map(|s| floor + (1.0 - floor) * s).collect();
    Ok(normalise_mean_one(&raw))
}

/// `w / mean(w)` (an empty or all-zero input is returned as ones).
pub fn normalise_mean_one(w: &[f64]) -> Vec<f64> {
    let mean = w.iter().sum::<f64>() / w.len().max(1) as f64;
    if mean > 0.0 && mean.is_finite() {
        w.iter().map(|x| x / mean).collect()
    } else {
        vec![1.0; w.len()]
    }
}

/// Whether all weights are equal (to 1e-12 relative): the weighted analysis
/// is then exactly the unweighted one.
pub fn all_equal(w: &[f64]) -> bool {
    match w.first() {
        None => true,
        Some(&a) => w.iter().all(|&x| (x - a).abs() <= 1e-12 * a.abs().max(1.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::{GenePrior, PriorSource};

    fn gene(symbol: &str, id: Option<u64>, chrom: &str, start: u64, end: u64) -> Gene {
        Gene {
            symbol: symbol.into(),
            entrez_id: id,
            chrom: chrom.into(),
            start,
            end,
        }
    }

    fn variant(chrom: &str, pos: u64) -> Variant {
        Variant {
            chrom: chrom.into(),
            pos,
            id: format!("{chrom}:{pos}"),
            allele1: "A".into(),
            allele2: "G".into(),
            cm: 0.0,
        }
    }

    fn priors() -> GenePriors {
        let g = |id: &str, sym: &str, score: f64| GenePrior {
            gene_id: id.into(),
            symbol: sym.into(),
            score,
            n_docs: 1,
            evidence_pmids: vec![],
            evidence: vec![],
            embedding: None,
        };
        GenePriors {
            genes: vec![g("1", "A", 0.9), g("2", "B", 0.2), g("99", "Z", 0.7)],
            source: PriorSource::Table { rescaled: false },
        }
    }

    #[test]
    fn variants_take_their_best_gene_and_nearest_picks_one() {
        let map = GeneMap::from_genes(vec![
            gene("A", Some(1), "1", 10_000, 20_000),
            gene("B", Some(2), "1", 30_000, 40_000),
            gene("C", Some(3), "2", 10_000, 20_000),
        ]);
        let vs = vec![
            variant("1", 25_000), // 5 kb from A, 5 kb from B
            variant("1", 29_000), // nearer B
            variant("2", 15_000), // in C (no prior)
            variant("1", 500_000),
        ];
        let p = priors();
        let all = map_variants(&vs, &map, Some(&p), &MappingOptions::default()).unwrap();
        assert_eq!(all.genes[0].len(), 2);
        assert_eq!(all.score, vec![0.9, 0.9, 0.0, 0.0]);
        assert_eq!(all.report.variants_with_gene, 3);
        assert_eq!(all.report.prior_genes_not_in_map, vec!["Z".to_string()]);
        assert_eq!(all.report.prior_genes_with_variants, 2);
        let nearest = MappingOptions {
            assignment: GeneAssignment::Nearest,
            ..MappingOptions::default()
        };
        let near = map_variants(&vs, &map, Some(&p), &nearest).unwrap();
        assert_eq!(near.genes[1].len(), 1);
        assert_eq!(near.genes[1][0].symbol, "B");
        assert!((near.score[1] - 0.2).abs() < 1e-12);
        // A map on other chromosomes: a clear error.
        let far = GeneMap::from_genes(vec![gene("A", Some(1), "7", 1, 2)]);
        let e = map_variants(&vs, &far, Some(&p), &MappingOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no gene of the gene map"), "{e}");
        // Prior genes without variants: an error too.
        let map2 = GeneMap::from_genes(vec![gene("C", Some(3), "2", 10_000, 20_000)]);
        let e = map_variants(&vs, &map2, Some(&p), &MappingOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("none of the 3 genes"), "{e}");
    }

    #[test]
    fn weights_have_mean_one_and_a_floor() {
        let w = variant_weights(&[1.0, 0.0, 0.0, 0.5], 0.1).unwrap();
        assert!((w.iter().sum::<f64>() / 4.0 - 1.0).abs() < 1e-12);
        assert!((w[0] / w[1] - 10.0).abs() < 1e-9);
        assert!(w.iter().all(|&x| x > 0.0));
        assert!(all_equal(&variant_weights(&[0.3, 0.3], 0.1).unwrap()));
        assert!(!all_equal(&w));
        assert!(variant_weights(&[0.5], 0.0).is_err());
        assert!(variant_weights(&[1.5], 0.1).is_err());
    }
}
