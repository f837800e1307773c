//! PLINK 2's `--mind`, `--geno`, `--hwe` and `--maf` filters, each reporting what
//! it removed.

use genolens_io::{ChromKind, Variant};

use super::counts::{SampleCalls, VariantCalls};
use super::hardy::hwe_exact;
use crate::error::{Error, Result};

/// Relative slack on threshold comparisons, so that a rate printed as exactly the
/// threshold is not removed by rounding noise.
const SLACK: f64 = 1e-10;

/// Which filters to apply; `None` skips one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QcThresholds {
    /// `--mind`: remove samples whose missing-call rate exceeds this.
    pub mind: Option<f64>,
    /// `--geno`: remove variants whose missing-call rate exceeds this.
    pub geno: Option<f64>,
    /// `--hwe`: remove autosomal variants whose HWE exact-test p-value is below this.
    pub hwe: Option<f64>,
    /// Use the mid-p HWE test for `--hwe`.
    pub hwe_midp: bool,
    /// `--maf`: remove variants whose minor-allele frequency is below this.
    pub maf: Option<f64>,
}

impl QcThresholds {
    /// Checks that every threshold is a rate in `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("--mind", self.mind),
            ("--geno", self.geno),
            ("--hwe", self.hwe),
            ("--maf", self.maf),
        ] {
            if let Some(x) = v {
                if !(0.0..=1.0).contains(&x) {
                    return Err(Error::Invalid(format!(
                        "{name} {x}: the threshold must be between 0 and 1"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Why a variant was removed; each variant is charged to the first filter it
/// failed, in PLINK 2's order (`--geno`, then `--hwe`, then `--maf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariantRemoval {
    /// Missing-call rate above `--geno`.
    Geno,
    /// HWE p-value below `--hwe`.
    Hwe,
    /// Minor-allele frequency below `--maf` (or no allele observed).
    Maf,
}

impl VariantRemoval {
    /// The PLINK flag that removed it.
    pub fn flag(&self) -> &'static str {
        match self {
            Self::Geno => "--geno",
            Self::Hwe => "--hwe",
            Self::Maf => "--maf",
        }
    }
}

/// The outcome of the variant filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantFilter {
    /// Indices of the variants kept, in order.
    pub kept: Vec<usize>,
    /// Indices of the variants removed, with the filter that removed each.
    pub removed: Vec<(usize, VariantRemoval)>,
}

impl VariantFilter {
    /// How many variants `filter` removed.
    pub fn removed_by(&self, filter: VariantRemoval) -> usize {
        self.removed.iter().filter(|(_, f)| *f == filter).count()
    }
}

/// Indices of the samples `--mind` removes: missing-call rate above `mind`.
pub fn samples_over_missing(samples: &[SampleCalls], mind: f64) -> Vec<usize> {
    samples
        .iter()
        .enumerate()
        .filter(|(_, s)| f64::from(s.missing) > mind * f64::from(s.total) * (1.0 + SLACK))
        .map(|(i, _)| i)
        .collect()
}

/// Applies `--geno`, `--hwe` and `--maf` to per-variant counts (computed on the
/// samples left after `--mind`).
///
/// `--hwe` tests autosomes only, as PLINK 2 does without sex information; X, Y and
/// MT variants are never removed by it (see [`filter_variants_sexed`] for chrX
/// with sexes).
pub fn filter_variants(
    variants: &[Variant],
    calls: &[VariantCalls],
    thresholds: &QcThresholds,
) -> Result<VariantFilter> {
    filter_variants_sexed(variants, calls, &[], thresholds)
}

/// As [`filter_variants`], with chrX in `--hwe` as PLINK 2 tests it when sexes
/// are known: `x_calls` holds `(variant index, counts over the samples of
/// known sex)` for chrX variants (females diploid, males haploid), tested with
/// [`hwe_x_exact`](super::hwe_x_exact).
pub fn filter_variants_sexed(
    variants: &[Variant],
    calls: &[VariantCalls],
    x_calls: &[(usize, VariantCalls)],
    thresholds: &QcThresholds,
) -> Result<VariantFilter> {
    thresholds.validate()?;
    let mut sexed: Vec<Option<&VariantCalls>> = vec![None; variants.len()];
    for (v, c) in x_calls {
        if let Some(slot) = sexed.get_mut(*v) {
            *slot = Some(c);
        }
    }
    if variants.len() != calls.len() {
        return Err(Error::Invalid(format!(
            "{} variants but {} count rows",
            variants.len(),
            calls.len()
        )));
    }
    use rayon::prelude::*;
    let reasons: Vec<Option<VariantRemoval>> = variants
        .par_iter()
        .zip(calls)
        .zip(&sexed)
        .map(|((v, c), x)| removal(v, c, *x, thresholds))
        .collect();
    let mut out = VariantFilter::default();
    for (i, reason) in reasons.into_iter().enumerate() {
        match reason {
            Some(r) => out.removed.push((i, r)),
            None => out.kept.push(i),
        }
    }
    Ok(out)
}

/// The first filter `v` fails, if any.
fn removal(
    v: &Variant,
    c: &VariantCalls,
    x: Option<&VariantCalls>,
    thresholds: &QcThresholds,
) -> Option<VariantRemoval> {
    if thresholds
        .geno
        .is_some_and(|g| f64::from(c.missing()) > g * f64::from(c.samples()) * (1.0 + SLACK))
    {
        return Some(VariantRemoval::Geno);
    }
    if thresholds.hwe.is_some_and(|p| {
        let test = match (v.chrom_kind(), x) {
            (ChromKind::Autosome, _) => hwe_exact(
                c.diploid.het,
                c.diploid.hom_allele1,
                c.diploid.hom_allele2,
                thresholds.hwe_midp,
            ),
            (ChromKind::X, Some(x)) => super::hwe_x_exact(
                x.diploid.het,
                x.diploid.hom_allele1,
                x.diploid.hom_allele2,
                x.haploid.hom_allele1,
                x.haploid.hom_allele2,
                thresholds.hwe_midp,
            ),
            _ => return false,
        };
        test < p * (1.0 - SLACK)
    }) {
        return Some(VariantRemoval::Hwe);
    }
    if thresholds.maf.is_some_and(|m| {
        let p = c.allele1_freq();
        p.is_nan() || p.min(1.0 - p) < m * (1.0 - SLACK)
    }) {
        return Some(VariantRemoval::Maf);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qc::counts::CallCounts;

    fn calls(hom1: u32, het: u32, hom2: u32, missing: u32) -> VariantCalls {
        VariantCalls {
            diploid: CallCounts {
                hom_allele1: hom1,
                het,
                hom_allele2: hom2,
                missing,
            },
            haploid: CallCounts::default(),
        }
    }

    #[test]
    fn each_variant_is_charged_to_the_first_filter_it_fails() {
        let v = Variant {
            chrom: "1".into(),
            pos: 1,
            id: "a".into(),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "G".into(),
        };
        let variants = vec![v.clone(), v.clone(), v.clone(), v];
        let c = vec![
            calls(40, 40, 10, 10), // 10 % missing
            calls(50, 0, 50, 0),   // HWE p tiny
            calls(0, 1, 99, 0),    // MAF 0.005
            calls(25, 50, 25, 0),  // clean
        ];
        let t = QcThresholds {
            geno: Some(0.05),
            hwe: Some(1e-6),
            maf: Some(0.01),
            ..Default::default()
        };
        let f = filter_variants(&variants, &c, &t).expect("valid thresholds");
        assert_eq!(f.kept, vec![3]);
        assert_eq!(
            f.removed,
            vec![
                (0, VariantRemoval::Geno),
                (1, VariantRemoval::Hwe),
                (2, VariantRemoval::Maf)
            ]
        );
        // A rate equal to the threshold stays.
        let t = QcThresholds {
            geno: Some(0.1),
            ..Default::default()
        };
        assert!(filter_variants(&variants[..1], &c[..1], &t)
            .expect("valid")
            .removed
            .is_empty());
        assert!(QcThresholds {
            maf: Some(1.5),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn mind_removes_samples_over_the_rate() {
        let s = [
            SampleCalls {
                missing: 10,
                total: 100,
            },
            SampleCalls {
                missing: 11,
                total: 100,
            },
            SampleCalls {
                missing: 100,
                total: 100,
            },
        ];
        assert_eq!(samples_over_missing(&s, 0.1), vec![1, 2]);
    }
}
