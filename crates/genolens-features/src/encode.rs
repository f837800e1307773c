//! Model encodings of a [`GenotypeBlock`]: additive dosages, dominant and
//! recessive indicators, one-hot channels and transformer tokens, plus the
//! SNP→gene grouping that gene-level models and attributions aggregate over.
//!
//! Every encoding counts copies of each variant's `allele1` (the counted allele,
//! see [`Variant`]), as the block does. Outputs are samples × features in
//! row-major (C) order, one row per sample, the layout model inputs want.
//!
//! Encodings that need a genotype class (dominant, recessive, one-hot, tokens)
//! take the hard call of a dosage: see [`hard_call`].

use std::collections::HashMap;

use genolens_io::genes::{Gene, GeneMap};
use genolens_io::{GenotypeBlock, Variant};
use ndarray::{Array1, Array2};

use crate::{Error, Result};

/// The genotype class of a missing call in [`GenotypeTokens::classes`] and the
/// one-hot channel that marks it.
pub const MISSING_CLASS: u8 = 3;

/// Number of genotype classes: 0, 1, 2 copies of `allele1`, and missing.
pub const N_CLASSES: usize = 4;

/// The hard call of a dosage: the nearest whole number of copies of `allele1`,
/// or `None` when the call is missing (`NaN`).
///
/// Fractional (imputed) dosages round to the nearest integer, halves away from
/// zero: `[0, 0.5)` → 0, `[0.5, 1.5)` → 1, `[1.5, 2]` → 2. A value outside
/// `[0, 2]` is clamped into it, so every non-missing call has a class.
pub fn hard_call(dosage: f32) -> Option<u8> {
    if dosage.is_nan() {
        None
    } else {
        // Clamped to [0, 2] first, so the cast is exact.
        Some(dosage.clamp(0.0, 2.0).round() as u8)
    }
}

/// A samples × variants encoding with its missing mask.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The encoded values, 0 where the call is missing.
    pub values: Array2<f32>,
    /// `true` where the call is missing.
    pub missing: Array2<bool>,
}

impl Encoded {
    fn from_block(block: &GenotypeBlock, f: impl Fn(f32) -> f32) -> Self {
        let d = block.dosages();
        let values = Array2::from_shape_fn(d.dim(), |ij| {
            let x = d[ij];
            if x.is_nan() {
                0.0
            } else {
                f(x)
            }
        });
        let missing = Array2::from_shape_fn(d.dim(), |ij| d[ij].is_nan());
        Self { values, missing }
    }
}

/// Additive coding: the dosage itself (copies of `allele1`, 0 to 2), with
/// missing calls set to 0 and flagged in the mask.
///
/// Fractional dosages are kept as they are: the expected allele count is the
/// additive model's natural input. Use [`hard_call`] first where whole counts
/// are needed.
pub fn additive(block: &GenotypeBlock) -> Encoded {
    Encoded::from_block(block, |x| x)
}

/// Dominant coding for `allele1`: 1 when the hard call carries at least one copy
/// (class 1 or 2), else 0; missing calls are 0 and flagged in the mask.
pub fn dominant(block: &GenotypeBlock) -> Encoded {
    Encoded::from_block(block, |x| f32::from(hard_call(x).is_some_and(|c| c >= 1)))
}

/// Recessive coding for `allele1`: 1 when the hard call is two copies (class 2),
/// else 0; missing calls are 0 and flagged in the mask.
pub fn recessive(block: &GenotypeBlock) -> Encoded {
    Encoded::from_block(block, |x| f32::from(hard_call(x) == Some(2)))
}

/// One-hot coding: [`N_CLASSES`] channels per variant, samples × (variants × 4).
///
/// Column `4 j + c` is 1 when the block's `j`-th variant has hard call `c` (0, 1
/// or 2 copies of `allele1`), and column `4 j + 3` when the call is missing;
/// each sample has exactly one 1 among a variant's four columns.
pub fn one_hot(block: &GenotypeBlock) -> Array2<f32> {
    let d = block.dosages();
    let (n, m) = d.dim();
    let mut out = Array2::zeros((n, m * N_CLASSES));
    for ((i, j), &x) in d.indexed_iter() {
        let class = hard_call(x).unwrap_or(MISSING_CLASS);
        out[[i, j * N_CLASSES + usize::from(class)]] = 1.0;
    }
    out
}

/// Integer inputs for a genotype transformer: a class token per call and the
/// variant's index in its source, for the position embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenotypeTokens {
    /// Samples × variants hard-call classes: 0, 1, 2 copies of `allele1`, or
    /// [`MISSING_CLASS`].
    pub classes: Array2<u8>,
    /// The source's (global) index of each column's variant; the same for
    /// every sample, so it broadcasts over rows.
    pub variant_ids: Array1<u32>,
}

/// Tokenizes a block: hard-call classes (see [`hard_call`]) and global variant
/// indices.
///
/// Errors when a variant index does not fit in a `u32` (more than about four
/// billion variants).
pub fn tokens(block: &GenotypeBlock) -> Result<GenotypeTokens> {
    let range = block.variant_range();
    let variant_ids = range
        .clone()
        .map(u32::try_from)
        .collect::<std::result::Result<Vec<u32>, _>>()
        .map_err(|_| {
            Error::Invalid(format!(
                "variant indices {}..{} do not fit in a u32 token",
                range.start, range.end
            ))
        })?;
    let d = block.dosages();
    // Built row-major, unlike the block: tokens are read one sample row at a time.
    let classes = Array2::from_shape_fn(d.dim(), |ij| hard_call(d[ij]).unwrap_or(MISSING_CLASS));
    Ok(GenotypeTokens {
        classes,
        variant_ids: Array1::from(variant_ids),
    })
}

/// The variants near one gene.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneGroup {
    /// The gene.
    pub gene: Gene,
    /// Indices into the variant slice of the variants within the window of the
    /// gene, increasing.
    pub variants: Vec<usize>,
}

/// Variants grouped by gene, from [`group_by_gene`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneGroups {
    /// One group per gene with at least one variant, in the gene map's order
    /// (chromosomes in order of first appearance in the map's file, genes by
    /// start then end within a chromosome). A symbol listed at several
    /// locations gives one group per location.
    pub genes: Vec<GeneGroup>,
    /// Indices of the variants within the window of no gene, increasing.
    pub unmapped: Vec<usize>,
}

/// Groups variants by the genes they fall in or near, using
/// [`GeneMap::genes_for_variant`]: a variant belongs to every gene whose span,
/// widened by `window_bp` on both sides, contains its position on the same
/// chromosome. A variant can belong to several genes.
///
/// Variant indices are positions in `variants`; pass a source's whole
/// [`variants`](genolens_io::GenotypeSource::variants) to get global indices.
/// The result is deterministic: genes in map order, variants increasing.
pub fn group_by_gene(variants: &[Variant], genes: &GeneMap, window_bp: u64) -> GeneGroups {
    // Gene identity is its place in the map (symbols can repeat); the lookup
    // returns references into the map, so their addresses give that place.
    let position: HashMap<*const Gene, usize> = genes
        .iter()
        .enumerate()
        .map(|(k, g)| (g as *const Gene, k))
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); genes.len()];
    let mut unmapped = Vec::new();
    for (v_idx, v) in variants.iter().enumerate() {
        let hits = genes.genes_for_variant(v, window_bp);
        let mut mapped = false;
        for g in hits {
            if let Some(&k) = position.get(&(g as *const Gene)) {
                members[k].push(v_idx);
                mapped = true;
            }
        }
        if !mapped {
            unmapped.push(v_idx);
        }
    }
    let genes = genes
        .iter()
        .zip(members)
        .filter(|(_, m)| !m.is_empty())
        .map(|(g, variants)| GeneGroup {
            gene: g.clone(),
            variants,
        })
        .collect();
    GeneGroups { genes, unmapped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, ShapeBuilder};

    const NAN: f32 = f32::NAN;

    /// A block whose first variant is global index `first`, from a row-major
    /// samples × variants array.
    fn block(first: usize, rows: Array2<f32>) -> GenotypeBlock {
        let (n, m) = rows.dim();
        let mut b = GenotypeBlock::missing(first, n, m);
        for j in 0..m {
            for (o, &x) in b.variant_mut(j).iter_mut().zip(rows.column(j)) {
                *o = x;
            }
        }
        b
    }

    /// 3 samples × 3 variants: hard calls, fractional dosages and missing.
    fn example() -> GenotypeBlock {
        block(
            10,
            array![[0.0, 1.0, NAN], [2.0, 0.4, 1.5], [1.0, NAN, 0.5]],
        )
    }

    #[test]
    fn hard_call_rounds_and_clamps() {
        let cases = [
            (0.0, Some(0)),
            (0.49, Some(0)),
            (0.5, Some(1)),
            (1.0, Some(1)),
            (1.49, Some(1)),
            (1.5, Some(2)),
            (2.0, Some(2)),
            (-0.3, Some(0)),
            (2.7, Some(2)),
            (f32::INFINITY, Some(2)),
            (NAN, None),
        ];
        for (x, want) in cases {
            assert_eq!(hard_call(x), want, "dosage {x}");
        }
    }

    #[test]
    fn additive_keeps_dosages_and_masks_missing() {
        let e = additive(&example());
        assert_eq!(
            e.values,
            array![[0.0, 1.0, 0.0], [2.0, 0.4, 1.5], [1.0, 0.0, 0.5]]
        );
        assert_eq!(
            e.missing,
            array![
                [false, false, true],
                [false, false, false],
                [false, true, false]
            ]
        );
        assert!(e.values.is_standard_layout());
    }

    #[test]
    fn dominant_and_recessive_use_hard_calls() {
        let b = example();
        let d = dominant(&b);
        // 0.4 → 0 copies, 1.5 → 2, 0.5 → 1.
        assert_eq!(
            d.values,
            array![[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
        );
        let r = recessive(&b);
        assert_eq!(
            r.values,
            array![[0.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
        );
        assert_eq!(d.missing, b.missing_mask());
        assert_eq!(r.missing, b.missing_mask());
    }

    #[test]
    fn one_hot_has_one_channel_per_call() {
        let b = example();
        let o = one_hot(&b);
        assert_eq!(o.dim(), (3, 12));
        for i in 0..3 {
            for j in 0..3 {
                let channels = o.slice(ndarray::s![i, 4 * j..4 * j + 4]);
                assert_eq!(channels.sum(), 1.0, "sample {i} variant {j}");
            }
        }
        // Sample 0: classes 0, 1, missing.
        assert_eq!(
            o.row(0).to_vec(),
            [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 0., 1.]
        );
        // Sample 1: 2, 0.4 → 0, 1.5 → 2.
        assert_eq!(
            o.row(1).to_vec(),
            [0., 0., 1., 0., 1., 0., 0., 0., 0., 0., 1., 0.]
        );
        // Sample 2: 1, missing, 0.5 → 1.
        assert_eq!(
            o.row(2).to_vec(),
            [0., 1., 0., 0., 0., 0., 0., 1., 0., 1., 0., 0.]
        );
    }

    #[test]
    fn tokens_carry_classes_and_global_variant_ids() {
        let t = tokens(&example()).unwrap();
        assert_eq!(t.classes, array![[0, 1, 3], [2, 0, 2], [1, 3, 1]]);
        assert!(t.classes.is_standard_layout());
        assert_eq!(t.variant_ids, array![10, 11, 12]);

        let empty = tokens(&GenotypeBlock::missing(5, 2, 0)).unwrap();
        assert_eq!(empty.classes.dim(), (2, 0));
        assert!(empty.variant_ids.is_empty());

        // Column-major input of a different shape: rows stay samples.
        let b = block(
            0,
            Array2::from_shape_vec((2, 1).f(), vec![2.0, NAN]).unwrap(),
        );
        assert_eq!(tokens(&b).unwrap().classes, array![[2], [3]]);
    }

    #[test]
    fn tokens_reject_indices_beyond_u32() {
        let Some(first) = usize::try_from(u64::from(u32::MAX)).ok() else {
            return; // 32-bit usize cannot express the case.
        };
        let b = GenotypeBlock::missing(first, 1, 2);
        assert!(matches!(tokens(&b), Err(Error::Invalid(_))));
        assert!(tokens(&GenotypeBlock::missing(first, 1, 1)).is_ok());
    }

    fn variant(chrom: &str, pos: u64) -> Variant {
        Variant {
            chrom: chrom.into(),
            pos,
            id: format!("{chrom}:{pos}"),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "G".into(),
        }
    }

    fn gene(symbol: &str, chrom: &str, start: u64, end: u64) -> Gene {
        Gene {
            symbol: symbol.into(),
            entrez_id: None,
            chrom: chrom.into(),
            start,
            end,
        }
    }

    #[test]
    fn gene_groups_follow_map_order_and_window() {
        // File order: chromosome 2 first, so its genes come first.
        let map = GeneMap::from_genes(vec![
            gene("B", "2", 1_000, 2_000),
            gene("A", "2", 500, 600),
            gene("C", "1", 100, 200),
            gene("EMPTY", "1", 1_000_000, 1_000_100),
            gene("D", "1", 150, 400),
        ]);
        let variants = [
            variant("1", 160),    // 0: C and D
            variant("chr2", 550), // 1: A
            variant("2", 2_050),  // 2: B only with a window of 50+
            variant("3", 100),    // 3: no gene on chromosome 3
            variant("1", 450),    // 4: D only with a window of 50+
            variant("2", 1_500),  // 5: B
        ];
        let g0 = group_by_gene(&variants, &map, 0);
        let summary = |g: &GeneGroups| -> Vec<(String, Vec<usize>)> {
            g.genes
                .iter()
                .map(|x| (x.gene.symbol.clone(), x.variants.clone()))
                .collect()
        };
        assert_eq!(
            summary(&g0),
            [
                ("A".to_string(), vec![1]),
                ("B".to_string(), vec![5]),
                ("C".to_string(), vec![0]),
                ("D".to_string(), vec![0]),
            ]
        );
        assert_eq!(g0.unmapped, [2, 3, 4]);

        let g50 = group_by_gene(&variants, &map, 50);
        assert_eq!(
            summary(&g50),
            [
                ("A".to_string(), vec![1]),
                ("B".to_string(), vec![2, 5]),
                ("C".to_string(), vec![0]),
                ("D".to_string(), vec![0, 4]),
            ]
        );
        assert_eq!(g50.unmapped, [3]);
        // Same input, same output.
        assert_eq!(group_by_gene(&variants, &map, 50), g50);
    }

    #[test]
    fn repeated_symbols_are_separate_groups() {
        let map = GeneMap::from_genes(vec![gene("G", "1", 10, 20), gene("G", "X", 10, 20)]);
        let g = group_by_gene(&[variant("23", 15), variant("1", 15)], &map, 0);
        assert_eq!(g.genes.len(), 2);
        assert_eq!(
            (g.genes[0].gene.chrom.as_str(), &g.genes[0].variants[..]),
            ("1", &[1][..])
        );
        assert_eq!(
            (g.genes[1].gene.chrom.as_str(), &g.genes[1].variants[..]),
            ("X", &[0][..])
        );
        assert!(g.unmapped.is_empty());
        let none = group_by_gene(&[], &map, 1_000);
        assert!(none.genes.is_empty() && none.unmapped.is_empty());
    }
}
