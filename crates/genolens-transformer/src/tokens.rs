//! Genotype tokens: one class per sample and variant.

use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};

/// Token class of a missing call.
pub const MISSING: u8 = 3;
/// Token class that hides a genotype during masked-genotype pretraining.
pub const MASK: u8 = 4;
/// Number of token classes the embedding knows (0, 1, 2, missing, mask).
pub const N_CLASSES: usize = 5;
/// Number of genotype classes a model predicts (0, 1, 2).
pub const N_GENOTYPES: usize = 3;

/// Genotype classes of `samples × variants`: allele counts 0/1/2 and
/// [`MISSING`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenotypeTokens {
    classes: Array2<u8>,
}

impl GenotypeTokens {
    /// Rounds dosages (`samples × variants`, `NaN` = missing) to classes.
    /// Errors on an empty matrix or a dosage outside `[0, 2]`.
    pub fn from_dosages(dosages: ArrayView2<'_, f32>) -> Result<Self> {
        if dosages.is_empty() {
            return Err(Error::Invalid("no samples or no variants".into()));
        }
        let mut bad = None;
        let classes = dosages.mapv(|d| {
            if d.is_nan() {
                MISSING
            } else if (-0.5..2.5).contains(&d) {
                d.round().clamp(0.0, 2.0) as u8
            } else {
                bad.get_or_insert(d);
                MISSING
            }
        });
        if let Some(d) = bad {
            return Err(Error::Invalid(format!("dosage {d} is outside [0, 2]")));
        }
        Ok(Self { classes })
    }

    /// The classes, `samples × variants`.
    pub fn classes(&self) -> ArrayView2<'_, u8> {
        self.classes.view()
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.classes.nrows()
    }

    /// Number of variants (the sequence length).
    pub fn n_variants(&self) -> usize {
        self.classes.ncols()
    }

    /// The rows of `samples`, in that order.
    pub fn select(&self, samples: &[usize]) -> Self {
        Self {
            classes: self.classes.select(ndarray::Axis(0), samples),
        }
    }

    /// The most frequent called class of each variant (ties: the smaller
    /// class): the allele-frequency baseline's prediction.
    pub fn modal_classes(&self) -> Vec<u8> {
        self.classes
            .columns()
            .into_iter()
            .map(|c| {
                let mut n = [0usize; 3];
                for &g in c {
                    if g < 3 {
                        n[g as usize] += 1;
                    }
                }
                (0..3u8)
                    .max_by(|&a, &b| n[a as usize].cmp(&n[b as usize]).then(b.cmp(&a)))
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// Per-variant centre and spread of the called genotypes, fitted on
/// training samples: token dosages are `(g − mean) / sd`, 0 where missing or
/// masked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DosageScaling {
    /// Mean called genotype of each variant.
    pub mean: Vec<f32>,
    /// Standard deviation of each variant's called genotypes (1 where it is
    /// 0: a monomorphic variant's dosage is then always 0).
    pub sd: Vec<f32>,
}

impl DosageScaling {
    /// Fits the scaling on all samples of `tokens`.
    pub fn fit(tokens: &GenotypeTokens) -> Self {
        let (mut mean, mut sd) = (Vec::new(), Vec::new());
        for column in tokens.classes.columns() {
            let called: Vec<f64> = column
                .iter()
                .filter(|&&g| g < 3)
                .map(|&g| f64::from(g))
                .collect();
            let n = called.len().max(1) as f64;
            let m = called.iter().sum::<f64>() / n;
            let v = called.iter().map(|g| (g - m) * (g - m)).sum::<f64>() / n;
            mean.push(m as f32);
            sd.push(if v > 1e-12 { v.sqrt() as f32 } else { 1.0 });
        }
        Self { mean, sd }
    }

    /// Number of variants.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// `true` when there are no variants.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// The standardised dosage of class `class` at variant `v` (0 for
    /// missing and mask).
    pub fn value(&self, v: usize, class: u8) -> f32 {
        if class < 3 {
            (f32::from(class) - self.mean[v]) / self.sd[v]
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn dosages_round_to_classes_and_modes() {
        let t = GenotypeTokens::from_dosages(
            array![[0.0f32, 2.0, f32::NAN], [1.0, 1.9, 0.1], [1.0, 2.0, 0.0]].view(),
        )
        .unwrap();
        assert_eq!(t.classes(), array![[0u8, 2, 3], [1, 2, 0], [1, 2, 0]]);
        assert_eq!(t.modal_classes(), vec![1, 2, 0]);
        let scaling = DosageScaling::fit(&t);
        assert_eq!(scaling.mean[1], 2.0);
        assert_eq!(scaling.sd[1], 1.0, "monomorphic: unit spread");
        assert_eq!(scaling.value(1, 2), 0.0);
        assert_eq!(scaling.value(0, MISSING), 0.0);
        // Column 0 is 0, 1, 1: mean 2/3, sd sqrt(2/9), so 0 ↦ −sqrt(2).
        assert!((scaling.value(0, 0) + 2f32.sqrt()).abs() < 1e-5);
        assert!(GenotypeTokens::from_dosages(array![[3.0f32]].view()).is_err());
        assert!(
            GenotypeTokens::from_dosages(ndarray::Array2::<f32>::zeros((0, 3)).view()).is_err()
        );
    }
}
