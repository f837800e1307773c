//! Polygenic scores from a weight table, as `plink2 --score` computes them.
//!
//! Each weight names a variant (by ID) and an allele; the allele must be one of
//! the variant's two (a weight naming neither is skipped and counted). A missing
//! call contributes the weight times twice the named allele's frequency among
//! the samples (`--score`'s default mean imputation), or nothing with
//! [`PrsOptions::mean_imputation`] off. The average divides the score sum by
//! twice the number of variants used (by the sample's non-missing allele count
//! without imputation). Strand-ambiguous variants (A/T, C/G) are scored as
//! given, as PLINK does, and counted so that the caller can report them.

use std::collections::HashMap;

use genolens_io::scorefile::ScoreWeight;
use genolens_io::GenotypeSource;

use crate::error::{Error, Result};

/// Scoring options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrsOptions {
    /// Missing calls contribute the expected dosage (PLINK 2's default); off is
    /// PLINK 2's `no-mean-imputation`.
    pub mean_imputation: bool,
}

impl Default for PrsOptions {
    fn default() -> Self {
        Self {
            mean_imputation: true,
        }
    }
}

/// Per-sample scores and what matched.
#[derive(Debug, Clone, PartialEq)]
pub struct PrsScores {
    /// Non-missing alleles scored, per sample.
    pub allele_ct: Vec<u32>,
    /// Sum of named-allele dosages over non-missing calls, per sample.
    pub dosage_sum: Vec<f64>,
    /// Σ weight × dosage (imputed where missing), per sample.
    pub score_sum: Vec<f64>,
    /// The averages PLINK 2 prints as `SCORE1_AVG`.
    pub score_avg: Vec<f64>,
    /// Weights applied.
    pub used: usize,
    /// Weights whose variant ID is not in the genotypes.
    pub absent: usize,
    /// Weights naming an allele the variant does not have (IDs listed).
    pub allele_mismatch: Vec<String>,
    /// Strand-ambiguous variants among those used (A/T or C/G).
    pub ambiguous: usize,
}

fn strand_ambiguous(a: &str, b: &str) -> bool {
    matches!(
        (
            a.to_ascii_uppercase().as_str(),
            b.to_ascii_uppercase().as_str()
        ),
        ("A", "T") | ("T", "A") | ("C", "G") | ("G", "C")
    )
}

/// Scores every sample of `source` with `weights`.
pub fn polygenic_score<S: GenotypeSource + ?Sized>(
    source: &S,
    weights: &[ScoreWeight],
    options: &PrsOptions,
) -> Result<PrsScores> {
    let variants = source.variants();
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(variants.len());
    for (i, v) in variants.iter().enumerate() {
        if by_id.insert(v.id.as_str(), i).is_some() && weights.iter().any(|w| w.id == v.id) {
            return Err(Error::Invalid(format!(
                "variant ID {} appears more than once in the genotypes; scores by ID would be \
                 ambiguous",
                v.id
            )));
        }
    }
    let n = source.n_samples();
    let mut out = PrsScores {
        allele_ct: vec![0; n],
        dosage_sum: vec![0.0; n],
        score_sum: vec![0.0; n],
        score_avg: vec![0.0; n],
        used: 0,
        absent: 0,
        allele_mismatch: Vec::new(),
        ambiguous: 0,
    };
    let mut dosages = vec![0.0f32; n];
    for w in weights {
        let Some(&v) = by_id.get(w.id.as_str()) else {
            out.absent += 1;
            continue;
        };
        let variant = &variants[v];
        // Dosage of the named allele from the counted allele's.
        let flip = if w.allele == variant.allele1 {
            false
        } else if w.allele == variant.allele2 {
            true
        } else {
            out.allele_mismatch.push(w.id.clone());
            continue;
        };
        out.used += 1;
        out.ambiguous += usize::from(strand_ambiguous(&variant.allele1, &variant.allele2));
        source.read_variant_into(v, &mut dosages)?;
        let named = |d: f32| {
            if flip {
                2.0 - f64::from(d)
            } else {
                f64::from(d)
            }
        };
        let (sum, count) = dosages
            .iter()
            .filter(|d| !d.is_nan())
            .fold((0.0f64, 0usize), |(s, c), &d| (s + named(d), c + 1));
        let expected = if count > 0 { sum / count as f64 } else { 0.0 };
        for (i, &d) in dosages.iter().enumerate() {
            if d.is_nan() {
                if options.mean_imputation {
                    out.score_sum[i] += w.weight * expected;
                }
            } else {
                let x = named(d);
                out.allele_ct[i] += 2;
                out.dosage_sum[i] += x;
                out.score_sum[i] += w.weight * x;
            }
        }
    }
    if out.used == 0 {
        return Err(Error::Invalid(format!(
            "none of the {} weights matched a variant and allele of the genotypes ({} IDs absent, \
             {} allele mismatches)",
            weights.len(),
            out.absent,
            out.allele_mismatch.len()
        )));
    }
    for i in 0..n {
        let denominator = if options.mean_imputation {
            2.0 * out.used as f64
        } else {
            f64::from(out.allele_ct[i])
        };
        out.score_avg[i] = out.score_sum[i] / denominator;
    }
    Ok(out)
}
