//! Missing-genotype imputation and standardisation with fit/transform semantics:
//! parameters are fitted on training samples and then applied unchanged to any
//! samples, so a model never sees test-set statistics.

use genolens_io::{GenotypeBlock, GenotypeSource, Variant};
use ndarray::Array2;

use crate::error::{Error, Result};
use crate::qc::Progress;

/// How missing calls are filled before centring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Imputation {
    /// The training mean dosage (after centring: 0).
    #[default]
    Mean,
    /// The most frequent training genotype (0, 1 or 2; ties go to the lower
    /// dosage).
    MostFrequent,
}

/// How dosages are scaled after centring on the training mean `2p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scaling {
    /// Divide by the HWE standard deviation `sqrt(2p(1-p))`, as GCTA's GRM and
    /// PLINK's `--pca` do.
    #[default]
    Hwe,
    /// Divide by the empirical standard deviation of the training dosages.
    Empirical,
    /// Centre only.
    None,
}

/// Fitted per-variant parameters: `x' = (fill_if_missing(x) - center) / scale`.
///
/// Variants with no spread in training (monomorphic, or all missing) have
/// `scale == 0` and transform to 0, so they carry no signal instead of `NaN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// The variants the parameters belong to, checked on transform.
    pub variants: Vec<Variant>,
    /// Training mean dosage per variant (`2p`).
    pub center: Vec<f64>,
    /// Divisor per variant (0 when the variant had no spread).
    pub scale: Vec<f64>,
    /// Dosage a missing call is replaced with.
    pub fill: Vec<f64>,
    /// The imputation rule used.
    pub imputation: Imputation,
    /// The scaling rule used.
    pub scaling: Scaling,
}

impl Standardizer {
    /// Fits the parameters on the samples at `train` (indices into the source's
    /// samples; `None` = all), streaming the source once.
    pub fn fit<S: GenotypeSource + ?Sized>(
        source: &S,
        train: Option<&[usize]>,
        imputation: Imputation,
        scaling: Scaling,
        block_size: usize,
        progress: Progress<'_>,
    ) -> Result<Self> {
        let n_var = source.n_variants();
        if n_var == 0 {
            return Err(Error::Invalid(format!(
                "{}: no variants to standardise",
                source.origin().display()
            )));
        }
        if train.is_some_and(|t| t.is_empty()) || source.n_samples() == 0 {
            return Err(Error::Invalid(format!(
                "{}: no training samples to fit the scaling on",
                source.origin().display()
            )));
        }
        if let Some(&bad) = train.and_then(|t| t.iter().find(|&&i| i >= source.n_samples())) {
            return Err(Error::Invalid(format!(
                "training sample index {bad} is outside the {} samples",
                source.n_samples()
            )));
        }
        let per_block = crate::qc::map_blocks(source, block_size, progress, |block| {
            (0..block.n_variants())
                .map(|j| {
                    let col = block.variant(j);
                    let mut acc = ColumnStats::default();
                    match train {
                        Some(t) => t.iter().for_each(|&i| acc.add(col[i])),
                        None => col.iter().for_each(|&d| acc.add(d)),
                    }
                    acc.params(imputation, scaling)
                })
                .collect::<Vec<_>>()
        })?;
        let mut center = Vec::with_capacity(n_var);
        let mut scale = Vec::with_capacity(n_var);
        let mut fill = Vec::with_capacity(n_var);
        for (c, s, f) in per_block.into_iter().flatten() {
            center.push(c);
            scale.push(s);
            fill.push(f);
        }
        Ok(Self {
            variants: source.variants().to_vec(),
            center,
            scale,
            fill,
            imputation,
            scaling,
        })
    }

    /// Number of variants.
    pub fn n_variants(&self) -> usize {
        self.center.len()
    }

    /// Checks that `variants` are the fitted ones, in order and with the same
    /// alleles: a missing or swapped variant is reported, never silently mis-scaled.
    pub fn check_variants(&self, variants: &[Variant]) -> Result<()> {
        if variants.len() != self.variants.len() {
            return Err(Error::Invalid(format!(
                "the scaling was fitted on {} variants, the data have {}",
                self.variants.len(),
                variants.len()
            )));
        }
        for (i, (a, b)) in self.variants.iter().zip(variants).enumerate() {
            if a.id != b.id || a.allele1 != b.allele1 || a.allele2 != b.allele2 {
                return Err(Error::Invalid(format!(
                    "variant {} is {} {}/{} in the data but {} {}/{} where the scaling was \
                     fitted",
                    i + 1,
                    b.id,
                    b.allele1,
                    b.allele2,
                    a.id,
                    a.allele1,
                    a.allele2
                )));
            }
        }
        Ok(())
    }

    /// Standardises variant `v`'s dosages into `out` (same length).
    pub fn standardize_column(&self, v: usize, dosages: &[f32], out: &mut [f64]) {
        let (c, s, f) = (self.center[v], self.scale[v], self.fill[v]);
        if s == 0.0 {
            out.fill(0.0);
            return;
        }
        let inv = 1.0 / s;
        for (o, &d) in out.iter_mut().zip(dosages) {
            let x = if d.is_nan() { f } else { f64::from(d) };
            *o = (x - c) * inv;
        }
    }

    /// Standardises a block (its variant indices refer to the fitted variants):
    /// samples × block variants, no missing values left.
    pub fn transform(&self, block: &GenotypeBlock) -> Result<Array2<f32>> {
        let range = block.variant_range();
        if range.end > self.n_variants() {
            return Err(Error::Invalid(format!(
                "block variants {}..{} are outside the {} fitted variants",
                range.start,
                range.end,
                self.n_variants()
            )));
        }
        let n = block.n_samples();
        let mut out = Array2::<f32>::zeros((n, block.n_variants()));
        let mut col = vec![0.0f64; n];
        for (j, v) in range.enumerate() {
            let d = block.variant(j);
            let dos: Vec<f32> = d.iter().copied().collect();
            self.standardize_column(v, &dos, &mut col);
            for (i, &x) in col.iter().enumerate() {
                out[[i, j]] = x as f32;
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
struct ColumnStats {
    n: u64,
    sum: f64,
    sum_sq: f64,
    /// Calls rounding to 0, 1, 2.
    classes: [u64; 3],
}

impl ColumnStats {
    fn add(&mut self, d: f32) {
        if d.is_nan() {
            return;
        }
        let x = f64::from(d);
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
        self.classes[(x.round() as usize).min(2)] += 1;
    }

    /// `(center, scale, fill)`.
    fn params(&self, imputation: Imputation, scaling: Scaling) -> (f64, f64, f64) {
        if self.n == 0 {
            return (0.0, 0.0, 0.0);
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        let scale = match scaling {
            Scaling::Hwe => {
                let p = mean / 2.0;
                (2.0 * p * (1.0 - p)).max(0.0).sqrt()
            }
            Scaling::Empirical => {
                if self.n < 2 {
                    0.0
                } else {
                    ((self.sum_sq - n * mean * mean) / (n - 1.0))
                        .max(0.0)
                        .sqrt()
                }
            }
            Scaling::None => {
                // Centre only, but still mark variants without spread.
                let var = self.sum_sq / n - mean * mean;
                if var > 1e-12 {
                    1.0
                } else {
                    0.0
                }
            }
        };
        // Rounding noise in an all-equal column must not become a tiny divisor.
        let scale = if scale < 1e-9 { 0.0 } else { scale };
        let fill = match imputation {
            Imputation::Mean => mean,
            Imputation::MostFrequent => {
                let (best, _) =
                    self.classes
                        .iter()
                        .enumerate()
                        .fold(
                            (0, 0),
                            |(bi, bc), (i, &c)| if c > bc { (i, c) } else { (bi, bc) },
                        );
                best as f64
            }
        };
        (mean, scale, fill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_parameters() {
        let mut s = ColumnStats::default();
        for d in [0.0, 1.0, 2.0, 2.0, f32::NAN] {
            s.add(d);
        }
        let (c, sc, f) = s.params(Imputation::Mean, Scaling::Hwe);
        assert!((c - 1.25).abs() < 1e-12);
        let p = 0.625f64;
        assert!((sc - (2.0 * p * (1.0 - p)).sqrt()).abs() < 1e-12);
        assert_eq!(f, 1.25);
        let (_, sc, f) = s.params(Imputation::MostFrequent, Scaling::Empirical);
        assert_eq!(f, 2.0);
        let var = (0.0f64 + 1.0 + 4.0 + 4.0 - 4.0 * 1.25 * 1.25) / 3.0;
        assert!((sc - var.sqrt()).abs() < 1e-12);
        let mut mono = ColumnStats::default();
        for _ in 0..4 {
            mono.add(2.0);
        }
        assert_eq!(mono.params(Imputation::Mean, Scaling::Hwe).1, 0.0);
    }
}
