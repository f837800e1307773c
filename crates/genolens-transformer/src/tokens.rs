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
        assert!(GenotypeTokens::from_dosages(array![[3.0f32]].view()).is_err());
        assert!(
            GenotypeTokens::from_dosages(ndarray::Array2::<f32>::zeros((0, 3)).view()).is_err()
        );
    }
}
